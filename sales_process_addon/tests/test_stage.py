from odoo.exceptions import UserError, ValidationError
from odoo.tests import tagged

from .common import SalesProcessCase


@tagged("post_install", "-at_install")
class TestStage(SalesProcessCase):
    def test_stage_gets_company_default_process(self):
        self.company.default_pipeline_type_id = self.type_b
        stage = self.env["crm.stage"].create({"name": "Default process stage", "sequence": 0})
        self.assertEqual(stage.pipeline_type_id, self.type_b)

    def test_stage_without_process_refused(self):
        with self.assertRefused(ValidationError, 'Stage "Orphan" must belong to a sales process'):
            self.env["crm.stage"].create({"name": "Orphan", "pipeline_type_id": False})

    def test_won_flag_and_process_fixed_while_stage_holds_leads(self):
        lead = self._create_leads(1, pipeline_type_id=self.type_a.id, stage_id=self.a2.id)
        with self.assertRefused(UserError, 'Stage "A2" holds 1 opportunities'):
            self.a2.is_won = True
        with self.assertRefused(UserError, "only change once it is empty"):
            self.a2.pipeline_type_id = self.type_b
        self.assertEqual(lead.won_status, "pending")
        self.type_a.gate_mode = "guided"  # a guided process keeps Odoo's freedom
        self.env["crm.stage.milestone"].create({"name": "Clearance", "stage_id": self.a2.id})
        # Odoo wins the deals of a stage marked won (it writes their probability): one change, one row.
        self.a2.is_won = True
        self.assertEqual(lead.won_status, "won")
        self.assertEqual(lead.stage_history_ids.sorted("id").mapped("event"), ["create", "won"])
        # Won where it stands: what the stage requires was not proven, and the history says so.
        self.assertEqual(lead.stage_history_ids.sorted("id")[-1].proof, "unproven")
        self.a2.is_won = False
        self.assertEqual(lead.won_status, "pending")
        self.assertEqual(lead.stage_history_ids.sorted("id").mapped("event"), ["create", "won", "reopen"])

    def test_new_company_stage_gets_the_standard_pipeline(self):
        """A company created after the install has no default process: its stages join the Standard one."""
        company = self.env["res.company"].create({"name": "Later company"})
        company.default_pipeline_type_id = False
        stage = self.env["crm.stage"].with_company(company).create({"name": "Their column"})
        self.assertEqual(stage.pipeline_type_id, self.env.ref("sales_process_addon.pipeline_type_standard"))

    def test_post_sale_won_stages_allowed(self):
        post_sale = self.env["crm.stage"].create(
            {"name": "Deliver", "sequence": 10, "is_won": True, "pipeline_type_id": self.type_a.id}
        )
        self.assertEqual(self.type_a.stage_ids[-2:], self.a3 + post_sale)

    def test_non_won_stage_after_won_refused(self):
        with self.assertRefused(ValidationError, 'stage "After win" follows the won stage "A3"'):
            self.env["crm.stage"].create(
                {"name": "After win", "sequence": 10, "pipeline_type_id": self.type_a.id}
            )
        self.assertEqual(len(self.type_a.stage_ids), 3)

    def test_unmarking_a_post_sale_stage_refused(self):
        deliver = self.env["crm.stage"].create(
            {"name": "Deliver", "sequence": 10, "is_won": True, "pipeline_type_id": self.type_a.id}
        )
        with self.assertRefused(ValidationError, 'stage "Deliver" follows the won stage "A3"'):
            deliver.is_won = False
        # Moving the win later is fine: A3 becomes a normal stage before Deliver.
        self.a3.is_won = False
        self.assertEqual(self.type_a.stage_ids.filtered("is_won"), deliver)

    def test_moving_a_stage_after_the_won_stage_refused(self):
        with self.assertRefused(ValidationError, 'stage "A2" follows the won stage "A3"'):
            self.a2.sequence = 99

    def test_buyer_stage_of_another_buying_process_refused(self):
        other_process = self.env["crm.buyer.process"].create(
            {"name": "Other buying", "stage_ids": [(0, 0, {"name": "Elsewhere"})]}
        )
        with self.assertRefused(ValidationError, 'buyer stage "Elsewhere" is not a step of'):
            self.a1.buyer_stage_id = other_process.stage_ids
        self.assertEqual(self.a1.buyer_stage_id, self.buyer_need)

    def test_default_probability_range(self):
        with self.assertRefused(
            ValidationError, 'Stage "A1": the default probability must be between 0 and 100'
        ):
            self.a1.default_probability = 120
        self.a1.default_probability = 100
