from odoo import models

# cr.precommit.data key: ids of the opportunities whose report rows are to be synced.
PENDING_FACTS = "sales_process_addon.report_facts"


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
            self._report_facts_later()
        return result

    def _report_facts_later(self):
        """Sync the report rows of these opportunities before the commit, or before a report is read.

        Lead assignment and mass conversion write opportunities one at a time:
        the rows of all of them are then synced in one query.
        """
        pending = self.env.cr.precommit.data.setdefault(PENDING_FACTS, set())
        if not pending:
            self.env.cr.precommit.add(self.env["crm.lead.stage.stay"]._sync_pending_facts)
        pending.update(self.ids)
