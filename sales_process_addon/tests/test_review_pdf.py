from lxml import html as lxml_html

from odoo.tests import tagged

from .common import SalesProcessCase


@tagged("post_install", "-at_install")
class TestReviewPdf(SalesProcessCase):
    """The pipeline review sheet prints one cell per column on every row.

    A Standard-pipeline deal (stage without buyer stage, funnel state or
    milestones) and process deals: one with a milestone missing, one with
    every milestone met, one in a stage without milestones.
    """

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        standard = cls.env.ref("sales_process_addon.pipeline_type_standard")
        cls.std_stage = cls.env["crm.stage"].create(
            {"name": "Std Qualified", "sequence": 1, "pipeline_type_id": standard.id}
        )
        cls.env["crm.stage.milestone"].create(
            [
                {"name": "Demo given", "stage_id": cls.a1.id, "customer_led": False},
                {"name": "Decision maker met", "stage_id": cls.a2.id},
            ]
        )
        cls.other_team = cls.env["crm.team"].create({"name": "Standard team"})

        def lead(name, stage, team, user=cls.rep):
            return cls.env["crm.lead"].create(
                {
                    "name": name,
                    "type": "opportunity",
                    "stage_id": stage.id,
                    "team_id": team.id,
                    "user_id": user.id,
                    "expected_revenue": 1000,
                }
            )

        cls.std_lead = lead("Standard deal", cls.std_stage, cls.other_team)
        cls.met_lead = lead("Met deal", cls.a1, cls.team)
        cls.missing_lead = lead("Missing deal", cls.a2, cls.team)
        cls.bx_lead = lead("No milestone deal", cls.bx, cls.env["crm.team"], user=cls.manager)
        cls.bx_lead.team_id = False
        cls.all_leads = cls.std_lead | cls.met_lead | cls.missing_lead | cls.bx_lead
        cls.env["crm.lead.evidence"].create(
            {
                "lead_id": cls.met_lead.id,
                "milestone_id": cls.a1.milestone_ids.id,
                "kind_id": cls.env.ref("sales_process_addon.evidence_kind_customer_email").id,
                "summary": "Demo given on site",
                "internal_user_id": cls.rep.id,
            }
        )

    def _rows(self, report_ref, docids):
        """``{opportunity name: [cell texts]}`` of the HTML sheet, checking each row's width."""
        content = self.env["ir.actions.report"]._render_qweb_html(report_ref, docids)[0]
        tree = lxml_html.fromstring(content)
        tables = tree.xpath("//table[contains(@class, 'o_pipeline_review_table')]")
        self.assertTrue(tables)
        rows = {}
        for table in tables:
            header = [th.text_content().strip() for th in table.xpath("./thead/tr/th")]
            self.assertEqual(
                header[:5], ["Opportunity", "Stage", "Buyer Stage", "Funnel State", "Missing Milestones"]
            )
            for tr in table.xpath("./tbody/tr"):
                cells = [" ".join(td.text_content().split()) for td in tr.xpath("./td")]
                self.assertEqual(len(cells), len(header), f"row {cells[0]!r}: {cells} under {header}")
                self.assertTrue(all(cells), f"row {cells[0]!r} has an empty cell: {cells}")
                rows[tr.xpath("./td[1]/strong")[0].text_content()] = dict(zip(header, cells, strict=True))
        return rows

    def test_every_cell_present(self):
        self.assertEqual(self.met_lead.milestone_progress, "1/1")
        rows = self._rows(
            "sales_process_addon.action_report_pipeline_review_team", (self.team | self.other_team).ids
        )
        self.assertEqual(set(rows), {"Standard deal", "Met deal", "Missing deal"})
        std = rows["Standard deal"]
        self.assertEqual(
            (std["Buyer Stage"], std["Funnel State"], std["Missing Milestones"]), ("-", "-", "No milestones")
        )
        self.assertEqual(rows["Met deal"]["Missing Milestones"], "All met")
        self.assertEqual(rows["Met deal"]["Buyer Stage"], "Need")
        self.assertEqual(rows["Met deal"]["Funnel State"], self.funnel_search.name)
        self.assertEqual(rows["Missing deal"]["Missing Milestones"], "Decision maker met (customer-led)")
        self.assertEqual(rows["Missing deal"]["Expected Revenue"][-8:].strip("$ €"), "1,000.00")

    def test_print_selection(self):
        """From the Pipeline Review list: one sheet per team of the selection, then those without."""
        Review = self.env["report.sales_process_addon.report_pipeline_review_lead"]
        selection = self.std_lead | self.missing_lead | self.bx_lead
        sheets = Review._get_report_values(selection.ids)["sheets"]
        self.assertEqual(
            [(sheet["title"], sheet["count"]) for sheet in sheets],
            [(team.name, 1) for team in (self.team | self.other_team).sorted()] + [("No Sales Team", 1)],
        )
        rows = self._rows("sales_process_addon.action_report_pipeline_review_lead", selection.ids)
        self.assertEqual(rows["No milestone deal"]["Missing Milestones"], "No milestones")
        self.assertEqual(rows["No milestone deal"]["Buyer Stage"], "-")
        # Won, lost or archived opportunities selected by mistake are left out.
        self.met_lead.action_set_lost()
        sheets = Review._get_report_values(self.met_lead.ids)["sheets"]
        self.assertEqual([(sheet["title"], sheet["count"]) for sheet in sheets], [("Process A team", 0)])

    def test_list_prints_selection(self):
        view = self.env.ref("sales_process_addon.crm_lead_view_list_pipeline_review")
        report = self.env.ref("sales_process_addon.action_report_pipeline_review_lead")
        self.assertIn(f'name="{report.id}"', self.env["crm.lead"].get_view(view.id)["arch"])

    def test_pdf(self):
        pdf, report_type = self._render_pdf(
            "sales_process_addon.action_report_pipeline_review_lead",
            (self.missing_lead | self.met_lead).ids,
            self.manager,
        )
        self.assertEqual(report_type, "pdf")
        self.assertTrue(pdf.startswith(b"%PDF"))

    def test_header_on_every_page(self):
        """A long sheet is cut into tables of a page each, every one with its header row."""
        self._create_leads(60, team_id=self.team.id, user_id=self.rep.id, stage_id=self.a2.id)
        Review = self.env["report.sales_process_addon.report_pipeline_review_team"]
        tables = Review._get_report_values(self.team.ids)["sheets"][0]["tables"]
        self.assertGreater(len(tables), 2)
        self.assertEqual(
            [(table["continued"], table["new_page"]) for table in tables],
            [(False, False)] + [(True, True)] * (len(tables) - 1),
        )
        self.assertEqual(sum(len(table["lines"]) for table in tables), 62)
        rows = self._rows("sales_process_addon.action_report_pipeline_review_team", self.team.ids)
        self.assertEqual(len(rows), 62)
        content = self.env["ir.actions.report"]._render_qweb_html(
            "sales_process_addon.action_report_pipeline_review_team", self.team.ids
        )[0]
        tree = lxml_html.fromstring(content)
        self.assertEqual(len(tree.xpath("//table/thead")), len(tables))
        self.assertEqual(len(tree.xpath("//h5[contains(@style, 'page-break-before')]")), len(tables) - 1)

    def test_long_first_row_stays_under_the_sheet_title(self):
        """A first row taller than what is left of the page (a long evidence summary) still starts
        under the sheet's title: no page break before a sheet's first table."""
        self.met_lead.partner_id = self.env["res.partner"].create({"name": "Li Wei"})
        self.env["crm.lead.evidence"].create(
            {
                "lead_id": self.met_lead.id,
                "milestone_id": self.a1.milestone_ids.id,
                "kind_id": self.env.ref("sales_process_addon.evidence_kind_customer_email").id,
                "summary": "\n".join(f"Point {i}" for i in range(60)),
                "customer_partner_id": self.met_lead.partner_id.id,
            }
        )
        Review = self.env["report.sales_process_addon.report_pipeline_review_team"]
        tables = Review._get_report_values(self.team.ids)["sheets"][0]["tables"]
        first = tables[0]["lines"][0]
        self.assertEqual(first["lead"], self.met_lead)
        self.assertGreater(Review._row_height(first), Review._PAGE_HEIGHT - Review._SHEET_TITLE_HEIGHT)
        self.assertFalse(tables[0]["new_page"])

    def test_tables_fit_their_page(self):
        """Each printed page, sheet title, section titles and header rows included, fits the page."""
        self._create_leads(60, team_id=self.team.id, user_id=self.rep.id, stage_id=self.a2.id)
        Review = self.env["report.sales_process_addon.report_pipeline_review_team"]
        tables = Review._get_report_values(self.team.ids)["sheets"][0]["tables"]
        opening = Review._SECTION_TITLE_HEIGHT + Review._HEADER_HEIGHT
        pages, used = [], Review._SHEET_TITLE_HEIGHT
        for table in tables:
            if table["new_page"]:
                pages.append(used)
                used = 0
            used += opening + sum(Review._row_height(line) for line in table["lines"])
        pages.append(used)
        self.assertGreater(len(pages), 2)
        for height in pages:
            self.assertLessEqual(height, Review._PAGE_HEIGHT)

    def test_seller_buyer_divergence(self):
        """Ahead of the customer: our stage's buying step is past the one after his last evidenced step."""
        contact = self.env["res.partner"].create({"name": "Customer contact"})
        caught_up = self.env["crm.lead"].create(
            {
                "name": "Caught up",
                "type": "opportunity",
                "stage_id": self.a1.id,
                "team_id": self.team.id,
                "partner_id": contact.id,
            }
        )
        self.env["crm.lead.evidence"].create(
            {
                "lead_id": caught_up.id,
                "milestone_id": self.a1.milestone_ids.id,
                "kind_id": self.env.ref("sales_process_addon.evidence_kind_customer_email").id,
                "summary": "Demo confirmed by the customer",
                "customer_partner_id": contact.id,
            }
        )
        caught_up.stage_id = self.a2
        self.env.flush_all()
        Report = self.env["crm.buyer.divergence.report"]
        rows = Report.search([("lead_id", "in", (self.all_leads | caught_up).ids)])
        # Missing deal: in A2 (Evaluation, 2nd step) with no customer evidence. Caught up: the customer
        # evidenced A1 (Need), A2 is the next step. Met deal in A1; the others have no buying stage.
        self.assertEqual(
            [(row.lead_id, row.gap, row.supported_buyer_stage_id) for row in rows],
            [(self.missing_lead, 1, self.env["crm.buyer.stage"])],
        )
        self.assertEqual(
            Report._read_group([("lead_id", "in", self.all_leads.ids)], ["user_id"], ["__count"]),
            [(self.rep, 1)],
        )
        rows = self._rows("sales_process_addon.action_report_pipeline_review_team", self.team.ids)
        self.assertIn("Ahead of the customer: no customer evidence", rows["Missing deal"]["Buyer Stage"])
        self.assertNotIn("Ahead", rows["Met deal"]["Buyer Stage"])
        self.assertNotIn("Ahead", rows["Caught up"]["Buyer Stage"])
