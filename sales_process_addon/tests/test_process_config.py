from odoo import Command
from odoo.exceptions import UserError, ValidationError
from odoo.tests import tagged

from .common_gate import StageGateCase


@tagged("post_install", "-at_install")
class TestProcessConfig(StageGateCase):
    """An administrator's changes to a process keep what the stage gate and the reps rely on."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.env["res.lang"]._activate_lang("zh_CN")
        cls.type_a.update_field_translations("name", {"zh_CN": "流程甲"})
        cls.a1.update_field_translations("name", {"zh_CN": "甲一"})
        cls.m_summary.update_field_translations("name", {"zh_CN": "纪要已确认"})
        cls.m_summary.update_field_translations("description", {"en_US": "Their reply", "zh_CN": "对方回复"})

    # ------------------------------------------------------------
    # Duplicating a process
    # ------------------------------------------------------------

    def _names(self, record, fname="name"):
        return tuple(record.with_context(lang=lang)[fname] for lang in ("en_US", "zh_CN"))

    def _assert_translations_kept(self, copy):
        zh_copy = self.env(context={"lang": "zh_CN"})._("%(name)s (copy)", name="流程甲")
        self.assertEqual(self._names(copy), ("Process A (copy)", zh_copy))
        self.assertNotEqual(zh_copy, "Process A (copy)")
        stage = copy.stage_ids.filtered(lambda stage: stage.sequence == 1)
        self.assertEqual(self._names(stage), ("A1", "甲一"))
        milestone = stage.milestone_ids.filtered(lambda m: m.evidence_kind_ids)
        self.assertEqual(self._names(milestone), ("Summary confirmed", "纪要已确认"))
        self.assertEqual(self._names(milestone, "description"), ("Their reply", "对方回复"))
        self.assertEqual(self._names(self.a1), ("A1", "甲一"), "the original is intact")

    def test_duplicate_keeps_every_language_as_english_admin(self):
        action = self.type_a.with_context(lang="en_US").action_duplicate_process()
        self._assert_translations_kept(self.env["crm.pipeline.type"].browse(action["res_id"]))

    def test_duplicate_keeps_every_language_as_chinese_admin(self):
        action = self.type_a.with_context(lang="zh_CN").action_duplicate_process()
        self._assert_translations_kept(self.env["crm.pipeline.type"].browse(action["res_id"]))

    def test_standard_duplicate_copies_the_process(self):
        """Odoo's Duplicate gives the copy a free code, its stages and milestones, as the designer's."""
        copy = self.type_a.with_context(lang="zh_CN").copy().with_context(lang="en_US")
        self.assertEqual(copy.code, "test_a_copy1")
        self.assertEqual(copy.stage_ids.mapped("name"), self.type_a.stage_ids.mapped("name"))
        self.assertEqual(len(copy.stage_ids.milestone_ids), len(self.type_a.stage_ids.milestone_ids))
        self._assert_translations_kept(copy)
        self.assertEqual(self.type_a.copy().code, "test_a_copy2")

    def test_duplicate_has_its_own_task_plans(self):
        """The copy's stages get copies of the task plans (one per plan shared by stages), so a
        sales manager adapting the copy's tasks leaves the original process's alone."""
        plan = self.env["mail.activity.plan"].create(
            {
                "name": "A tasks",
                "res_model": "crm.lead",
                "template_ids": [
                    Command.create({"activity_type_id": self.env.ref("mail.mail_activity_data_call").id})
                ],
            }
        )
        (self.a1 | self.a2).activity_plan_id = plan
        manager = self.manager
        manager.group_ids |= self.env.ref("sales_team.group_sale_manager")
        action = self.type_a.with_user(manager).action_duplicate_process()
        copy = self.env["crm.pipeline.type"].browse(action["res_id"])
        copied = copy.stage_ids.filtered(lambda stage: stage.name in ("A1", "A2")).activity_plan_id
        self.assertEqual(len(copied), 1, "one copy of the plan both stages share")
        self.assertNotEqual(copied, plan)
        self.assertEqual(copied.template_ids.activity_type_id, plan.template_ids.activity_type_id)
        copied.template_ids.with_user(manager).unlink()
        self.assertTrue(plan.template_ids, "the original's tasks are untouched")

    def test_code_taken_by_a_namesake(self):
        """A process named like the one whose code it takes: the message does not name it twice."""
        with self.assertRefused(ValidationError, 'already used by another sales process named "Process A"'):
            self.env["crm.pipeline.type"].create({"name": "Process A", "code": "test_a"})

    # ------------------------------------------------------------
    # Buying process and buyer stages
    # ------------------------------------------------------------

    def test_buying_process_changes_only_with_its_pairings(self):
        other = self.env["crm.buyer.process"].create(
            {"name": "Other buying process", "stage_ids": [(0, 0, {"name": "Other need"})]}
        )
        with self.assertRefused(
            ValidationError, 'cannot become "Other buying process": its stages A1, A2, A3'
        ):
            self.type_a.buyer_process_id = other
        with self.assertRefused(ValidationError, 'Sales process "Process A" cannot be left without a buying'):
            self.type_a.buyer_process_id = False
        self.assertEqual(self.type_a.buyer_process_id, self.buyer_process)
        # Paired anew in the same change, as the form saves it.
        self.type_a.write(
            {
                "buyer_process_id": other.id,
                "stage_ids": [
                    (1, self.a1.id, {"buyer_stage_id": other.stage_ids.id}),
                    (1, self.a2.id, {"buyer_stage_id": False}),
                    (1, self.a3.id, {"buyer_stage_id": False}),
                ],
            }
        )
        self.assertEqual(self.a1.buyer_stage_id, other.stage_ids)

    def test_buyer_stage_stays_in_the_buying_process_of_its_stages(self):
        other = self.env["crm.buyer.process"].create({"name": "Other buying process"})
        with self.assertRefused(ValidationError, r'Buyer stage "Evaluation" cannot move .*A2 \(Process A\)'):
            self.buyer_eval.buyer_process_id = other
        spare = self.env["crm.buyer.stage"].create(
            {"name": "Spare", "buyer_process_id": self.buyer_process.id}
        )
        spare.buyer_process_id = other
        self.assertEqual(spare.buyer_process_id, other)

    # ------------------------------------------------------------
    # Enforcing a process
    # ------------------------------------------------------------

    def test_enforcing_refused_while_a_deal_sits_in_another_teams_stage(self):
        """A guided process lets a deal into a stage kept for another team; enforcing it then would
        strand the deal (an enforced stage is never kept from the teams of its deals)."""
        self.type_a.gate_mode = "guided"
        other_team, a1x = self._other_team_stage()
        lead = self._lead(team_id=self.team.id)
        lead.stage_id = a1x
        with self.assertRefused(
            ValidationError, '1 opportunities of other sales teams than Other team are in stage "A1x"'
        ):
            self.type_a.gate_mode = "enforced"
        self.assertEqual(self.type_a.gate_mode, "guided")
        a1x.team_ids = other_team | self.team
        self.type_a.gate_mode = "enforced"
        self.assertEqual(lead.stage_id, a1x)

    # ------------------------------------------------------------
    # Archiving a process
    # ------------------------------------------------------------

    def test_process_in_use_is_not_archived(self):
        self._lead(team_id=self.team.id)
        with self.assertRefused(
            ValidationError,
            r'"Process A" cannot be archived: .*1 open opportunities, the process of 1 sales teams',
        ):
            self.type_a.action_archive()
        self.assertTrue(self.type_a.active)

    def test_company_default_is_not_archived(self):
        shared = self.env["crm.pipeline.type"].create({"name": "Shared default", "code": "shared_default"})
        self.env.company.default_pipeline_type_id = shared
        with self.assertRefused(ValidationError, r"cannot be archived: .*the default process of 1 companies"):
            shared.action_archive()

    def test_archived_process_is_no_company_default(self):
        self.type_b.action_archive()
        with self.assertRefused(ValidationError, 'The sales process "Process B" is archived'):
            self.env.company.default_pipeline_type_id = self.type_b

    def test_process_no_longer_used_is_archived(self):
        """Lost and won deals stay in an archived process: their history keeps it."""
        lead = self.env["crm.lead"].create(
            {
                "name": "Lost deal",
                "type": "opportunity",
                "pipeline_type_id": self.type_b.id,
                "stage_id": self.bx.id,
            }
        )
        lead.action_set_lost()
        self.type_b.action_archive()
        self.assertFalse(self.type_b.active)

    # ------------------------------------------------------------
    # Settings
    # ------------------------------------------------------------

    def test_exception_validity_is_positive(self):
        for days in (-5, 0):
            with self.assertRefused(ValidationError, f"valid at least one day, not {days} days"):
                self.env["res.config.settings"].create({"stage_exception_validity_days": days}).execute()
        self.env.company.stage_exception_validity_days = 3
        self.assertEqual(self.env.company._stage_exception_validity(), 3)

    def test_stage_kept_from_its_deals_teams_message_unchanged(self):
        other_team, _a1x = self._other_team_stage()
        self._lead(team_id=self.team.id)
        with self.assertRefused(
            UserError, '1 opportunities of other sales teams than Other team are in stage "A1"'
        ):
            self.a1.team_ids = other_team
