from odoo import fields
from odoo.exceptions import AccessError, UserError, ValidationError
from odoo.tests import new_test_user, tagged

from .common_gate import StageGateCase


@tagged("post_install", "-at_install")
class TestEvidenceLifecycle(StageGateCase):
    """Who may record, change, verify, withdraw and delete evidence; what counts as proof."""

    def _rep_evidence(self, lead, milestone=None, **values):
        return self._evidence(lead, milestone or self.m_approval, **values).with_user(self.rep)

    # ------------------------------------------------------------
    # Fields the server derives
    # ------------------------------------------------------------

    def test_server_fields_refused_on_create_and_write(self):
        lead = self._lead(self.a2)
        Evidence = self.env["crm.lead.evidence"].with_user(self.rep)
        values = {
            "lead_id": lead.id,
            "milestone_id": self.m_clearance.id,
            "kind_id": self.kind_meeting.id,
            "summary": "Cleared",
            "customer_partner_id": self.contact.id,
        }
        forged = {
            "is_valid": True,
            "customer_led": True,
            "verified_by_id": self.manager.id,
            "verified_date": fields.Datetime.now(),
            "recorded_by_id": self.manager.id,
            "stage_id": self.a3.id,
            "company_id": self.company.id,
            "active": False,
            "withdrawal_reason": "x",
        }
        for fname, value in forged.items():
            with self.subTest(field=fname):
                with self.assertRefused(AccessError, "set by the server and cannot be given"):
                    Evidence.create({**values, fname: value})
                self.assertFalse(lead.evidence_ids)
        evidence = Evidence.create(values)
        self.assertFalse(evidence.is_valid)
        for fname, value in forged.items():
            with self.subTest(field=fname), self.assertRefused(AccessError, "set by the server"):
                evidence.write({fname: value})
        evidence.invalidate_recordset()
        self.assertFalse(evidence.is_valid)
        self.assertEqual(evidence.recorded_by_id, self.rep)
        with self.assertRefused(ValidationError, "missing milestones: Technical clearance"):
            lead.with_user(self.rep).stage_id = self.a3

    # ------------------------------------------------------------
    # Verification
    # ------------------------------------------------------------

    def test_verified_by_a_manager_other_than_the_recorder(self):
        lead = self._lead(self.a2, user_id=self.manager.id)
        evidence = self._evidence(lead, self.m_clearance).with_user(self.manager)
        evidence.sudo().recorded_by_id = self.manager
        with self.assertRefused(UserError, "another sales manager verifies it") as refusal:
            evidence.action_verify()
        # A rule of the process, not an access right: no "Access Error" dialog for the manager.
        self.assertNotIsInstance(refusal.exception, AccessError)
        self.assertFalse(evidence.is_valid)
        evidence.with_user(self.manager_2).action_verify()
        self.assertEqual(evidence.verified_by_id, self.manager_2)
        self.assertTrue(evidence.is_valid)

    def test_manager_cannot_verify_another_company_s_evidence(self):
        other = self.env["res.company"].create({"name": "Other Co"})
        customer = self.env["res.partner"].create({"name": "Foreign buyer", "company_id": other.id})
        lead = self.env["crm.lead"].create(
            {"name": "Foreign", "type": "opportunity", "company_id": other.id, "partner_id": customer.id}
        )
        milestone = self.env["crm.stage.milestone"].create(
            {
                "name": "Checked",
                "stage_id": lead.stage_id.id,
                "needs_verification": True,
                "customer_led": False,
            }
        )
        evidence = self._evidence(lead, milestone)
        with self.assertRaises(AccessError):
            evidence.with_user(self.manager).action_verify()
        self.assertFalse(evidence.verified_date)

    def test_verified_evidence_is_frozen_for_everybody(self):
        evidence = self._evidence(self._lead(self.a2), self.m_clearance)
        evidence.with_user(self.manager).action_verify()
        for user in (self.rep, self.manager_2):
            with self.subTest(user=user.name):
                with self.assertRefused(AccessError, "was verified by Manager and can no longer be changed"):
                    evidence.with_user(user).summary = "Changed afterwards"
                with self.assertRefused(AccessError, "stays in the audit trail"):
                    evidence.with_user(user).unlink()
        self.assertTrue(evidence.exists())

    # ------------------------------------------------------------
    # Delete and withdraw
    # ------------------------------------------------------------

    def test_unverified_unused_evidence_deleted_by_recorder_or_manager(self):
        lead = self._lead()
        recorded = (
            self.env["crm.lead.evidence"]
            .with_user(self.rep)
            .create(
                {
                    "lead_id": lead.id,
                    "milestone_id": self.m_approval.id,
                    "kind_id": self.kind_meeting.id,
                    "summary": "Mine",
                    "internal_user_id": self.rep.id,
                }
            )
        )
        recorded.unlink()
        by_someone_else = self._rep_evidence(lead)
        with self.assertRefused(AccessError, "only they or a sales manager can delete it"):
            by_someone_else.unlink()
        by_someone_else.with_user(self.manager).unlink()
        self.assertFalse(lead.evidence_ids)

    def test_evidence_that_proved_a_move_cannot_be_deleted_but_withdrawn(self):
        lead = self._lead()
        self._prove_a1(lead)
        lead.with_user(self.rep).stage_id = self.a2
        history = lead.stage_history_ids.filtered(lambda h: h.to_stage_id == self.a2)
        # The gate records the evidence used (lead's change); here, as it will.
        history.sudo().evidence_ids = lead.evidence_ids
        evidence = lead.evidence_ids.filtered(lambda e: e.milestone_id == self.m_approval)
        for user in (self.rep, self.manager):
            with self.subTest(user=user.name):
                with self.assertRefused(
                    AccessError, "proved a recorded stage move: it stays in the audit trail"
                ):
                    evidence.with_user(user).unlink()
                with self.assertRefused(
                    AccessError, "proved a recorded stage move and can no longer be changed"
                ):
                    evidence.with_user(user).summary = "Rewritten"
                # A form saving the line it only displayed writes nothing: not refused.
                evidence.with_user(user).write({})
        self.assertEqual(evidence.summary, "Proof of Internal approval")
        with self.assertRefused(ValidationError, "Say why the evidence is withdrawn"):
            evidence.with_user(self.rep).action_withdraw("  ")
        evidence.with_user(self.rep).action_withdraw("The approval was <b>revoked</b>")
        self.assertFalse(evidence.active)
        self.assertFalse(evidence.is_valid)
        self.assertEqual(evidence.withdrawn_by_id, self.rep)
        self.assertIn(
            evidence, history.with_context(active_test=False).evidence_ids, "kept in the audit trail"
        )
        body = lead.message_ids[:1].body
        self.assertIn("&lt;b&gt;revoked&lt;/b&gt;", body, "the reason reaches the chatter as text")
        with self.assertRefused(UserError, "already withdrawn"):
            evidence.with_user(self.manager).action_withdraw("Again")
        with self.assertRefused(AccessError, "was withdrawn"):
            evidence.with_user(self.manager).unlink()

    def test_withdrawn_evidence_no_longer_counts(self):
        lead = self._lead(self.a2)
        contract = self._evidence(lead, self.m_contract, kind_id=self.kind_document.id)
        self.assertTrue(lead.customer_commitment)
        contract.with_user(self.rep).action_withdraw("Signed the wrong version")
        self.assertFalse(lead.customer_commitment)
        with self.assertRefused(ValidationError, "missing milestones: .*Contract signed"):
            lead.with_user(self.rep).stage_id = self.a3

    def test_withdrawn_evidence_cannot_be_verified(self):
        evidence = self._evidence(self._lead(self.a2), self.m_clearance)
        evidence.with_user(self.rep).action_withdraw("Wrong document")
        with self.assertRefused(UserError, "was withdrawn and cannot be verified"):
            evidence.with_user(self.manager).action_verify()
        self.assertFalse(evidence.verified_date)

    def test_withdraw_wizard(self):
        evidence = self._rep_evidence(self._lead())
        wizard = (
            self.env["crm.lead.evidence.withdraw"]
            .with_user(self.rep)
            .create({"evidence_id": evidence.id, "reason": "Duplicate"})
        )
        wizard.action_confirm()
        self.assertEqual(evidence.withdrawal_reason, "Duplicate")

    def test_other_rep_cannot_withdraw(self):
        evidence = self._evidence(self._lead(), self.m_approval)
        with self.assertRaises(AccessError):
            evidence.with_user(self.other_rep).action_withdraw("Not mine")
        self.assertTrue(evidence.active)

    # ------------------------------------------------------------
    # What counts as proof
    # ------------------------------------------------------------

    def test_customer_evidence_produced_by_a_contact_of_the_customer(self):
        lead = self._lead()
        self._evidence(lead, self.m_summary, customer_partner_id=self.customer.id)
        self._evidence(lead, self.m_summary, customer_partner_id=self.contact.id)
        stranger = self.env["res.partner"].create({"name": "Someone Else"})
        employee = new_test_user(self.env, login="sp_employee", groups="base.group_user").partner_id
        employee.parent_id = self.customer  # even filed under the customer, an employee is ours
        for partner in (stranger, employee):
            with self.subTest(partner=partner.name):
                with self.assertRefused(ValidationError, "is not a contact of the customer"):
                    self._evidence(lead, self.m_summary, customer_partner_id=partner.id)
        no_customer = self._lead(partner_id=False)
        with self.assertRefused(ValidationError, "is not a contact of the customer"):
            self._evidence(no_customer, self.m_summary)

    def test_our_user_is_an_internal_user(self):
        portal = new_test_user(self.env, login="sp_portal", groups="base.group_portal")
        with self.assertRefused(ValidationError, "is not one of our users"):
            self._evidence(self._lead(), self.m_approval, internal_user_id=portal.id)

    def test_linked_message_and_meeting_of_the_opportunity_only(self):
        lead, other = self._lead(), self._lead(name="Another deal")
        own_message = lead.message_post(body="Confirmed", author_id=self.contact.id, message_type="comment")
        other_message = other.message_post(
            body="Elsewhere", author_id=self.contact.id, message_type="comment"
        )
        with self.assertRefused(ValidationError, f"message #{other_message.id} is not a message of"):
            self._evidence(lead, self.m_summary, message_id=other_message.id)
        now = fields.Datetime.now().replace(microsecond=0)
        meeting = self.env["calendar.event"].create(
            {"name": "Other meeting", "opportunity_id": other.id, "start": now, "stop": now}
        )
        with self.assertRefused(ValidationError, f"meeting #{meeting.id} is not a meeting of"):
            self._evidence(lead, self.m_summary, calendar_event_id=meeting.id)
        evidence = self._evidence(lead, self.m_summary, message_id=own_message.id)
        self.assertEqual(evidence.message_id, own_message)

    def test_linked_records_the_user_cannot_read_refused_by_id(self):
        hidden = self._lead(user_id=self.other_rep.id, name="Hidden deal")
        message = hidden.message_post(
            body="Secret subject", message_type="comment", subtype_xmlid="mail.mt_note"
        )
        with self.assertRaises(ValidationError) as catcher:
            self._rep_evidence(self._lead()).create(
                {
                    "lead_id": self._lead().id,
                    "milestone_id": self.m_approval.id,
                    "kind_id": self.kind_meeting.id,
                    "summary": "x",
                    "internal_user_id": self.rep.id,
                    "message_id": message.id,
                }
            )
        self.assertIn(f"#{message.id} does not exist or is not visible to you", str(catcher.exception))
        self.assertNotIn("Secret", str(catcher.exception))


