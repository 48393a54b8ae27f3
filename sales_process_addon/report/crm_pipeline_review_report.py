import math
import unicodedata

from odoo import api, fields, models
from odoo.fields import Domain


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

    # Page layout in millimetres of the printed sheet (A4 landscape, see the
    # paper format; measured on wkhtmltopdf's output): column widths in percent
    # (fixed table layout), the usable height of a page, the heights of titles,
    # header row and one text line, the mean width of a character.
    _COLUMN_WIDTHS = {
        "opportunity": 14,
        "stage": 10,
        "buyer_stage": 8,
        "funnel_state": 6,
        "milestones": 17,
        "qualification": 6,
        "evidence": 21,
        "activity": 10,
        "revenue": 8,
    }
    _TABLE_WIDTH = 283
    _PAGE_HEIGHT = 172
    _SHEET_TITLE_HEIGHT = 25
    _SECTION_TITLE_HEIGHT = 9
    _HEADER_HEIGHT = 8
    _LINE_HEIGHT = 3.2
    _ROW_PADDING = 1.8
    _CHAR_WIDTH = 1.25

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
    def _text_lines(self, text, width_percent):
        """Estimated printed lines of ``text`` in a column (wide East Asian characters count double)."""
        chars_per_line = max(1, int(self._TABLE_WIDTH * width_percent / 100 / self._CHAR_WIDTH) - 2)
        lines = 0
        for paragraph in (text or "").split("\n"):
            width = sum(2 if unicodedata.east_asian_width(char) in "WF" else 1 for char in paragraph)
            lines += max(1, math.ceil(width / chars_per_line))
        return lines

    @api.model
    def _row_height(self, line):
        lead, evidence = line["lead"], line["evidence"]
        ahead = "\n" + "x" * 40 if line["ahead"] is not None else ""
        widths = self._COLUMN_WIDTHS
        cells = [
            (f"{lead.name}\n{lead.partner_id.display_name or ''}", widths["opportunity"]),
            (f"{lead.stage_id.name or ''}\n{lead.pipeline_type_id.name or ''}", widths["stage"]),
            ((lead.buyer_stage_id.name or "-") + ahead, widths["buyer_stage"]),
            (lead.funnel_state_id.name, widths["funnel_state"]),
            (lead.milestone_missing, widths["milestones"]),
            (evidence and f"{evidence.date}\n{evidence.summary}", widths["evidence"]),
            (f"{lead.activity_date_deadline}\n{lead.activity_summary or ''}", widths["activity"]),
        ]
        return self._ROW_PADDING + self._LINE_HEIGHT * max(self._text_lines(*cell) for cell in cells)

    @api.model
    def _paginate(self, sheets):
        """Cut each sheet's sections into tables that each fit on a page.

        Why: wkhtmltopdf builds without patched Qt repeat no table header on a
        new page. Each table of ``sheet["tables"]`` starts a page or follows on
        the current one, and has its own header row; ``continued`` marks the
        rest of a section carried over to a new page. Heights are estimated
        from the text length per column (fixed table layout), on the safe side.
        """
        for sheet in sheets:
            tables = []
            used = self._SHEET_TITLE_HEIGHT
            for section in sheet["sections"]:
                table = None
                for line in section["lines"]:
                    height = self._row_height(line)
                    if table is None or used + height > self._PAGE_HEIGHT:
                        opening = self._SECTION_TITLE_HEIGHT + self._HEADER_HEIGHT
                        new_page = used + opening + height > self._PAGE_HEIGHT
                        if new_page:
                            used = 0
                        table = {
                            "section": section,
                            "lines": [],
                            "continued": table is not None,
                            "new_page": new_page and bool(tables),
                        }
                        tables.append(table)
                        used += opening
                    table["lines"].append(line)
                    used += height
            sheet["tables"] = tables
        return sheets

    @api.model
    def _review_values(self, docs, sheet_field, domain=(), none_sheet_title=None):
        """Template values: one sheet per record of ``docs``, the opportunities'
        ``sheet_field`` (``team_id`` or ``user_id``) saying which sheet they go on;
        on each sheet, one section per salesperson (unassigned last).

        ``domain`` narrows the opportunities; with ``none_sheet_title``, those
        whose ``sheet_field`` is empty get a last sheet of that title.
        """
        Lead = self.env["crm.lead"]
        domain = Domain.AND(
            [
                self._open_opportunities_domain(),
                domain,
                Domain(sheet_field, "in", docs.ids) | Domain(sheet_field, "=", False)
                if none_sheet_title
                else Domain(sheet_field, "in", docs.ids),
            ]
        )
        leads = Lead.search(domain, order="user_id, pipeline_type_id, stage_id, expected_revenue desc, id")
        totals = {
            (doc, user): (count, revenue)
            for doc, user, count, revenue in Lead._read_group(
                domain, [sheet_field, "user_id"], ["__count", "expected_revenue:sum"]
            )
        }
        latest = self._latest_customer_evidence(leads)
        ahead = {
            row.lead_id.id: row.supported_buyer_stage_id
            for row in self.env["crm.buyer.divergence.report"].search([("lead_id", "in", leads.ids)])
        }
        leads_by_sheet = leads.grouped(sheet_field)
        sheet_docs = list(docs)
        if none_sheet_title and docs.browse() in leads_by_sheet:
            sheet_docs.append(docs.browse())
        sheets = []
        for doc in sheet_docs:
            by_user = leads_by_sheet.get(doc, Lead).grouped("user_id")
            users = sorted((user for user in by_user if user), key=lambda user: user.name or "")
            users += [user for user in by_user if not user]
            sections = [
                {
                    # self.env._: Odoo's _ finds no language in a comprehension's frame.
                    "title": user.name if user else self.env._("Unassigned"),
                    "count": totals[doc, user][0],
                    "expected_revenue": totals[doc, user][1],
                    "lines": [
                        {"lead": lead, "evidence": latest.get(lead.id), "ahead": ahead.get(lead.id)}
                        for lead in by_user[user]
                    ],
                }
                for user in users
            ]
            sheets.append(
                {
                    "doc": doc,
                    "title": doc.display_name if doc else none_sheet_title,
                    "count": sum(section["count"] for section in sections),
                    "expected_revenue": sum(section["expected_revenue"] for section in sections),
                    "sections": sections,
                }
            )
        return {
            "doc_ids": docs.ids,
            "doc_model": docs._name,
            "docs": docs,
            "sheets": self._paginate(sheets),
            "column_widths": self._COLUMN_WIDTHS,
            "show_qualification": self._QUALIFICATION_FIELD in Lead._fields,
            "currency": self.env.company.currency_id,
            "print_date": fields.Date.context_today(self),
        }
