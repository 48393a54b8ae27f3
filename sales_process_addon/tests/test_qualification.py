from psycopg2 import IntegrityError

from odoo.exceptions import AccessError, ValidationError
from odoo.tests import Form, tagged
from odoo.tools import mute_logger

from .common_opportunity import OpportunityCase


@tagged("post_install", "-at_install")
class TestQualification(OpportunityCase):
    def test_shipped_questions(self):
        questions = self.env["crm.qualification.question"].with_context(active_test=False)
        shipped = questions.search(
            [
                (
                    "id",
                    "in",
                    [
                        self.env.ref(f"sales_process_addon.qualification_question_{name}").id
                        for name in (
                            "funding",
                            "business_driver",
                            "unique_value",
                            "relationship",
                            "decision_process",
                        )
                    ],
                )
            ]
        )
        self.assertEqual(len(shipped), 5)
        self.assertFalse(shipped.pipeline_type_ids, "the defaults are asked in every process")
        self.assertEqual(
            shipped.filtered("deal_breaker"),
            self.env.ref("sales_process_addon.qualification_question_funding"),
        )

    def test_questions_of_the_process_on_create(self):
        lead_a, lead_b = self._lead(), self._lead(self.bx, pipeline_type_id=self.type_b.id)
        self.assertEqual(lead_a.qualification_ids.question_id, self.q_funding | self.q_driver)
        self.assertEqual(lead_b.qualification_ids.question_id, self.q_funding | self.q_driver | self.q_b_only)
        self.assertEqual(lead_a.qualification_status, "nurture", "unknown answers: nurture")

    def test_process_switch_drops_unanswered_keeps_answered(self):
        lead = self._lead(self.bx, pipeline_type_id=self.type_b.id)
        self.q_driver.pipeline_type_ids = self.type_b
        self._answer(lead, {self.q_driver: "yes"})
        lead.pipeline_type_id = self.type_a
        # "Only B?" was unanswered: gone. "Driver?" was answered: kept, nothing lost.
        self.assertEqual(lead.qualification_ids.question_id, self.q_funding | self.q_driver)
        lead.pipeline_type_id = self.type_b
        self.assertEqual(lead.qualification_ids.question_id, self.q_funding | self.q_driver | self.q_b_only)

    def test_load_questions_button(self):
        lead = self._lead()
        new_question = self.env["crm.qualification.question"].create({"name": "Timing?", "sequence": 9})
        lead.with_user(self.rep).action_load_qualification_questions()
        lead.with_user(self.rep).action_load_qualification_questions()  # no duplicates
        self.assertEqual(lead.qualification_ids.question_id, self.q_funding | self.q_driver | new_question)

    def test_answers_listed_in_the_questions_order(self):
        """The form lists an opportunity's own answers in the questions' order, not the order asked."""
        lead = self._lead()
        first = self.env["crm.qualification.question"].create({"name": "Timing?", "sequence": -1})
        lead.action_load_qualification_questions()  # asked last, listed first
        self._lead().action_load_qualification_questions()
        questions = self.env["crm.qualification.question"].search(
            [("id", "in", (self.q_funding | self.q_driver | first).ids)]
        )
        self.assertEqual(questions[0], first)
        self.env.invalidate_all()  # as the form reads it, in a request of its own
        read = lead.web_read({"qualification_ids": {"fields": {"question_id": {"fields": {}}}}})[0]
        self.assertEqual([answer["question_id"]["id"] for answer in read["qualification_ids"]], questions.ids)

    def test_status_rules(self):
        lead = self._lead()
        self._answer(lead, {self.q_funding: "yes", self.q_driver: "yes"})
        self.assertEqual(lead.qualification_status, "pursue")
        self._answer(lead, {self.q_driver: "partly"})
        self.assertEqual(lead.qualification_status, "nurture")
        self._answer(lead, {self.q_driver: "no"})
        self.assertEqual(lead.qualification_status, "nurture", "a No to a question that is no deal-breaker")
        self._answer(lead, {self.q_funding: "no", self.q_driver: "yes"})
        self.assertEqual(lead.qualification_status, "drop", "no funding: drop")
        lead.qualification_ids.unlink()
        self.assertFalse(lead.qualification_status, "no question asked: not assessed")

    def test_filter_and_group_by_status(self):
        pursued, dropped, nurtured = self._lead(name="P"), self._lead(name="D"), self._lead(name="N")
        self._answer(pursued, {self.q_funding: "yes", self.q_driver: "yes"})
        self._answer(dropped, {self.q_funding: "no"})
        self.env.flush_all()
        Lead = self.env["crm.lead"].with_user(self.rep)
        ids = (pursued | dropped | nurtured).ids
        self.assertEqual(Lead.search([("id", "in", ids), ("qualification_status", "=", "drop")]), dropped)
        groups = dict(Lead._read_group([("id", "in", ids)], ["qualification_status"], ["__count"]))
        self.assertEqual(groups, {"pursue": 1, "nurture": 1, "drop": 1})

    def test_rep_answers_in_the_form(self):
        lead = self._lead()
        with Form(lead.with_user(self.rep)) as form:
            with form.qualification_ids.edit(0) as line:
                line.answer = "yes"
                line.notes = "Budget approved by the board, said Li Wei"
            with form.qualification_ids.edit(1) as line:
                line.answer = "yes"
        self.assertEqual(lead.qualification_status, "pursue")

    def test_invalid_answer_refused(self):
        line = self._lead().qualification_ids[0]
        with self.assertRefused(
            ValidationError, r'"maybe" is not a valid Answer; use one of: Yes, Partly, No, Unknown'
        ):
            line.with_user(self.rep).write({"answer": "maybe"})
        self.assertEqual(line.answer, "unknown")

    @mute_logger("odoo.sql_db")
    def test_same_question_twice_refused(self):
        lead = self._lead()
        with self.assertRaises(IntegrityError):
            self.env["crm.lead.qualification"].create({"lead_id": lead.id, "question_id": self.q_funding.id})

    def test_rights(self):
        own = self._lead()
        others = self._lead(user_id=self.other_rep.id)
        own.qualification_ids.with_user(self.rep).write({"answer": "yes"})
        with self.assertRaises(AccessError):
            others.qualification_ids.with_user(self.rep).write({"answer": "yes"})
        others.qualification_ids.with_user(self.manager).write({"answer": "yes"})
        self.assertEqual(others.qualification_status, "pursue")
        with self.assertRaises(AccessError):
            self.q_driver.with_user(self.rep).write({"deal_breaker": True})
        with self.assertRaises(AccessError):
            self.env["crm.qualification.question"].with_user(self.rep).create({"name": "Rep's question"})
        self.env["crm.qualification.question"].with_user(self.manager).create({"name": "Manager's question"})

    def test_fill_cost_independent_of_batch_size(self):
        small = self._create_leads(5, pipeline_type_id=self.type_b.id)
        large = self._create_leads(30, pipeline_type_id=self.type_b.id)
        (small | large).qualification_ids.unlink()

        def cost(leads):
            self.env.invalidate_all()
            self.env.flush_all()
            before = self.cr.sql_log_count
            leads._qualification_fill()
            self.env.flush_all()
            return self.cr.sql_log_count - before

        self.assertEqual(cost(small), cost(large))
        self.assertEqual(len(large.qualification_ids), 90)

    def test_process_switch_keeps_unanswered_questions_with_notes(self):
        """A question still unknown but with notes is kept on a process switch: the notes are work."""
        lead = self._lead(self.bx, pipeline_type_id=self.type_b.id)
        only_b = lead.qualification_ids.filtered(lambda line: line.question_id == self.q_b_only)
        only_b.notes = "CFO to confirm next week"
        lead.pipeline_type_id = self.type_a
        self.assertEqual(lead.qualification_ids.question_id, self.q_funding | self.q_driver | self.q_b_only)
        self.assertEqual(only_b.notes, "CFO to confirm next week")
