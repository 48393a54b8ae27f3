from odoo import fields, models


class CrmLeadEvidenceWithdraw(models.TransientModel):
    """Ask why evidence is withdrawn, then withdraw it (see ``crm.lead.evidence.action_withdraw``)."""

    _name = "crm.lead.evidence.withdraw"
    _description = "Withdraw Evidence"

    evidence_id = fields.Many2one("crm.lead.evidence", required=True, ondelete="cascade")
    reason = fields.Text(required=True)

    def action_confirm(self):
        self.ensure_one()
        self.evidence_id.action_withdraw(self.reason)
        return {"type": "ir.actions.act_window_close"}
