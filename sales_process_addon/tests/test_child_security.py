from datetime import timedelta

import psycopg2

from odoo import fields
from odoo.exceptions import AccessError, ValidationError
from odoo.tests import new_test_user, tagged
from odoo.tools import mute_logger

from .common_opportunity import OpportunityCase


class ChildSecurityCase(OpportunityCase):
    """A rep's deal, a colleague's and another company's, and one valid record of each kind."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.competitor = cls.env["crm.competitor"].create({"name": "Rival Inc", "company_id": False})
        cls.mine = cls._lead_of(cls, cls.rep, "My deal")
        cls.theirs = cls._lead_of(cls, cls.other_rep, "Secret colleague deal")
        cls.other_company = cls.env["res.company"].create({"name": "Other Co"})
        cls.foreign = cls.env["crm.lead"].create(
            {
                "name": "Secret foreign deal",
                "type": "opportunity",
                "company_id": cls.other_company.id,
                "pipeline_type_id": cls.type_a.id,
            }
        )

    def _lead_of(self, user, name):
        return self.env["crm.lead"].create(
            {
                "name": name,
                "type": "opportunity",
                "pipeline_type_id": self.type_a.id,
                "user_id": user.id,
                "partner_id": self.customer.id,
            }
        )

    def _child_values(self, lead):
        """One valid record per child model, on ``lead``."""
        return {
            "crm.lead.stakeholder": {
                "lead_id": lead.id,
                "partner_id": self.zhao.id,
                "role_id": self.role_dm.id,
                "met_date": fields.Date.today(),
            },
            "crm.lead.evidence": {
                "lead_id": lead.id,
                "milestone_id": self.m_approval.id,
                "kind_id": self.kind_meeting.id,
                "summary": "Approved",
                "internal_user_id": self.rep.id,
            },
            "crm.lead.competitor": {"lead_id": lead.id, "competitor_id": self.competitor.id},
            "crm.lead.qualification": {"lead_id": lead.id, "question_id": self.q_b_only.id, "answer": "yes"},
            "crm.lead.signal": {"lead_id": lead.id, "category": "intent", "description": "Budget frozen"},
        }


@tagged("post_install", "-at_install")
class TestChildSecurity(ChildSecurityCase):
    """Records of an opportunity are as safe as it: who may write them, where they point, what they tell."""

    def test_create_on_an_opportunity_the_user_cannot_change_refused_naming_nothing(self):
        for target in (self.theirs, self.foreign):
            for model, vals in self._child_values(target).items():
                with self.subTest(model=model, lead=target.name):
                    Model = self.env[model].with_user(self.rep)
                    before = self.env[model].search_count([("lead_id", "=", target.id)])
                    with self.assertRaises(AccessError) as catcher:
                        Model.create(vals)
                    message = str(catcher.exception)
                    self.assertIn(
                        f"opportunity #{target.id} does not exist or you may not change it", message
                    )
                    self.assertNotIn("Secret", message)
                    self.assertEqual(self.env[model].search_count([("lead_id", "=", target.id)]), before)

    def test_create_on_own_opportunity_allowed(self):
        for model, vals in self._child_values(self.mine).items():
            with self.subTest(model=model):
                record = self.env[model].with_user(self.rep).create(vals)
                self.assertEqual(record.lead_id, self.mine)
                self.assertEqual(record.company_id, self.mine.company_id, "the company follows the lead")

    def test_records_cannot_move_to_another_opportunity(self):
        own_other = self._lead_of(self.rep, "My second deal")
        for model, vals in self._child_values(self.mine).items():
            record = self.env[model].with_user(self.rep).create(vals)
            for target in (self.theirs, own_other):
                with self.subTest(model=model, target=target.name):
                    with self.assertRaises(AccessError) as catcher:
                        record.write({"lead_id": target.id})
                    self.assertNotIn("Secret", str(catcher.exception))
                    record.invalidate_recordset()
                    self.assertEqual(record.lead_id, self.mine)
            # Writing the same opportunity is no move.
            record.write({"lead_id": self.mine.id})
            # Server code running as superuser (a merge) moves records.
            record.sudo().write({"lead_id": own_other.id})
            self.assertEqual(record.lead_id, own_other)

    def test_manager_cannot_move_records_either(self):
        stakeholder = self._stakeholder(self.mine, self.wang, self.role_coach)
        with self.assertRefused(AccessError, "cannot be moved to another opportunity"):
            stakeholder.with_user(self.manager).lead_id = self.theirs
        self.assertEqual(stakeholder.lead_id, self.mine)

    def test_company_is_the_opportunity_s(self):
        stakeholder = self._stakeholder(self.mine, self.wang, self.role_coach).with_user(self.rep)
        with self.assertRefused(AccessError, "set by the server and cannot be given: Company"):
            stakeholder.company_id = self.other_company
        with self.assertRefused(AccessError, "set by the server"):
            self.env["crm.lead.competitor"].with_user(self.rep).create(
                {**self._child_values(self.mine)["crm.lead.competitor"], "company_id": self.other_company.id}
            )
        self.assertEqual(stakeholder.company_id, self.company)

    def test_changes_and_deletes_need_the_opportunity_writable(self):
        """A salesman with all documents reads and writes every lead; a rep only his own."""
        answer = self.env["crm.lead.qualification"].create(
            self._child_values(self.theirs)["crm.lead.qualification"]
        )
        with self.assertRaises(AccessError):
            answer.with_user(self.rep).answer = "no"
        with self.assertRaises(AccessError):
            answer.with_user(self.rep).unlink()
        all_docs = new_test_user(
            self.env, login="sp_all_docs", groups="sales_team.group_sale_salesman_all_leads"
        )
        answer.with_user(all_docs).answer = "no"
        self.assertEqual(answer.answer, "no")

    def test_bad_lead_value_is_a_clear_error(self):
        vals = self._child_values(self.mine)["crm.lead.signal"]
        with self.assertRefused(
            ValidationError, 'Opportunity Warning Signal: "abc" is not an opportunity id'
        ):
            self.env["crm.lead.signal"].with_user(self.rep).create({**vals, "lead_id": "abc"})

    def test_duplicate_stakeholder_message_names_only_what_the_user_sees(self):
        self._stakeholder(self.theirs, self.wang, self.role_dm)
        with self.assertRaises(AccessError) as catcher:
            self._stakeholder(self.theirs.with_user(self.rep), self.wang, self.role_dm)
        self.assertNotIn("Secret", str(catcher.exception))
        self._stakeholder(self.mine, self.wang, self.role_dm)
        with self.assertRefused(ValidationError, 'already in the buying center of "My deal"'):
            self._stakeholder(self.mine.with_user(self.rep), self.wang, self.role_dm)

    def test_evidence_constraint_never_names_a_stranger_s_opportunity(self):
        """Constraints run before Odoo's create access check: ours runs before them."""
        with self.assertRaises(AccessError) as catcher:
            self.env["crm.lead.evidence"].with_user(self.rep).create(
                {**self._child_values(self.theirs)["crm.lead.evidence"], "milestone_id": self.m_paid.id}
            )
        self.assertNotIn("Secret", str(catcher.exception))
        self.assertNotIn("A4", str(catcher.exception))

    def test_wizards_open_only_on_records_the_user_may_use(self):
        """The withdraw and decision wizards show their record's summary, reason and milestones
        (related fields read as superuser): created on a record the user may not use, refused."""
        theirs = self.env["crm.lead.evidence"].create(self._child_values(self.theirs)["crm.lead.evidence"])
        Withdraw = self.env["crm.lead.evidence.withdraw"].with_user(self.rep)
        with self.assertRaises(AccessError):
            Withdraw.create({"evidence_id": theirs.id, "reason": "Wrong"})
        with self.assertRaises(AccessError):
            Withdraw.with_context(default_evidence_id=theirs.id).create({"reason": "Wrong"})
        mine = self.env["crm.lead.evidence"].create(self._child_values(self.mine)["crm.lead.evidence"])
        Withdraw.create({"evidence_id": mine.id, "reason": "Wrong"}).action_confirm()
        self.assertFalse(mine.active)
        foreign = self.env["crm.stage.exception"].create(
            {"lead_id": self.foreign.id, "to_stage_id": self.a2.id, "reason": "Foreign secret"}
        )
        Decision = self.env["crm.stage.exception.decision"].with_user(self.manager)
        with self.assertRaises(AccessError):
            Decision.create({"exception_id": foreign.id})
        own_company = self.env["crm.stage.exception"].create(
            {"lead_id": self.theirs.id, "to_stage_id": self.a2.id, "reason": "Colleague's request"}
        )
        self.assertEqual(Decision.create({"exception_id": own_company.id}).reason, "Colleague's request")

    def test_record_rules_follow_the_opportunity(self):
        for model, vals in self._child_values(self.theirs).items():
            with self.subTest(model=model):
                record = self.env[model].create(vals)
                self.assertFalse(self.env[model].with_user(self.rep).search([("id", "=", record.id)]))
                self.assertTrue(self.env[model].with_user(self.manager).search([("id", "=", record.id)]))
                foreign = self.env[model].create(
                    {**self._child_values(self.foreign)[model], "lead_id": self.foreign.id}
                )
                self.assertFalse(
                    self.env[model].with_user(self.manager).search([("id", "=", foreign.id)]),
                    "another company's records stay hidden from a manager of this one",
                )

    def test_signal_text_reaches_the_follow_up_as_text(self):
        signal = (
            self.env["crm.lead.signal"]
            .with_user(self.rep)
            .create(
                {
                    **self._child_values(self.mine)["crm.lead.signal"],
                    "description": '<img src="x"> Budget <b>cut</b>',
                }
            )
        )
        signal.action_schedule_followup()
        note = str(signal.followup_activity_id.note)
        self.assertIn("&lt;b&gt;cut&lt;/b&gt;", note)
        self.assertNotIn("<img", note)


