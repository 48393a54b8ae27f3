from odoo.tests import HttpCase, tagged


@tagged("post_install", "-at_install")
class TestStageGateUi(HttpCase):
    """A rep records the customer's evidence from the opportunity form (Odoo tour)."""

    def test_record_evidence_in_browser(self):
        ptype = self.env["crm.pipeline.type"].create({"name": "Tour gate process", "code": "tour_gate"})
        stage_1, _stage_2 = self.env["crm.stage"].create(
            [
                {"name": "Tour Gate Qualify", "pipeline_type_id": ptype.id, "sequence": 1},
                {"name": "Tour Gate Propose", "pipeline_type_id": ptype.id, "sequence": 2},
            ]
        )
        kind = self.env["crm.evidence.kind"].create({"name": "Tour signed document", "code": "tour_signed"})
        milestone = self.env["crm.stage.milestone"].create(
            {
                "name": "Tour NDA signed by the customer",
                "stage_id": stage_1.id,
                "customer_led": True,
                "required": True,
                "evidence_kind_ids": [(6, 0, kind.ids)],
            }
        )
        company = self.env["res.partner"].create({"name": "Tour Customer Co", "is_company": True})
        contact = self.env["res.partner"].create({"name": "Tour Buyer", "parent_id": company.id})
        lead = self.env["crm.lead"].create(
            {
                "name": "Tour gated deal",
                "type": "opportunity",
                "pipeline_type_id": ptype.id,
                "partner_id": company.id,
                "user_id": self.env.ref("base.user_admin").id,
            }
        )
        self.assertEqual(lead.stage_id, stage_1)
        self.assertEqual(lead.milestone_progress, "0/1")

        self.start_tour(
            f"/odoo/action-crm.crm_lead_action_pipeline/{lead.id}",
            "stage_gate_evidence_tour",
            login="admin",
        )

        evidence = lead.evidence_ids
        self.assertEqual(len(evidence), 1)
        self.assertEqual(evidence.milestone_id, milestone)
        self.assertEqual(evidence.kind_id, kind)
        self.assertEqual(evidence.customer_partner_id, contact)
        self.assertTrue(evidence.customer_led)
        self.assertTrue(evidence.is_valid)
        self.assertEqual(evidence.recorded_by_id, self.env.ref("base.user_admin"))
        lead.invalidate_recordset(["milestone_progress"])
        self.assertEqual(lead.milestone_progress, "1/1")
