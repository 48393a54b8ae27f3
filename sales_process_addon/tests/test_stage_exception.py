from odoo.exceptions import AccessError, UserError, ValidationError
from odoo.tests import tagged

from .common_gate import StageGateCase


@tagged("post_install", "-at_install")
class TestStageException(StageGateCase):
    def _request(self, lead, to_stage, user=None, reason="Customer signed a framework deal"):
        return (
            self.env["crm.stage.exception"]
            .with_user(user or self.rep)
            .create({"lead_id": lead.id, "to_stage_id": to_stage.id, "reason": reason})
        )

    def test_request_needs_reason(self):
        lead = self._lead()
        with self.assertRefused(ValidationError, "An exception needs a reason"):
            self._request(lead, self.a3, reason="  ")
        with self.assertRaises(ValidationError):
            self._request(lead, self.a3, reason=False)

    def test_kind_and_activity_for_manager(self):
        self.team.user_id = self.manager
        lead = self._lead(team_id=self.team.id)
        skip = self._request(lead, self.a3)
        self.assertEqual((skip.kind, skip.from_stage_id, skip.state), ("skip", self.a1, "pending"))
        self.assertEqual(skip.activity_ids.user_id, self.manager)
        self.assertEqual(self._request(lead, self.a2).kind, "missing_evidence")

    def test_waived_milestones_of_every_stage_the_move_passes(self):
        """What a request waives, shown to the decider and logged with it: the unproven required
        milestones of the stage left, and for a skip of every stage passed (and of a won stage
        entered)."""
        first = self._lead(name="Next stage")
        self._evidence(first, self.m_summary)
        self.assertEqual(self._request(first, self.a2).waived_milestone_ids, self.m_approval)
        lead = self._lead(name="Skip")
        self._evidence(lead, self.m_summary)
        skip = self._request(lead, self.a3)
        self.assertEqual(skip.waived_milestone_ids, self.m_approval | self.m_clearance | self.m_contract)
        self.assertIn("Milestones waived: Internal approval, Technical clearance", lead.message_ids[0].body)
        for reason in ("\u200b", " \u2060\u3000\n", "\xa0"):
            with self.subTest(reason=reason), self.assertRefused(ValidationError, "needs a reason"):
                skip.with_user(self.rep).reason = reason

    def test_approved_exception_lets_the_move_through_once(self):
        lead = self._lead(name="Framework deal")
        exception = self._request(lead, self.a3)
        exception.with_user(self.manager).action_approve()
        lead.with_user(self.rep).stage_id = self.a3
        self.assertEqual(lead.stage_id, self.a3)
        self.assertEqual(exception.state, "used")
        self.assertEqual(lead.stage_history_ids.sorted("id")[-1].exception_id, exception)
        # Consumed: the same move again is refused.
        lead.stage_id = self.a1
        with self.assertRefused(ValidationError, 'cannot jump from "A1" to "A3"'):
            lead.stage_id = self.a3

    def test_exception_applies_to_its_own_move_only(self):
        lead = self._lead()
        self._request(lead, self.a3).with_user(self.manager).action_approve()
        with self.assertRefused(ValidationError, 'cannot jump from "A1" to "A4"'):
            lead.stage_id = self.a4

    def test_pending_or_rejected_exception_does_not_count(self):
        lead = self._lead()
        exception = self._request(lead, self.a3)
        with self.assertRaises(ValidationError):
            lead.stage_id = self.a3
        exception.with_user(self.manager).action_reject("Not convinced")
        self.assertEqual(exception.state, "rejected")
        with self.assertRaises(ValidationError):
            lead.stage_id = self.a3

    def test_rep_cannot_approve(self):
        exception = self._request(self._lead(), self.a3)
        with self.assertRefused(AccessError, "Only a sales manager can approve"):
            exception.with_user(self.other_rep).action_approve()
        with self.assertRaises(AccessError):
            exception.with_user(self.rep).write({"state": "approved"})
        self.assertEqual(exception.state, "pending")

    def test_requester_cannot_self_approve_even_as_manager(self):
        lead = self._lead(user_id=self.manager.id)
        exception = self._request(lead, self.a3, user=self.manager)
        with self.assertRefused(AccessError, "another sales manager must decide"):
            exception.with_user(self.manager).action_approve()
        exception.with_user(self.manager_2).action_approve()
        self.assertEqual((exception.state, exception.approver_id), ("approved", self.manager_2))

    def test_decided_exception_cannot_be_decided_again(self):
        exception = self._request(self._lead(), self.a3)
        exception.with_user(self.manager).action_reject("Not convinced")
        with self.assertRefused(UserError, "is rejected: only a pending request can be decided"):
            exception.with_user(self.manager_2).action_approve()
        lead = self._lead()
        used = self._request(lead, self.a3)
        used.with_user(self.manager).action_approve()
        lead.stage_id = self.a3
        with self.assertRefused(UserError, "is used: only a pending request can be decided"):
            used.with_user(self.manager_2).action_approve()

    def test_stages_must_belong_to_the_process(self):
        with self.assertRefused(ValidationError, "both stages must belong to its sales process"):
            self._request(self._lead(), self.b2)  # a switch: only for won deals
        with self.assertRefused(ValidationError, "another stage than the current one"):
            self._request(self._lead(), self.a1)

    def test_request_starts_from_the_current_stage(self):
        lead = self._lead()
        with self.assertRefused(ValidationError, "for a move from the opportunity's current stage"):
            self.env["crm.stage.exception"].with_user(self.rep).create(
                {
                    "lead_id": lead.id,
                    "from_stage_id": self.a2.id,
                    "to_stage_id": self.a3.id,
                    "reason": "Signed",
                }
            )
        self.assertFalse(lead.stage_exception_ids)

    def test_decided_request_cannot_be_reworded(self):
        exception = self._request(self._lead(), self.a3)
        exception.with_user(self.rep).reason = "Signed a framework deal last week"
        exception.with_user(self.manager).action_approve("Fine")
        with self.assertRefused(UserError, "Only a pending exception request can be changed"):
            exception.with_user(self.rep).reason = "Something else"
        self.assertEqual(exception.reason, "Signed a framework deal last week")

    def test_decided_exception_stays_in_the_audit_trail(self):
        pending, decided = self._request(self._lead(), self.a3), self._request(self._lead(), self.a3)
        decided.with_user(self.manager).action_reject("Not convinced")
        with self.assertRaises(AccessError):
            pending.with_user(self.rep).unlink()  # only sales managers delete requests
        with self.assertRefused(UserError, "part of the audit trail"):
            decided.with_user(self.manager).unlink()
        pending.with_user(self.manager).unlink()  # a request not decided yet may be deleted
        self.assertEqual((pending.exists(), decided.exists()), (pending.browse(), decided))
