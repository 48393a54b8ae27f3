from odoo import fields
from odoo.exceptions import ValidationError
from odoo.tests import Form, tagged

from .common_opportunity import OpportunityCase


@tagged("post_install", "-at_install")
class TestFactMilestones(OpportunityCase):
    """A1 also asks for a coach (fact), A2 for the decision maker met (fact), both internal.

    Customer-led fact milestones: see test_child_security.TestCustomerFacts.
    """

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.m_coach, cls.m_decider = cls.env["crm.stage.milestone"].create(
            [
                {
                    "name": "Coach secured",
                    "stage_id": cls.a1.id,
                    "fact": "coach_secured",
                    "customer_led": False,
                },
                {
                    "name": "Decision maker met",
                    "stage_id": cls.a2.id,
                    "fact": "decision_maker_met",
                    "customer_led": False,
                },
            ]
        )

    def _history_of_move(self, lead, stage):
        return lead.stage_history_ids.filtered(
            lambda h: h.to_stage_id == stage and h.event in ("forward", "won")
        )

    def test_shipped_templates_use_facts(self):
        ref = self.env.ref
        self.assertEqual(ref("sales_process_addon.milestone_t1_02_b").fact, "coach_secured")
        self.assertEqual(ref("sales_process_addon.milestone_t2_02_b").fact, "decision_maker_met")
        self.assertEqual(ref("sales_process_addon.milestone_t1_01_b").fact, "qualified_pursue")

    def test_coach_opens_the_gate_and_the_history_says_so(self):
        lead = self._lead()
        self._prove_a1(lead)
        with self.assertRefused(ValidationError, r"missing milestones: Coach secured"):
            lead.with_user(self.rep).stage_id = self.a2
        coach = self._stakeholder(lead, self.contact, self.role_coach, stance="neutral")
        with self.assertRefused(ValidationError, r"missing milestones: Coach secured"):
            lead.with_user(self.rep).stage_id = self.a2
        self._stakeholder(lead, self.wang, self.role_user, stance="champion")
        with self.assertRefused(ValidationError, r"missing milestones: Coach secured"):
            lead.with_user(self.rep).stage_id = self.a2
        coach.stance = "supporter"
        self.assertEqual(lead.milestone_progress, "3/3")
        lead.with_user(self.rep).stage_id = self.a2
        self.assertEqual(lead.stage_id, self.a2)
        self.assertEqual(
            self._history_of_move(lead, self.a2).facts_used,
            "Coach secured: coach secured: Li Wei (Supporter) (internal proof)",
        )

    def test_decision_maker_needs_a_meeting_date(self):
        lead = self._lead(self.a2)
        self._evidence(lead, self.m_clearance).with_user(self.manager).action_verify()
        self._evidence(lead, self.m_contract, kind_id=self.kind_document.id)
        decider = self._stakeholder(lead, self.wang, self.role_dm, met=True)
        with self.assertRefused(ValidationError, r"missing milestones: Decision maker met"):
            lead.with_user(self.rep).stage_id = self.a3
        decider.met_date = fields.Date.today()
        lead.with_user(self.rep).stage_id = self.a3
        self.assertEqual(lead.won_status, "won")
        history = self._history_of_move(lead, self.a3)
        self.assertEqual(history.event, "won")
        self.assertIn("Decision maker met: decision maker met: Wang Fang on", history.facts_used)

    def test_evidence_still_proves_a_fact_milestone(self):
        lead = self._lead()
        self._prove_a1(lead)
        self._evidence(lead, self.m_coach)
        lead.with_user(self.rep).stage_id = self.a2
        self.assertFalse(self._history_of_move(lead, self.a2).facts_used, "proven by evidence, no fact")

    def test_qualification_fact(self):
        self.m_coach.fact = "qualified_pursue"
        lead = self._lead()
        self._prove_a1(lead)
        with self.assertRefused(ValidationError, "missing milestones: Coach secured"):
            lead.with_user(self.rep).stage_id = self.a2
        self._answer(lead, {self.q_funding: "yes", self.q_driver: "yes"})
        lead.with_user(self.rep).stage_id = self.a2
        self.assertEqual(
            self._history_of_move(lead, self.a2).facts_used,
            "Coach secured: qualification status: pursue (internal proof)",
        )

    def test_qualification_answered_in_the_form_meets_its_milestone_before_saving(self):
        self.m_coach.fact = "qualified_pursue"
        lead = self._lead()
        with Form(lead.with_user(self.rep)) as form:
            for index in range(len(form.qualification_ids)):
                with form.qualification_ids.edit(index) as line:
                    line.answer = "yes"
            states = {line["name"]: line["state"] for line in form.milestone_checklist}
            self.assertEqual(states["Coach secured"], "met")
        self.assertEqual(lead.qualification_status, "pursue")
        self.assertEqual(
            {line["name"]: line["state"] for line in lead.milestone_checklist}["Coach secured"], "met"
        )

    def test_fact_is_judged_whoever_moves(self):
        """The gate reads the buying center whatever the mover may see (as for evidence)."""
        lead = self._lead(user_id=self.other_rep.id)
        self._prove_a1(lead)
        self._stakeholder(lead, self.contact, self.role_coach, stance="champion")
        lead.with_user(self.manager).stage_id = self.a2
        self.assertEqual(lead.stage_id, self.a2)

    def test_gate_query_count_with_facts(self):
        """Judging 30 moves with fact milestones: one query more than without (the buying centers)."""
        leads = self._create_leads(30, pipeline_type_id=self.type_a.id, partner_id=self.customer.id)
        for lead in leads:
            self._prove_a1(lead)
            self._stakeholder(lead, self.contact, self.role_coach, stance="champion")
        before = leads._stage_gate_state()
        after = {lead_id: state._replace(stage_id=self.a2.id) for lead_id, state in before.items()}
        leads._stage_gate_structure()  # the registry cache is warm in a running server
        self.env.invalidate_all()
        self.env.flush_all()
        # As test_gate_query_count_pinned (4), plus the stakeholders of the 30 buying centers.
        with self.assertQueryCount(__system__=5):
            transitions = leads._stage_gate_judge(before, after, False)
        self.assertEqual(len(transitions), 30)

    def test_fact_cost_independent_of_batch_size(self):
        small = self._create_leads(5, pipeline_type_id=self.type_a.id, partner_id=self.customer.id)
        large = self._create_leads(40, pipeline_type_id=self.type_a.id, partner_id=self.customer.id)
        for lead in small | large:
            self._stakeholder(lead, self.contact, self.role_coach, stance="champion")
        milestones = self.m_coach | self.m_decider

        def cost(leads):
            self.env.invalidate_all()
            before = self.cr.sql_log_count
            met = leads._stage_gate_milestones_met(milestones)
            self.assertTrue(all(self.m_coach.id in met[lead.id] for lead in leads))
            return self.cr.sql_log_count - before

        self.assertEqual(cost(small), cost(large))

    def test_buying_center_warnings_of_many_deals_in_fixed_queries(self):
        """Evidence of the coach's milestone silences the "no coach" warning of its deal only;
        the warnings of 12 deals cost the queries of 2 (an export, an RPC read of all fields)."""

        def warnings(leads):
            self.env.invalidate_all()
            before = self.cr.sql_log_count
            texts = leads.with_user(self.rep).mapped("buying_center_warnings")
            return self.cr.sql_log_count - before, ["No coach" in text for text in texts]

        values = {"pipeline_type_id": self.type_a.id, "partner_id": self.customer.id, "user_id": self.rep.id}
        few = self._create_leads(2, **values)
        many = few | self._create_leads(10, **values)
        for lead in many[1::2]:
            self._evidence(lead, self.m_coach)
        warnings(many)  # once for all: the access and rule caches, as a running server has them
        few_queries, _coach = warnings(few)
        many_queries, no_coach = warnings(many)
        self.assertEqual(few_queries, many_queries)
        self.assertEqual(no_coach, [True, False] * 6, "each deal its own warnings")

    def test_evidence_of_the_decision_maker_milestone_silences_its_warnings(self):
        """Evidence that the decision maker was met removes the decision maker warnings."""
        lead = self._lead(self.a2)
        self._stakeholder(lead, self.contact, self.role_coach, stance="champion")
        self.assertIn("No decision maker identified", lead.buying_center_warnings)
        self._stakeholder(lead, self.wang, self.role_dm)
        self.assertIn("Decision maker not met: Wang Fang", lead.buying_center_warnings)
        self._evidence(lead, self.m_decider)
        self.assertFalse(lead.buying_center_warnings)
