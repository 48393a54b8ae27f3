from odoo.tests import HttpCase, new_test_user, tagged


@tagged("post_install", "-at_install")
class TestBuyingCenterFormUi(HttpCase):
    """In the browser, the form proves what saving it will (Odoo tour)."""

    def _check_form(self, login, tour):
        ptype = self.env["crm.pipeline.type"].create(
            {"name": "Tour coach process", "code": "tour_coach", "probability_mode": "evidence"}
        )
        stage = self.env["crm.stage"].create(
            [
                {
                    "name": "Tour Coach Qualify",
                    "pipeline_type_id": ptype.id,
                    "sequence": 1,
                    "default_probability": 10,
                },
                {
                    "name": "Tour Coach Propose",
                    "pipeline_type_id": ptype.id,
                    "sequence": 2,
                    "default_probability": 50,
                },
            ]
        )[0]
        self.env["crm.stage.milestone"].create(
            {
                "name": "Tour coach secured",
                "stage_id": stage.id,
                "fact": "coach_secured",
                "customer_led": False,
            }
        )
        company = self.env["res.partner"].create({"name": "Tour Coach Co", "is_company": True})
        insider = self.env["res.partner"].create({"name": "Tour Insider", "parent_id": company.id})
        lead = self.env["crm.lead"].create(
            {
                "name": "Tour coach deal",
                "type": "opportunity",
                "pipeline_type_id": ptype.id,
                "partner_id": company.id,
                "user_id": self.env["res.users"].search([("login", "=", login)]).id,
            }
        )
        self.assertEqual((lead.stage_id, lead.probability), (stage, 10.0))

        self.start_tour(f"/odoo/crm/{lead.id}", tour, login=login)

        self.assertEqual(lead.stakeholder_ids.partner_id, insider)
        self.assertEqual((lead.evidence_probability, lead.probability), (50.0, 50.0))
        self.assertTrue(lead.is_automated_probability)

    def test_unsaved_coach_meets_its_milestone_and_moves_the_probability(self):
        self._check_form("admin", "sales_process_buying_center_form_tour")

    def test_same_in_simplified_chinese(self):
        self.env["res.lang"]._activate_lang("zh_CN")
        self.env["ir.module.module"]._load_module_terms(["sales_process_addon"], ["zh_CN"])
        new_test_user(self.env, "sp_coach_zh", "sales_team.group_sale_salesman", lang="zh_CN", name="李雷")
        self._check_form("sp_coach_zh", "sales_process_buying_center_form_zh_CN_tour")
