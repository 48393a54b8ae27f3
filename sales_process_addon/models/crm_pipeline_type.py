from odoo import _, api, fields, models
from odoo.exceptions import ValidationError

from ..tools import join_list

GATE_MODES = [("guided", "Guided"), ("enforced", "Enforced")]
GATE_MODE_HELP = (
    "Enforced: an opportunity leaves a stage only once its required milestones are evidenced, "
    "one stage at a time, or through an exception a sales manager approved. Guided: moves are free; "
    "the checklist, playbooks, tasks, history and reports work the same, and a move that leaves "
    "milestones unproven is recorded as such."
)


class CrmPipelineType(models.Model):
    """A sales process: an ordered set of seller stages for one kind of deal.

    Each opportunity follows exactly one pipeline type; its stages are Odoo's
    ``crm.stage`` records linked to the type, so kanban, probabilities and won
    logic keep working unchanged.
    """

    _name = "crm.pipeline.type"
    _inherit = ["crm.stage.gate.config.mixin"]
    _description = "Sales Process"
    _order = "sequence, id"
    _check_company_auto = True

    name = fields.Char(required=True, translate=True)
    code = fields.Char(
        required=True,
        help="Short technical identifier, unique per company; used by imports and integrations.",
    )
    description = fields.Text(translate=True)
    usage_guidance = fields.Html(
        "When to Use",
        translate=True,
        help="Guidance for sales reps on the kind of deal this process fits.",
    )
    sequence = fields.Integer(default=10)
    active = fields.Boolean(default=True)
    color = fields.Integer()
    company_id = fields.Many2one("res.company", index=True)
    buyer_process_id = fields.Many2one(
        "crm.buyer.process",
        string="Buying Process",
        check_company=True,
        ondelete="restrict",
        help="The customer's buying / decision process that the stages are paired with.",
    )
    stage_ids = fields.One2many("crm.stage", "pipeline_type_id", string="Stages")
    cancel_tasks_on_exit = fields.Boolean(
        "Cancel Stage Tasks on Exit",
        default=True,
        help="When an opportunity leaves a stage or is lost, the still-open activities scheduled "
        "for that stage are cancelled.",
    )
    gate_mode = fields.Selection(
        GATE_MODES,
        "Stage Gate",
        default="enforced",
        required=True,
        help=GATE_MODE_HELP,
    )
    allow_backward = fields.Boolean(
        "Allow Moving Backward",
        default=True,
        help="Whether opportunities may return to an earlier stage; every move back is recorded.",
    )
    probability_mode = fields.Selection(
        [("predictive", "Predictive scoring"), ("evidence", "Proven milestones")],
        "Probability",
        default="predictive",
        required=True,
        help="How the probability of its opportunities is set. Predictive scoring: Odoo learns it from "
        "the deals won and lost. Proven milestones: the stage's default probability, raised towards "
        "the next stage's as the stage's required milestones are proven.",
    )
    stage_count = fields.Integer(compute="_compute_stage_count")
    opportunity_count = fields.Integer(compute="_compute_opportunity_count")

    # The Python check below gives the friendly message; this index is the
    # guarantee under concurrency. NULLS NOT DISTINCT: one code per shared type too.
    _code_company_uniq = models.UniqueIndex(
        "(company_id, code) NULLS NOT DISTINCT",
        "The code of a sales process must be unique per company.",
    )

    @api.constrains("company_id")
    def _check_company_of_its_users(self):
        """A process given to one company keeps no opportunity, sales team or company default of
        another: they could no longer be saved with it."""
        for ptype in self.filtered("company_id"):
            others = [
                ("pipeline_type_id", "=", ptype.id),
                ("company_id", "not in", [ptype.company_id.id, False]),
            ]
            # sudo: other companies' records count, though whoever changes the process may not see them.
            leads = self.env["crm.lead"].sudo().with_context(active_test=False).search_count(others)
            teams = self.env["crm.team"].sudo().with_context(active_test=False).search_count(others)
            companies = (
                self.env["res.company"]
                .sudo()
                .search_count(
                    [("default_pipeline_type_id", "=", ptype.id), ("id", "!=", ptype.company_id.id)]
                )
            )
            used = [
                text
                for count, text in (
                    (leads, self.env._("%(count)s opportunities", count=leads)),
                    (teams, self.env._("%(count)s sales teams", count=teams)),
                    (companies, self.env._("the default process of %(count)s companies", count=companies)),
                )
                if count
            ]
            if used:
                raise ValidationError(
                    _(
                        'The sales process "%(type)s" cannot belong to %(company)s only: other companies use '
                        "it (%(used)s). Leave it shared, or give those another process first.",
                        type=ptype.name,
                        company=ptype.company_id.name,
                        used=join_list(self.env, used),
                    )
                )

    @api.constrains("buyer_process_id")
    def _check_buyer_process_of_stages(self):
        """A stage's buyer stage is a step of its process's buying process (checked on the stage too):
        the buying process changes, or is cleared, only with its stages paired anew, or with none."""
        # sudo: every stage of the process counts, whoever edits it.
        stages = (
            self.env["crm.stage"]
            .sudo()
            .search([("pipeline_type_id", "in", self.ids), ("buyer_stage_id", "!=", False)])
        )
        for ptype in self:
            paired = stages.filtered(
                lambda stage, ptype=ptype: stage.pipeline_type_id == ptype
                and stage.buyer_stage_id.buyer_process_id != ptype.buyer_process_id
            )
            if not paired:
                continue
            values = {
                "type": ptype.name,
                "stages": join_list(self.env, paired.mapped("name")),
                "other": paired[0].buyer_stage_id.buyer_process_id.name,
                "process": ptype.buyer_process_id.name,
            }
            if not ptype.buyer_process_id:
                raise ValidationError(
                    _(
                        'Sales process "%(type)s" cannot be left without a buying process: its stages '
                        '%(stages)s are paired with steps of "%(other)s". Clear their buyer stages in '
                        "the same change.",
                        **values,
                    )
                )
            raise ValidationError(
                _(
                    'The buying process of sales process "%(type)s" cannot become "%(process)s": its stages '
                    '%(stages)s are paired with steps of "%(other)s". Pair them with steps of "%(process)s", '
                    "or with none, in the same change.",
                    **values,
                )
            )

    @api.constrains("active")
    def _check_archived_unused(self):
        """An archived process is offered nowhere: it may no longer hold open opportunities, nor be a
        sales team's process or a company's default (their new opportunities would get it)."""
        for ptype in self.filtered(lambda ptype: not ptype.active):
            # sudo: whatever uses the process counts, though whoever archives it may not see it all.
            leads = (
                self.env["crm.lead"]
                .sudo()
                .search_count([("pipeline_type_id", "=", ptype.id), ("won_status", "=", "pending")])
            )
            teams = (
                self.env["crm.team"]
                .sudo()
                .with_context(active_test=False)
                .search_count([("pipeline_type_id", "=", ptype.id)])
            )
            companies = (
                self.env["res.company"].sudo().search_count([("default_pipeline_type_id", "=", ptype.id)])
            )
            used = [
                text
                for count, text in (
                    (leads, self.env._("%(count)s open opportunities", count=leads)),
                    (teams, self.env._("the process of %(count)s sales teams", count=teams)),
                    (companies, self.env._("the default process of %(count)s companies", count=companies)),
                )
                if count
            ]
            if used:
                raise ValidationError(
                    _(
                        'The sales process "%(type)s" cannot be archived: it is still in use (%(used)s). '
                        "Win, lose or move its open opportunities, and give those teams and companies "
                        "another process first.",
                        type=ptype.name,
                        used=join_list(self.env, used),
                    )
                )

    @api.constrains("gate_mode")
    def _check_gate_mode(self):
        """Enforcing a process checks its stage order as enforced processes need it, that each of
        its opportunities has a stage (an enforced process's stage cannot be emptied) and that none
        sits in a stage kept from its team (an enforced move never enters another team's stage)."""
        self.stage_ids._check_won_stages_last()
        enforced = self.filtered(lambda ptype: ptype.gate_mode == "enforced")
        if not enforced:
            return
        # sudo: every opportunity of the process counts, whoever enforces it.
        stageless = dict(
            self.env["crm.lead"]
            .sudo()
            .with_context(active_test=False)
            ._read_group(
                [("pipeline_type_id", "in", enforced.ids), ("stage_id", "=", False)],
                ["pipeline_type_id"],
                ["__count"],
            )
        )
        if stageless:
            ptype, count = next(iter(stageless.items()))
            raise ValidationError(
                _(
                    '%(count)s opportunities of the sales process "%(type)s" have no stage: put them in a '
                    "stage before enforcing the process.",
                    count=count,
                    type=ptype.name,
                )
            )
        stranded = enforced.stage_ids._deals_of_other_teams()
        if stranded:
            stage, count = next(iter(stranded.items()))
            raise ValidationError(
                _(
                    '%(count)s opportunities of other sales teams than %(teams)s are in stage "%(stage)s" '
                    'of the sales process "%(type)s": move them, or keep the stage for their teams too, '
                    "before enforcing the process.",
                    count=count,
                    teams=join_list(self.env, stage.team_ids.mapped("name")),
                    stage=stage.name,
                    type=stage.pipeline_type_id.name,
                )
            )

    # ------------------------------------------------------------
    # COMPUTE
    # ------------------------------------------------------------

    @api.depends("stage_ids")
    def _compute_stage_count(self):
        for ptype in self:
            ptype.stage_count = len(ptype.stage_ids)

    def _compute_opportunity_count(self):
        counts = dict(
            self.env["crm.lead"]._read_group(
                [("pipeline_type_id", "in", self.ids), ("type", "=", "opportunity")],
                ["pipeline_type_id"],
                ["__count"],
            )
        )
        for ptype in self:
            ptype.opportunity_count = counts.get(ptype, 0)

    # ------------------------------------------------------------
    # ORM
    # ------------------------------------------------------------

    @api.model_create_multi
    def create(self, vals_list):
        self._check_codes_free(
            [(vals.get("company_id", False), vals.get("code"), vals.get("name"), False) for vals in vals_list]
        )
        return super().create(vals_list)

    def write(self, vals):
        if "code" in vals or "company_id" in vals:
            self._check_codes_free(
                [
                    (
                        vals.get("company_id", ptype.company_id.id),
                        vals.get("code", ptype.code),
                        vals.get("name", ptype.name),
                        ptype.id,
                    )
                    for ptype in self
                ]
            )
        return super().write(vals)

    @api.model
    def _check_codes_free(self, entries):
        """Refuse duplicate codes with a message naming both processes.

        Runs before the database is touched, so the user gets this message
        rather than the unique index's generic one. ``entries``: tuples of
        (company id, code, name, id or False).
        """
        seen = {}
        for company_id, code, name, _record_id in entries:
            key = (company_id or False, code)
            if key in seen:
                if seen[key] == name:
                    raise ValidationError(
                        _(
                            'Two sales processes named "%(name)s" use the code "%(code)s": a code must be '
                            "unique per company.",
                            name=name,
                            code=code,
                        )
                    )
                raise ValidationError(
                    _(
                        'Sales processes "%(first)s" and "%(second)s" both use the code "%(code)s": '
                        "a code must be unique per company.",
                        first=seen[key],
                        second=name,
                        code=code,
                    )
                )
            seen[key] = name
        record_ids = [entry[3] for entry in entries if entry[3]]
        others = self.with_context(active_test=False).search(
            [("code", "in", [entry[1] for entry in entries]), ("id", "not in", record_ids)]
        )
        for other in others:
            name = seen.get((other.company_id.id, other.code))
            if name is not None and name == other.name:
                raise ValidationError(
                    _(
                        'The code "%(code)s" is already used by another sales process named "%(name)s": '
                        "a code must be unique per company.",
                        code=other.code,
                        name=name,
                    )
                )
            if name is not None:
                raise ValidationError(
                    _(
                        'The code "%(code)s" of sales process "%(name)s" is already used by "%(other)s": '
                        "a code must be unique per company.",
                        code=other.code,
                        name=name,
                        other=other.display_name,
                    )
                )

    # ------------------------------------------------------------
    # ACTIONS
    # ------------------------------------------------------------

    def action_open_pipeline(self):
        """Pipeline kanban restricted to this process: its stages are the columns."""
        self.ensure_one()
        action = self.env["ir.actions.act_window"]._for_xml_id("crm.crm_lead_action_pipeline")
        action.update(
            {
                "name": self.name,
                "domain": [("type", "=", "opportunity"), ("pipeline_type_id", "=", self.id)],
                "context": {
                    "default_type": "opportunity",
                    "default_pipeline_type_id": self.id,
                },
            }
        )
        return action
