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

    def test_won_stage_needs_no_milestones(self):
        """In an enforced process, only the open stages must have milestones: nothing leaves a won stage."""
        self.type_b.gate_mode = "enforced"
        problems = self.type_b._designer_problem_list()
        self.assertTrue([p for p in problems if '"BX" has no milestones' in p])
        self.assertFalse([p for p in problems if '"BWON"' in p])

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

    def test_duplicate_skips_the_codes_of_archived_processes(self):
        """An archived process keeps its code: a copy takes the next free one."""
        self.env["crm.pipeline.type"].create(
            {
                "name": "Old copy",
                "code": "test_a_copy1",
                "company_id": self.type_a.company_id.id,
                "gate_mode": "guided",
                "active": False,
            }
        )
        copy = self.env["crm.pipeline.type"].browse(self.type_a.action_duplicate_process()["res_id"])
        self.assertEqual(copy.code, "test_a_copy2")

    def test_won_stage_not_last(self):
        """In a guided process, a won stage followed by an open stage, even of the same sequence, is a problem."""
        self.type_b.gate_mode = "guided"  # an enforced process refuses such an order outright
        self.assertFalse([p for p in self.type_b._designer_problem_list() if "is not last" in p])
        self.env["crm.stage"].create({"name": "B4", "sequence": 3, "pipeline_type_id": self.type_b.id})
        self.assertIn('The won stage "BWON" is not last.', self.type_b._designer_problem_list())

    def test_process_without_stages_has_no_problems(self):
        """A process still without stages is not reported as never won: there is nothing to design yet."""
        ptype = self.env["crm.pipeline.type"].create(
            {"name": "Empty", "code": "empty", "gate_mode": "guided"}
        )
        self.assertEqual(ptype._designer_problem_list(), [])
        self.assertFalse(ptype.designer_problems)

    def test_only_customer_led_milestones_need_evidence_kinds(self):
        """Our own milestones and facts need no evidence kind; a customer-led milestone does."""
        self.env["crm.stage.milestone"].create(
            {
                "name": "Pursuit decided",
                "stage_id": self.a1.id,
                "customer_led": True,
                "fact": "qualified_pursue",
            }
        )
        problems = self.type_a._designer_problem_list()
        self.assertTrue([p for p in problems if '"Paid in full"' in p])
        for name in ("Internal approval", "Pursuit decided"):
            self.assertFalse([p for p in problems if f'"{name}"' in p], name)
