from odoo.tests import tagged

from .common_gate import StageGateCase


@tagged("post_install", "-at_install")
class TestProcessDesigner(StageGateCase):
    """The administrator's designer: problems shown early, a process duplicated with its milestones."""

    def test_problems_shown(self):
        self.type_a.gate_mode = "enforced"
        problems = self.type_a._designer_problem_list()
        self.assertFalse(
            [p for p in problems if "has no milestones" in p], "every open stage of process A has milestones"
        )
        self.assertTrue([p for p in problems if '"Paid in full"' in p], "a milestone accepting any kind")
        self.assertTrue([p for p in self.type_b._designer_problem_list() if '"BX" has no milestones' in p])
        self.type_b.gate_mode = "guided"
        self.assertFalse([p for p in self.type_b._designer_problem_list() if "has no milestones" in p])
        self.type_b.gate_mode = "enforced"
        self.assertIn("Stage &#34;BX&#34; has no milestones", self.type_b.designer_problems)

    def test_process_without_won_stage(self):
        ptype = self.env["crm.pipeline.type"].create(
            {"name": "No win", "code": "no_win", "gate_mode": "guided"}
        )
        self.env["crm.stage"].create({"name": "Only", "pipeline_type_id": ptype.id})
        self.assertIn("No won stage", ptype.designer_problems)

    def test_duplicate_process(self):
        action = self.type_a.action_duplicate_process()
        copy = self.env["crm.pipeline.type"].browse(action["res_id"])
        self.assertNotEqual(copy, self.type_a)
        self.assertEqual(copy.code, "test_a_copy1")
        self.assertEqual(copy.stage_ids.mapped("name"), self.type_a.stage_ids.mapped("name"))
        self.assertEqual(
            copy.stage_ids.milestone_ids.mapped("name"), self.type_a.stage_ids.milestone_ids.mapped("name")
        )
        self.assertEqual(
            self.type_a.stage_ids.milestone_ids.stage_id, self.type_a.stage_ids, "the original is intact"
        )
        second = self.env["crm.pipeline.type"].browse(self.type_a.action_duplicate_process()["res_id"])
        self.assertEqual(second.code, "test_a_copy2")
