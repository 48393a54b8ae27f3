from odoo.service.model import call_kw
from odoo.tests import HttpCase, new_test_user, tagged

from odoo.addons.web.controllers import dataset


@tagged("post_install", "-at_install")
class TestRepJourneyUi(HttpCase):
    """The rep's day in Chromium: the process pipeline, the guided move, evidence, an exception."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.admin = cls.env.ref("base.user_admin")
        cls.ptype = cls.env["crm.pipeline.type"].create(
            {"name": "Tour rep process", "code": "tour_rep", "gate_mode": "enforced", "sequence": 0}
        )
        cls.discover, cls.qualify, cls.propose, cls.close = cls.env["crm.stage"].create(
            [
                {"name": "Tour Discover", "pipeline_type_id": cls.ptype.id, "sequence": 1},
                {"name": "Tour Qualify", "pipeline_type_id": cls.ptype.id, "sequence": 2},
                {"name": "Tour Propose", "pipeline_type_id": cls.ptype.id, "sequence": 3},
                {"name": "Tour Close", "pipeline_type_id": cls.ptype.id, "sequence": 4},
            ]
        )
        cls.won = cls.env["crm.stage"].create(
            {"name": "Tour Won", "pipeline_type_id": cls.ptype.id, "sequence": 5, "is_won": True}
        )
        cls.kind = cls.env["crm.evidence.kind"].create({"name": "Tour email", "code": "tour_email"})
        cls.milestone = cls.env["crm.stage.milestone"].create(
            {
                "name": "Tour budget confirmed",
                "stage_id": cls.discover.id,
                "customer_led": True,
                "evidence_kind_ids": [(6, 0, cls.kind.ids)],
            }
        )
        cls.env["crm.stage.milestone"].create(
            {"name": "Tour needs agreed", "stage_id": cls.qualify.id, "customer_led": False}
        )
        # The rep's process: the company default, and their team's.
        cls.env.company.default_pipeline_type_id = cls.ptype
        cls.admin.sale_team_id.pipeline_type_id = cls.ptype
        customer = cls.env["res.partner"].create({"name": "Tour Customer Co", "is_company": True})
        cls.buyer = cls.env["res.partner"].create({"name": "Tour Buyer", "parent_id": customer.id})
        cls.lead = cls.env["crm.lead"].create(
            {
                "name": "Tour journey deal",
                "type": "opportunity",
                "pipeline_type_id": cls.ptype.id,
                "partner_id": customer.id,
                "user_id": cls.admin.id,
            }
        )

    def test_rep_journey(self):
        self.assertEqual(self.lead.stage_id, self.discover)
        self.start_tour("/odoo/crm", "sales_process_rep_journey_tour", login="admin")

        evidence = self.lead.evidence_ids
        self.assertEqual(evidence.milestone_id, self.milestone)
        self.assertEqual(evidence.kind_id, self.kind, "the only accepted kind is preselected")
        self.assertEqual(evidence.customer_partner_id, self.buyer, "the customer's only contact is defaulted")
        self.assertEqual(evidence.attachment_ids.mapped("name"), ["budget-email.txt"])
        self.assertEqual(
            self.env["ir.attachment"]
            .search([("res_model", "=", "crm.lead"), ("res_id", "=", self.lead.id)])
            .mapped("name"),
            ["budget-email.txt"],
            "documents removed from the entry, or left in a cancelled one, are deleted",
        )
        self.assertEqual(self.lead.stage_id, self.qualify, "the move went through the gate")
        exception = self.lead.stage_exception_ids
        self.assertEqual(exception.state, "pending")
        self.assertEqual((exception.from_stage_id, exception.to_stage_id), (self.qualify, self.close))

        # A second sales manager approves, server side, between the two tours.
        manager = new_test_user(self.env, "tour_manager", groups="sales_team.group_sale_manager")
        exception.with_user(manager).action_approve()
        self.assertEqual(self.lead.stage_exception_banner_state, "approved")

        self.start_tour(f"/odoo/crm/{self.lead.id}", "sales_process_exception_banner_tour", login="admin")
        self.assertEqual(self.lead.stage_id, self.close)
        self.assertEqual(exception.state, "used")

    def test_allowed_moves_saved_at_once(self):
        """A drop and a statusbar click the gate allows are one save each, as in plain CRM:
        the move dialog's question (``stage_move_check``) is only asked after a refusal. The
        Won button asks once (its stage and the gate's answer), then wins the deal."""
        ready, qualified = (
            self.lead.copy({"name": "Tour ready deal"}),
            self.lead.copy({"name": "Tour qualified deal"}),
        )
        Evidence = self.env["crm.lead.evidence"]
        for lead in ready | qualified:
            Evidence.create(
                {
                    "lead_id": lead.id,
                    "milestone_id": self.milestone.id,
                    "kind_id": self.kind.id,
                    "summary": "The buyer confirmed the budget.",
                    "customer_partner_id": self.buyer.id,
                }
            )
        qualified.stage_id = self.qualify
        Evidence.create(
            {
                "lead_id": qualified.id,
                "milestone_id": self.qualify.milestone_ids.id,
                "kind_id": self.kind.id,
                "summary": "Needs agreed in the workshop.",
                "internal_user_id": self.admin.id,
            }
        )
        # A manager creates it there directly; nothing to prove in the last stage before won.
        closing = self.lead.copy({"name": "Tour closing deal", "stage_id": self.close.id})
        # What the web client asks the server, method by method (not the server's own calls).
        asked = []

        def counted_call_kw(model, name, args, kwargs):
            if model._name == "crm.lead":
                asked.append(name)
            return call_kw(model, name, args, kwargs)

        self.patch(dataset, "call_kw", counted_call_kw)
        self.start_tour("/odoo/crm", "sales_process_allowed_move_tour", login="admin")
        self.assertEqual(ready.stage_id, self.qualify, "the drop saved the move")
        self.assertEqual(qualified.stage_id, self.propose, "the click saved the move")
        self.assertEqual((closing.stage_id, closing.won_status), (self.won, "won"), "the Won button won it")
        self.assertNotIn("stage_move_check", asked, "no question before an allowed move")
        self.assertEqual(asked.count("stage_won_target"), 1, "the Won button asks once")

    def test_quick_create_in_another_process(self):
        other = self.env["crm.pipeline.type"].create({"name": "Tour other process", "code": "tour_other"})
        self.env["crm.stage"].create(
            [
                {"name": "Tour Other First", "pipeline_type_id": other.id, "sequence": 1},
                {"name": "Tour Other Next", "pipeline_type_id": other.id, "sequence": 2},
            ]
        )
        self.start_tour("/odoo/crm", "sales_process_quick_create_tour", login="admin")
        lead = self.env["crm.lead"].search([("name", "=", "Tour quick deal")])
        self.assertEqual(lead.pipeline_type_id, other, "the column's process, not the team's")
        self.assertEqual(lead.stage_id.name, "Tour Other First")

    def test_use_customer_message_as_evidence(self):
        self.lead.message_post(
            body="Hello, our budget is approved for this project.",
            author_id=self.buyer.id,
            message_type="comment",
            subtype_xmlid="mail.mt_comment",
        )
        self.start_tour(f"/odoo/crm/{self.lead.id}", "sales_process_use_as_evidence_tour", login="admin")
        evidence = self.lead.evidence_ids
        self.assertEqual(evidence.milestone_id, self.milestone)
        self.assertEqual(evidence.customer_partner_id, self.buyer)
        self.assertIn("budget is approved", evidence.summary)

    def test_move_dialog_in_chinese(self):
        self.env["res.lang"]._activate_lang("zh_CN")
        self.admin.lang = "zh_CN"
        self.start_tour(f"/odoo/crm/{self.lead.id}", "sales_process_zh_move_tour", login="admin")
        self.assertEqual(self.lead.stage_id, self.discover, "the refused move changed nothing")
