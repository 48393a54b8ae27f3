from odoo.tests import HttpCase, new_test_user, tagged


@tagged("post_install", "-at_install")
class TestMobileLeadFormUi(HttpCase):
    """On a phone-sized screen, the opportunity's lists are cards edited in dialogs.

    The screen is a phone's; the pointer stays a mouse, so that selections open as
    dropdowns rather than as Odoo's touch bottom sheet.
    """

    browser_size = "390x844"

    def test_rep_edits_the_lists_on_a_phone(self):
        rep = new_test_user(
            self.env, "tour_mobile_rep", "sales_team.group_sale_salesman", name="Tour Mobile Rep"
        )
        process = self.env["crm.pipeline.type"].create(
            {"name": "Tour mobile process", "code": "tour_mobile", "gate_mode": "enforced"}
        )
        self.env["crm.stage"].create(
            [
                {"name": f"Tour Mobile {name}", "pipeline_type_id": process.id, "sequence": sequence}
                for sequence, name in enumerate(("Discover", "Qualify", "Propose"), start=1)
            ]
        )
        customer = self.env["res.partner"].create({"name": "Tour Mobile Co", "is_company": True})
        buyer = self.env["res.partner"].create({"name": "Tour Mobile Buyer", "parent_id": customer.id})
        question = self.env["crm.qualification.question"].create({"name": "Tour mobile budget?"})
        rival = self.env["crm.competitor"].create({"name": "Tour Mobile Rival"})
        lead = self.env["crm.lead"].create(
            {
                "name": "Tour mobile deal",
                "type": "opportunity",
                "pipeline_type_id": process.id,
                "partner_id": customer.id,
                "user_id": rep.id,
                "qualification_ids": [(0, 0, {"question_id": question.id})],
                "stakeholder_ids": [
                    (
                        0,
                        0,
                        {
                            "partner_id": buyer.id,
                            "role_id": self.env.ref("sales_process_addon.stakeholder_role_decision_maker").id,
                            "stance": "neutral",
                        },
                    )
                ],
            }
        )

        self.start_tour(f"/odoo/crm/{lead.id}", "sales_process_mobile_lead_form_tour", login=rep.login)

        answer = lead.qualification_ids.filtered(lambda line: line.question_id == question)
        self.assertEqual((answer.answer, answer.notes), ("yes", "Confirmed by the plant director"))
        self.assertEqual(lead.stakeholder_ids.mapped("stance"), ["supporter"])
        self.assertEqual(
            [(line.competitor_id, line.threat_level) for line in lead.competitor_ids], [(rival, "high")]
        )

    def test_manager_approves_an_exception_on_a_phone(self):
        rep = new_test_user(self.env, "tour_mobile_rep2", "sales_team.group_sale_salesman")
        manager = new_test_user(self.env, "tour_mobile_manager", "sales_team.group_sale_manager")
        process = self.env["crm.pipeline.type"].create(
            {"name": "Tour mobile gated", "code": "tour_mobile_gated", "gate_mode": "enforced"}
        )
        stages = self.env["crm.stage"].create(
            [
                {"name": f"Tour Mobile Gate {sequence}", "pipeline_type_id": process.id, "sequence": sequence}
                for sequence in (1, 2, 3)
            ]
        )
        lead = self.env["crm.lead"].create(
            {
                "name": "Tour mobile exception deal",
                "type": "opportunity",
                "pipeline_type_id": process.id,
                "user_id": rep.id,
            }
        )
        exception = (
            self.env["crm.stage.exception"]
            .with_user(rep)
            .create({"lead_id": lead.id, "to_stage_id": stages[2].id, "reason": "Framework contract signed"})
        )
        self.assertEqual((exception.state, exception.kind), ("pending", "skip"))

        action = self.env.ref("sales_process_addon.crm_stage_exception_action")
        self.start_tour(
            f"/odoo/action-{action.id}", "sales_process_mobile_exception_approval_tour", login=manager.login
        )

        self.assertEqual(
            (exception.state, exception.approver_id, exception.decision_comment),
            ("approved", manager, "Signed framework contract seen"),
        )

    def test_manager_verifies_evidence_on_a_phone(self):
        rep = new_test_user(self.env, "tour_mobile_rep3", "sales_team.group_sale_salesman")
        manager = new_test_user(self.env, "tour_mobile_manager2", "sales_team.group_sale_manager")
        process = self.env["crm.pipeline.type"].create(
            {"name": "Tour mobile verified", "code": "tour_mobile_verified"}
        )
        stage = self.env["crm.stage"].create(
            {"name": "Tour Mobile Verified 1", "pipeline_type_id": process.id, "sequence": 1}
        )
        milestone = self.env["crm.stage.milestone"].create(
            {
                "name": "Tour mobile clearance",
                "stage_id": stage.id,
                "needs_verification": True,
                "customer_led": False,
            }
        )
        lead = self.env["crm.lead"].create(
            {
                "name": "Tour mobile verified deal",
                "type": "opportunity",
                "pipeline_type_id": process.id,
                "user_id": rep.id,
            }
        )
        evidence = (
            self.env["crm.lead.evidence"]
            .with_user(rep)
            .create(
                {
                    "lead_id": lead.id,
                    "milestone_id": milestone.id,
                    "kind_id": self.env.ref("sales_process_addon.evidence_kind_document").id,
                    "summary": "Tour mobile clearance letter",
                    "internal_user_id": rep.id,
                }
            )
        )
        self.assertFalse(evidence.is_valid)

        action = self.env.ref("sales_process_addon.crm_lead_evidence_action")
        self.start_tour(
            f"/odoo/action-{action.id}", "sales_process_mobile_evidence_verify_tour", login=manager.login
        )

        self.assertEqual(evidence.verified_by_id, manager)
        self.assertTrue(evidence.is_valid)

    def test_rep_follows_up_a_signal_on_a_phone(self):
        rep = new_test_user(self.env, "tour_mobile_rep4", "sales_team.group_sale_salesman")
        lead = self.env["crm.lead"].create(
            {"name": "Tour mobile signal deal", "type": "opportunity", "user_id": rep.id}
        )
        signal = self.env["crm.lead.signal"].create(
            {
                "lead_id": lead.id,
                "category": "people",
                "description": "Tour mobile: the plant director retires",
            }
        )
        # A signal schedules its follow-up at once; the card's button opens it again.
        followup = signal.followup_activity_id
        self.assertEqual((followup.res_id, followup.user_id), (lead.id, rep))

        action = self.env.ref("sales_process_addon.crm_lead_signal_action")
        self.start_tour(
            f"/odoo/action-{action.id}", "sales_process_mobile_signal_followup_tour", login=rep.login
        )

        self.assertEqual(signal.followup_activity_id, followup)
        self.assertEqual(lead.activity_ids, followup)
