from odoo.tests import tagged

from .common_opportunity import OpportunityCase


@tagged("post_install", "-at_install")
class TestQualificationQuestionsCache(OpportunityCase):
    """The questions of each process are cached; any change to a question is seen at once."""

    def test_creating_an_opportunity_reads_no_question(self):
        self._lead()  # fills the cache
        questions = self.q_funding | self.q_driver
        with self.assertQueryCount(0):
            cached = self.env["crm.qualification.question"]._for_pipeline_types([self.type_a])
        self.assertEqual(cached[self.type_a], questions)

    def test_archived_question_no_longer_asked(self):
        self._lead()
        self.q_driver.active = False
        self.assertEqual(self._lead().qualification_ids.question_id, self.q_funding)

    def test_question_moved_to_another_process(self):
        self._lead()
        self.q_driver.pipeline_type_ids = self.type_b
        self.assertEqual(self._lead().qualification_ids.question_id, self.q_funding)
        lead_b = self._lead(self.bx, pipeline_type_id=self.type_b.id)
        self.assertEqual(lead_b.qualification_ids.question_id, self.q_funding | self.q_driver | self.q_b_only)

    def test_new_and_deleted_questions(self):
        self._lead()
        Question = self.env["crm.qualification.question"]
        timing = Question.create({"name": "Timing?", "sequence": 9})
        self.assertEqual(self._lead().qualification_ids.question_id, self.q_funding | self.q_driver | timing)
        budget = Question.create({"name": "Budget?", "sequence": 10})
        self.assertIn(budget, Question._for_pipeline_types([self.type_a])[self.type_a])
        budget.unlink()  # never asked yet: it may go
        self.assertEqual(
            Question._for_pipeline_types([self.type_a])[self.type_a], self.q_funding | self.q_driver | timing
        )

    def test_lead_without_process_gets_questions_for_all(self):
        questions = self.env["crm.qualification.question"]._for_pipeline_types(
            [self.env["crm.pipeline.type"]]
        )
        self.assertEqual(questions[self.env["crm.pipeline.type"]], self.q_funding | self.q_driver)
