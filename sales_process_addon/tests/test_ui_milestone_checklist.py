from odoo.tests import HttpCase, tagged


@tagged("post_install", "-at_install")
class TestMilestoneChecklistUi(HttpCase):
    """The form's checklist lines open the evidence entry in place, or show the evidence (Odoo tour)."""

    def test_checklist_line_records_and_shows_evidence(self):
        ptype = self.env["crm.pipeline.type"].create(
            {"name": "Tour checklist process", "code": "tour_checklist"}
        )
        stage = self.env["crm.stage"].create(
            [
                {"name": "Tour List Qualify", "pipeline_type_id": ptype.id, "sequence": 1},
                {"name": "Tour List Propose", "pipeline_type_id": ptype.id, "sequence": 2},
            ]
        )[0]
        kind = self.env["crm.evidence.kind"].create(
            {"name": "Tour signed document", "code": "tour_list_signed"}
        )
        value = self.env.ref("sales_process_addon.evidence_kind_value")
        milestone = self.env["crm.stage.milestone"].create(
            {
                "name": "Tour budget shared by the customer",
                "stage_id": stage.id,
                "customer_led": True,
                "evidence_kind_ids": [(6, 0, (kind | value).ids)],
            }
        )
        company = self.env["res.partner"].create({"name": "Tour Customer Co", "is_company": True})
        contact = self.env["res.partner"].create({"name": "Tour Buyer", "parent_id": company.id})
        lead = self.env["crm.lead"].create(
            {
                "name": "Tour checklist deal",
                "type": "opportunity",
                "pipeline_type_id": ptype.id,
                "partner_id": company.id,
                "user_id": self.env.ref("base.user_admin").id,
            }
        )
        self.assertEqual(lead.milestone_progress, "0/1")

        self.start_tour(f"/odoo/crm/{lead.id}", "sales_process_milestone_checklist_tour", login="admin")

        evidence = lead.evidence_ids
        self.assertEqual(len(evidence), 1)
        self.assertEqual(evidence.milestone_id, milestone)
        self.assertEqual(evidence.kind_id, value)
        self.assertEqual(evidence.amount, 50000)
        self.assertEqual(evidence.customer_partner_id, contact)
        self.assertIn("approved budget", evidence.summary)
        lead.invalidate_recordset(["milestone_progress"])
        self.assertEqual(lead.milestone_progress, "1/1")
