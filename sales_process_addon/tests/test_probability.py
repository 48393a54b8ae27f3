from odoo import fields
from odoo.tests import Form, tagged
from odoo.tools import SQL

from .common_opportunity import OpportunityCase


@tagged("post_install", "-at_install")
class TestEvidenceProbability(OpportunityCase):
    """A1 (10%) needs two milestones to open A2 (50%); A3 is won."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.a1.default_probability = 10.0
        cls.a2.default_probability = 50.0
        cls.a3.default_probability = 100.0
        cls.type_a.probability_mode = "evidence"
        cls._scoring_history()

    def test_probability_follows_proven_milestones(self):
        lead = self._lead()
        self.assertEqual((lead.evidence_probability, lead.probability), (10.0, 10.0))
        self._evidence(lead, self.m_summary)
        self.assertEqual((lead.evidence_probability, lead.probability), (30.0, 30.0))
        self._evidence(lead, self.m_optional)  # optional: no weight
        self.assertEqual(lead.probability, 30.0)
        self._evidence(lead, self.m_approval)
        self.assertEqual(lead.probability, 50.0)
        self.assertTrue(lead.is_automated_probability)
        lead.stage_id = self.a2  # nothing proven of A2 yet; the next stage is won
        self.assertEqual(lead.probability, 50.0)
        self._evidence(lead, self.m_clearance).with_user(self.manager).action_verify()
        self.assertEqual(lead.probability, 100.0)

    def test_unverified_evidence_does_not_count(self):
        lead = self._lead(stage=self.a2)
        self._evidence(lead, self.m_clearance)  # awaits a manager's verification
        self.assertEqual(lead.probability, 50.0)

    def test_won_is_certain(self):
        lead = self._lead()
        self._prove_a1(lead)
        lead.stage_id = self.a2
        self._evidence(lead, self.m_clearance).with_user(self.manager).action_verify()
        self._evidence(lead, self.m_contract)
        lead.stage_id = self.a3
        self.assertEqual((lead.evidence_probability, lead.probability), (100.0, 100.0))

    def test_stage_outside_its_process_order(self):
        """A deal left in another process's stage (data written around the ORM, or a module's data
        loaded stage by stage while it reinstalls) gets its stage's probability, and no error."""
        lead = self._lead()
        self._evidence(lead, self.m_summary)
        self.env.flush_all()
        self.env.cr.execute(
            SQL("UPDATE crm_lead SET pipeline_type_id = %s WHERE id = %s", self.type_b.id, lead.id)
        )
        self.env.invalidate_all()
        self.env.add_to_compute(lead._fields["evidence_probability"], lead)
        self.assertEqual(lead.evidence_probability, 10.0, "A1's own: no next stage to move towards")

    def test_rep_override_is_kept(self):
        lead = self._lead()
        lead.with_user(self.rep).probability = 15.0
        self._evidence(lead, self.m_summary)
        self.assertEqual(lead.probability, 15.0, "a probability set by hand stays")
        self.assertEqual(lead.automated_probability, 30.0)
        lead.action_set_automated_probability()
        self.assertEqual(lead.probability, 30.0)

    def test_predictive_process_keeps_odoo_scoring(self):
        """Elsewhere the evidence value is computed for the reports, not applied."""
        self.type_a.probability_mode = "predictive"
        lead = self._lead()
        predictive = lead.probability
        self._evidence(lead, self.m_summary)
        self.assertEqual(lead.evidence_probability, 30.0)
        self.assertEqual(lead.probability, predictive)
        # Switching the process to evidence moves its open deals at once.
        self.type_a.probability_mode = "evidence"
        self.assertEqual(lead.probability, 30.0)

    def _require_a_coach(self):
        """A1 also asks for a coach, a fact of the buying center: a third of the step each."""
        self.env["crm.stage.milestone"].create(
            {"name": "Coach secured", "stage_id": self.a1.id, "fact": "coach_secured", "customer_led": False}
        )

    def test_fact_moves_the_evidence_based_probability(self):
        self._require_a_coach()
        lead = self._lead()
        self.assertEqual(lead.probability, 10.0)
        self._stakeholder(lead, self.contact, self.role_coach, stance="supporter")
        self.assertEqual((lead.evidence_probability, lead.probability), (23.33, 23.33))
        self._evidence(lead, self.m_summary)
        self.assertEqual((lead.evidence_probability, lead.probability), (36.67, 36.67))
        self.role_coach.code = "mentor"  # a coach is known by the code of its role
        self.assertEqual((lead.evidence_probability, lead.probability), (23.33, 23.33))

    def test_decision_maker_meeting_date_moves_the_probability(self):
        """Met on a date, a decision maker proves "decision maker met"; the date cleared, no more,
        though the contact stays marked as met."""
        self.env["crm.stage.milestone"].create(
            {
                "name": "Decision maker met",
                "stage_id": self.a1.id,
                "fact": "decision_maker_met",
                "customer_led": False,
            }
        )
        lead = self._lead()
        decider = self._stakeholder(lead, self.contact, self.role_dm, met_date=fields.Date.today())
        self.assertEqual((lead.evidence_probability, lead.probability), (23.33, 23.33))
        decider.met_date = False
        self.assertTrue(decider.met)
        self.assertEqual((lead.evidence_probability, lead.probability), (10.0, 10.0))

    def test_coach_saved_with_the_form(self):
        """A coach mapped in the form moves the probability when the form is saved (the
        buying center's lines are written through the opportunity)."""
        self._require_a_coach()
        lead = self._lead()
        with Form(lead.with_user(self.rep)) as form:
            with form.stakeholder_ids.new() as line:
                line.partner_id = self.contact
                line.role_id = self.role_coach
                line.stance = "supporter"
        self.assertEqual((lead.evidence_probability, lead.probability), (23.33, 23.33))
        with Form(lead.with_user(self.rep)) as form:
            with form.stakeholder_ids.edit(0) as line:
                line.stance = "neutral"
        self.assertEqual((lead.evidence_probability, lead.probability), (10.0, 10.0))

    def test_form_keeps_what_is_proven(self):
        """While the form is edited, the probability counts the saved evidence: adding a
        contact to the buying center neither shows nor saves the stage's bare probability."""
        lead = self._lead()
        self._evidence(lead, self.m_summary)
        with Form(lead.with_user(self.rep)) as form:
            with form.stakeholder_ids.new() as line:
                line.partner_id = self.contact
                line.role_id = self.role_user
            self.assertEqual(form.probability, 30.0)
        self.assertEqual((lead.evidence_probability, lead.probability), (30.0, 30.0))
        self.assertTrue(lead.is_automated_probability)

    def test_form_shows_a_coach_before_saving(self):
        """The unsaved buying center proves its facts in the form as it will once saved."""
        self._require_a_coach()
        lead = self._lead()
        self._evidence(lead, self.m_summary)
        self.assertEqual(lead.probability, 23.33)
        with Form(lead.with_user(self.rep)) as form:
            with form.stakeholder_ids.new() as line:
                line.partner_id = self.contact
                line.role_id = self.role_coach
                line.stance = "supporter"
            self.assertEqual(form.probability, 36.67)
            lines = {line["name"]: line["state"] for line in form.milestone_checklist}
            self.assertEqual(lines["Coach secured"], "met")
        self.assertEqual((lead.evidence_probability, lead.probability), (36.67, 36.67))

    def test_proof_does_not_rescore_predictive_deals(self):
        """Odoo's scoring does not weigh what proves a milestone: evidence, a fact or an answer
        does not run it again; a stage move still does."""
        self._require_a_coach()
        self.type_a.probability_mode = "predictive"
        lead = self._lead()
        self.env.flush_all()
        # A stored score that Odoo's scoring would not give, so that a rescoring shows.
        self.env.cr.execute(
            "UPDATE crm_lead SET automated_probability = 33, probability = 33 WHERE id = %s", [lead.id]
        )
        lead.invalidate_recordset()
        scored, _tooltip = lead._pls_get_naive_bayes_probabilities()
        self.assertNotEqual(scored[lead.id], 33.0)
        self._evidence(lead, self.m_summary)
        self._stakeholder(lead, self.contact, self.role_coach, stance="supporter")
        self._answer(lead, {self.q_driver: "yes"})
        self.env.flush_all()
        self.assertEqual(lead.evidence_probability, 36.67)
        self.assertEqual((lead.automated_probability, lead.probability), (33.0, 33.0))
        self._evidence(lead, self.m_approval)
        lead.stage_id = self.a2
        self.assertNotEqual(lead.automated_probability, 33.0)

    def test_configuration_moves_the_evidence_based_probability(self):
        """What an administrator changes in the process moves its deals' probability at once."""
        lead = self._lead()
        self._evidence(lead, self.m_summary)
        self._evidence(lead, self.m_optional)
        self.assertEqual(lead.probability, 30.0)
        self.m_approval.required = False  # one of one proven: the whole step
        self.assertEqual((lead.evidence_probability, lead.probability), (50.0, 50.0))
        self.a2.default_probability = 70.0  # the next stage's probability sets the step
        self.assertEqual(lead.probability, 70.0)
        self.m_approval.required = True
        self.assertEqual(lead.probability, 40.0)
        # The optional milestone's evidence proves the approval once they share a proof key.
        (self.m_optional | self.m_approval).proof_key = "test_approval"
        self.assertEqual((lead.evidence_probability, lead.probability), (70.0, 70.0))
        self.m_approval.active = False
        self.assertEqual(lead.probability, 70.0)
        self.env["crm.stage.milestone"].create(
            {"name": "Budget", "stage_id": self.a1.id, "customer_led": False}
        )
        self.assertEqual(lead.probability, 40.0)

    def test_scoring_job_keeps_evidence(self):
        """Odoo's daily predictive scoring does not overwrite evidence-based deals."""
        lead = self._lead()
        self._evidence(lead, self.m_summary)
        other = self._lead(pipeline_type_id=self.type_b.id, stage=self.bx)
        probabilities, _tooltip = (lead | other)._pls_get_naive_bayes_probabilities(batch_mode=True)
        self.assertEqual(probabilities[lead.id], 30.0)
        self.assertNotEqual(probabilities.get(other.id), other.evidence_probability or -1)

    def test_evidence_based_deals_are_not_scored(self):
        """Odoo's scoring is not run for deals whose probability follows the evidence: a stage
        move of such a deal reads none of its tables; the others are scored as before."""
        lead = self._lead()
        self._evidence(lead, self.m_summary)
        self.env.flush_all()
        lead.mapped("evidence_probability")
        with self.assertQueryCount(0):
            probabilities, _tooltip = lead._pls_get_naive_bayes_probabilities()
        self.assertEqual(probabilities, {lead.id: 30.0})
        other = self._lead(pipeline_type_id=self.type_b.id, stage=self.bx)
        alone, _tooltip = other._pls_get_naive_bayes_probabilities()
        together, _tooltip = (lead | other)._pls_get_naive_bayes_probabilities()
        self.assertEqual(together, {**alone, lead.id: 30.0})
        self.assertIn(other.id, together, "the predictive process's deal is scored")

    def test_probability_of_many_leads_in_fixed_queries(self):
        def cost(leads):
            self.env.invalidate_all()
            self.env.flush_all()
            before = self.cr.sql_log_count
            # Only this compute, as the ORM runs it (its field protected): Odoo's predictive
            # scoring, which it may trigger, has a cost of its own.
            fnames = ("evidence_probability", "probability", "automated_probability")
            fields_ = [leads._fields[fname] for fname in fnames]
            with self.env.protecting(fields_, leads):
                leads._compute_evidence_probability()
            return self.cr.sql_log_count - before

        values = {"pipeline_type_id": self.type_a.id, "stage_id": self.a1.id, "partner_id": self.customer.id}
        one = self._create_leads(2, **values)
        many = self._create_leads(20, **values)
        # The same mix (leads that proved something and leads that proved nothing), 2 and 20 of them.
        self._evidence(one[0], self.m_summary)
        for lead in many[:10]:
            self._evidence(lead, self.m_summary)
        self.assertEqual(cost(one), cost(many))
        # The leads' own fields, then what they proved: their lists of evidence and stakeholders
        # are not read (the stages' requirements come from the gate's registry cache).
        self.assertEqual(cost(many), 2)
        self.assertEqual(set(many.mapped("evidence_probability")), {10.0, 30.0})

    def test_proof_never_lowers_the_probability(self):
        """A next stage set below this one's probability: proving this stage keeps its own."""
        self.a2.default_probability = 5.0
        lead = self._lead()
        self._evidence(lead, self.m_summary)
        self.assertEqual((lead.evidence_probability, lead.probability), (10.0, 10.0))

    def test_stage_outside_the_processes_keeps_its_probability(self):
        """A deal in a stage of no sales process (written around the ORM) gets that stage's
        default probability, not zero."""
        outside = self.env["crm.stage"].create({"name": "Outside", "default_probability": 30.0})
        lead = self._lead()
        self.env.flush_all()
        self.env.cr.execute(SQL("UPDATE crm_stage SET pipeline_type_id = NULL WHERE id = %s", outside.id))
        self.env.cr.execute(SQL("UPDATE crm_lead SET stage_id = %s WHERE id = %s", outside.id, lead.id))
        self.env.registry.clear_cache()  # the gate's cache of the processes' stages
        self.env.invalidate_all()
        self.env.add_to_compute(lead._fields["evidence_probability"], lead)
        self.assertEqual(lead.evidence_probability, 30.0)

    def test_only_the_stage_milestones_weigh_in_a_batch(self):
        """Moved back to A1 with A1 proven and A2's clearance proven: computed with a deal in A2,
        the clearance does not count for A1, whose step is full at 50, not beyond."""
        back = self._lead()
        self._prove_a1(back)
        back.stage_id = self.a2
        self._evidence(back, self.m_clearance).with_user(self.manager).action_verify()
        back.stage_id = self.a1
        other = self._lead(stage=self.a2)
        self.env.flush_all()
        self.env.invalidate_all()
        leads = back | other
        self.env.add_to_compute(leads._fields["evidence_probability"], leads)
        self.assertEqual(leads.mapped("evidence_probability"), [50.0, 50.0])
