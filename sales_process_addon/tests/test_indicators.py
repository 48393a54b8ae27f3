from datetime import datetime, timedelta
from unittest.mock import patch

from odoo import fields
from odoo.tests import tagged

from .common_opportunity import OpportunityCase


@tagged("post_install", "-at_install")
class TestIndicators(OpportunityCase):
    def _email(self, lead, **values):
        return lead.message_post(
            body="Hello", message_type="comment", subtype_xmlid="mail.mt_comment", **values
        )

    def test_relationship_from_interactions(self):
        lead = self._lead()
        self.assertEqual((lead.relationship_status, lead.interaction_count), ("cold", 0))
        lead.message_post(body="Internal thought", subtype_xmlid="mail.mt_note")
        self.assertEqual(lead.relationship_status, "cold", "internal notes are no interaction")
        self._email(lead)
        self.assertEqual((lead.relationship_status, lead.interaction_count), ("warm", 1))
        lead.activity_schedule("mail.mail_activity_data_call", user_id=self.rep.id).action_done()
        self.env["calendar.event"].create(
            {
                "name": "Site visit",
                "opportunity_id": lead.id,
                "start": fields.Datetime.now(),
                "stop": fields.Datetime.now() + timedelta(hours=1),
            }
        )
        self.assertEqual(lead.interaction_count, 3, "a message, an activity done, a meeting")
        self.assertEqual(lead.relationship_status, "warm")
        lead.message_post(body="Reply", message_type="email", subtype_xmlid="mail.mt_comment")
        self.assertEqual((lead.relationship_status, lead.interaction_count), ("active", 4))

    def test_tracking_messages_refresh_nothing(self):
        """A batch move posts a tracking message on each lead when it commits: none is an interaction."""
        leads = self._create_leads(5, pipeline_type_id=self.type_a.id, partner_id=self.customer.id)
        for lead in leads:
            self._prove_a1(lead)
        self.env.cr.precommit.run()
        Lead = self.registry["crm.lead"]
        with patch.object(Lead, "_indicators_refresh", autospec=True) as refresh:
            leads.write({"stage_id": self.a2.id})
            self.env.flush_all()
            self.env.cr.precommit.run()
            stage_tracking = leads.message_ids.tracking_value_ids.filtered(
                lambda t: t.field_id.name == "stage_id"
            )
            self.assertEqual(len(stage_tracking), 5, "the move was tracked")
            refresh.assert_not_called()
            self._email(leads[0])
            refresh.assert_called_once()

    def test_relationship_cools_down_with_the_daily_job(self):
        lead = self._lead()
        for _i in range(4):
            self._email(lead)
        self.assertEqual(lead.relationship_status, "active")
        with self.at(datetime.now() + timedelta(days=31)):
            # The job commits its batches: run it on a test cursor that can.
            with self.enter_registry_test_mode(), self.registry.cursor() as cr:
                self.env(cr=cr)["crm.lead"]._cron_refresh_indicators()
            lead.invalidate_recordset()
            self.assertEqual((lead.relationship_status, lead.interaction_count), ("cold", 0))

    def test_progress_indicators(self):
        lead = self._lead()
        self.assertFalse(lead.has_decision_maker_access)
        decider = self._stakeholder(lead, self.wang, self.role_dm)
        self.assertFalse(lead.has_decision_maker_access, "identified is not reached")
        decider.met = True
        self.assertTrue(lead.has_decision_maker_access)
        self.assertFalse(lead.customer_commitment)
        self._evidence(lead, self.m_summary, kind_id=self.kind_email.id)
        self.assertFalse(lead.customer_commitment, "an email is no commitment")
        self._evidence(
            lead, self.m_optional, kind_id=self.kind_meeting.id, customer_partner_id=self.contact.id
        )
        self.assertTrue(lead.customer_commitment, "the customer gave us time")
        self.assertFalse(lead.has_trial_order)
        self._evidence(
            lead,
            self.m_optional,
            kind_id=self.env.ref("sales_process_addon.evidence_kind_trial").id,
            customer_partner_id=self.contact.id,
        )
        self.assertTrue(lead.has_trial_order)

    def test_risk_rules(self):
        lead = self._lead()
        self.assertEqual(lead.risk_level, "medium", "not qualified, cold, in the first funnel state")
        self._answer(lead, {self.q_funding: "yes", self.q_driver: "yes"})
        self._email(lead)
        self.assertEqual(lead.risk_level, "low", "qualified and in touch, still searching")
        self._answer(lead, {self.q_funding: "no"})
        self.assertEqual(lead.risk_level, "high", "no funding")
        self._answer(lead, {self.q_funding: "yes"})
        # Further along (in funnel): the decision maker and a commitment matter.
        self._prove_a1(lead)
        lead.stage_id = self.a2
        self.assertEqual(lead.risk_level, "high", "past search, no decision maker and no commitment")
        self._stakeholder(lead, self.wang, self.role_dm, met=True)
        self.assertEqual(lead.risk_level, "medium", "no customer commitment yet")
        self._evidence(lead, self.m_clearance, kind_id=self.kind_meeting.id)
        self.assertFalse(lead.customer_commitment, "not verified yet")
        lead.evidence_ids.filtered(lambda e: e.milestone_id == self.m_clearance).with_user(
            self.manager
        ).action_verify()
        self.assertEqual(lead.risk_level, "low")
        lead.action_set_lost()
        self.assertFalse(lead.risk_level, "closed deals carry no risk")

    def test_risk_follows_the_first_funnel_state(self):
        """Reordering the funnel states moves the risk of the deals in the states that change place."""
        lead = self._lead()  # cold and not qualified, in the first state (search): medium
        further = self._lead(stage=self.a2)  # in funnel: no decision maker, no commitment
        self.assertEqual((lead.risk_level, further.risk_level), ("medium", "high"))
        self.funnel_in.sequence = self.funnel_search.sequence - 1
        self.assertEqual((lead.risk_level, further.risk_level), ("high", "medium"))
        self.env.flush_all()
        self.assertEqual(
            self.env["crm.lead"].search([("id", "in", (lead | further).ids), ("risk_level", "=", "high")]),
            lead,
        )
        self.funnel_in.active = False
        self.assertEqual((lead.risk_level, further.risk_level), ("medium", "high"))

    def test_filters_and_group_by(self):
        risky, fine = self._lead(name="Risky"), self._lead(name="Fine")
        self._answer(risky, {self.q_funding: "no"})
        self._answer(fine, {self.q_funding: "yes", self.q_driver: "yes"})
        self._email(fine)
        self.env.flush_all()
        Lead = self.env["crm.lead"].with_user(self.rep)
        ids = (risky | fine).ids
        self.assertEqual(Lead.search([("id", "in", ids), ("risk_level", "=", "high")]), risky)
        self.assertEqual(Lead.search([("id", "in", ids), ("relationship_status", "=", "cold")]), risky)
        self.assertEqual(
            dict(Lead._read_group([("id", "in", ids)], ["risk_level"], ["__count"])), {"high": 1, "low": 1}
        )

    def _meeting(self, lead, start):
        return self.env["calendar.event"].create(
            {"name": "Visit", "opportunity_id": lead.id, "start": start, "stop": start + timedelta(hours=1)}
        )

    def test_relationship_counts_meetings_of_the_window_and_booked(self):
        """A meeting held 40 days ago is no longer an interaction; one booked for next week is."""
        lead = self._lead()
        self._meeting(lead, fields.Datetime.now() - timedelta(days=40))
        lead._indicators_refresh()
        self.assertEqual((lead.relationship_status, lead.interaction_count), ("cold", 0))
        self._meeting(lead, fields.Datetime.now() + timedelta(days=7))
        lead._indicators_refresh()
        self.assertEqual((lead.relationship_status, lead.interaction_count), ("warm", 1))

    def test_relationship_counts_customer_evidence_only(self):
        """Evidence of our own is no interaction with the customer; the customer's evidence is."""
        lead = self._lead()
        self._evidence(lead, self.m_approval)
        lead._indicators_refresh()
        self.assertEqual((lead.relationship_status, lead.interaction_count), ("cold", 0))
        self._evidence(lead, self.m_summary)
        lead._indicators_refresh()
        self.assertEqual((lead.relationship_status, lead.interaction_count), ("warm", 1))

    def test_leads_carry_no_risk(self):
        """A lead (not yet an opportunity) has no risk level, as a closed deal has none."""
        lead = self._lead(type="lead")
        self.assertFalse(lead.risk_level)
        self.assertFalse(lead.risk_reason_codes)

    def test_stage_without_funnel_state_is_not_advanced(self):
        """A qualified deal in touch, in a stage without funnel state, is low risk: only a deal
        past the first funnel state needs the decision maker and a commitment."""
        plain = self.env["crm.stage"].create(
            {"name": "A0", "sequence": 0, "pipeline_type_id": self.type_a.id}
        )
        lead = self._lead(stage=plain)
        self.assertFalse(lead.funnel_state_id)
        self._answer(lead, {self.q_funding: "yes", self.q_driver: "yes"})
        self._email(lead)
        self.assertEqual((lead.risk_level, lead.risk_reason_codes), ("low", False))

    def _advanced_and_proven(self):
        """A qualified deal in A2 with the decision maker met and a verified customer meeting of
        40 days ago: nothing but the relationship is wanting."""
        lead = self._lead(stage=self.a2)
        self._answer(lead, {self.q_funding: "yes", self.q_driver: "yes"})
        self._stakeholder(lead, self.wang, self.role_dm, met=True)
        self._evidence(
            lead,
            self.m_clearance,
            kind_id=self.kind_meeting.id,
            date=fields.Date.today() - timedelta(days=40),
        ).with_user(self.manager).action_verify()
        self.assertTrue(lead.customer_commitment)
        return lead

    def test_cold_relationship_past_the_first_state_is_high(self):
        """Past the first funnel state, a cold relationship alone makes the risk high."""
        lead = self._advanced_and_proven()
        self.assertEqual(lead.relationship_status, "cold")
        self.assertEqual((lead.risk_level, lead.risk_reason_codes), ("high", "cold"))
        self._email(lead)
        self.assertEqual((lead.risk_level, lead.risk_reason_codes), ("low", False))

    def test_qualification_not_pursue_is_medium(self):
        """In touch, in the first funnel state, but not qualified to pursue: medium risk."""
        lead = self._lead()
        self._email(lead)
        self.assertEqual(lead.relationship_status, "warm")
        self.assertEqual((lead.risk_level, lead.risk_reason_codes), ("medium", "qualification_not_pursue"))

    def test_high_risk_lists_the_medium_reasons_too(self):
        """A high risk also gives the lesser reasons: the rep sees all there is to fix."""
        lead = self._lead(stage=self.a2)
        self.assertEqual(lead.risk_level, "high")
        self.assertEqual(
            lead.risk_reason_codes.split(","), ["cold", "no_access_no_commitment", "qualification_not_pursue"]
        )

    def test_unverified_evidence_proves_no_decision_maker(self):
        """Evidence of a "decision maker met" milestone awaiting verification gives no access yet."""
        milestone = self.env["crm.stage.milestone"].create(
            {
                "name": "Decision maker met",
                "stage_id": self.a1.id,
                "fact": "decision_maker_met",
                "customer_led": True,
                "needs_verification": True,
            }
        )
        lead = self._lead()
        evidence = self._evidence(lead, milestone)
        self.assertFalse(evidence.is_valid)
        self.assertFalse(lead.has_decision_maker_access)
        evidence.with_user(self.manager).action_verify()
        self.assertTrue(lead.has_decision_maker_access)

    # ------------------------------------------------------------
    # QUERY COUNTS
    # ------------------------------------------------------------

    # The fields the kanban and list views read (the addon's and Odoo's main ones).
    _VIEW_SPEC = {
        "name": {},
        "stage_id": {"fields": {"display_name": {}}},
        "partner_id": {"fields": {"display_name": {}}},
        "user_id": {"fields": {"display_name": {}}},
        "expected_revenue": {},
        "won_status": {},
        "buyer_stage_id": {"fields": {"display_name": {}}},
        "funnel_state_id": {"fields": {"display_name": {}}},
        "qualification_status": {},
        "relationship_status": {},
        "interaction_count": {},
        "has_decision_maker_access": {},
        "customer_commitment": {},
        "has_trial_order": {},
        "risk_level": {},
    }

    def _many_leads(self, count):
        leads = self._create_leads(count, pipeline_type_id=self.type_a.id, user_id=self.rep.id)
        for lead in leads:
            self._stakeholder(lead, self.wang, self.role_dm, met=True)
        return leads

    def test_views_read_indicators_without_per_record_queries(self):
        """Kanban and list of 80 opportunities: the indicators cost no query per record."""
        small, large = self._many_leads(10), self._many_leads(80)
        Lead = self.env["crm.lead"].with_user(self.rep)

        def read(leads):
            self.env.invalidate_all()
            return Lead.web_search_read([("id", "in", leads.ids)], self._VIEW_SPEC)

        read(small)  # warm the caches
        # The leads (two: the requested columns, then the rest for the prefetch), their stages,
        # salespeople and their partners (names), buyer stages, funnel states: none per lead, and
        # none for the indicators, read from the row.
        with self.assertQueryCount(__system__=7):
            result = read(large)
        self.assertEqual(result["length"], 80)
        self.assertEqual({r["risk_level"] for r in result["records"]}, {"medium"})
        self.assertTrue(all(r["has_decision_maker_access"] for r in result["records"]))
        with self.assertQueryCount(__system__=7):
            read(small)

    def test_kanban_with_milestones_without_per_record_queries(self):
        """The kanban also shows the milestones met: two queries more, for any number of leads."""
        small, large = self._many_leads(10), self._many_leads(80)
        Lead = self.env["crm.lead"].with_user(self.rep)
        spec = {**self._VIEW_SPEC, "milestone_progress": {}, "milestone_missing": {}}

        def cost(leads):
            self.env.invalidate_all()
            before = self.cr.sql_log_count
            Lead.web_search_read([("id", "in", leads.ids)], spec)
            return self.cr.sql_log_count - before

        cost(small)
        self.assertEqual(cost(small), cost(large))

    def test_refresh_cost_independent_of_batch_size(self):
        small, large = self._many_leads(10), self._many_leads(80)

        def cost(leads):
            self.env.invalidate_all()
            self.env.flush_all()
            before = self.cr.sql_log_count
            leads._indicators_refresh()
            self.env.flush_all()
            return self.cr.sql_log_count - before

        cost(small)
        self.assertEqual(cost(small), cost(large))
