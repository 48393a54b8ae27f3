from odoo import api, models


class CrmLeadStageHistory(models.Model):
    """Keep the stage entries of the conversion report in step with the history."""

    _inherit = "crm.lead.stage.history"

    @api.model
    def _record(self, rows):
        history = super()._record(rows)
        # sudo: history is written by the server; so are the entries derived from it.
        self.env["crm.lead.stage.entry"].sudo()._record_history(history)
        return history
