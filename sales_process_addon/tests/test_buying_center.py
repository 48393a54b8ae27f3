from odoo import Command, fields
from odoo.exceptions import AccessError, ValidationError
from odoo.tests import Form, tagged

from .common_opportunity import OpportunityCase


@tagged("post_install", "-at_install")
class TestBuyingCenter(OpportunityCase):
    def test_shipped_roles(self):
        codes = set(self.env["crm.stakeholder.role"].search([]).mapped("code"))
        self.assertLessEqual(
            {"decision_maker", "kol", "technical_evaluator", "user", "coach", "communicator", "gatekeeper"},
            codes,
        )

    def test_rep_maps_the_buying_center_in_the_form(self):
        lead = self._lead()
        with Form(lead.with_user(self.rep)) as form:
            with form.stakeholder_ids.new() as line:
                line.partner_id = self.wang
                line.role_id = self.role_dm
                line.influence = "high"
            with form.stakeholder_ids.new() as line:
                line.partner_id = self.contact
                line.role_id = self.role_coach
                line.stance = "champion"
                line.met_date = fields.Date.today()
        self.assertEqual(len(lead.stakeholder_ids), 2)
        coach = lead.stakeholder_ids.filtered(lambda s: s.role_id == self.role_coach)
        self.assertTrue(coach.met, "a meeting date means we met them")
        self.assertIn("Coach / informant: 1", lead.buying_center_summary)
        self.assertIn("Champion: 1", lead.buying_center_summary)
        self.assertIn("Neutral: 1", lead.buying_center_summary)

    def test_new_opportunity_saved_with_its_buying_center(self):
        """A new opportunity's first save may hold buying-center lines and signals (the form, an
        import): their warning signals get their follow-ups once, the creator follows it once."""
        vals = {
            "name": "Deal with its buying center",
            "type": "opportunity",
            "pipeline_type_id": self.type_a.id,
            "partner_id": self.customer.id,
            "stakeholder_ids": [
                Command.create({"partner_id": self.wang.id, "role_id": self.role_dm.id}),
                Command.create({"partner_id": self.contact.id, "role_id": self.role_coach.id}),
            ],
            "signal_ids": [Command.create({"category": "people", "description": "Budget owner left"})],
        }
        for user in (self.rep, self.manager):
            with self.subTest(user=user.name):
                lead = self.env["crm.lead"].with_user(user).create(dict(vals))
                self.assertEqual(len(lead.stakeholder_ids), 2)
                self.assertEqual(len(lead.signal_ids), 3)
                self.assertEqual(len(lead.signal_ids.followup_activity_id), 3)
                self.assertEqual(lead.message_follower_ids.partner_id, user.partner_id)
        with Form(self.env["crm.lead"].with_user(self.rep).with_context(default_type="opportunity")) as form:
            form.name = "Deal from the form"
            with form.stakeholder_ids.new() as line:
                line.partner_id = self.wang
                line.role_id = self.role_dm
        self.assertEqual(len(form.record.signal_ids.followup_activity_id), 1)

    def test_people_named_without_their_company_in_the_form(self):
        """The buying center and the evidence name the customer's people without the customer's
        name in front, even once the checklist named them with it in the same read."""
        lead = self._lead()
        self._evidence(lead, self.m_summary)  # produced by Li Wei: the checklist names her
        lead.stakeholder_ids = [Command.create({"partner_id": self.contact.id, "role_id": self.role_dm.id})]
        self.env.invalidate_all()
        hidden = {"fields": {"display_name": {}}, "context": {"partner_display_name_hide_company": True}}
        [values] = lead.with_user(self.rep).web_read(
            {
                "milestone_checklist": {},
                "stakeholder_ids": {"fields": {"partner_id": hidden}},
                "evidence_ids": {"fields": {"customer_partner_id": hidden}},
            }
        )
        self.assertIn("Buyer Corp, Li Wei", str(values["milestone_checklist"]))
        self.assertEqual(values["stakeholder_ids"][0]["partner_id"]["display_name"], "Li Wei")
        self.assertEqual(values["evidence_ids"][0]["customer_partner_id"]["display_name"], "Li Wei")

    def test_warnings(self):
        lead = self._lead()
        self.assertIn("No decision maker identified", lead.buying_center_warnings)
        self.assertIn("No coach", lead.buying_center_warnings)
        decider = self._stakeholder(lead, self.wang, self.role_dm)
        self.assertIn("Decision maker not met: Wang Fang", lead.buying_center_warnings)
        self._stakeholder(lead, self.zhao, self.role_gatekeeper, stance="opponent", influence="high")
        self.assertIn("Zhao Min (Gatekeeper) opposes us and has high influence", lead.buying_center_warnings)
        coach = self._stakeholder(lead, self.contact, self.role_coach, stance="neutral")
        self.assertIn("No coach", lead.buying_center_warnings, "a neutral coach is no coach")
        coach.stance = "champion"
        decider.met = True
        self.assertNotIn("No coach", lead.buying_center_warnings)
        self.assertNotIn("not met", lead.buying_center_warnings)
        self.assertNotIn("No champion", lead.buying_center_warnings)
        self.assertIn('class="alert alert-warning', lead.buying_center_warnings)

    def test_texts_name_outsiders_with_their_company(self):
        """The customer's people go by their own name; a consultant of another firm keeps the firm's."""
        lead = self._lead()
        firm = self.env["res.partner"].create({"name": "Advisory Ltd", "is_company": True})
        consultant = self.env["res.partner"].create({"name": "Chen Jie", "parent_id": firm.id})
        self._stakeholder(lead, consultant, self.role_gatekeeper, stance="opponent", influence="high")
        self.assertIn("Advisory Ltd, Chen Jie (Gatekeeper) opposes us", lead.buying_center_warnings)
        self.assertEqual(
            lead.signal_ids.mapped("description"),
            ["Advisory Ltd, Chen Jie joined the buying center as Gatekeeper (Opponent, High influence)."],
        )

    def test_same_contact_same_role_refused(self):
        lead = self._lead()
        first = self._stakeholder(lead, self.wang, self.role_dm, concerns="Payback time")
        self._stakeholder(lead, self.wang, self.role_user)  # another role: allowed
        with self.assertRefused(
            ValidationError,
            r'Wang Fang is already in the buying center of "Gate deal" as Decision maker / economic buyer',
        ):
            self._stakeholder(lead.with_user(self.rep), self.wang, self.role_dm)
        with self.assertRefused(ValidationError, "is already in the buying center"):
            lead.with_user(self.rep).write(
                {
                    "stakeholder_ids": [
                        (0, 0, {"partner_id": self.zhao.id, "role_id": self.role_user.id}),
                        (0, 0, {"partner_id": self.zhao.id, "role_id": self.role_user.id}),
                    ]
                }
            )
        user_line = lead.stakeholder_ids.filtered(lambda s: s.role_id == self.role_user)
        with self.assertRefused(ValidationError, "is already in the buying center"):
            user_line.with_user(self.rep).role_id = self.role_dm
        # Nothing lost.
        self.assertEqual(len(lead.stakeholder_ids), 2)
        self.assertEqual(first.concerns, "Payback time")

    def test_contact_of_records_the_user_cannot_see_refused(self):
        other_company = self.env["res.company"].create({"name": "Other company"})
        hidden = self.env["res.partner"].create({"name": "Secret Contact", "company_id": other_company.id})
        lead = self._lead()
        self._stakeholder(lead, self.wang, self.role_dm)
        with self.assertRefused(ValidationError, rf"Contact #{hidden.id} is not visible to you") as catcher:
            self._stakeholder(lead.with_user(self.rep), hidden, self.role_user)
        self.assertNotIn("Secret", str(catcher.exception), "the hidden contact's name is not revealed")
        self.assertEqual(lead.stakeholder_ids.partner_id, self.wang, "nothing lost")

    def test_contact_of_another_company_refused(self):
        other_company = self.env["res.company"].create({"name": "Other company"})
        self.manager.write({"company_ids": [(4, other_company.id)]})
        foreign = self.env["res.partner"].create({"name": "Foreign Contact", "company_id": other_company.id})
        lead = self._lead()
        lead.company_id = self.company
        with self.assertRefused(ValidationError, r'"Foreign Contact" belongs to Other company'):
            self._stakeholder(
                lead.with_user(self.manager).with_context(
                    allowed_company_ids=[self.company.id, other_company.id]
                ),
                foreign,
                self.role_user,
            )
        shared = self.env["res.partner"].create({"name": "Shared Contact", "company_id": False})
        self._stakeholder(lead.with_user(self.rep), shared, self.role_user)

    def test_invalid_stance_and_influence_refused(self):
        lead = self._lead()
        line = self._stakeholder(lead, self.wang, self.role_dm)
        with self.assertRefused(
            ValidationError,
            r'"enemy" is not a valid Stance; use one of: Champion, Supporter, Neutral, Opponent',
        ):
            line.with_user(self.rep).write({"stance": "enemy"})
        with self.assertRefused(ValidationError, r'"huge" is not a valid Influence'):
            self._stakeholder(lead.with_user(self.rep), self.zhao, self.role_user, influence="huge")
        self.assertEqual(line.stance, "neutral")
        self.assertEqual(lead.stakeholder_ids, line)

    def test_meeting_date_in_the_future_refused(self):
        lead = self._lead()
        with self.assertRefused(ValidationError, "is in the future"):
            self._stakeholder(
                lead, self.wang, self.role_dm, met_date=fields.Date.add(fields.Date.today(), days=3)
            )
        self.assertFalse(lead.stakeholder_ids)

    def test_rights(self):
        own, others = self._lead(), self._lead(user_id=self.other_rep.id)
        line = self._stakeholder(own.with_user(self.rep), self.wang, self.role_dm)
        line.with_user(self.rep).stance = "supporter"
        foreign_line = self._stakeholder(others, self.wang, self.role_dm)
        with self.assertRaises(AccessError):
            self._stakeholder(others.with_user(self.rep), self.zhao, self.role_user)
        with self.assertRaises(AccessError):
            foreign_line.with_user(self.rep).read(["stance"])
        foreign_line.with_user(self.manager).write({"stance": "champion"})
        with self.assertRaises(AccessError):
            self.role_coach.with_user(self.rep).name = "Spy"
        self.env["crm.stakeholder.role"].with_user(self.manager).create(
            {"name": "Consultant", "code": "consultant"}
        )

    def test_merge_keeps_the_buying_center(self):
        head, tail = self._lead(name="Head"), self._lead(name="Tail")
        self._stakeholder(head, self.wang, self.role_dm)
        self._stakeholder(tail, self.wang, self.role_dm, concerns="duplicate")
        self._stakeholder(tail, self.contact, self.role_coach, stance="champion")
        acme = self.env["crm.competitor"].create({"name": "Acme"})
        self.env["crm.lead.competitor"].create(
            {"lead_id": tail.id, "competitor_id": acme.id, "threat_level": "high"}
        )
        self._answer(tail, {self.q_funding: "yes"})
        tail.qualification_ids.filtered(
            lambda line: line.question_id == self.q_funding
        ).notes = "Board approved"
        merged = (head | tail).with_user(self.rep).merge_opportunity()
        self.assertEqual(merged, head)
        self.assertFalse(tail.exists())
        self.assertEqual(
            {(s.partner_id, s.role_id) for s in head.stakeholder_ids},
            {(self.wang, self.role_dm), (self.contact, self.role_coach)},
        )
        self.assertEqual(head.competitor_ids.competitor_id, acme)
        funding = head.qualification_ids.filtered(lambda line: line.question_id == self.q_funding)
        self.assertEqual((funding.answer, funding.notes), ("yes", "Board approved"))
        self.assertEqual(len(head.signal_ids.filtered("automatic")), 3, "the tail's signals moved too")

    def test_contact_of_the_parent_company_accepted(self):
        """A contact of the parent company may sit in the buying center of a branch's opportunity."""
        branch = self.env["res.company"].create({"name": "Branch office", "parent_id": self.company.id})
        parent_contact = self.env["res.partner"].create(
            {"name": "Group Buyer", "company_id": self.company.id}
        )
        lead = self._lead(user_id=False, company_id=branch.id)
        line = self._stakeholder(lead, parent_contact, self.role_user)
        self.assertEqual(lead.stakeholder_ids, line)
        self.assertEqual(line.company_id, branch)

    def test_meeting_date_tomorrow_refused_today_accepted(self):
        """A meeting dated tomorrow is refused, even by one day; one held today is recorded."""
        lead = self._lead()
        tomorrow = fields.Date.add(fields.Date.today(), days=1)
        with self.assertRefused(ValidationError, rf"Wang Fang: the meeting date {tomorrow} is in the future"):
            self._stakeholder(lead.with_user(self.rep), self.wang, self.role_dm, met_date=tomorrow)
        line = self._stakeholder(
            lead.with_user(self.rep), self.wang, self.role_dm, met_date=fields.Date.today()
        )
        with self.assertRefused(ValidationError, "is in the future"):
            line.with_user(self.rep).met_date = tomorrow
        self.assertEqual(line.met_date, fields.Date.today())

    def test_changing_the_contact_to_a_hidden_one_refused(self):
        """A line's contact cannot be changed to a contact the rep may not read."""
        other_company = self.env["res.company"].create({"name": "Other company"})
        hidden = self.env["res.partner"].create({"name": "Secret Contact", "company_id": other_company.id})
        line = self._stakeholder(self._lead(), self.wang, self.role_dm)
        with self.assertRefused(ValidationError, rf"Contact #{hidden.id} is not visible to you"):
            line.with_user(self.rep).partner_id = hidden
        self.assertEqual(line.partner_id, self.wang)

    def test_changing_the_contact_to_one_already_in_the_role_refused(self):
        """Switching a line to a contact who already has its role is refused with a clear message."""
        lead = self._lead()
        self._stakeholder(lead, self.wang, self.role_dm)
        line = self._stakeholder(lead, self.zhao, self.role_dm)
        with self.assertRefused(
            ValidationError,
            r'Wang Fang is already in the buying center of "Gate deal" as Decision maker / economic buyer',
        ):
            line.with_user(self.rep).partner_id = self.wang
        self.assertEqual(line.partner_id, self.zhao)

    def test_only_an_influential_opponent_is_warned_of(self):
        """An opponent of medium or low influence raises no warning; one of high influence does."""
        lead = self._lead()
        opponent = self._stakeholder(
            lead, self.zhao, self.role_gatekeeper, stance="opponent", influence="medium"
        )
        self.assertNotIn("opposes us", lead.buying_center_warnings)
        opponent.influence = "high"
        self.assertIn("Zhao Min (Gatekeeper) opposes us and has high influence", lead.buying_center_warnings)

    def test_a_supporter_is_no_champion(self):
        """Supporters alone leave the "no champion" warning; a champion silences it."""
        lead = self._lead()
        line = self._stakeholder(lead, self.wang, self.role_user, stance="supporter")
        self.assertIn("No champion advocates for us", lead.buying_center_warnings)
        line.stance = "champion"
        self.assertNotIn("No champion", lead.buying_center_warnings)

    def test_merge_keeps_the_head_s_own_answers(self):
        """A merge fills only the head's unanswered questions: its own answers and notes win."""
        head, tail = self._lead(name="Head"), self._lead(name="Tail")
        self._answer(head, {self.q_funding: "no"})
        self._answer(tail, {self.q_funding: "yes", self.q_driver: "partly"})
        (head | tail).with_user(self.rep).merge_opportunity()
        answers = {line.question_id: line.answer for line in head.qualification_ids}
        self.assertEqual(answers, {self.q_funding: "no", self.q_driver: "partly"})
        self.assertEqual(head.qualification_status, "drop")
