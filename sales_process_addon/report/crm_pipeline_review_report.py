from odoo import _, api, fields, models


class CrmPipelineReviewReport(models.AbstractModel):
    """Pipeline review sheet: the open opportunities of a team or a salesperson.

    The manager's weekly review: for each open opportunity its stage, the
    customer's buying stage, the funnel state, the milestones still missing,
    the qualification status, the latest evidence produced by the customer and
    the next activity. The concrete reports (per team, per salesperson) only
    say which field groups the opportunities into sheets. The number of queries
    does not depend on the number of opportunities: one search for them, one
    grouped read for the totals, one search for the evidence, and the batch
    computes of the opportunities (missing milestones, next activity).

    Everything is read with the printing user's rights: a salesperson sees his
    own and unassigned opportunities, as in the pipeline.
    """

    _name = "crm.pipeline.review.report"
    _description = "Pipeline Review Sheet"

    # Added by another module: shown only where the field exists.
    _QUALIFICATION_FIELD = "qualification_status"

    @api.model
    def _open_opportunities_domain(self):
        return [("type", "=", "opportunity"), ("won_status", "=", "pending"), ("active", "=", True)]

    @api.model
    def _latest_customer_evidence(self, leads):
        """``{lead id: evidence}``: the latest customer-led evidence, one query for all leads."""
        evidence = self.env["crm.lead.evidence"].search_fetch(
            [("lead_id", "in", leads.ids), ("customer_led", "=", True)],
            ["lead_id", "date", "summary", "is_valid", "customer_partner_id"],
            order="date desc, id desc",
        )
        latest = {}
        for record in evidence:
            latest.setdefault(record.lead_id.id, record)
        return latest

    @api.model
    def _review_values(self, docs, sheet_field):
        """Template values: one sheet per record of ``docs``, the opportunities'
        ``sheet_field`` (``team_id`` or ``user_id``) saying which sheet they go on;
        on each sheet, one section per salesperson (unassigned last)."""
        Lead = self.env["crm.lead"]
        domain = self._open_opportunities_domain() + [(sheet_field, "in", docs.ids)]
        leads = Lead.search(domain, order="user_id, pipeline_type_id, stage_id, expected_revenue desc, id")
        totals = {
            (doc, user): (count, revenue)
            for doc, user, count, revenue in Lead._read_group(
                domain, [sheet_field, "user_id"], ["__count", "expected_revenue:sum"]
            )
        }
        latest = self._latest_customer_evidence(leads)
        leads_by_sheet = leads.grouped(sheet_field)
        sheets = []
        for doc in docs:
            by_user = leads_by_sheet.get(doc, Lead).grouped("user_id")
            users = sorted((user for user in by_user if user), key=lambda user: user.name or "")
            users += [user for user in by_user if not user]
            sections = [
                {
                    "title": user.name if user else _("Unassigned"),
                    "count": totals[doc, user][0],
                    "expected_revenue": totals[doc, user][1],
                    "lines": [{"lead": lead, "evidence": latest.get(lead.id)} for lead in by_user[user]],
                }
                for user in users
            ]
            sheets.append(
                {
                    "doc": doc,
                    "count": sum(section["count"] for section in sections),
                    "expected_revenue": sum(section["expected_revenue"] for section in sections),
                    "sections": sections,
                }
            )
        return {
            "doc_ids": docs.ids,
            "doc_model": docs._name,
            "docs": docs,
            "sheets": sheets,
            "show_qualification": self._QUALIFICATION_FIELD in Lead._fields,
            "currency": self.env.company.currency_id,
            "print_date": fields.Date.context_today(self),
        }
