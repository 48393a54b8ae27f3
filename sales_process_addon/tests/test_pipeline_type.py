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

    def test_code_checked_when_a_process_moves_to_another_company(self):
        """Moved to a company where its code is taken: the friendly message, before the database's."""
        other, third = self.env["res.company"].create([{"name": "Other company"}, {"name": "Third company"}])
        self.env["crm.pipeline.type"].create(
            {"name": "A elsewhere", "code": "test_a", "company_id": other.id}
        )
        moving = self.env["crm.pipeline.type"].create(
            {"name": "Moving", "code": "test_a", "company_id": third.id}
        )
        with self.assertRefused(ValidationError, 'already used by "A elsewhere"'):
            moving.company_id = other
        self.assertEqual(moving.company_id, third)

    def test_rewriting_its_own_code_is_no_conflict(self):
        """A process saved again with its own code (as a form sends it) does not conflict with itself."""
        self.type_a.write({"name": "Process A renamed", "code": "test_a"})
        self.assertEqual((self.type_a.name, self.type_a.code), ("Process A renamed", "test_a"))

    def test_code_of_an_archived_process_is_taken(self):
        """The unique index counts archived processes: so does the friendly check."""
        self.env["crm.pipeline.type"].create({"name": "Retired process", "code": "retired", "active": False})
        with self.assertRefused(ValidationError, 'already used by "Retired process"'):
            self.env["crm.pipeline.type"].create({"name": "New process", "code": "retired"})

    def test_code_checked_for_a_company_sent_as_null(self):
        """A client sending null for the company (a shared process) is checked as one sending false."""
        with self.assertRefused(ValidationError, 'already used by "Process A"'):
            self.env["crm.pipeline.type"].create({"name": "Copy of A", "code": "test_a", "company_id": None})

    def test_enforcing_a_process_checks_its_won_stages_come_last(self):
        """A guided process may keep a stage after its won stage; enforcing it is refused then."""
        self.type_b.gate_mode = "guided"
        self.env["crm.stage"].create(
            {"name": "After the win", "sequence": 99, "pipeline_type_id": self.type_b.id}
        )
        with self.assertRefused(ValidationError, 'stage "After the win" follows the won stage'):
            self.type_b.gate_mode = "enforced"

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
