from collections import defaultdict

from markupsafe import Markup

from odoo import _, api, models
from odoo.exceptions import UserError


class CrmLeadUi(models.AbstractModel):
    """What the browser shows of the sales process; ``crm.lead`` inherits it.

    Read-only helpers of the pipeline, the kanban card, the opportunity form
    and the guided move dialog. The server stays the judge: nothing here moves
    a lead past the gate.
    """

    _name = "crm.lead.ui"
    _description = "Opportunity Sales Process Display"

    # ------------------------------------------------------------
    # COMPUTE
    # ------------------------------------------------------------

    @api.depends("stage_id")
    def _compute_stage_exit_criteria(self):
        """The stage's exit criteria, from its milestones themselves (one source).

        The stages' milestones come from the registry cache, and their records
        are those the milestone checklist reads: no query of its own on the form.
        """
        milestones_of = self._milestones_of_stages()
        for lead in self:
            lead.stage_exit_criteria = self._render_exit_criteria(milestones_of.get(lead.stage_id))

    @api.depends("risk_reason_codes")
    def _compute_risk_reasons(self):
        """The reasons stored with the risk level, in the reader's language: no query.

        Given to all the leads with the same reasons at once, not lead by lead (a kanban's cards).
        """
        labels = self._risk_reason_labels()
        for codes, leads in self.grouped("risk_reason_codes").items():
            leads.risk_reasons = (
                "\n".join(labels[code] for code in (codes or "").split(",") if code in labels) or False
            )

    @api.depends(
        "pipeline_type_id",
        "stage_id",
        "stage_exception_ids.state",
        "stage_exception_ids.from_stage_id",
        "stage_exception_ids.to_stage_id",
    )
    def _compute_stage_reach(self):
        """The stages out of reach, and the exception of the current stage the rep waits for or may use.

        Out of reach, in an enforced process: the stages after the next one
        (skips), and earlier ones where the process does not allow moving
        backward; an approved exception opens its target. The processes come
        from the gate's registry cache, the exceptions from one query for all
        these leads (the form does not read the exception list).
        """
        structure = self._stage_gate_structure()
        lead_ids = [lead_id for lead_id in self._origin.ids if lead_id]
        exceptions = self.env["crm.stage.exception"].browse()
        if lead_ids:
            exceptions = exceptions.search_fetch(
                [("lead_id", "in", lead_ids), ("state", "in", ("pending", "approved"))],
                ["lead_id", "from_stage_id", "to_stage_id", "state"],
            )
        exceptions_of = exceptions.grouped(lambda e: e.lead_id.id)
        Stage = self.env["crm.stage"]
        for lead in self:
            current = exceptions_of.get(lead._origin.id, exceptions.browse()).filtered(
                lambda e, lead=lead: e.from_stage_id == lead.stage_id
            )
            approved = current.filtered(lambda e: e.state == "approved")
            shown = approved[:1] or current[:1]
            lead.stage_exception_banner_id = shown
            lead.stage_exception_banner_state = shown.state or False
            lead.stage_exception_banner_target_id = shown.to_stage_id
            ptype = structure["types"].get(lead.pipeline_type_id.id)
            stage_ids = ptype["stages"] if ptype else ()
            if not ptype or ptype["mode"] == "guided" or lead.stage_id.id not in stage_ids:
                lead.stage_unreachable_ids = False
                continue
            index = stage_ids.index(lead.stage_id.id)
            unreachable = Stage.browse(stage_ids[index + 2 :])
            if not ptype["allow_backward"]:
                unreachable |= Stage.browse(stage_ids[:index])
            lead.stage_unreachable_ids = unreachable - approved.to_stage_id

    # ------------------------------------------------------------
    # ACTIONS
    # ------------------------------------------------------------

    def action_move_with_exception(self):
        """Move to the target of the approved exception shown in the banner; the gate applies it."""
        self.ensure_one()
        exception = self.stage_exception_banner_id
        if exception.state != "approved":
            raise UserError(
                _(
                    '"%(lead)s" has no approved exception to leave "%(stage)s".',
                    lead=self.name,
                    stage=self.stage_id.name,
                )
            )
        self.stage_id = exception.to_stage_id
        return True

    def action_view_stage_history(self):
        """The opportunity's stage history, opened on demand: the form does not read it."""
        self.ensure_one()
        action = self.env["ir.actions.act_window"]._for_xml_id(
            "sales_process_addon.crm_lead_stage_history_action"
        )
        action.update(domain=[("lead_id", "=", self.id)], context={"create": False})
        return action

    def action_view_stage_exceptions(self):
        """The opportunity's stage exceptions, opened on demand: the form does not read them."""
        self.ensure_one()
        action = self.env["ir.actions.act_window"]._for_xml_id(
            "sales_process_addon.crm_stage_exception_action"
        )
        action.update(domain=[("lead_id", "=", self.id)], context={"create": False})
        return action

    # ------------------------------------------------------------
    # BUSINESS
    # ------------------------------------------------------------

    @api.model
    def _pipeline_type_of_user(self):
        """The current user's process: their sales team's, else the company's; not another
        company's (a team of the company the user is not working in)."""
        ptype = self.env.user.sale_team_id.pipeline_type_id
        if ptype and (not ptype.company_id or ptype.company_id == self.env.company):
            return ptype
        return self.env.company.default_pipeline_type_id

    @api.model
    def _milestone_fact_hint(self, milestone):
        """How a fact of the opportunity's data meets ``milestone``, for the move dialog and the form.

        Only the hint returned is translated: each translation is a lookup, on every form read.
        """
        if milestone.fact == "coach_secured":
            return _(
                "Or add a contact with the Coach role, stance Supporter or Champion, to the buying center."
            )
        if milestone.fact == "decision_maker_met":
            return _("Or mark a Decision maker of the buying center as met, with the meeting date.")
        if milestone.fact == "qualified_pursue":
            return _("Or answer every qualification question Yes (status Pursue).")
        return False

    def evidence_milestone_suggestion(self):
        """The milestone a customer's message most likely proves, for "Use as Evidence".

        The first required milestone of the stages evidence may be recorded for
        that is still missing, customer-led, and accepts a customer's email (or
        any kind); else the first missing one. Returns ``{"milestone_id",
        "kind_id"}``: the kind is a customer's email where the milestone accepts
        it, else its only accepted kind, else False.
        """
        self.ensure_one()
        self.check_access("read")
        milestones = self.env["crm.stage.milestone"].search(
            [("stage_id", "in", self._evidence_stages().ids), ("required", "=", True)]
        )
        met = self._stage_gate_proof(milestones.ids)[0][self.id]
        awaiting = self._stage_gate_evidence(milestones.ids, valid=False)[self.id]
        missing = milestones.filtered(lambda m: m.id not in met and m.id not in awaiting)
        email = self.env.ref("sales_process_addon.evidence_kind_customer_email", raise_if_not_found=False)
        suited = missing.filtered(
            lambda m: m.customer_led and (not m.evidence_kind_ids or email in m.evidence_kind_ids)
        )
        milestone = (suited or missing)[:1]
        accepted = milestone.evidence_kind_ids
        if not accepted or email in accepted:
            kind = email
        else:
            kind = accepted if len(accepted) == 1 else accepted.browse()
        return {"milestone_id": milestone.id or False, "kind_id": kind.id or False}

    @api.readonly
    def stage_move_check(self, stage_ids):
        """What moving this opportunity to each of ``stage_ids`` would meet, for the move dialog.

        The server stays the judge (every write goes through the gate); this
        only tells the UI in advance. Returns ``{stage id: {"allowed",
        "reason", "message", "next_stage", "missing", "exception", "guided"}}``.
        """
        self.ensure_one()
        self.check_access("read")
        structure = self._stage_gate_structure()
        state = self._stage_gate_state()[self.id]
        result = {}
        targets = [stage_id for stage_id in stage_ids if stage_id in structure["stages"]]
        prove_all = set()
        planned = {}
        for stage_id in targets:
            new = state._replace(stage_id=stage_id, pipeline_type_id=structure["stages"][stage_id]["type"])
            if stage_id == state.stage_id:
                continue
            event = self._stage_gate_event(state, new)
            need = self._stage_gate_requirements(event, state, new)
            planned[stage_id] = (new, need)
            prove_all.update(need["prove"])
        met, _evidence = self._stage_gate_proof(prove_all)
        awaiting = self._stage_gate_evidence(list(prove_all), valid=False).get(self.id, {})
        Exception_ = self.env["crm.stage.exception"]
        exceptions = Exception_.search(
            [
                ("lead_id", "=", self.id),
                ("from_stage_id", "=", state.stage_id),
                ("state", "in", ("pending", "approved")),
            ]
        )
        sequence = self._stage_gate_sequence(state.pipeline_type_id, state.team_id, state.stage_id)
        following = sequence[sequence.index(state.stage_id) + 1 :][:1] if state.stage_id in sequence else []
        next_stage = self.env["crm.stage"].browse(following)
        for stage_id, (new, need) in planned.items():
            missing = [mid for mid in need["prove"] if mid not in met[self.id]]
            problem = need["problem"] or ("missing" if missing else None)
            exception = exceptions.filtered(lambda e, stage_id=stage_id: e.to_stage_id.id == stage_id)[:1]
            allowed = not (problem and need["enforced"]) or exception.state == "approved"
            milestones = self.env["crm.stage.milestone"].browse(missing)
            result[stage_id] = {
                "allowed": allowed,
                "reason": problem or "ok",
                "guided": not need["enforced"],
                "message": self._stage_gate_refusal_message(self.id, state, new, problem, missing)
                if problem
                else "",
                "next_stage": {"id": next_stage.id, "name": next_stage.name} if next_stage else False,
                "missing": [
                    {
                        "id": milestone.id,
                        "name": milestone.name,
                        "customer_led": milestone.customer_led,
                        "needs_verification": milestone.needs_verification,
                        "evidence_kind_ids": milestone.evidence_kind_ids.ids,
                        "fact": self._milestone_fact_hint(milestone),
                        "awaiting_verification": milestone.id in awaiting,
                    }
                    for milestone in (milestones if problem == "missing" else [])
                ],
                "exception": {"id": exception.id, "state": exception.state} if exception else False,
            }
        return result

    @api.readonly
    def stage_won_target(self):
        """The won stage Odoo's Won button moves this opportunity to, and what the gate says of it.

        The same choice as ``action_set_won``: among the won stages the lead's
        team sees (within its process), the first one after its stage, else the
        last one before it. Returns ``{"id", "name", "check"}`` (``check``: the
        move's ``stage_move_check``, so the button asks once), or False when the
        lead is already there or no won stage exists.
        """
        self.ensure_one()
        self.check_access("read")
        won_stages = self._stage_find(domain=[("is_won", "=", True)], limit=None)
        sequence = self.stage_id.sequence
        target = next((stage for stage in won_stages if stage.sequence > sequence), None) or next(
            (stage for stage in reversed(won_stages) if stage.sequence <= sequence), won_stages[:1]
        )
        if not target or target == self.stage_id:
            return False
        check = self.stage_move_check([target.id]).get(target.id, {"allowed": True})
        return {"id": target.id, "name": target.display_name, "check": check}

    @api.model
    def _milestone_ids_by_stage(self):
        """``{stage id: [ids of its active milestones, in order]}``, required and optional,
        from the gate's registry cache (cleared by any change to a milestone)."""
        ids_of = defaultdict(list)
        for milestone_id, info in self._stage_gate_structure()["milestones"].items():
            if info["active"]:
                ids_of[info["stage"]].append(milestone_id)
        return ids_of

    def _milestones_of_stages(self):
        """``{stage: its milestones}`` for the stages of these leads, without a query.

        From the registry cache; the milestones of all these stages are read
        together when a field of one of them is first needed.
        """
        ids_of = self._milestone_ids_by_stage()
        stages = self.stage_id
        prefetch = tuple(mid for stage in stages for mid in ids_of.get(stage.id, ()))
        Milestone = self.env["crm.stage.milestone"]
        return {stage: Milestone.browse(ids_of.get(stage.id, ())).with_prefetch(prefetch) for stage in stages}

    def _with_fact_milestones(self, milestones_of):
        """Those of these leads in a stage with a milestone a fact can meet.

        ``milestones_of``: see ``_milestones_of_stages``. Facts meet the
        milestones of a few stages of a process (a coach secured, a decision
        maker met): a pipeline's other cards need not read them.
        """
        known = self._stage_gate_structure()["milestones"]
        stage_ids = {
            stage.id
            for stage, milestones in milestones_of.items()
            if any(known.get(mid, {}).get("fact") for mid in milestones.ids)
        }
        if not stage_ids:
            return self.browse()
        if len(stage_ids) == len(milestones_of):
            return self  # no lead to leave out (e.g. one opportunity's form)
        return self.filtered(lambda lead: lead.stage_id.id in stage_ids)

    @api.model
    def _risk_reason_labels(self):
        """``{code: sentence}`` of the reasons ``_risk_assessment`` gives, in the user's language."""
        return {
            "qualification_drop": _("Qualification: Drop (a deal-breaker answered No)"),
            "qualification_not_pursue": _("Qualification not Pursue"),
            "cold": _("Cold relationship: no interaction in 30 days"),
            "no_access_no_commitment": _("Neither the decision maker reached nor a customer commitment"),
            "no_access": _("Decision maker not reached"),
            "no_commitment": _("No customer commitment"),
        }

    @api.model
    def _render_exit_criteria(self, milestones):
        if not milestones:
            return False
        return Markup("").join(
            Markup('<div class="mb-1"><span class="fw-semibold">%s</span>%s</div>')
            % (
                milestone.name,
                Markup('<div class="text-muted small">%s</div>') % milestone.description
                if milestone.description
                else "",
            )
            for milestone in milestones
        )
