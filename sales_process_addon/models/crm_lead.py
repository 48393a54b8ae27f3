from collections import defaultdict
from contextlib import contextmanager

from markupsafe import Markup

from odoo import _, api, fields, models
from odoo.exceptions import UserError, ValidationError
from odoo.fields import Domain

from .crm_pipeline_type import GATE_MODE_HELP, GATE_MODES


class CrmLead(models.Model):
    _name = "crm.lead"
    _inherit = [
        # First: it overrides CRM's predictive scoring, so it must come before crm.lead.
        "crm.lead.probability",
        "crm.lead",
        "crm.lead.stage.gate",
        "crm.lead.stage.tasks",
        "crm.lead.buying.center",
        "crm.lead.indicators",
        "crm.lead.ui",
        "crm.lead.evidence.entry",
    ]

    pipeline_type_id = fields.Many2one(
        "crm.pipeline.type",
        string="Sales Process",
        compute="_compute_pipeline_type_id",
        store=True,
        readonly=False,
        precompute=True,
        index=True,
        ondelete="restrict",
    )
    # The web client asks the gate before a move only in an enforced process:
    # guided moves are never refused, and Odoo's own UI flow stays unchanged.
    pipeline_gate_mode = fields.Selection(
        GATE_MODES,
        "Stage Gate",
        compute="_compute_pipeline_gate_mode",
        compute_sudo=True,
        search="_search_pipeline_gate_mode",
        help=GATE_MODE_HELP,
    )
    # Stored: reports group opportunities by buyer stage and funnel state.
    buyer_stage_id = fields.Many2one(
        related="stage_id.buyer_stage_id", string="Buyer Stage", store=True, index=True
    )
    funnel_state_id = fields.Many2one(
        related="stage_id.funnel_state_id", string="Funnel State", store=True, index=True
    )
    funnel_state_indicators = fields.Text(related="stage_id.funnel_state_id.indicators")
    milestone_criteria = fields.Text(related="stage_id.milestone_criteria")
    stage_playbook = fields.Html(
        related="stage_id.playbook",
        string="Playbook",
        sanitize=False,  # the stage's playbook is sanitized when saved: not again on every read
    )
    funnel_state_guidance = fields.Text(related="stage_id.funnel_state_id.guidance", string="Funnel Guidance")
    evidence_ids = fields.One2many("crm.lead.evidence", "lead_id")
    stage_exception_ids = fields.One2many("crm.stage.exception", "lead_id", string="Stage Exceptions")
    stage_history_ids = fields.One2many("crm.lead.stage.history", "lead_id")
    milestone_progress = fields.Char(
        "Milestones Met",
        compute="_compute_milestone_status",
        help="Required milestones of the stage met / total.",
    )
    milestone_missing = fields.Text("Missing Milestones", compute="_compute_milestone_status")
    # The form's checklist reads its lines with the opportunity: no second request.
    milestone_checklist = fields.Json(
        compute="_compute_milestone_checklist",
        help="The milestones of the stage, each with its state and the evidence that proves it.",
    )

    # Opportunity management (qualify, track, monitor, verify): computed in
    # crm.lead.buying.center and crm.lead.indicators.
    qualification_ids = fields.One2many("crm.lead.qualification", "lead_id")
    qualification_status = fields.Selection(
        [("pursue", "Pursue"), ("nurture", "Nurture"), ("drop", "Drop")],
        compute="_compute_qualification_status",
        store=True,
        index=True,
        tracking=True,
        help="From the qualification answers. Drop: a deal-breaker question (e.g. funding allocated) "
        "answered No. Pursue: every question answered Yes. Nurture: anything else. "
        "Empty: no question asked yet.",
    )
    stakeholder_ids = fields.One2many("crm.lead.stakeholder", "lead_id", string="Buying Center")
    # Built with Markup, every value escaped: no sanitizing needed.
    buying_center_summary = fields.Html(compute="_compute_buying_center_summary", sanitize=False)
    buying_center_warnings = fields.Html(compute="_compute_buying_center_summary", sanitize=False)
    competitor_ids = fields.One2many("crm.lead.competitor", "lead_id", string="Competitors")
    signal_ids = fields.One2many("crm.lead.signal", "lead_id", string="Warning Signals")
    interaction_count = fields.Integer(
        "Interactions (30 days)",
        compute="_compute_relationship_status",
        store=True,
        precompute=True,  # a new opportunity has no interaction yet: cold, without a query
        help="Emails and messages exchanged (not internal notes), activities done, and meetings "
        "held or booked, over the last 30 days.",
    )
    relationship_status = fields.Selection(
        [("cold", "Cold"), ("warm", "Warm"), ("active", "Active")],
        compute="_compute_relationship_status",
        store=True,
        precompute=True,
        index=True,
        help="How much the two sides interact, over the last 30 days: Cold, no interaction; "
        "Warm, 1 to 3; Active, 4 or more. Refreshed daily and when a message is posted.",
    )
    has_decision_maker_access = fields.Boolean(
        "Decision Maker Reached",
        compute="_compute_has_decision_maker_access",
        store=True,
        help="A decision maker of the buying center has been met.",
    )
    customer_commitment = fields.Boolean(
        "Customer Committed",
        compute="_compute_customer_commitment",
        store=True,
        help="The customer committed time, effort or money: valid customer-led evidence of a "
        "meeting, a document, a recorded value (e.g. a budget) or a trial.",
    )
    has_trial_order = fields.Boolean(
        "Trial Order",
        compute="_compute_customer_commitment",
        store=True,
        help="Valid customer-led evidence of a trial, a pilot or a test order.",
    )
    risk_level = fields.Selection(
        [("low", "Low"), ("medium", "Medium"), ("high", "High")],
        "Risk",
        compute="_compute_risk_level",
        store=True,
        index=True,
        help="Risk of losing an open opportunity. High: qualification Drop; or, past the first funnel "
        "state, a cold relationship or neither the decision maker reached nor a customer commitment. "
        "Medium: qualification not Pursue, a cold relationship, or, past the first funnel state, "
        "the decision maker not reached or no customer commitment. Low: otherwise.",
    )

    # What the browser shows of the process (computed in crm.lead.ui).
    risk_reason_codes = fields.Char(
        compute="_compute_risk_level",
        store=True,
        help="Why the risk level is what it is, as codes (see risk_reasons).",
    )
    risk_reasons = fields.Text(compute="_compute_risk_reasons", help="Why the risk level is what it is.")
    stage_exit_criteria = fields.Html(
        "Exit Criteria",
        compute="_compute_stage_exit_criteria",
        sanitize=False,  # built with Markup, every value escaped
        help="The milestones of the stage and what counts as proof of each.",
    )
    stage_unreachable_ids = fields.Many2many(
        "crm.stage",
        string="Stages Out of Reach",
        compute="_compute_stage_reach",
        help="Stages the gate does not let this opportunity move to from its current stage.",
    )
    stage_exception_banner_id = fields.Many2one(
        "crm.stage.exception", "Current Exception", compute="_compute_stage_reach"
    )
    stage_exception_banner_state = fields.Selection(
        [("pending", "Pending"), ("approved", "Approved")],
        "Current Exception State",
        compute="_compute_stage_reach",
    )
    stage_exception_banner_target_id = fields.Many2one(
        "crm.stage", "Exception Target", compute="_compute_stage_reach"
    )

    # ------------------------------------------------------------
    # COMPUTE
    # ------------------------------------------------------------

    @api.depends("pipeline_type_id.gate_mode")
    def _compute_pipeline_gate_mode(self):
        """The process's gate mode, from the gate's registry cache (a kanban reads no process
        record), given to all the leads of a process at once (a related field would set a
        kanban's hundreds of cards one by one)."""
        types = self._stage_gate_structure()["types"]
        for pipeline_type, leads in self.grouped("pipeline_type_id").items():
            leads.pipeline_gate_mode = types.get(pipeline_type.id, {}).get("mode", False)

    def _search_pipeline_gate_mode(self, operator, value):
        return [("pipeline_type_id.gate_mode", operator, value)]

    @api.depends("team_id")
    def _compute_pipeline_type_id(self):
        """Default process: the one of the stage asked for (a kanban column's quick create), else the
        team's, else the company's."""
        untyped = self.filtered(lambda lead: not lead.pipeline_type_id)
        fallback = False
        asked = self.env["crm.stage"].browse(self.env.context.get("default_stage_id")).exists()
        for lead in untyped:
            ptype = (
                (asked.pipeline_type_id if asked and lead.stage_id == asked else False)
                or lead.team_id.pipeline_type_id
                or (lead.company_id or self.env.company).default_pipeline_type_id
            )
            if not ptype:
                if fallback is False:
                    fallback = self.env["crm.pipeline.type"].search([], limit=1)
                ptype = fallback
            lead.pipeline_type_id = ptype

    @api.depends("team_id", "type", "pipeline_type_id")
    def _compute_stage_id(self):
        """Keep the stage inside the lead's process.

        A stage of another process (a process switch) is replaced by the
        matching stage of the new process (see ``_stage_gate_map_stages``);
        otherwise Odoo's team-aware choice applies, within the process (see
        ``_stage_find``): the first unfolded stage, except in an enforced
        process, whose deals start in its first stage even when folded.
        """
        structure = self._stage_gate_structure()
        stage_info, types = structure["stages"], structure["types"]
        typed = self.filtered("pipeline_type_id")
        switched = typed.filtered(
            lambda lead: lead.stage_id
            and stage_info.get(lead.stage_id.id, {}).get("type") != lead.pipeline_type_id.id
        )
        for lead, stage in switched._stage_gate_map_stages().items():
            lead.stage_id = stage
        for lead in typed - switched:
            # Odoo's team-aware choice (a first stage, or a reset when the team
            # changes), within the process and without a query per lead.
            teams = stage_info.get(lead.stage_id.id, {}).get("teams")
            if not lead.stage_id or (lead.team_id and teams and lead.team_id.id not in teams):
                sequence = self._stage_gate_sequence(lead.pipeline_type_id.id, lead.team_id.id)
                # An enforced process starts in its first stage, folded or not (the gate's rule).
                if types[lead.pipeline_type_id.id]["mode"] != "enforced":
                    sequence = [
                        stage_id for stage_id in sequence if not stage_info[stage_id]["fold"]
                    ] or sequence
                lead.stage_id = (sequence or [False])[0]
        return super(CrmLead, self - typed)._compute_stage_id()

    def _stage_gate_map_stages(self):
        """``{lead: stage}``: where a process switch lands each lead in its new process.

        The stage with the same buyer stage, else the first with the same
        funnel state, else the first stage; never a won stage; and, in an
        enforced process, no further than the first stage whose required
        milestones the lead has not proven (what it proved follows it).
        """
        structure = self._stage_gate_structure()
        Stage = self.env["crm.stage"]
        sequences = {
            lead: [
                stage_id
                for stage_id in self._stage_gate_sequence(lead.pipeline_type_id.id, lead.team_id.id)
                if not structure["stages"][stage_id]["won"]
            ]
            for lead in self
        }
        enforced = self.filtered(
            lambda lead: structure["types"][lead.pipeline_type_id.id]["mode"] == "enforced"
        )
        required = {
            mid
            for lead in enforced
            for stage_id in sequences[lead]
            for mid in structure["stages"][stage_id]["required"]
        }
        met = enforced._stage_gate_proof(required)[0] if required else {}
        mapping = {}
        for lead in self:
            candidates = Stage.browse(sequences[lead])
            old = lead.stage_id
            match = (
                old.buyer_stage_id
                and candidates.filtered(lambda s, old=old: s.buyer_stage_id == old.buyer_stage_id)[:1]
            ) or (
                old.funnel_state_id
                and candidates.filtered(lambda s, old=old: s.funnel_state_id == old.funnel_state_id)[:1]
            )
            match = match or candidates[:1]
            if lead in enforced and match:
                proven = met.get(lead.id, set())
                for stage in candidates[: list(candidates).index(match)]:
                    if not set(structure["stages"][stage.id]["required"]) <= proven:
                        match = stage
                        break
            mapping[lead] = match
        return mapping

    @api.depends("stage_id", "evidence_ids.is_valid", "evidence_ids.milestone_id")
    def _compute_milestone_status(self):
        """Progress and missing milestones of the current stage, for the kanban cards and the form.

        The stages' milestones come from the registry cache. Then, for any
        number of leads: what is met (the gate's proof; the facts, read once,
        also tell what internal facts alone prove), and, for the milestones
        still missing only, what awaits a manager's verification (read with
        the proof, in one query).
        """
        milestones_of = self._milestones_of_stages()
        milestones = self.env["crm.stage.milestone"].union(*milestones_of.values())
        # The facts are read once, for what they prove and for what only internal facts hold.
        facts_met, internal_only = self._with_fact_milestones(milestones_of)._stage_gate_facts(
            milestones, describe=False
        )
        met, awaiting = defaultdict(set), {}
        if milestones:
            evidence = self._stage_gate_evidence_by_validity(milestones.ids)
            met.update(self._stage_gate_milestones_met(milestones, evidence[True], facts_met=facts_met))
            awaiting = evidence[False]
        ids_of = {stage: set(stage_milestones.ids) for stage, stage_milestones in milestones_of.items()}
        # Evidence awaits a manager only for a milestone verified by one (or sharing its proof).
        verified = set(milestones.filtered(lambda m: m.needs_verification or m.proof_key).ids)
        # Cards in the same stage and state show the same lines: each state is made once per call
        # (its lines translated once) and given to all its cards at once, not card by card.
        leads_in = defaultdict(list)
        for lead in self:
            stage = lead.stage_id
            stage_ids = ids_of.get(stage, set())
            state = (
                stage,
                frozenset(met[lead.id] & stage_ids),
                frozenset(awaiting.get(lead.id, {}).keys() & verified & stage_ids - met[lead.id]),
                frozenset(internal_only.get(lead.id, set()) & stage_ids),
            )
            leads_in[state].append(lead.id)
        missing_lines = {}
        for state, lead_ids in leads_in.items():
            stage_milestones = milestones_of.get(state[0], milestones.browse())
            progress, missing = self._milestone_status_values(stage_milestones, *state[1:], missing_lines)
            same = self.browse(lead_ids)
            same.milestone_progress = progress
            same.milestone_missing = missing

    @api.depends(
        "stage_id",
        "evidence_ids.is_valid",
        "evidence_ids.milestone_id",
        "evidence_ids.summary",
        "evidence_ids.date",
        "evidence_ids.kind_id",
        "evidence_ids.customer_partner_id",
        "evidence_ids.internal_user_id",
        "stakeholder_ids.met",
        "stakeholder_ids.stance",
        "stakeholder_ids.role_id",
        "qualification_status",
    )
    @api.depends_context("uid", "lang")
    def _compute_milestone_checklist(self):
        """The form's checklist: its lines, False without milestones; any number of leads at once.

        While the form is edited (onchange), the lines of the form's data, as it will be saved.
        """
        lines = self._milestone_checklist_lines_by_lead()
        for lead in self:
            lead.milestone_checklist = lines.get(lead.id) or False

    @api.model
    def _milestone_status_values(self, milestones, met, waiting, internal, missing_lines):
        """``(progress, missing)`` of a lead in the stage of ``milestones``, given the ids of those
        met, awaiting verification and held by internal facts only; ``missing_lines``: a shared memo."""
        required = [m for m in milestones if m.required]
        missing = [m for m in required if m.id not in met]
        progress = f"{len(required) - len(missing)}/{len(required)}" if required else False
        missing_text = (
            "\n".join(
                self._milestone_missing_line(m, m.id in waiting, m.id in internal, missing_lines)
                for m in missing
            )
            or False
        )
        return progress, missing_text

    @api.model
    def _milestone_missing_line(self, milestone, awaiting, internal, memo):
        """A missing milestone as ``milestone_missing`` lists it; ``memo``: lines already made."""
        key = (milestone.id, awaiting, internal)
        if key not in memo:
            if awaiting:
                memo[key] = _("%(milestone)s: awaiting verification", milestone=milestone._gate_label())
            elif internal:
                memo[key] = _("%(milestone)s: internal proof only", milestone=milestone._gate_label())
            else:
                memo[key] = milestone._gate_label()
        return memo[key]

    # ------------------------------------------------------------
    # CONSTRAINTS
    # ------------------------------------------------------------

    @api.constrains("stage_id", "pipeline_type_id", "company_id")
    def _check_stage_in_pipeline_type(self):
        structure = self._stage_gate_structure()
        stage_info = structure["stages"]
        problems = []
        for lead in self:
            ptype = lead.pipeline_type_id
            stage_type = stage_info.get(lead.stage_id.id, {}).get("type")
            type_company = structure["types"].get(ptype.id, {}).get("company")
            if type_company and lead.company_id and type_company != lead.company_id.id:
                # What check_company would say, from the cache (a lead's creation reads no process).
                problems.append(
                    _(
                        '"%(lead)s": the sales process "%(type)s" belongs to another company.',
                        lead=lead.name,
                        type=ptype.name,
                    )
                )
            elif ptype and stage_type == ptype.id:
                continue  # the common case, answered from the cache without a query
            if ptype and not structure["types"].get(ptype.id, {}).get("stages"):
                problems.append(
                    _(
                        '"%(lead)s": the sales process "%(type)s" has no stages yet; '
                        "add stages to it before using it.",
                        lead=lead.name,
                        type=ptype.name,
                    )
                )
            elif lead.stage_id and lead.stage_id.pipeline_type_id != ptype:
                problems.append(
                    _(
                        '"%(lead)s": stage "%(stage)s" belongs to the sales process "%(stage_type)s", '
                        'not to "%(type)s".',
                        lead=lead.name,
                        stage=lead.stage_id.name,
                        stage_type=lead.stage_id.pipeline_type_id.name,
                        type=ptype.name or _("(none)"),
                    )
                )
        if problems:
            raise ValidationError(
                _("An opportunity can only be in a stage of its own sales process.")
                + "\n"
                + "\n".join(problems)
            )

    # ------------------------------------------------------------
    # ORM
    # ------------------------------------------------------------

    # Flags of the server's own calls, kept in the transaction's cache (``_server_flag``).
    _CREATING_LEADS = "sales_process_addon.creating_leads"
    _MERGING_LEADS = "sales_process_addon.merging_leads"
    _STAGES_BEFORE_MOVE = "sales_process_addon.stages_before_move"

    @contextmanager
    def _server_flag(self, key, value):
        """Set ``key`` to ``value`` in the transaction's cache while inside, not in the context:
        any RPC call may bring context keys, so a flag there could be set by a client."""
        cache = self.env.cr.cache
        missing = object()
        outer = cache.get(key, missing)
        cache[key] = value
        try:
            yield
        finally:
            if outer is missing:
                cache.pop(key, None)
            else:
                cache[key] = outer

    @api.model_create_multi
    def create(self, vals_list):
        for vals in vals_list:
            self._stage_gate_check_vals(vals)
            if "pipeline_type_id" in vals and not vals["pipeline_type_id"]:
                # No process given (an empty import cell, an RPC client's False): the default one,
                # as every lead has a process.
                del vals["pipeline_type_id"]
        # An import or RPC call giving only a stage implies that stage's process.
        stage_ids = {
            vals["stage_id"]
            for vals in vals_list
            if vals.get("stage_id") and not vals.get("pipeline_type_id")
        }
        if stage_ids:
            stage_info = self._stage_gate_structure()["stages"]
            for vals in vals_list:
                if vals.get("stage_id") and not vals.get("pipeline_type_id"):
                    vals["pipeline_type_id"] = stage_info[vals["stage_id"]]["type"]
        # Warning signals logged by lines created with their leads get their follow-ups once the
        # leads exist: Odoo adds the creator as a follower after the lines, without checking.
        with self._server_flag(self._CREATING_LEADS, True):
            leads = super().create(vals_list)
        if any(vals.get("stakeholder_ids") or vals.get("signal_ids") for vals in vals_list):
            leads.signal_ids.filtered(lambda signal: not signal.followup_activity_id)._schedule_followups()
        leads._stage_gate_enforce({}, created=True)
        leads._qualification_fill()
        return leads

    def write(self, vals):
        """Judge every change of the leads' stage state, whatever field is written.

        The state is read before and after; the fields whose write may change
        it come from the ORM's dependency graph (``_stage_gate_trigger_fnames``),
        so a compute that moves the stage (a process switch, a team change) is
        judged like a stage written directly.
        """
        # A copy: Odoo's crm write adds the stage entry date to vals in place, and
        # a call retried after a serialisation failure must get the caller's vals.
        vals = dict(vals)
        merging = len(self) == 1 and self.id in self.env.cr.cache.get(self._MERGING_LEADS, ())
        if merging and vals.get("team_id") and vals.get("stage_id"):
            self._merge_stage_within_process(vals)
        self._stage_gate_check_vals(vals)
        if not self._stage_gate_trigger_fnames() & vals.keys():
            return super().write(vals)
        if "stage_id" in vals and len(self) > 1:
            # Odoo resets the stage entry date of the whole batch; leads already
            # in that stage have not moved and keep theirs.
            staying = self.filtered(lambda lead: lead.stage_id.id == vals["stage_id"])
            if staying and staying != self:
                (self - staying).write(dict(vals))
                staying.write(dict(vals))
                return True
        if "stage_id" in vals:
            self._stage_tasks_cancel_before_move(vals["stage_id"])
        before = self._stage_gate_state()
        stages_before = {}
        if "stage_id" in vals and any(self._fields[fname].type == "one2many" for fname in vals):
            # The lines saved with the move are recorded first, as if saved just before it: a
            # save that records the last evidence of a stage and leaves it is one step.
            stages_before = {lead.id: lead.stage_id.id for lead in self}
        outer = self.env.cr.cache.get(self._STAGES_BEFORE_MOVE, {})
        with self._server_flag(self._STAGES_BEFORE_MOVE, {**outer, **stages_before}):
            result = super().write(vals)
        if "stage_id" not in vals:
            self._stage_gate_date_computed_moves(before)
        if "pipeline_type_id" in vals:
            self._log_pipeline_type_switch(before)
            self._qualification_fill()
        self._stage_gate_enforce(before)
        return result

    def _stage_gate_date_computed_moves(self, before):
        """Date the entry in their new stage of the leads of an enforced process a compute moved (a
        process switch, a team change): Odoo dates only a stage written. Time in stage, stale alerts
        and the exceptions (valid while the lead stays in its stage) count from it. Elsewhere Odoo's
        way stands (its lead assignment changes teams one lead at a time)."""
        types = self._stage_gate_structure()["types"]

        def enforced(type_id):
            return types.get(type_id, {}).get("mode") == "enforced"

        moved = self.filtered(
            lambda lead: lead.id in before
            and (lead.stage_id.id or None) != before[lead.id].stage_id
            and (enforced(lead.pipeline_type_id.id) or enforced(before[lead.id].pipeline_type_id))
        )
        if moved:
            # sudo: a field the server derives, which users may not write.
            moved.sudo().write({"date_last_stage_update": self.env.cr.now()})

    @api.ondelete(at_uninstall=False)
    def _unlink_except_audit_trail(self):
        """An opportunity whose moves an exception or evidence opened, in an enforced process, stays.

        Its history is the audit trail of those decisions: mark it lost or
        archive it instead. Guided processes keep Odoo's freedom to delete.
        """
        types = self._stage_gate_structure()["types"]
        enforced = self.filtered(
            lambda lead: types.get(lead.pipeline_type_id.id, {}).get("mode") == "enforced"
        )
        if not enforced:
            return
        # sudo: the audit trail is checked whoever deletes, and users only read history.
        proven = (
            self.env["crm.lead.stage.history"]
            .sudo()
            .search(
                [
                    ("lead_id", "in", enforced.ids),
                    "|",
                    ("exception_id", "!=", False),
                    ("evidence_ids", "!=", False),
                ],
                limit=1,
            )
        )
        if proven:
            raise UserError(
                _(
                    '"%(lead)s" passed the stage gate with evidence or an approved exception: its history is '
                    "the audit trail of those decisions, so it cannot be deleted. Mark it lost or archive it "
                    "instead.",
                    lead=proven.lead_id.with_env(self.env).name,
                )
            )

    @api.model
    def _read_group_stage_ids(self, stages, domain):
        """Kanban columns: only the stages of the process being looked at.

        The process comes from the context (``default_pipeline_type_id``, set by
        each process's pipeline action) or from the search domain (the process
        filter); without either, Odoo's default columns are kept. As Odoo does,
        a team's own stages are columns only for that team (the context's team,
        or the user's teams where the action asks for them), plus any column
        that holds records.
        """
        type_ids = self._pipeline_type_ids_in(domain)
        if not type_ids:
            return super()._read_group_stage_ids(stages, domain)
        team_ids = self.env.user.crm_team_ids.ids if self.env.context.get("show_user_team_stages") else []
        if self.env.context.get("default_team_id"):
            team_ids.append(self.env.context["default_team_id"])
        visible = Domain("team_ids", "=", False)
        if team_ids:
            visible |= Domain("team_ids", "in", team_ids)
        search_domain = Domain("id", "in", stages.ids) | (
            Domain("pipeline_type_id", "in", type_ids) & visible
        )
        # sudo: columns are the process's stages, whatever the stages' reading rules (as Odoo does).
        return stages.browse(stages.sudo()._search(search_domain, order=stages._order))

    def _stage_find(self, team_id=False, domain=None, order="sequence, id", limit=1):
        """Search stages only within the processes of these leads."""
        if self.pipeline_type_id:
            domain = Domain.AND([domain or [], [("pipeline_type_id", "in", self.pipeline_type_id.ids)]])
        return super()._stage_find(team_id=team_id, domain=domain, order=order, limit=limit)

    def _stage_gate_milestones_met(self, milestones, evidence=None, facts_met=None):
        """Facts of the buying center and the qualification prove milestones too.

        ``facts_met``: ``_stage_gate_facts_met`` of these milestones, when already read.
        """
        met = super()._stage_gate_milestones_met(milestones, evidence)
        if facts_met is None:
            facts_met = self._stage_gate_facts_met(milestones, describe=False)
        for lead_id, by_fact in facts_met.items():
            met[lead_id].update(by_fact)
        return met

    @api.model
    def _stage_history_complete(self, rows):
        """Record in each forward move which facts met the milestones of the stages it passed."""
        super()._stage_history_complete(rows)
        moves = [row for row in rows if row["event"] in ("forward", "won") and row["from_stage_id"]]
        if not moves:
            return
        stage_ids = {row["from_stage_id"] for row in moves} | {row["to_stage_id"] for row in moves}
        known = self._stage_gate_structure()["milestones"]
        milestones = self.env["crm.stage.milestone"].browse(
            mid
            for mid, info in known.items()
            if info["fact"] and info["active"] and info["stage"] in stage_ids
        )
        if not milestones:
            return
        facts = self.browse(list({row["lead_id"] for row in moves}))._stage_gate_facts_met(milestones)
        for row in moves:
            proven = {row["from_stage_id"]}
            if row["event"] == "won":
                proven.add(row["to_stage_id"])
            used = [
                description
                for milestone_id, description in facts.get(row["lead_id"], {}).items()
                if known[milestone_id]["stage"] in proven
            ]
            row["facts_used"] = "\n".join(used) or None

    def _merge_opportunity(self, user_id=False, team_id=False, auto_unlink=True, max_length=5):
        """See ``_merge_stage_within_process`` and ``_sort_by_confidence_level``.

        Won deals of different processes are not merged: the deal kept would carry the other
        process's win in its history while won in its own process.
        """
        won = self.filtered(lambda lead: lead.won_status == "won")
        if len(won.pipeline_type_id) > 1:
            raise UserError(
                self.env._(
                    "Won opportunities of different sales processes cannot be merged: %(deals)s.",
                    deals=", ".join(f"{lead.name} ({lead.pipeline_type_id.name})" for lead in won),
                )
            )
        merging = self.env.cr.cache.get(self._MERGING_LEADS, frozenset()) | frozenset(self.ids)
        with self._server_flag(self._MERGING_LEADS, merging):
            return super()._merge_opportunity(
                user_id=user_id, team_id=team_id, auto_unlink=auto_unlink, max_length=max_length
            )

    def _sort_by_confidence_level(self, reverse=False):
        """Won deals first, then Odoo's order (stage sequence, probability, newest).

        Odoo keeps the deal whose stage has the highest sequence: the won stage, in one
        pipeline. Sequences of different processes overlap, so a merge would keep an open deal
        of another process and delete the won one into it, un-winning the deal.
        """
        ordered = super()._sort_by_confidence_level(reverse=reverse)
        # A stable sort: Odoo's order stands among the won deals and among the others.
        return ordered.sorted(key=lambda lead: lead.won_status == "won", reverse=reverse)

    def _merge_stage_within_process(self, vals):
        """Odoo gives a deal merged into another team that team's first stage of any process, when
        its own stage is not one of the team's: the stage is left to ``_compute_stage_id`` then,
        which picks it within the deal's process, as for any team change."""
        ptype = vals.get("pipeline_type_id") or self.pipeline_type_id.id
        stage_info = self._stage_gate_structure()["stages"]
        if ptype and stage_info.get(vals["stage_id"], {}).get("type") != ptype:
            del vals["stage_id"]

    def _merge_dependences(self, opportunities):
        """Merging keeps the buying center, competitors, signals and answers, and the audit trail."""
        # First what their queued moves owe (stage tasks, report rows): it then moves with the rest,
        # but for the merged deals' stage tasks that the deal kept must not carry (duplicates, other
        # stages').
        self._stage_tasks_merge(opportunities)
        result = super()._merge_dependences(opportunities)
        self._merge_buying_center(opportunities)
        self._merge_audit_trail(opportunities)
        return result

    def _message_post_after_hook(self, message, msg_vals):
        """A message exchanged or an activity done warms the relationship up.

        Notes and tracking messages do not: skipping them keeps a batch stage
        move from refreshing its leads one by one as their tracking is posted.
        """
        result = super()._message_post_after_hook(message, msg_vals)
        if self._indicators_is_interaction(message):
            self._indicators_refresh()
        return result

    def log_meeting(self, meeting):
        """A meeting booked counts as an interaction too."""
        result = super().log_meeting(meeting)
        self._indicators_refresh()
        return result

    # ------------------------------------------------------------
    # ACTIONS
    # ------------------------------------------------------------

    def action_set_won(self):
        """Odoo picks the won stage among all stages: do it per process."""
        for leads in self.grouped("pipeline_type_id").values():
            super(CrmLead, leads).action_set_won()
        return True

    # ------------------------------------------------------------
    # BUSINESS
    # ------------------------------------------------------------

    @api.model
    def _pipeline_type_ids_in(self, domain):
        """Process ids named by the context or by a simple condition of ``domain``."""
        if self.env.context.get("default_pipeline_type_id"):
            return [self.env.context["default_pipeline_type_id"]]
        for condition in Domain(domain or []).iter_conditions():
            if condition.field_expr != "pipeline_type_id":
                continue
            if condition.operator == "=" and isinstance(condition.value, int):
                return [condition.value]
            if condition.operator == "in" and all(isinstance(v, int) for v in condition.value):
                return list(condition.value)
        return []

    def _evidence_stages(self, stage=None):
        """Stages whose milestones evidence may be recorded for now.

        The current stage (or ``stage``), and the won stage that directly follows
        it: the signed contract proves the win before the lead enters the won stage.
        """
        self.ensure_one()
        stage = stage or self.stage_id
        stage_info = self._stage_gate_structure()["stages"]
        sequence = self._stage_gate_sequence(self.pipeline_type_id.id, self.team_id.id, stage.id)
        allowed = stage
        if stage.id in sequence and not stage.is_won:
            following = sequence[sequence.index(stage.id) + 1 :][:1]
            if following and stage_info[following[0]]["won"]:
                allowed |= self.env["crm.stage"].browse(following)
        return allowed

    def _log_pipeline_type_switch(self, before):
        """Explain in the chatter where a process switch moved each lead.

        In the environment's language (English without one, as in an import by script), like
        the process and stage names it quotes.
        """
        reasons = {
            "buyer_stage": self.env._("same buyer stage"),
            "funnel_state": self.env._("same funnel state"),
            "first": self.env._("first stage of the process"),
            "proof": self.env._("as far as its proven milestones allow"),
        }
        bodies = {}
        for lead in self:
            old = before[lead.id]
            if not old.pipeline_type_id or old.pipeline_type_id == lead.pipeline_type_id.id:
                continue
            old_type = self.env["crm.pipeline.type"].browse(old.pipeline_type_id)
            old_stage = self.env["crm.stage"].browse(old.stage_id)
            if old_stage.buyer_stage_id and old_stage.buyer_stage_id == lead.stage_id.buyer_stage_id:
                reason = reasons["buyer_stage"]
            elif old_stage.funnel_state_id and old_stage.funnel_state_id == lead.stage_id.funnel_state_id:
                reason = reasons["funnel_state"]
            elif lead.stage_id.id in self._stage_gate_sequence(lead.pipeline_type_id.id, lead.team_id.id)[:1]:
                reason = reasons["first"]
            else:
                reason = reasons["proof"]
            bodies[lead.id] = Markup("<p>%s</p>") % self.env._(
                'Sales process changed from "%(old_type)s" to "%(new_type)s": '
                'stage "%(old_stage)s" became "%(new_stage)s" (%(reason)s).',
                old_type=old_type.name,
                new_type=lead.pipeline_type_id.name,
                old_stage=old_stage.name,
                new_stage=lead.stage_id.name,
                reason=reason,
            )
        if bodies:
            self._message_log_batch(bodies=bodies)
