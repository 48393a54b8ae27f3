from odoo import api, fields, models


class CrmStageExceptionDecision(models.TransientModel):
    """A sales manager's decision on a stage exception, with the comment the requester reads."""

    _name = "crm.stage.exception.decision"
    _description = "Stage Exception Decision"

    exception_id = fields.Many2one(
        "crm.stage.exception", "Stage Exception", required=True, ondelete="cascade"
    )
    # The opportunity and the move in full: a read-only many2one is cut to one line, on a phone
    # to "Opportunity: Stage A → Sta…".
    exception_name = fields.Char("Exception", related="exception_id.display_name")
    decision = fields.Selection(
        [("approved", "Approve"), ("rejected", "Reject")], required=True, default="approved"
    )
    waived_milestone_ids = fields.Many2many(related="exception_id.waived_milestone_ids")
    reason = fields.Text(related="exception_id.reason")
    comment = fields.Text(help="Required to reject: the requester reads it in the opportunity's chatter.")

    @api.model_create_multi
    def create(self, vals_list):
        wizards = super().create(vals_list)
        # Only on exceptions the user may read: the wizard shows their reason and waived milestones.
        # Checked on what was created: the exception may come from a default (context key).
        wizards.exception_id.check_access("read")
        return wizards

    def action_confirm(self):
        self.ensure_one()
        if self.decision == "approved":
            self.exception_id.action_approve(self.comment)
        else:
            self.exception_id.action_reject(self.comment)
        return {"type": "ir.actions.act_window_close"}
