from odoo.tests import HttpCase, tagged


@tagged("post_install", "-at_install")
class TestSalesProcessUi(HttpCase):
    """A rep drives the process switch in a real browser (Odoo tour)."""

    def test_switch_process_in_browser(self):
        funnel_search = self.env.ref("sales_process_addon.funnel_state_search")
        Stage = self.env["crm.stage"]
        buying = self.env["crm.buyer.process"].create(
            {"name": "Tour buying", "stage_ids": [(0, 0, {"name": "Tour need awareness"})]}
        )
        transactional = self.env["crm.pipeline.type"].create(
            {
                "name": "Tour transactional process",
                "code": "tour_t",
                "buyer_process_id": buying.id,
                "sequence": 0,
            }
        )
        direct = self.env["crm.pipeline.type"].create({"name": "Tour direct sale process", "code": "tour_d"})
        Stage.create(
            [
                {
                    "name": "Tour Qualify",
                    "pipeline_type_id": transactional.id,
                    "sequence": 1,
                    "buyer_stage_id": buying.stage_ids.id,
                    "funnel_state_id": funnel_search.id,
                },
                {"name": "Tour Quote", "pipeline_type_id": transactional.id, "sequence": 2},
                {
                    "name": "Tour First contact",
                    "pipeline_type_id": direct.id,
                    "sequence": 1,
                    "funnel_state_id": funnel_search.id,
                },
                {"name": "Tour Meeting", "pipeline_type_id": direct.id, "sequence": 2},
            ]
        )
        lead = self.env["crm.lead"].create(
            {
                "name": "Tour deal",
                "type": "opportunity",
                "pipeline_type_id": transactional.id,
                "user_id": self.env.ref("base.user_admin").id,
            }
        )
        self.start_tour(
            "/odoo/action-sales_process_addon.crm_pipeline_type_action_overview",
            "sales_process_switch_tour",
            login="admin",
        )
        self.assertEqual(lead.pipeline_type_id, direct)
        self.assertEqual(lead.stage_id.name, "Tour First contact")