@tagged("post_install", "-at_install")
class TestCustomerFacts(OpportunityCase):
    """A customer-led fact milestone needs a fact the customer produced; a typed fact is internal proof."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.m_coach = cls.env["crm.stage.milestone"].create(
            {"name": "Coach secured", "stage_id": cls.a1.id, "fact": "coach_secured", "customer_led": True}
        )
        cls.m_decider = cls.env["crm.stage.milestone"].create(
            {"name": "Decider met", "stage_id": cls.a2.id, "fact": "decision_maker_met", "customer_led": True}
        )

    def test_typed_coach_is_internal_proof_until_the_coach_writes(self):
        lead = self._lead()
        self._prove_a1(lead)
        self._stakeholder(lead, self.wang, self.role_coach, stance="champion")
        self.assertIn("Coach secured (customer-led): internal proof only", lead.milestone_missing)
        coach_line = next(line for line in lead.milestone_checklist if line["id"] == self.m_coach.id)
        self.assertEqual((coach_line["state"], coach_line["internal_only"]), ("missing", True))
        with self.assertRefused(ValidationError, "missing milestones: Coach secured"):
            lead.with_user(self.rep).stage_id = self.a2
        # A message of someone else is no trace of the coach.
        lead.message_post(body="Hello", author_id=self.zhao.id, message_type="comment")
        with self.assertRefused(ValidationError, "missing milestones: Coach secured"):
            lead.with_user(self.rep).stage_id = self.a2
        lead.message_post(body="I will help you", author_id=self.wang.id, message_type="comment")
        lead.invalidate_recordset(["milestone_missing"])
        self.assertNotIn("Coach secured", lead.milestone_missing or "")
        lead.with_user(self.rep).stage_id = self.a2
        history = lead.stage_history_ids.filtered(lambda h: h.to_stage_id == self.a2)
        self.assertEqual(history.facts_used, "Coach secured: coach secured: Wang Fang (Champion) (customer)")

    def test_an_internal_contact_is_no_customer_coach(self):
        lead = self._lead()
        self._prove_a1(lead)
        employee = self.env["res.partner"].create({"name": "Our own employee"})
        self._stakeholder(lead, employee, self.role_coach, stance="champion")
        lead.message_post(body="Go", author_id=employee.id, message_type="comment")
        with self.assertRefused(ValidationError, "missing milestones: Coach secured"):
            lead.with_user(self.rep).stage_id = self.a2

    def test_decision_maker_met_in_a_meeting_of_the_opportunity(self):
        lead = self._lead(self.a2)
        self._evidence(lead, self.m_clearance).with_user(self.manager).action_verify()
        self._evidence(lead, self.m_contract, kind_id=self.kind_document.id)
        self._stakeholder(lead, self.zhao, self.role_dm, met_date=fields.Date.today())
        with self.assertRefused(ValidationError, "missing milestones: Decider met"):
            lead.with_user(self.rep).stage_id = self.a3
        now = fields.Datetime.now()
        self.env["calendar.event"].create(
            {
                "name": "Steering meeting",
                "opportunity_id": lead.id,
                "partner_ids": [(6, 0, self.zhao.ids)],
                "start": now.replace(microsecond=0) - timedelta(hours=2),
                "stop": now.replace(microsecond=0) - timedelta(hours=1),
            }
        )
        lead.with_user(self.rep).stage_id = self.a3
        self.assertEqual(lead.won_status, "won")

    def test_facts_without_sentences_say_the_same(self):
        """The kanban's and the checklist's facts (no sentences) meet what the history's do."""
        lead = self._lead()
        self._stakeholder(lead, self.wang, self.role_coach, stance="champion")
        lead.message_post(body="I will help you", author_id=self.wang.id, message_type="comment")
        described = lead._stage_gate_facts(self.m_coach)
        bare = lead._stage_gate_facts(self.m_coach, describe=False)
        self.assertEqual(
            described[0][lead.id],
            {self.m_coach.id: "Coach secured: coach secured: Wang Fang (Champion) (customer)"},
        )
        self.assertEqual(bare[0][lead.id], {self.m_coach.id: None})
        self.assertEqual(described[1], bare[1])

    def test_deals_without_buying_center_read_no_customer(self):
        """Facts of a pipeline's cards: the buying centers in one query; a deal without one has
        no customer's trace to look for, so its customer is not read (a kanban of hundreds)."""
        leads = self._create_leads(6, pipeline_type_id=self.type_a.id, partner_id=self.customer.id)
        leads._stage_gate_structure()  # the registry cache is warm in a running server
        self.env.invalidate_all()
        leads.fetch(["stage_id", "partner_id", "qualification_status"])  # read with the cards
        self.m_coach.fetch(["fact", "customer_led"])  # read with the cards' milestones
        with self.assertQueryCount(__system__=1):
            facts_met, internal_only = leads._stage_gate_facts(self.m_coach, describe=False)
        self.assertEqual((dict(facts_met), dict(internal_only)), ({}, {}))

    def test_cards_qualification_fact_reads_one_column(self):
        """The qualification fact of a pipeline's cards reads their qualification status only,
        not every column of their rows (hundreds of cards)."""
        leads = self._create_leads(6, pipeline_type_id=self.type_a.id, partner_id=self.customer.id)
        self.m_coach.fact = "qualified_pursue"
        leads._stage_gate_structure()  # the registry cache is warm in a running server
        self.env.invalidate_all()
        leads.fetch(["stage_id", "partner_id"])  # read with the cards
        self.m_coach.fetch(["fact", "customer_led"])
        leads._stage_gate_facts(self.m_coach, describe=False)
        # A column the cards do not show is still to be read: the facts did not fetch it.
        # (Counted exactly: assertQueryCount accepts fewer queries.)
        queries = self.env.cr.sql_log_count
        leads.mapped("campaign_id")
        self.assertEqual(self.env.cr.sql_log_count - queries, 1)

    def test_cards_read_the_facts_of_their_stage_only(self):
        """Facts are read only for the cards in a stage with a milestone a fact meets: a
        pipeline's other cards (hundreds, in the stages without one) read none."""
        self.m_coach.fact = "qualified_pursue"
        in_fact_stage = self._create_leads(3, pipeline_type_id=self.type_a.id, stage_id=self.a1.id)
        elsewhere = self._create_leads(3, pipeline_type_id=self.type_b.id, stage_id=self.bx.id)
        cards = in_fact_stage | elsewhere
        cards._stage_gate_structure()  # the registry cache is warm in a running server
        self.env.invalidate_all()
        cards.fetch(["stage_id", "partner_id"])  # read with the cards
        self.assertEqual(cards.mapped("milestone_progress"), ["0/3"] * 3 + [False] * 3)
        # What the facts read is cached; counted exactly (assertQueryCount accepts fewer queries).
        queries = self.env.cr.sql_log_count
        in_fact_stage.mapped("qualification_status")
        self.assertEqual(self.env.cr.sql_log_count - queries, 0)
        elsewhere.mapped("qualification_status")
        self.assertEqual(self.env.cr.sql_log_count - queries, 1)

    def test_a_coach_who_wrote_proves_the_fact_beside_a_silent_one(self):
        """Of two coaches, the one who wrote to us proves the customer-led milestone."""
        lead = self._lead()
        self._prove_a1(lead)
        self._stakeholder(lead, self.zhao, self.role_coach, stance="champion")  # never wrote
        self._stakeholder(lead, self.wang, self.role_coach, stance="supporter")
        lead.message_post(body="I will help you", author_id=self.wang.id, message_type="comment")
        lead.with_user(self.rep).stage_id = self.a2
        history = lead.stage_history_ids.filtered(lambda h: h.to_stage_id == self.a2)
        self.assertEqual(history.facts_used, "Coach secured: coach secured: Wang Fang (Supporter) (customer)")

    def test_a_coming_meeting_is_no_proof_the_decision_maker_was_met(self):
        """A meeting of the opportunity scheduled for later does not prove the decision maker met."""
        lead = self._lead(self.a2)
        self._evidence(lead, self.m_clearance).with_user(self.manager).action_verify()
        self._evidence(lead, self.m_contract, kind_id=self.kind_document.id)
        self._stakeholder(lead, self.zhao, self.role_dm, met_date=fields.Date.today())
        start = fields.Datetime.now().replace(microsecond=0) + timedelta(days=1)
        self.env["calendar.event"].create(
            {
                "name": "Steering meeting",
                "opportunity_id": lead.id,
                "partner_ids": [(6, 0, self.zhao.ids)],
                "start": start,
                "stop": start + timedelta(hours=1),
            }
        )
        with self.assertRefused(ValidationError, "missing milestones: Decider met"):
            lead.with_user(self.rep).stage_id = self.a3
        self.assertEqual(lead.stage_id, self.a2)


