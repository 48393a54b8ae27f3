from odoo import models


class CrmLead(models.Model):
    """The report rows copy some of the opportunity's fields: keep them equal when they change."""

    _inherit = "crm.lead"

    # The opportunity's fields copied on the stage entries and stays (see crm.lead.stage.stay).
    # Its status changes through the stage gate, and the history writer follows it there.
    _REPORT_FACT_FIELDS = frozenset({"user_id", "team_id", "company_id", "type", "date_closed"})

    def write(self, vals):
        # Asked by the caller (CRM adds date_closed to vals on a win; the history writer syncs then).
        sync = not self._REPORT_FACT_FIELDS.isdisjoint(vals)
        result = super().write(vals)
        if sync:
            # sudo: the report rows are derived by the server from the opportunities.
            self.env["crm.lead.stage.stay"].sudo()._sync_lead_facts(self)
        return result
