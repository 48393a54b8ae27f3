from odoo import api, fields, models


class CrmLeadEvidenceWithdraw(models.TransientModel):
    """Ask why evidence is withdrawn, then withdraw it (see ``crm.lead.evidence.action_withdraw``)."""

    _name = "crm.lead.evidence.withdraw"
    _description = "Withdraw Evidence"

    evidence_id = fields.Many2one("crm.lead.evidence", required=True, ondelete="cascade")
    reason = fields.Text(required=True)

    @api.model_create_multi
    def create(self, vals_list):
        wizards = super().create(vals_list)
        # Only on evidence the user may withdraw: the wizard shows the summary of any evidence it names.
        # Checked on what was created: the evidence may come from a default (context key).
        wizards.evidence_id.check_access("write")
        return wizards

    def action_confirm(self):
        self.ensure_one()
        self.evidence_id.action_withdraw(self.reason)
        return {"type": "ir.actions.act_window_close"}