@tagged("post_install", "-at_install")
class TestServerFieldDefaults(ChildSecurityCase):
    """Defaults reach ``create`` after its check of the values given: a user's context keys
    (``default_state``) and personal defaults (``ir.default``, which anyone may save for himself)
    set no field only the server sets, and a default opportunity or contact is checked as a
    given one."""

    def _personal_default(self, model, fname, value):
        self.env["ir.default"].with_user(self.rep).set(model, fname, value, user_id=True)

    def test_a_default_opportunity_is_checked_as_a_given_one(self):
        """The same refusal whatever the colleague's deal holds: no database error tells which
        competitor or contact is on it."""
        for model, vals in self._child_values(self.theirs).items():
            self.env[model].create(vals)  # already there: a duplicate would be told apart
            given = {fname: value for fname, value in vals.items() if fname != "lead_id"}
            for target in (self.theirs, self.foreign):
                with self.subTest(model=model, lead=target.name):
                    Model = self.env[model].with_user(self.rep).with_context(default_lead_id=target.id)
                    with self.assertRefused(
                        AccessError, f"opportunity #{target.id} does not exist or you may not change it"
                    ) as catcher:
                        Model.create(given)
                    self.assertNotIn("Secret", str(catcher.exception))
        self._personal_default("crm.lead.competitor", "lead_id", self.theirs.id)
        with self.assertRefused(AccessError, f"opportunity #{self.theirs.id} does not exist"):
            self.env["crm.lead.competitor"].with_user(self.rep).create({"competitor_id": self.competitor.id})
        # His own opportunity as a default still works.
        competitor = (
            self.env["crm.lead.competitor"]
            .with_user(self.rep)
            .with_context(default_lead_id=self.mine.id)
            .create({"competitor_id": self.competitor.id})
        )
        self.assertEqual(competitor.lead_id, self.mine)

    def test_a_default_linked_record_is_checked_as_a_given_one(self):
        hidden = self.env["res.partner"].create(
            {"name": "Hidden contact", "company_id": self.other_company.id}
        )
        Evidence = (
            self.env["crm.lead.evidence"]
            .with_user(self.rep)
            .with_context(default_customer_partner_id=hidden.id)
        )
        with self.assertRefused(ValidationError, "does not exist or is not visible to you") as catcher:
            Evidence.create(self._child_values(self.mine)["crm.lead.evidence"])
        self.assertNotIn("Hidden", str(catcher.exception))
        Signal = self.env["crm.lead.signal"].with_user(self.rep).with_context(default_partner_id=hidden.id)
        with self.assertRefused(ValidationError, f"Contact #{hidden.id} is not visible to you"):
            Signal.create(self._child_values(self.mine)["crm.lead.signal"])
        self.assertFalse(self.env["crm.lead.signal"].search([("partner_id", "=", hidden.id)]))

    def test_a_signal_names_only_a_contact_the_user_sees(self):
        hidden = self.env["res.partner"].create(
            {"name": "Hidden contact", "company_id": self.other_company.id}
        )
        Signal = self.env["crm.lead.signal"].with_user(self.rep)
        vals = self._child_values(self.mine)["crm.lead.signal"]
        with self.assertRefused(ValidationError, f"Contact #{hidden.id} is not visible to you"):
            Signal.create({**vals, "partner_id": hidden.id})
        signal = Signal.create({**vals, "partner_id": self.wang.id})
        with self.assertRefused(ValidationError, f"Contact #{hidden.id} is not visible to you"):
            signal.partner_id = hidden
        self.assertEqual(signal.partner_id, self.wang)

    def test_evidence_takes_no_audit_field_from_the_user(self):
        now = fields.Datetime.now()
        defaults = {
            "default_verified_by_id": self.manager.id,
            "default_verified_date": now,
            "default_recorded_by_id": self.manager.id,
            "default_active": False,
            "default_withdrawal_reason": "Forged",
            "default_withdrawn_by_id": self.manager.id,
            "default_company_id": self.other_company.id,
        }
        Evidence = self.env["crm.lead.evidence"].with_user(self.rep)
        evidence = Evidence.with_context(**defaults).create(
            self._child_values(self.mine)["crm.lead.evidence"]
        )
        self.assertRecordValues(
            evidence,
            [
                {
                    "verified_by_id": False,
                    "verified_date": False,
                    "recorded_by_id": self.rep.id,
                    "active": True,
                    "withdrawal_reason": False,
                    "withdrawn_by_id": False,
                    "company_id": self.mine.company_id.id,
                }
            ],
        )
        self._personal_default("crm.lead.evidence", "verified_by_id", self.manager.id)
        evidence = Evidence.create(self._child_values(self.mine)["crm.lead.evidence"])
        self.assertFalse(evidence.verified_by_id, "nor from a personal default")
        # What the user sees in a new form: the field's own defaults.
        self.assertEqual(
            Evidence.with_context(**defaults).default_get(["active", "recorded_by_id"]),
            {
                "active": True,
                "recorded_by_id": self.rep.id,
            },
        )

    def test_an_exception_is_approved_by_its_workflow_only(self):
        """A rep cannot give his own request the state and decision of an approval."""
        decided = {
            "default_state": "approved",
            "default_approver_id": self.manager.id,
            "default_decision_date": fields.Datetime.now(),
            "default_valid_until": fields.Datetime.now() + timedelta(days=3),
            "default_used_date": False,
            "default_kind": "missing_evidence",
        }
        Exception_ = self.env["crm.stage.exception"].with_user(self.rep)
        exception = Exception_.with_context(**decided).create(
            {"lead_id": self.mine.id, "to_stage_id": self.a3.id, "reason": "Trust me"}
        )
        self.assertRecordValues(
            exception, [{"state": "pending", "approver_id": False, "valid_until": False, "kind": "skip"}]
        )
        self._personal_default("crm.stage.exception", "state", "approved")
        exception = Exception_.create(
            {"lead_id": self.mine.id, "to_stage_id": self.a2.id, "reason": "Trust me"}
        )
        self.assertEqual(exception.state, "pending", "nor from a personal default")
        with self.assertRaises(ValidationError):
            self.mine.with_user(self.rep).stage_id = self.a3
        self.assertEqual(self.mine.stage_id, self.a1)

    def test_an_approved_exception_always_says_by_whom_and_until_when(self):
        """The gate and the expiry job read both: the database refuses an approval without them."""
        exception = self.env["crm.stage.exception"].create(
            {"lead_id": self.mine.id, "to_stage_id": self.a3.id, "reason": "Framework deal"}
        )
        with self.assertRaises(psycopg2.errors.CheckViolation), mute_logger("odoo.sql_db"):
            exception.sudo().write({"state": "approved"})
            exception.flush_recordset()

    def test_opportunity_takes_no_derived_field_from_the_user(self):
        long_ago = fields.Datetime.now() - timedelta(days=400)
        lead = (
            self.env["crm.lead"]
            .with_user(self.rep)
            .with_context(default_date_last_stage_update=long_ago, default_won_status="won")
            .create({"name": "Backdated", "type": "opportunity", "pipeline_type_id": self.type_a.id})
        )
        self.assertGreater(lead.date_last_stage_update, long_ago + timedelta(days=399))
        self.assertEqual(lead.won_status, "pending")

    def test_no_stale_alert_level_from_the_user(self):
        activity = (
            self.env["mail.activity"]
            .with_user(self.rep)
            .with_context(default_crm_stale_level="manager")
            .create(
                {
                    "res_model_id": self.env["ir.model"]._get_id("crm.lead"),
                    "res_id": self.mine.id,
                    "summary": "Call back",
                    "user_id": self.rep.id,
                }
            )
        )
        self.assertFalse(activity.crm_stale_level)
