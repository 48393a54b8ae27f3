from odoo.tests import tagged

from .common import SalesProcessCase


@tagged("post_install", "-at_install")
class TestLeadDivergence(SalesProcessCase):
    """The opportunity shows when we are ahead of the customer, as the divergence report judges it.

    Buying process: Need (A1) -> Evaluation (A2) -> Decision (A2b, added here
    as a third open stage of process A, before the won stage A3).
    """

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.a2b = cls.env["crm.stage"].create(
            {
                "name": "A2b",
                "sequence": 2,
                "pipeline_type_id": cls.type_a.id,
                "buyer_stage_id": cls.buyer_decision.id,
                "funnel_state_id": cls.funnel_in.id,
            }
        )
        cls.need_milestone = cls.env["crm.stage.milestone"].create(
            {"name": "Need confirmed by the customer", "stage_id": cls.a1.id}
        )
        cls.contact = cls.env["res.partner"].create({"name": "Customer contact"})

    def _lead(self, name, stage, **values):
        return self.env["crm.lead"].create(
            {
                "name": name,
                "type": "opportunity",
                "stage_id": stage.id,
                "team_id": self.team.id,
                "user_id": self.rep.id,
                "partner_id": self.contact.id,
                **values,
            }
        )

    def _customer_evidence(self, lead):
        return self.env["crm.lead.evidence"].create(
            {
                "lead_id": lead.id,
                "milestone_id": self.need_milestone.id,
                "kind_id": self.env.ref("sales_process_addon.evidence_kind_customer_email").id,
                "summary": "The customer wrote down his need",
                "customer_partner_id": self.contact.id,
            }
        )

    def test_flagged_with_reason(self):
        """Two buying steps past the customer's last evidenced one; and with no evidence at all."""
        evidenced = self._lead("Evidenced need", self.a1)
        self._customer_evidence(evidenced)
        evidenced.stage_id = self.a2
        self.assertFalse(evidenced.buyer_divergence, "Evaluation is the step after Need: no divergence")
        self.assertFalse(evidenced.buyer_divergence_reason)
        evidenced.stage_id = self.a2b
        self.assertTrue(evidenced.buyer_divergence)
        self.assertEqual(
            evidenced.buyer_divergence_reason, "We are at A2b; the customer's last evidenced step is Need"
        )
        no_evidence = self._lead("No evidence", self.a2)
        self.assertTrue(no_evidence.buyer_divergence)
        self.assertEqual(
            no_evidence.buyer_divergence_reason, "We are at A2; the customer has evidenced no buying step yet"
        )
        # Evidence of our own does not count: the customer has evidenced nothing.
        own = self._lead("Own evidence", self.a2)
        self.env["crm.lead.evidence"].create(
            {
                "lead_id": own.id,
                "milestone_id": self.env["crm.stage.milestone"]
                .create({"name": "Evaluation noted", "stage_id": self.a2.id, "customer_led": False})
                .id,
                "kind_id": self.env.ref("sales_process_addon.evidence_kind_customer_email").id,
                "summary": "We noted the evaluation",
                "internal_user_id": self.rep.id,
            }
        )
        self.assertTrue(own.evidence_ids.is_valid)
        self.assertEqual(
            own.buyer_divergence_reason, "We are at A2; the customer has evidenced no buying step yet"
        )
        # The report lists the same opportunities.
        self.env.flush_all()
        rows = self.env["crm.buyer.divergence.report"].search(
            [("lead_id", "in", (evidenced | no_evidence | own).ids)], order="lead_id"
        )
        self.assertEqual(rows.lead_id, evidenced | no_evidence | own)

    def test_not_flagged(self):
        """First step, one step past the customer's evidence, won, every Standard-pipeline stage."""
        first = self._lead("First step", self.a1)
        caught_up = self._lead("Caught up", self.a1)
        self._customer_evidence(caught_up)
        caught_up.stage_id = self.a2
        won = self._lead("Won", self.a3)
        standard = self.env.ref("sales_process_addon.pipeline_type_standard")
        standard_stages = self.env["crm.stage"].search([("pipeline_type_id", "=", standard.id)])
        standard_leads = self.env["crm.lead"].browse()
        for stage in standard_stages.filtered(lambda stage: not stage.is_won):
            standard_leads |= self._lead(f"Standard {stage.name}", stage, team_id=False)
        self.assertGreaterEqual(len(standard_leads), 2)
        leads = first | caught_up | won | standard_leads
        leads.invalidate_recordset()
        self.assertEqual(leads.mapped("buyer_divergence"), [False] * len(leads))
        self.assertEqual(leads.mapped("buyer_divergence_reason"), [False] * len(leads))
        # Two steps past the customer's Need: now ahead.
        caught_up.stage_id = self.a2b
        self.assertTrue(caught_up.buyer_divergence)

    def test_one_query_for_many(self):
        """The badge costs one query, for one opportunity as for a page of them."""
        leads = self._lead("Ahead", self.a2) | self._lead("In step", self.a1) | self._lead("Other", self.a2b)
        self.env.flush_all()
        for records in (leads[0], leads):
            records.invalidate_recordset()
            with self.assertQueryCount(1):
                records.mapped("buyer_divergence_reason")
        self.assertEqual(leads.mapped("buyer_divergence"), [True, False, True])

    def test_form_read_adds_one_query(self):
        """Read as the form reads it, by the salesperson: the two fields add one query."""
        lead = self._lead("Ahead", self.a2)
        self.env.flush_all()
        view = self.env.ref("crm.crm_lead_view_form")
        lead = lead.with_user(self.rep)
        spec = {
            name: {"fields": {"display_name": {}}} if lead._fields[name].relational else {}
            for name in lead.get_views([(view.id, "form")])["models"]["crm.lead"]["fields"]
            if lead._fields[name].type not in ("one2many", "many2many")
        }
        without = {name: value for name, value in spec.items() if not name.startswith("buyer_divergence")}
        self.assertIn("buyer_divergence_reason", spec)

        def count(fields_spec):
            lead.env.invalidate_all()
            lead.web_read(fields_spec)  # warm the registry caches (rules, views)
            lead.env.invalidate_all()
            before = self.cr.sql_log_count
            result = lead.web_read(fields_spec)
            return self.cr.sql_log_count - before, result

        queries_without, _result = count(without)
        queries_with, result = count(spec)
        self.assertEqual(queries_with - queries_without, 1)
        self.assertEqual(
            result[0]["buyer_divergence_reason"],
            "We are at A2; the customer has evidenced no buying step yet",
        )

    def _divergence(self, lead):
        self.env.flush_all()
        lead.invalidate_recordset()
        return lead.buyer_divergence, lead.buyer_divergence_reason

    def test_unverified_customer_evidence_supports_no_buying_step(self):
        """Customer evidence awaiting a manager's verification does not yet show the customer at
        Evaluation: until verified, the deal at A2 is ahead of a customer with no evidenced step."""
        checked = self.env["crm.stage.milestone"].create(
            {
                "name": "Evaluation checked",
                "stage_id": self.a2.id,
                "required": False,
                "needs_verification": True,
            }
        )
        lead = self._lead("Awaiting verification", self.a2)
        evidence = self.env["crm.lead.evidence"].create(
            {
                "lead_id": lead.id,
                "milestone_id": checked.id,
                "kind_id": self.env.ref("sales_process_addon.evidence_kind_customer_email").id,
                "summary": "The customer ran the evaluation",
                "customer_partner_id": self.contact.id,
            }
        )
        self.assertFalse(evidence.is_valid)
        self.assertEqual(
            self._divergence(lead), (True, "We are at A2; the customer has evidenced no buying step yet")
        )
        evidence.with_user(self.manager).action_verify()
        self.assertEqual(self._divergence(lead), (False, False))

    def test_buying_steps_follow_the_buying_process_order(self):
        """A buying stage added first (Awareness, sequence 0, created last) makes Need the second
        step: a deal at A1 without customer evidence is then one step ahead of the customer."""
        lead = self._lead("At Need", self.a1)
        self.assertEqual(self._divergence(lead), (False, False))
        self.env["crm.buyer.stage"].create(
            {"name": "Awareness", "sequence": 0, "buyer_process_id": self.buyer_process.id}
        )
        self.assertEqual(
            self._divergence(lead), (True, "We are at A1; the customer has evidenced no buying step yet")
        )
        self.env.flush_all()
        row = self.env["crm.buyer.divergence.report"].search([("lead_id", "=", lead.id)])
        self.assertEqual((row.gap, row.supported_buyer_stage_id), (1, self.env["crm.buyer.stage"]))
