from odoo.exceptions import AccessError
from odoo.tests import tagged

from .common import SalesProcessCase


@tagged("post_install", "-at_install")
class TestSecurity(SalesProcessCase):
    def test_rep_reads_but_cannot_change_definitions(self):
        for model, record in (
            ("crm.pipeline.type", self.type_a),
            ("crm.buyer.process", self.buyer_process),
            ("crm.buyer.stage", self.buyer_need),
            ("crm.funnel.state", self.funnel_search),
        ):
            with self.subTest(model=model):
                as_rep = record.with_user(self.rep)
                self.assertTrue(as_rep.read(["name"]))
                with self.assertRaises(AccessError):
                    as_rep.write({"name": "Renamed by rep"})
                with self.assertRaises(AccessError):
                    self.env[model].with_user(self.rep).create({"name": "New by rep"})
                with self.assertRaises(AccessError):
                    as_rep.unlink()

    def test_rep_cannot_change_stages(self):
        with self.assertRaises(AccessError):
            self.a1.with_user(self.rep).write({"funnel_state_id": self.funnel_best.id})

    def test_manager_configures_processes(self):
        env = self.env(user=self.manager)
        ptype = env["crm.pipeline.type"].create({"name": "Manager's process", "code": "test_mgr"})
        stage = env["crm.stage"].create({"name": "M1", "pipeline_type_id": ptype.id})
        env["crm.funnel.state"].browse(self.funnel_in.id).guidance = "Invest."
        self.assertEqual(ptype.stage_ids, stage)

    def test_settings_set_company_default(self):
        settings = self.env["res.config.settings"].create({"company_pipeline_type_id": self.type_b.id})
        settings.execute()
        self.assertEqual(self.company.default_pipeline_type_id, self.type_b)
        lead = self.env["crm.lead"].create({"name": "After settings", "team_id": False, "user_id": False})
        self.assertEqual(lead.pipeline_type_id, self.type_b)

    def test_rep_picks_process_on_own_opportunity(self):
        lead = (
            self.env["crm.lead"]
            .with_user(self.rep)
            .create({"name": "Rep's deal", "pipeline_type_id": self.type_a.id, "user_id": self.rep.id})
        )
        lead.pipeline_type_id = self.type_b
        self.assertEqual(lead.stage_id, self.bx)

    def test_process_of_another_company_hidden(self):
        other = self.env["res.company"].create({"name": "Other company"})
        foreign = self.env["crm.pipeline.type"].create(
            {"name": "Foreign process", "code": "test_foreign", "company_id": other.id}
        )
        visible = self.env["crm.pipeline.type"].with_user(self.rep).search([])
        self.assertIn(self.type_a, visible)
        self.assertNotIn(foreign, visible)
        with self.assertRaises(AccessError):
            foreign.with_user(self.rep).read(["name"])
