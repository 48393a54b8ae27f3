from odoo import api, models
from odoo.tools import SQL


class CrmLeadStageHistory(models.Model):
    """Keep the stage entries and stays of the reports in step with the history."""

    _inherit = "crm.lead.stage.history"

    def _search(self, domain, offset=0, limit=None, order=None, **kwargs):
        # Its company follows the opportunity's with the report rows: synced before it is read.
        self.env["crm.lead.stage.stay"]._sync_pending_facts()
        return super()._search(domain, offset=offset, limit=limit, order=order, **kwargs)

    @api.model
    def _record(self, rows, reports_later=False):
        history = super()._record(rows, reports_later)
        if history and not reports_later:
            # New opportunities have no stay to end nor facts to update on their rows.
            history._record_reports(
                [row["lead_id"] for row in rows], ends_stays=any(row["event"] != "create" for row in rows)
            )
        return history

    def _record_reports(self, lead_ids, ends_stays=True):
        """Write the stage entries and stays of these history rows, of the opportunities ``lead_ids``.

        Idempotent: rows written twice (a rebuild of the report tables while
        some were pending) are written once.
        """
        # sudo: history is written by the server; so are the entries and stays derived from it.
        Stay = self.env["crm.lead.stage.stay"].sudo()
        facts = Stay._lead_facts(Stay.env["crm.lead"].browse(list(dict.fromkeys(lead_ids))))
        self.env["crm.lead.stage.entry"].sudo()._record_history(self, facts)
        if ends_stays:
            Stay._record_history(self, facts)

    @api.model
    def _record_pending_reports(self, leads):
        """Write the report rows the moves of ``leads`` left to the scheduled action, in their order."""
        if not leads:
            return
        claimed = self.env.execute_query(
            SQL(
                """
                UPDATE crm_lead_stage_history
                SET reports_pending = FALSE
                WHERE lead_id IN %s AND reports_pending
                RETURNING id, lead_id, event
                """,
                tuple(leads.ids),
            )
        )
        self._record_claimed_reports(claimed)

    @api.model
    def _record_claimed_reports(self, claimed):
        """Write the report rows of the history rows ``claimed``, ``(id, lead id, event)``, whose
        ``reports_pending`` was just turned off in SQL."""
        self.invalidate_model(["reports_pending"])
        if claimed:
            self.browse(sorted(history_id for history_id, _lead, _event in claimed))._record_reports(
                [lead_id for _history, lead_id, _event in claimed],
                ends_stays=any(event != "create" for *_ids, event in claimed),
            )
