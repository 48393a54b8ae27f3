from odoo.modules.module import load_script
from odoo.tests import TransactionCase, tagged
from odoo.tools.misc import file_path

from odoo.addons.sales_process_addon.hooks import _set_standard_funnel_states


@tagged("post_install", "-at_install")
class TestStandardFunnelStates(TransactionCase):
    """The Standard pipeline's stages get funnel states on install."""

    def test_installed_stages_have_states(self):
        standard = self.env.ref("sales_process_addon.pipeline_type_standard")
        stages = self.env["crm.stage"].search([("pipeline_type_id", "=", standard.id)])
        self.assertTrue(stages)
        self.assertTrue(all(stages.mapped("funnel_state_id")))
        best = self.env.ref("sales_process_addon.funnel_state_best")
        self.assertEqual(stages.filtered("is_won").funnel_state_id, best)
        funnel = self.env["crm.sales.funnel.report"]._read_group(
            [("pipeline_type_id", "=", standard.id)], ["funnel_state_id"], ["__count"]
        )
        self.assertNotIn(self.env["crm.funnel.state"], [state for state, _count in funnel])

    def test_states_by_position(self):
        standard = self.env.ref("sales_process_addon.pipeline_type_standard")
        search, in_funnel, best = (
            self.env.ref(f"sales_process_addon.funnel_state_{code}")
            for code in ("search", "in_funnel", "best")
        )
        Stage = self.env["crm.stage"]

        def stages(*names, sequence, **values):
            records = Stage
            for offset, name in enumerate(names):
                # One by one from a fresh cache: the won-stage-last check reads the process's stages.
                self.env.invalidate_all()
                records |= Stage.create(
                    {"name": name, "sequence": sequence + offset, "pipeline_type_id": standard.id, **values}
                )
            return records

        kept = stages("Kept", sequence=-200, funnel_state_id=search.id)
        new = stages("S1", "S2", "S3", "S4", sequence=-109)
        _set_standard_funnel_states(self.env)
        self.assertEqual(kept.funnel_state_id, search)
        self.assertEqual([stage.funnel_state_id for stage in new], [search, in_funnel, in_funnel, best])
        # Two open stages: Search then In funnel; nothing left without a state, nothing changes.
        two = stages("T1", "T2", sequence=-50)
        _set_standard_funnel_states(self.env)
        self.assertEqual([stage.funnel_state_id for stage in two], [search, in_funnel])
        self.assertEqual([stage.funnel_state_id for stage in new], [search, in_funnel, in_funnel, best])


@tagged("post_install", "-at_install")
class TestStandardFunnelStatesMigration(TransactionCase):
    """Upgrading to 19.0.2.1.0 gives the Standard pipeline's stages the funnel states a fresh install gives."""

    def _migrate(self):
        script = file_path("sales_process_addon/migrations/19.0.2.1.0/post-migrate.py")
        load_script(script, "sales_process_addon_post_migrate_19_0_2_1_0").migrate(self.env.cr, "19.0.2.0.0")

    def test_migration_sets_cleared_states(self):
        standard = self.env.ref("sales_process_addon.pipeline_type_standard")
        stages = self.env["crm.stage"].search([("pipeline_type_id", "=", standard.id)], order="sequence, id")
        installed = [stage.funnel_state_id for stage in stages]
        self.assertGreaterEqual(len(stages), 3)
        # As on a database installed before the hook set them.
        stages.write({"funnel_state_id": False})
        self.assertFalse(any(stages.mapped("funnel_state_id")))
        self._migrate()
        self.assertEqual([stage.funnel_state_id for stage in stages], installed)
        self.assertTrue(all(stages.mapped("funnel_state_id")))

    def test_migration_keeps_chosen_states(self):
        standard = self.env.ref("sales_process_addon.pipeline_type_standard")
        stages = self.env["crm.stage"].search([("pipeline_type_id", "=", standard.id)], order="sequence, id")
        in_funnel = self.env.ref("sales_process_addon.funnel_state_in_funnel")
        # A company's choice: every stage In funnel, but the first one cleared.
        stages.write({"funnel_state_id": in_funnel.id})
        stages[0].funnel_state_id = False
        self._migrate()
        search = self.env.ref("sales_process_addon.funnel_state_search")
        self.assertEqual(stages[0].funnel_state_id, search)
        self.assertEqual(set(stages[1:].mapped("funnel_state_id")), {in_funnel})
        # Nothing left without a state: a second run changes nothing.
        self._migrate()
        self.assertEqual(stages[0].funnel_state_id, search)
        self.assertEqual(set(stages[1:].mapped("funnel_state_id")), {in_funnel})

    def test_migration_gives_the_demo_rep_her_language(self):
        """An update creates the demo's Chinese rep but skips the demo's language installation."""
        rep = self.env.ref("sales_process_addon.user_rep_zh", raise_if_not_found=False)
        if not rep:
            self.skipTest("a database without demo data has no demo rep")
        hong_kong = self.env.ref("base.lang_zh_HK")
        self.assertFalse(hong_kong.active)
        # As after an update: the rep's language is one the database does not have yet.
        self.env.cr.execute("UPDATE res_partner SET lang = 'zh_HK' WHERE id = %s", [rep.partner_id.id])
        rep.invalidate_recordset()
        rep.partner_id.invalidate_recordset()
        self._migrate()
        self.assertEqual(self.env["res.lang"]._get_code("zh_HK"), "zh_HK")
        self._migrate()  # a second run has nothing to do
        self.assertTrue(hong_kong.active)
