from psycopg2.errors import UniqueViolation

from odoo.exceptions import ValidationError
from odoo.tests import tagged
from odoo.tools import convert_file, mute_logger

from .common import SalesProcessCase


@tagged("post_install", "-at_install")
class TestPipelineType(SalesProcessCase):
    def test_code_unique_per_company(self):
        with self.assertRefused(ValidationError, 'code "test_a"'):
            self.env["crm.pipeline.type"].create({"name": "Copy of A", "code": "test_a"})
        # Nothing saved.
        self.assertEqual(self.env["crm.pipeline.type"].search_count([("code", "=", "test_a")]), 1)

    def test_code_unique_within_one_batch(self):
        with self.assertRefused(ValidationError, 'both use the code "dup"'):
            self.env["crm.pipeline.type"].create(
                [{"name": "One", "code": "dup"}, {"name": "Two", "code": "dup"}]
            )

    def test_same_code_allowed_in_another_company(self):
        other = self.env["res.company"].create({"name": "Other company"})
        ptype = self.env["crm.pipeline.type"].create(
            {"name": "A elsewhere", "code": "test_a", "company_id": other.id}
        )
        self.assertEqual(ptype.code, "test_a")

    @mute_logger("odoo.sql_db")
    def test_code_unique_in_database(self):
        """The unique index holds even when the Python check is not reached."""
        with self.assertRaises(UniqueViolation), self.cr.savepoint():
            self.env.cr.execute(
                "INSERT INTO crm_pipeline_type (name, code, sequence, active, gate_mode, probability_mode) "
                "VALUES ('{\"en_US\": \"Raw\"}', 'test_a', 1, true, 'enforced', 'predictive')"
            )

    def test_stage_count_and_opportunity_count(self):
        self._create_leads(3, pipeline_type_id=self.type_a.id)
        self._create_leads(1, pipeline_type_id=self.type_a.id).type = "lead"
        self.assertEqual(self.type_a.stage_count, 3)
        self.assertEqual(self.type_a.opportunity_count, 3)

    def test_open_pipeline_action_scoped_to_process(self):
        action = self.type_b.action_open_pipeline()
        self.assertIn(("pipeline_type_id", "=", self.type_b.id), action["domain"])
        self.assertEqual(action["context"]["default_pipeline_type_id"], self.type_b.id)
        lead = self.env["crm.lead"].with_context(**action["context"]).create({"name": "From B pipeline"})
        self.assertEqual(lead.pipeline_type_id, self.type_b)
        self.assertEqual(lead.stage_id, self.bx)

    def test_upgrade_keeps_admin_edits(self):
        """Reloading the data files as an upgrade does leaves edited templates alone."""
        stage = self.env.ref("sales_process_addon.stage_t1_01_initiation")
        ptype = self.env.ref("sales_process_addon.pipeline_type_t1")
        stage.write({"name": "Opportunity found", "default_probability": 7})
        ptype.write({"name": "Plant projects"})
        for path in ("data/crm_pipeline_type_data.xml", "data/crm_funnel_state_data.xml"):
            convert_file(self.env, "sales_process_addon", path, {}, mode="update", noupdate=False)
        self.env.invalidate_all()
        self.assertEqual(stage.name, "Opportunity found")
        self.assertEqual(stage.default_probability, 7)
        self.assertEqual(ptype.name, "Plant projects")
