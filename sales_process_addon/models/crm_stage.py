from odoo import _, api, fields, models
from odoo.exceptions import UserError, ValidationError

from ..tools import join_list


class CrmStage(models.Model):
    """A seller stage belongs to one sales process and mirrors a buyer stage."""

    _name = "crm.stage"
    _inherit = ["crm.stage", "crm.stage.gate.config.mixin"]
    # One order for the gate, the kanban and the reports, whatever the user's
    # language: Odoo's own ("sequence, name, id") sorts ties by translated name.
    _order = "sequence, id"

    # Not NOT NULL in the database: stages existing before the install get their
    # process from the post-init hook; _check_pipeline_type_set guards the rest.
    pipeline_type_id = fields.Many2one(
        "crm.pipeline.type",
        string="Sales Process",
        index=True,
        ondelete="restrict",
        default=lambda self: self._default_pipeline_type_id(),
    )
    buyer_process_id = fields.Many2one(related="pipeline_type_id.buyer_process_id")
    buyer_stage_id = fields.Many2one(
        "crm.buyer.stage",
        index=True,
        ondelete="restrict",
        domain="[('buyer_process_id', '=', buyer_process_id)]",
        help="The step of the customer's buying process this stage accompanies.",
    )
    funnel_state_id = fields.Many2one(
        "crm.funnel.state",
        index=True,
        ondelete="restrict",
    )
    funnel_state_indicators = fields.Text(related="funnel_state_id.indicators")
    default_probability = fields.Float(
        help="Typical chance (%) of winning a deal that has reached this stage.",
    )
    milestone_criteria = fields.Text(
        "Milestones",
        translate=True,
        help="What must be verifiably achieved, preferably by the customer, to leave this stage.",
    )

    milestone_ids = fields.One2many("crm.stage.milestone", "stage_id", string="Milestone Checklist")
    playbook = fields.Html(
        translate=True,
        help="Guidance for reps in this stage: recommended behaviours, tools and conversation prompts.",
    )
    activity_plan_id = fields.Many2one(
        "mail.activity.plan",
        string="Standard Tasks",
        domain="[('res_model', '=', 'crm.lead')]",
        ondelete="set null",
        help="Activities scheduled on every opportunity that enters this stage, however it gets there.",
    )
    escalation_days = fields.Integer(
        "Days Before Manager Alert",
        help="An opportunity idle this many days in the stage is reported to its sales team leader. "
        "The salesperson is told earlier, after the stage's days to rot. 0 disables the alert.",
    )
    funnel_state_guidance = fields.Text(related="funnel_state_id.guidance")

    _default_probability_range = models.Constraint(
        "CHECK(default_probability >= 0 AND default_probability <= 100)",
        "The default probability of a stage must be between 0 and 100.",
    )

    def write(self, vals):
        """A stage's won flag and process define the state of the leads in it.

        Marking a stage won wins the opportunities in it: refused while an
        enforced process's stage holds opportunities; elsewhere the gate records
        what changed. Moving it to another process would put them outside their
        own: refused while it holds any.
        """
        leads = self.env["crm.lead"]
        if {"is_won", "pipeline_type_id"} & vals.keys():
            changed = self.filtered(
                lambda stage: ("is_won" in vals and stage.is_won != bool(vals["is_won"]))
                or ("pipeline_type_id" in vals and stage.pipeline_type_id.id != vals["pipeline_type_id"])
            )
            # sudo: the count covers every opportunity, whoever configures the stage.
            counts = dict(
                self.env["crm.lead"]
                .sudo()
                .with_context(active_test=False)
                ._read_group([("stage_id", "in", changed.ids)], ["stage_id"], ["__count"])
            )
            in_use = changed.filtered(
                lambda stage: counts.get(stage) and stage.pipeline_type_id.gate_mode == "enforced"
            )
            if in_use:
                raise UserError(
                    _(
                        'Stage "%(stage)s" holds %(count)s opportunities of an enforced sales process: its won '
                        "flag and its process can only change once it is empty. Move them first.",
                        stage=in_use[0].name,
                        count=counts[in_use[0]],
                    )
                )
            moving = changed.filtered(
                lambda stage: counts.get(stage) and stage.pipeline_type_id and "pipeline_type_id" in vals
            )
            if moving:
                # Its deals would sit in a stage of another process than theirs, in every mode.
                raise UserError(
                    _(
                        'Stage "%(stage)s" holds %(count)s opportunities: it can only move to another sales '
                        "process once it is empty. Move them first.",
                        stage=moving[0].name,
                        count=counts[moving[0]],
                    )
                )
            # In a guided process the leads follow its won flag, and the gate records what changed.
            # sudo: every opportunity in the stage is judged and recorded, whoever configures it.
            leads = (
                self.env["crm.lead"]
                .sudo()
                .with_context(active_test=False)
                .search([("stage_id", "in", changed.ids)])
            )
        before = leads._stage_gate_state()
        # Odoo writes the probability of the leads of a stage marked won: one change, judged once.
        with leads._stage_gate_judged_by_caller():
            result = super().write(vals)
        if leads:
            leads._stage_gate_enforce(before)
        if "team_ids" in vals:
            self._check_team_ids_keep_their_deals()
        return result

    def _check_team_ids_keep_their_deals(self):
        """Refuse to keep an enforced stage from the teams of the deals in it: they would sit in a
        stage that is no step of their team's sequence, and could not even change salesperson (the
        stage Odoo resets them to is a move back)."""
        enforced = self.filtered(lambda stage: stage.pipeline_type_id.gate_mode == "enforced")
        stranded = enforced._deals_of_other_teams()
        if stranded:
            stage, count = next(iter(stranded.items()))
            raise UserError(
                _(
                    '%(count)s opportunities of other sales teams than %(teams)s are in stage "%(stage)s": '
                    "move them first, or keep the stage for their teams too.",
                    count=count,
                    teams=join_list(self.env, stage.team_ids.mapped("name")),
                    stage=stage.name,
                )
            )

    def _deals_of_other_teams(self):
        """{stage: number of opportunities in it of a team it is not kept for}, for the stages of
        ``self`` kept for some teams and holding such opportunities."""
        counts = {}
        for stage in self.filtered("team_ids"):
            # sudo: every opportunity in the stage counts, whoever configures it.
            count = (
                self.env["crm.lead"]
                .sudo()
                .with_context(active_test=False)
                .search_count([("stage_id", "=", stage.id), ("team_id", "not in", stage.team_ids.ids)])
            )
            if count:
                counts[stage] = count
        return counts

    @api.ondelete(at_uninstall=False)
    def _unlink_except_audit_trail(self):
        """A stage named by a decided exception, or by a move the gate let through on evidence or an
        exception, stays: deleting it would delete the exception and blank the history's stage."""
        stage_ids = list(self.ids)
        # sudo: the audit trail counts whoever deletes, and users read only their part of it.
        used = self.env["crm.stage.exception"].sudo().search(
            [
                ("state", "!=", "pending"),
                "|",
                ("from_stage_id", "in", stage_ids),
                ("to_stage_id", "in", stage_ids),
            ],
            limit=1,
        ) or self.env["crm.lead.stage.history"].sudo().search(
            [
                ("proof", "in", ("evidence", "exception")),
                "|",
                ("from_stage_id", "in", stage_ids),
                ("to_stage_id", "in", stage_ids),
            ],
            limit=1,
        )
        if used:
            stage = self & (used.from_stage_id | used.to_stage_id)
            raise UserError(
                _(
                    'The stage "%(stage)s" is part of the audit trail: opportunities passed the stage gate '
                    "into or out of it with evidence or an approved exception. Fold it, or move it out of "
                    "use, instead of deleting it.",
                    stage=stage[:1].name,
                )
            )

    @api.model
    def _default_pipeline_type_id(self):
        """The company's default process, else the shared Standard pipeline (e.g. a new company)."""
        return self.env.company.default_pipeline_type_id or self.env.ref(
            "sales_process_addon.pipeline_type_standard", raise_if_not_found=False
        )

    @api.constrains("escalation_days", "rotting_threshold_days")
    def _check_escalation_days(self):
        for stage in self:
            if stage.escalation_days < 0 or (
                stage.escalation_days and stage.escalation_days <= stage.rotting_threshold_days
            ):
                raise ValidationError(
                    _(
                        'Stage "%(stage)s": the manager is alerted after %(days)s days, which must come after '
                        "the %(rot)s days at which the salesperson is told.",
                        stage=stage.name,
                        days=stage.escalation_days,
                        rot=stage.rotting_threshold_days,
                    )
                )

    @api.constrains("pipeline_type_id")
    def _check_pipeline_type_set(self):
        for stage in self:
            if not stage.pipeline_type_id:
                raise ValidationError(
                    _('Stage "%(stage)s" must belong to a sales process.', stage=stage.name)
                )

    @api.constrains("default_probability")
    def _check_default_probability(self):
        for stage in self:
            if not 0 <= stage.default_probability <= 100:
                raise ValidationError(
                    _(
                        'Stage "%(stage)s": the default probability must be between 0 and 100, not %(value)s.',
                        stage=stage.name,
                        value=stage.default_probability,
                    )
                )

    @api.constrains("buyer_stage_id", "pipeline_type_id")
    def _check_buyer_stage_process(self):
        for stage in self:
            if stage.buyer_stage_id and stage.buyer_stage_id.buyer_process_id != stage.buyer_process_id:
                raise ValidationError(
                    _(
                        'Stage "%(stage)s": buyer stage "%(buyer_stage)s" is not a step of "%(process)s", '
                        'the buying process of sales process "%(type)s".',
                        stage=stage.name,
                        buyer_stage=stage.buyer_stage_id.name,
                        process=stage.buyer_process_id.name or _("(none)"),
                        type=stage.pipeline_type_id.name,
                    )
                )

    @api.constrains("is_won", "sequence", "pipeline_type_id")
    def _check_won_stages_last(self):
        """Signing is the one mark of a won deal: stages after it are post-sale, hence won.

        Enforced processes only: a guided one (e.g. the Standard pipeline made
        from a company's existing stages) keeps whatever order Odoo allows.
        """
        for ptype in self.pipeline_type_id.filtered(lambda ptype: ptype.gate_mode == "enforced"):
            won_stage = False
            for stage in ptype.stage_ids.sorted(lambda stage: (stage.sequence, stage.id)):
                if stage.is_won:
                    won_stage = won_stage or stage
                elif won_stage:
                    raise ValidationError(
                        _(
                            'Sales process "%(type)s": stage "%(stage)s" follows the won stage "%(won)s" '
                            "but is not a won stage. Stages after a won stage are post-sale steps and "
                            "must be won stages too; reorder the stages or mark it as won.",
                            type=ptype.name,
                            stage=stage.name,
                            won=won_stage.name,
                        )
                    )
