from datetime import datetime

from odoo.exceptions import AccessError
from odoo.tests import tagged

from .common_gate import StageGateCase


@tagged("post_install", "-at_install")
class TestStageHistory(StageGateCase):
    def test_full_life_recorded(self):
        with self.at(datetime(2026, 3, 1, 9, 0)):
            lead = self._lead()
            self._prove_a1(lead)
        with self.at(datetime(2026, 3, 4, 21, 0)):
            lead.with_user(self.rep).stage_id = self.a2
        with self.at(datetime(2026, 3, 5, 9, 0)):
            lead.with_user(self.rep).stage_id = self.a1
            lead.with_user(self.rep).action_set_lost()
            lead.with_user(self.rep).action_restore()
            lead.with_user(self.rep).pipeline_type_id = self.type_b
        rows = lead.stage_history_ids.sorted("id")
        self.assertEqual(
            rows.mapped("event"), ["create", "forward", "backward", "lost", "restore", "type_switch"]
        )
        create, forward, backward = rows[:3]
        self.assertEqual((create.from_stage_id.id, create.to_stage_id), (False, self.a1))
        self.assertEqual((forward.from_stage_id, forward.to_stage_id), (self.a1, self.a2))
        self.assertEqual(
            (forward.from_buyer_stage_id, forward.to_buyer_stage_id), (self.buyer_need, self.buyer_eval)
        )
        self.assertEqual(
            (forward.from_funnel_state_id, forward.to_funnel_state_id), (self.funnel_search, self.funnel_in)
        )
        self.assertEqual(forward.user_id, self.rep)
        self.assertEqual(forward.salesperson_id, self.rep)
        self.assertAlmostEqual(forward.days_in_previous_stage, 3.5, places=2)
        self.assertAlmostEqual(backward.days_in_previous_stage, 0.5, places=2)
        switch = rows[-1]
        self.assertEqual((switch.from_pipeline_type_id, switch.pipeline_type_id), (self.type_a, self.type_b))
        self.assertEqual((switch.from_stage_id, switch.to_stage_id), (self.a1, self.bx))

    def test_history_is_read_only_for_users(self):
        lead = self._lead()
        row = lead.stage_history_ids
        with self.assertRaises(AccessError):
            self.env["crm.lead.stage.history"].with_user(self.rep).create(
                {"lead_id": lead.id, "event": "won"}
            )
        with self.assertRaises(AccessError):
            row.with_user(self.manager).write({"event": "won"})
        self.assertEqual(row.with_user(self.rep).event, "create")

    def test_won_recorded(self):
        lead = self._lead(self.a2)
        self._evidence(lead, self.m_clearance).with_user(self.manager).action_verify()
        self._evidence(lead, self.m_contract)
        lead.action_set_won()
        self.assertEqual(lead.stage_history_ids.sorted("id")[-1].event, "won")

    def test_proof_of_each_move_recorded(self):
        """A move that needs milestones records the evidence that met them; one that needs none is free."""
        proven = self._lead()
        evidence = self._evidence(proven, self.m_summary) | self._evidence(proven, self.m_approval)
        proven.with_user(self.rep).stage_id = self.a2
        row = proven.stage_history_ids.sorted("id")[-1]
        self.assertEqual((row.event, row.proof, row.evidence_ids), ("forward", "evidence", evidence))
        free = self._lead(self.bx, name="No milestones", pipeline_type_id=self.type_b.id)
        free.with_user(self.rep).stage_id = self.b2
        row = free.stage_history_ids.sorted("id")[-1]
        self.assertEqual((row.event, row.proof, row.evidence_ids.ids), ("forward", "free", []))
