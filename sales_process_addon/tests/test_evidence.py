from datetime import timedelta

from odoo import fields
from odoo.exceptions import AccessError, ValidationError
from odoo.tests import tagged

from .common_gate import StageGateCase


@tagged("post_install", "-at_install")
class TestEvidence(StageGateCase):
    def test_recording_evidence_query_count(self):
        """A stage's evidence in one call: the rows are inserted with what the server derives
        (company, stage, customer-led, counts), not updated after."""
        lead = self._lead()
        Evidence = self.env["crm.lead.evidence"].with_user(self.rep)
        values = [
            {
                "lead_id": lead.id,
                "milestone_id": self.m_summary.id,
                "kind_id": self.kind_email.id,
                "summary": "Li Wei confirmed the summary",
                "customer_partner_id": self.contact.id,
            },
            {
                "lead_id": lead.id,
                "milestone_id": self.m_approval.id,
                "kind_id": self.kind_meeting.id,
                "summary": "Approved in the weekly review",
                "internal_user_id": self.rep.id,
            },
        ]
        self.env.flush_all()
        self.env.invalidate_all()
        with self.assertQueryCount(41):
            Evidence.create(values)
            self.env.flush_all()
        self.assertEqual(lead.evidence_ids.mapped("is_valid"), [True, True])

    def test_rep_records_customer_led_evidence(self):
        lead = self._lead()
        message = lead.message_post(
            body="Yes, your summary is right. Next step: site visit.", author_id=self.contact.id
        )
        evidence = (
            self.env["crm.lead.evidence"]
            .with_user(self.rep)
            .create(
                {
                    "lead_id": lead.id,
                    "milestone_id": self.m_summary.id,
                    "kind_id": self.kind_email.id,
                    "summary": "Li Wei confirmed the summary",
                    "customer_partner_id": self.contact.id,
                    "message_id": message.id,
                }
            )
        )
        self.assertTrue(evidence.customer_led)
        self.assertTrue(evidence.is_valid)
        self.assertEqual(evidence.recorded_by_id, self.rep)
        self.assertEqual(lead.milestone_progress, "1/2")
        self.assertIn("Internal approval", lead.milestone_missing)

    def test_no_milestone_refused(self):
        with self.assertRefused(ValidationError, "Evidence must name the milestone it proves"):
            self.env["crm.lead.evidence"].create(
                {
                    "lead_id": self._lead().id,
                    "kind_id": self.kind_email.id,
                    "summary": "x",
                    "customer_partner_id": self.contact.id,
                }
            )

    def test_milestone_of_another_stage_refused(self):
        lead = self._lead(name="Early deal")
        with self.assertRefused(
            ValidationError,
            'Evidence for "Early deal": milestone "Technical clearance" belongs to stage "A2"',
        ):
            self._evidence(lead, self.m_clearance)
        self.assertFalse(lead.evidence_ids)

    def test_milestone_of_another_process_refused(self):
        other = self.env["crm.stage.milestone"].create({"name": "B milestone", "stage_id": self.bx.id})
        with self.assertRefused(ValidationError, r'belongs to stage "BX" \(Process B\)'):
            self._evidence(self._lead(), other)

    def test_won_stage_evidence_allowed_from_the_stage_before(self):
        lead = self._lead(self.a2)
        self.assertEqual(lead._evidence_stages(), self.a2 | self.a3)
        self._evidence(lead, self.m_contract)
        with self.assertRefused(ValidationError, 'milestone "Paid in full" belongs to stage "A4"'):
            self._evidence(lead, self.m_paid)

    def test_future_date_refused(self):
        # The day after the writer's today (his time zone), as the rule counts, not UTC's.
        tomorrow = fields.Date.context_today(self.env["crm.lead.evidence"]) + timedelta(days=1)
        with self.assertRefused(ValidationError, "in the future"):
            self._evidence(self._lead(), self.m_summary, date=tomorrow)

    def test_empty_summary_refused(self):
        with self.assertRefused(ValidationError, "Evidence needs a summary"):
            self._evidence(self._lead(), self.m_summary, summary="   ")

    def test_customer_led_milestone_needs_customer(self):
        with self.assertRefused(
            ValidationError, 'Milestone "Summary confirmed" must be proven by the customer'
        ):
            self._evidence(
                self._lead(), self.m_summary, customer_partner_id=False, internal_user_id=self.rep.id
            )

    def test_producer_required(self):
        with self.assertRefused(ValidationError, "say who produced it"):
            self._evidence(self._lead(), self.m_approval, internal_user_id=False)

    def test_kind_must_be_accepted(self):
        with self.assertRefused(
            ValidationError, r'"Summary confirmed" accepts .* as evidence, not "Document received or signed"'
        ):
            self._evidence(self._lead(), self.m_summary, kind_id=self.kind_document.id)

    def test_verification_by_manager_only(self):
        lead = self._lead(self.a2)
        evidence = self._evidence(lead, self.m_clearance)
        self.assertFalse(evidence.is_valid)
        with self.assertRaises(AccessError):
            evidence.with_user(self.rep).action_verify()
        with self.assertRaises(AccessError):
            evidence.with_user(self.rep).write(
                {"verified_by_id": self.rep.id, "verified_date": fields.Datetime.now()}
            )
        evidence.with_user(self.manager).action_verify()
        self.assertEqual(evidence.verified_by_id, self.manager)
        self.assertTrue(evidence.is_valid)
        with self.assertRefused(AccessError, "was verified by Manager and can no longer be changed"):
            evidence.with_user(self.rep).summary = "Changed afterwards"

    def test_checklist_shows_evidence_awaiting_verification(self):
        lead = self._lead(self.a2)

        def states():
            return {line["id"]: line["state"] for line in lead.milestone_checklist}

        self.assertEqual(states()[self.m_clearance.id], "missing")
        evidence = self._evidence(lead, self.m_clearance)
        self.assertEqual(states()[self.m_clearance.id], "awaiting", "read again in the same transaction")
        self.assertIn(f"{self.m_clearance._gate_label()}: awaiting verification", lead.milestone_missing)
        evidence.with_user(self.manager).action_verify()
        self.assertEqual(states()[self.m_clearance.id], "met")
        self.assertNotIn(self.m_clearance.name, lead.milestone_missing or "")

    def test_cards_read_together_show_their_own_state(self):
        """The kanban reads a column's cards at once: each shows its own milestones, not a neighbour's."""
        awaiting, proven, bare, bare_too = (self._lead() for _ in range(4))
        self._evidence(awaiting, self.m_summary)
        self._evidence(proven, self.m_summary)
        self._evidence(bare, self.m_optional)
        # Process A verifies the approval: the first lead's awaits a manager.
        self.m_approval.needs_verification = True
        self._evidence(awaiting, self.m_approval)
        leads = awaiting | proven | bare | bare_too
        self.env.invalidate_all()
        status = {
            lead: (lead.milestone_progress, lead.milestone_missing, lead.milestone_checklist)
            for lead in leads
        }
        self.assertEqual(
            [progress for progress, _missing, _checklist in status.values()], ["1/2", "1/2", "0/2", "0/2"]
        )
        self.assertIn("awaiting verification", status[awaiting][1])
        self.assertNotIn("awaiting verification", status[proven][1])
        self.assertIn(self.m_approval.name, status[proven][1])
        self.assertIn(self.m_summary.name, status[bare][1])
        self.assertNotEqual(status[bare][2], status[bare_too][2], "the optional milestone met on one only")
        self.assertEqual(status[bare][1], status[bare_too][1])

    def test_rep_sees_evidence_of_own_opportunities_only(self):
        mine = self._evidence(self._lead(), self.m_approval)
        theirs = self._evidence(self._lead(user_id=self.other_rep.id), self.m_approval)
        visible = self.env["crm.lead.evidence"].with_user(self.rep).search([])
        self.assertIn(mine, visible)
        self.assertNotIn(theirs, visible)
        self.assertIn(theirs, self.env["crm.lead.evidence"].with_user(self.manager).search([]))
