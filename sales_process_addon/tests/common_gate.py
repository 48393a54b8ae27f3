from odoo import fields

from .common import SalesProcessCase


class StageGateCase(SalesProcessCase):
    """Process A with milestones; a customer contact to produce evidence.

    A1: "Summary confirmed" (customer-led, email or confirmation) and
        "Internal approval" (ours); "Nice to have" is optional.
    A2: "Technical clearance" (customer-led, verified by a manager).
    A3 (won): "Contract signed" (customer-led, document).
    A4 (won, post-sale): "Paid in full" (customer-led).
    """

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.a4 = cls.env["crm.stage"].create(
            {"name": "A4", "sequence": 4, "pipeline_type_id": cls.type_a.id, "is_won": True}
        )
        ref = cls.env.ref
        cls.kind_email = ref("sales_process_addon.evidence_kind_customer_email")
        cls.kind_confirmation = ref("sales_process_addon.evidence_kind_confirmation")
        cls.kind_document = ref("sales_process_addon.evidence_kind_document")
        cls.kind_meeting = ref("sales_process_addon.evidence_kind_meeting")
        Milestone = cls.env["crm.stage.milestone"]
        cls.m_summary, cls.m_approval, cls.m_optional, cls.m_clearance, cls.m_contract, cls.m_paid = (
            Milestone.create(
                [
                    {
                        "name": "Summary confirmed",
                        "stage_id": cls.a1.id,
                        "customer_led": True,
                        "evidence_kind_ids": [(6, 0, (cls.kind_email | cls.kind_confirmation).ids)],
                    },
                    {"name": "Internal approval", "stage_id": cls.a1.id, "customer_led": False},
                    {"name": "Nice to have", "stage_id": cls.a1.id, "required": False},
                    {
                        "name": "Technical clearance",
                        "stage_id": cls.a2.id,
                        "customer_led": True,
                        "needs_verification": True,
                    },
                    {
                        "name": "Contract signed",
                        "stage_id": cls.a3.id,
                        "customer_led": True,
                        "evidence_kind_ids": [(6, 0, cls.kind_document.ids)],
                    },
                    {"name": "Paid in full", "stage_id": cls.a4.id, "customer_led": True},
                ]
            )
        )
        cls.customer = cls.env["res.partner"].create({"name": "Buyer Corp", "is_company": True})
        cls.contact = cls.env["res.partner"].create({"name": "Li Wei", "parent_id": cls.customer.id})
        cls.other_rep = cls.env["res.users"].create(
            {
                "name": "Other rep",
                "login": "sp_other_rep",
                "group_ids": [(6, 0, cls.env.ref("sales_team.group_sale_salesman").ids)],
            }
        )
        cls.manager_2 = cls.env["res.users"].create(
            {
                "name": "Second manager",
                "login": "sp_manager_2",
                "group_ids": [(6, 0, cls.env.ref("sales_team.group_sale_manager").ids)],
            }
        )

    def _lead(self, stage=None, **values):
        """An opportunity of process A owned by the rep, created in ``stage``."""
        return self.env["crm.lead"].create(
            {
                "name": values.pop("name", "Gate deal"),
                "type": "opportunity",
                "pipeline_type_id": self.type_a.id,
                "stage_id": (stage or self.a1).id,
                "user_id": self.rep.id,
                "partner_id": self.customer.id,
                **values,
            }
        )

    def _evidence(self, lead, milestone, **values):
        vals = {
            "lead_id": lead.id,
            "milestone_id": milestone.id,
            "kind_id": (milestone.evidence_kind_ids[:1] or self.kind_meeting).id,
            "summary": f"Proof of {milestone.name}",
            "date": fields.Date.today(),
        }
        if milestone.customer_led:
            vals["customer_partner_id"] = self.contact.id
        else:
            vals["internal_user_id"] = self.rep.id
        vals.update(values)
        return self.env["crm.lead.evidence"].create(vals)

    def _prove_a1(self, lead):
        self._evidence(lead, self.m_summary)
        self._evidence(lead, self.m_approval)
