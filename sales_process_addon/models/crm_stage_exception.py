from odoo import _, api, fields, models
from odoo.exceptions import AccessError, UserError, ValidationError


class CrmStageException(models.Model):
    """A declared, justified, approved deviation from the stage gate.

    A rep asks to move one opportunity from one stage to another despite the
    gate (skipping stages, missing evidence, or going back where the process
    forbids it). Once a sales manager other than the requester approves it,
    exactly that move goes through once; the exception is then used.
    """

    _name = "crm.stage.exception"
    _description = "Stage Gate Exception"
    _inherit = ["mail.thread", "mail.activity.mixin"]
    _order = "create_date desc, id desc"

    lead_id = fields.Many2one("crm.lead", "Opportunity", required=True, index=True, ondelete="cascade")
    pipeline_type_id = fields.Many2one(related="lead_id.pipeline_type_id", string="Sales Process")
    from_stage_id = fields.Many2one("crm.stage", required=True, ondelete="cascade")
    to_stage_id = fields.Many2one("crm.stage", required=True, ondelete="cascade")
    kind = fields.Selection(
        [
            ("missing_evidence", "Missing evidence"),
            ("skip", "Skip stages"),
            ("backward", "Move backward"),
        ],
        compute="_compute_kind",
        store=True,
    )
    reason = fields.Text(required=True, tracking=True)
    state = fields.Selection(
        [
            ("pending", "Pending"),
            ("approved", "Approved"),
            ("rejected", "Rejected"),
            ("used", "Used"),
        ],
        default="pending",
        required=True,
        index=True,
        tracking=True,
        readonly=True,
    )
    requested_by_id = fields.Many2one(
        "res.users", "Requested by", default=lambda self: self.env.user, readonly=True, index=True
    )
    approver_id = fields.Many2one("res.users", "Decided by", readonly=True, tracking=True)
    decision_date = fields.Datetime(readonly=True)
    used_date = fields.Datetime(readonly=True)
    company_id = fields.Many2one(related="lead_id.company_id", store=True, index=True)
    team_id = fields.Many2one(related="lead_id.team_id", store=True, index=True)

    # Written by the actions and the gate only.
    _WORKFLOW_FIELDS = frozenset({"state", "requested_by_id", "approver_id", "decision_date", "used_date"})

    @api.depends("from_stage_id", "to_stage_id")
    def _compute_kind(self):
        for exception in self:
            stages = exception.lead_id.pipeline_type_id.stage_ids
            if exception.from_stage_id not in stages or exception.to_stage_id not in stages:
                exception.kind = False
                continue
            offset = list(stages).index(exception.to_stage_id) - list(stages).index(exception.from_stage_id)
            exception.kind = "backward" if offset < 0 else "skip" if offset > 1 else "missing_evidence"

    @api.depends("lead_id", "to_stage_id")
    def _compute_display_name(self):
        for exception in self:
            exception.display_name = _(
                "%(lead)s: %(from)s → %(to)s",
                lead=exception.lead_id.name,
                **{"from": exception.from_stage_id.name},
                to=exception.to_stage_id.name,
            )

    @api.constrains("reason")
    def _check_reason(self):
        for exception in self:
            if not (exception.reason or "").strip():
                raise ValidationError(_("An exception needs a reason."))

    @api.constrains("from_stage_id", "to_stage_id", "lead_id")
    def _check_stages(self):
        for exception in self:
            stages = exception.lead_id.pipeline_type_id.stage_ids
            if exception.from_stage_id == exception.to_stage_id:
                raise ValidationError(_("An exception must lead to another stage than the current one."))
            if exception.to_stage_id not in stages or exception.from_stage_id not in stages:
                raise ValidationError(
                    _(
                        'Exception for "%(lead)s": both stages must belong to its sales process "%(type)s".',
                        lead=exception.lead_id.name,
                        type=exception.lead_id.pipeline_type_id.name,
                    )
                )

    # ------------------------------------------------------------
    # ORM
    # ------------------------------------------------------------

    @api.model_create_multi
    def create(self, vals_list):
        for vals in vals_list:
            self._check_workflow_keys(vals)
            if not (vals.get("reason") or "").strip():
                raise ValidationError(_("An exception needs a reason."))
            if vals.get("lead_id") and not vals.get("from_stage_id"):
                vals["from_stage_id"] = self.env["crm.lead"].browse(vals["lead_id"]).stage_id.id
        exceptions = super().create(vals_list)
        exceptions._schedule_approval_activities()
        return exceptions

    def write(self, vals):
        self._check_workflow_keys(vals)
        if not self.env.su and self.filtered(lambda e: e.state != "pending"):
            raise UserError(_("Only a pending exception request can be changed."))
        return super().write(vals)

    def _check_workflow_keys(self, vals):
        if self._WORKFLOW_FIELDS & vals.keys() and not self.env.su:
            raise AccessError(_("An exception is approved, rejected or used through its buttons only."))

    # ------------------------------------------------------------
    # ACTIONS
    # ------------------------------------------------------------

    def action_approve(self):
        self._decide("approved")
        return True

    def action_reject(self):
        self._decide("rejected")
        return True

    def _decide(self, state):
        if not self.env.user.has_group("sales_team.group_sale_manager"):
            raise AccessError(_("Only a sales manager can approve or reject an exception."))
        for exception in self:
            if exception.state != "pending":
                raise UserError(
                    _(
                        'Exception "%(name)s" is %(state)s: only a pending request can be decided.',
                        name=exception.display_name,
                        state=dict(exception._fields["state"].selection)[exception.state].lower(),
                    )
                )
            if exception.requested_by_id == self.env.user:
                raise AccessError(
                    _(
                        'You requested exception "%(name)s": another sales manager must decide on it.',
                        name=exception.display_name,
                    )
                )
        # sudo: the workflow fields are written here only, after the checks above.
        self.sudo().write(
            {"state": state, "approver_id": self.env.user.id, "decision_date": fields.Datetime.now()}
        )
        self.activity_ids.action_done()

    # ------------------------------------------------------------
    # BUSINESS
    # ------------------------------------------------------------

    def _schedule_approval_activities(self):
        """Ask the team leader to decide, else another sales manager."""
        managers = self.env.ref("sales_team.group_sale_manager").all_user_ids.filtered(
            lambda user: not user.share
        )
        for exception in self:
            leader = exception.lead_id.team_id.user_id
            approver = leader if leader in managers and leader != exception.requested_by_id else False
            approver = approver or (managers - exception.requested_by_id)[:1]
            if approver:
                exception.activity_schedule(
                    "mail.mail_activity_data_todo",
                    summary=_("Approve or reject a stage exception"),
                    note=exception.reason,
                    user_id=approver.id,
                )

    def _consume(self, history_by_exception):
        """Mark approved exceptions as used by the moves recorded in history."""
        # sudo: called by the gate for the user's own allowed move.
        for exception in self.sudo():
            exception.write({"state": "used", "used_date": fields.Datetime.now()})
            history_by_exception[exception.id].sudo().exception_id = exception
