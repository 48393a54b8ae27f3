from odoo import api, models


class CrmLeadStageHistory(models.Model):
    """Keep the stage entries and stays of the reports in step with the history."""

    _inherit = "crm.lead.stage.history"

    @api.model
    def _record(self, rows):
        history = super()._record(rows)
        if not history:
            return history
        # sudo: history is written by the server; so are the entries and stays derived from it.
        Stay = self.env["crm.lead.stage.stay"].sudo()
        facts = Stay._lead_facts(
            Stay.env["crm.lead"].browse(list(dict.fromkeys(row["lead_id"] for row in rows)))
        )
        self.env["crm.lead.stage.entry"].sudo()._record_history(history, facts)
        # New opportunities have no stay to end nor facts to update on their rows.
        if any(row["event"] != "create" for row in rows):
            Stay._record_history(history, facts)
        return history
