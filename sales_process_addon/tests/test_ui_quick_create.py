from odoo.tests import HttpCase, new_test_user, tagged


@tagged("post_install", "-at_install")
class TestQuickCreateUi(HttpCase):
    """A rep's quick create in the pipeline, in Chromium: refused in a later stage, with the reason."""

    def test_quick_create_refused_in_a_later_stage(self):
        process = self.env["crm.pipeline.type"].create(
            {"name": "Tour QC process", "code": "tour_qc", "gate_mode": "enforced", "sequence": 0}
        )
        discover, _qualify = self.env["crm.stage"].create(
            [
                {"name": "Tour QC Discover", "pipeline_type_id": process.id, "sequence": 1},
                {"name": "Tour QC Qualify", "pipeline_type_id": process.id, "sequence": 2},
            ]
        )
        self.env.company.default_pipeline_type_id = process
        rep = new_test_user(self.env, "tour_qc_rep", "sales_team.group_sale_salesman", name="Tour QC Rep")
        # The rep's pipeline opens on the process; one deal of theirs in it.
        self.env["crm.lead"].create(
            {
                "name": "Tour QC existing",
                "type": "opportunity",
                "pipeline_type_id": process.id,
                "user_id": rep.id,
            }
        )
        self.start_tour("/odoo/crm", "sales_process_quick_create_refused_tour", login=rep.login)
        Lead = self.env["crm.lead"].with_context(active_test=False)
        self.assertFalse(Lead.search([("name", "=", "Tour QC deal")]))
        self.assertEqual(Lead.search([("name", "=", "Tour QC first deal")]).stage_id, discover)
