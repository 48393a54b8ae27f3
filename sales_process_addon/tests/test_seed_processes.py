from odoo.tests import tagged

from .common import SalesProcessCase


@tagged("post_install", "-at_install")
class TestSeedProcesses(SalesProcessCase):
    """The four shipped processes, as DOMAIN.md section 2 describes them."""

    def _process(self, code):
        ptype = self.env["crm.pipeline.type"].search([("code", "=", code)])
        self.assertEqual(len(ptype), 1, f"one shipped process with code {code}")
        return ptype

    def _funnel_codes(self, ptype):
        names = {
            self.funnel_search: "S",
            self.funnel_in: "F",
            self.funnel_best: "B",
        }
        return "".join(names[stage.funnel_state_id] for stage in ptype.stage_ids)

    def test_industrial_project_eight_steps(self):
        ptype = self._process("industrial_project")
        self.assertEqual(len(ptype.stage_ids), 8)
        self.assertEqual(self._funnel_codes(ptype), "SSFFFBBB")
        self.assertEqual(ptype.stage_ids.mapped("is_won"), [False] * 7 + [True])
        self._assert_paired_one_to_one(ptype)

    def test_direct_sale_nine_steps_with_post_sale(self):
        ptype = self._process("direct_sale")
        self.assertEqual(len(ptype.stage_ids), 9)
        self.assertEqual(self._funnel_codes(ptype), "SSFFBBBBB")
        # Step 6 (close and sign) is the win; steps 7-9 happen after it.
        self.assertEqual(ptype.stage_ids.mapped("is_won"), [False] * 5 + [True] * 4)
        self._assert_paired_one_to_one(ptype)

    def test_relationship_lifecycle_five_phases(self):
        ptype = self._process("relationship_lifecycle")
        self.assertEqual(len(ptype.stage_ids), 5)
        self.assertEqual(self._funnel_codes(ptype), "SSFFB")
        self.assertEqual(ptype.stage_ids.mapped("is_won"), [False] * 4 + [True])
        self._assert_paired_one_to_one(ptype)

    def test_transactional_four_stages(self):
        ptype = self._process("transactional")
        self.assertEqual(len(ptype.stage_ids), 4)
        self.assertEqual(self._funnel_codes(ptype), "SFFB")
        self.assertEqual(ptype.stage_ids.mapped("is_won"), [False] * 3 + [True])
        self._assert_paired_one_to_one(ptype)

    def _assert_paired_one_to_one(self, ptype):
        """Each seller stage pairs with its own buyer stage, in the same order."""
        buyer_stages = ptype.stage_ids.buyer_stage_id
        self.assertEqual(len(buyer_stages), len(ptype.stage_ids))
        self.assertEqual(ptype.stage_ids.mapped("buyer_stage_id"), ptype.buyer_process_id.stage_ids)
        for stage in ptype.stage_ids:
            self.assertTrue(stage.milestone_criteria, f"{stage.name} has milestone criteria")
        probabilities = ptype.stage_ids.mapped("default_probability")
        self.assertEqual(probabilities, sorted(probabilities))

    def test_chinese_names_shipped(self):
        """zh_CN / zh_TW users see the names they already use."""
        self.env["res.lang"]._activate_lang("zh_CN")
        self.env["res.lang"]._activate_lang("zh_TW")
        self.env["ir.module.module"]._load_module_terms(["sales_process_addon"], ["zh_CN", "zh_TW"])
        first = self._process("industrial_project").stage_ids[0]
        self.assertEqual(first.with_context(lang="zh_CN").name, "项目立项")
        self.assertEqual(self.funnel_search.with_context(lang="zh_CN").name, "客户搜索")
        self.assertEqual(self.funnel_best.with_context(lang="zh_TW").name, "最佳狀態")
        # Playbooks are translated sentence by sentence, their markup kept.
        for lang in ("zh_CN", "zh_TW"):
            playbook = first.with_context(lang=lang).playbook
            self.assertIn("<strong>", playbook)
            self.assertNotIn("Outcome to obtain", playbook, f"the {lang} playbook is translated")
