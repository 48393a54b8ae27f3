from .common_gate import StageGateCase


class OpportunityCase(StageGateCase):
    """Process A with milestones (see StageGateCase), plus opportunity management data.

    The shipped qualification questions are archived: the tests use their own,
    "Funding?" (deal-breaker), "Driver?" and "Only B?" (process B only).
    Contacts of Buyer Corp: Li Wei (from StageGateCase), Wang Fang, Zhao Min.
    """

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        ref = cls.env.ref
        cls.role_dm = ref("sales_process_addon.stakeholder_role_decision_maker")
        cls.role_coach = ref("sales_process_addon.stakeholder_role_coach")
        cls.role_user = ref("sales_process_addon.stakeholder_role_user")
        cls.role_gatekeeper = ref("sales_process_addon.stakeholder_role_gatekeeper")
        Question = cls.env["crm.qualification.question"]
        Question.search([]).active = False
        cls.q_funding, cls.q_driver, cls.q_b_only = Question.create(
            [
                {"name": "Funding?", "sequence": 1, "deal_breaker": True},
                {"name": "Driver?", "sequence": 2},
                {"name": "Only B?", "sequence": 3, "pipeline_type_ids": [(6, 0, cls.type_b.ids)]},
            ]
        )
        Partner = cls.env["res.partner"]
        cls.wang = Partner.create({"name": "Wang Fang", "parent_id": cls.customer.id})
        cls.zhao = Partner.create({"name": "Zhao Min", "parent_id": cls.customer.id})

    @classmethod
    def _scoring_history(cls):
        """A deal won and one lost by the rep: Odoo's predictive scoring scores a deal from the
        deals won and lost before it, and a database without demo data has none."""
        for outcome in ("won", "lost"):
            cls.env["crm.lead"].create(
                {
                    "name": f"Deal {outcome} before",
                    "type": "opportunity",
                    "pipeline_type_id": cls.type_b.id,
                    "stage_id": cls.bx.id,
                    "user_id": cls.rep.id,
                    "partner_id": cls.customer.id,
                }
            )._pls_increment_frequencies(to_state=outcome)

    def _stakeholder(self, lead, partner, role, **values):
        return lead.env["crm.lead.stakeholder"].create(
            {"lead_id": lead.id, "partner_id": partner.id, "role_id": role.id, **values}
        )

    def _answer(self, lead, answers):
        """Answer the lead's questions: ``{question: answer}``."""
        for line in lead.qualification_ids:
            if line.question_id in answers:
                line.answer = answers[line.question_id]