@tagged("post_install", "-at_install")
class TestMergeKeepsAuditTrail(StageGateCase):
    def test_merge_moves_evidence_history_and_exceptions(self):
        head = self._lead(self.a2, name="Head deal")
        tail = self._lead(name="Tail deal")
        self._prove_a1(tail)
        tail.with_user(self.rep).stage_id = self.a2
        head.probability, tail.probability = 90, 10  # the head survives the merge
        withdrawn = self._evidence(tail, self.m_clearance)
        withdrawn.with_user(self.rep).action_withdraw("Wrong contact")
        exception = (
            self.env["crm.stage.exception"]
            .with_user(self.rep)
            .create({"lead_id": tail.id, "to_stage_id": self.a3.id, "reason": "Customer signs next week"})
        )
        evidence = tail.with_context(active_test=False).evidence_ids
        history = tail.stage_history_ids
        self.assertEqual(len(evidence), 3)
        self.assertTrue(history)
        # The reports' rows derived from the history (stays, stage entries).
        Stay, Entry = self.env["crm.lead.stage.stay"].sudo(), self.env["crm.lead.stage.entry"].sudo()
        stays = Stay.search([("lead_id", "=", tail.id)])
        tail_stages = Entry.search([("lead_id", "=", tail.id)]).stage_id
        head_stages = Entry.search([("lead_id", "=", head.id)]).stage_id
        self.assertTrue(stays)
        self.assertTrue(tail_stages - head_stages, "the tail entered a stage the head did not")
        merged = (head | tail).with_user(self.manager).merge_opportunity()
        self.assertEqual(stays.exists(), stays)
        self.assertEqual(stays.lead_id, merged)
        self.assertEqual(Entry.search([("lead_id", "=", merged.id)]).stage_id, head_stages | tail_stages)
        self.assertEqual(set(Stay.search([("lead_id", "=", merged.id)]).mapped("user_id")), {merged.user_id})
        self.assertEqual(merged, head)
        self.assertFalse(tail.exists())
        self.assertTrue(evidence.exists() == evidence)
        self.assertEqual(evidence.lead_id, merged)
        self.assertEqual(history.exists().lead_id, merged)
        self.assertEqual(len(history.exists()), len(history))
        self.assertIn("Merged from", history[0].note)
        self.assertEqual(exception.lead_id, merged)
