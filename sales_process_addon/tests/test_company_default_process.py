from odoo.tests import TransactionCase, new_test_user, tagged


@tagged("post_install", "-at_install")
class TestCompanyDefaultProcess(TransactionCase):
    """A company created after the install gets a default sales process."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.standard = cls.env.ref("sales_process_addon.pipeline_type_standard")

    def test_new_company_gets_standard_pipeline(self):
        company = self.env["res.company"].create({"name": "Founded later"})
        self.assertEqual(company.default_pipeline_type_id, self.standard)

    def test_kanban_column_in_new_company(self):
        """A sales manager of the new company adds a column to the pipeline."""
        company = self.env["res.company"].create({"name": "Founded later"})
        manager = new_test_user(
            self.env,
            "later_manager",
            groups="sales_team.group_sale_manager",
            company_id=company.id,
            company_ids=[company.id],
        )
        stage = self.env["crm.stage"].with_user(manager).with_company(company).create({"name": "Negotiation"})
        self.assertEqual(stage.pipeline_type_id, self.standard)

    def test_archived_standard_falls_back_to_shared_process(self):
        # Archived behind the ORM's back: a process in use cannot be archived (as a database from
        # before that rule may hold one).
        self.env.cr.execute("UPDATE crm_pipeline_type SET active = FALSE WHERE id = %s", [self.standard.id])
        self.env.invalidate_all()
        own = self.env["crm.pipeline.type"].create(
            {"name": "Own process", "code": "own", "company_id": self.env.company.id, "sequence": 0}
        )
        company = self.env["res.company"].create({"name": "Founded later"})
        self.assertTrue(company.default_pipeline_type_id)
        self.assertNotEqual(company.default_pipeline_type_id, self.standard)
        self.assertNotEqual(
            company.default_pipeline_type_id, own, "another company's process is never the default"
        )
        self.assertFalse(company.default_pipeline_type_id.company_id)

    def test_explicit_default_kept(self):
        shared = self.env["crm.pipeline.type"].create({"name": "Shared", "code": "shared_later"})
        company = self.env["res.company"].create(
            {"name": "Founded later", "default_pipeline_type_id": shared.id}
        )
        self.assertEqual(company.default_pipeline_type_id, shared)
