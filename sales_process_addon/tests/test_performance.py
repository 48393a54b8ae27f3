from odoo.tests import tagged

from .common import SalesProcessCase


@tagged("post_install", "-at_install")
class TestPerformance(SalesProcessCase):
    """The process checks cost the same number of queries for 10 or 200 leads."""

    def _queries(self, func):
        self.env.invalidate_all()
        self.env.flush_all()
        before = self.cr.sql_log_count
        func()
        self.env.flush_all()
        return self.cr.sql_log_count - before

    def test_stage_check_queries_independent_of_batch_size(self):
        small = self._create_leads(10, pipeline_type_id=self.type_a.id)
        large = self._create_leads(200, pipeline_type_id=self.type_a.id)
        self.env.invalidate_all()
        # stage_id, then the stages' processes, then the processes' stages.
        with self.assertQueryCount(3):
            large._check_stage_in_pipeline_type()
        self.assertEqual(
            self._queries(small._check_stage_in_pipeline_type),
            self._queries(large._check_stage_in_pipeline_type),
        )

    def test_create_cost_independent_of_batch_size(self):
        """Creating N leads: the addon adds no per-lead query (compare 10 and 40)."""
        vals = {"pipeline_type_id": self.type_a.id, "team_id": self.team.id, "user_id": self.rep.id}
        self._create_leads(1, **vals)  # warm caches (sequences, defaults)
        cost_10 = self._queries(lambda: self._create_leads(10, **vals))
        cost_40 = self._queries(lambda: self._create_leads(40, **vals))
        plain_10 = self._queries(lambda: self._create_leads(10, **vals, stage_id=self.a1.id))
        plain_40 = self._queries(lambda: self._create_leads(40, **vals, stage_id=self.a1.id))
        # Whatever Odoo itself does per lead, the process defaulting adds nothing per lead.
        self.assertEqual(cost_40 - cost_10, plain_40 - plain_10)

    def test_stage_move_cost_independent_of_batch_size(self):
        self._create_leads(1, pipeline_type_id=self.type_a.id).stage_id = self.a2  # warm caches
        small = self._create_leads(10, pipeline_type_id=self.type_a.id)
        large = self._create_leads(40, pipeline_type_id=self.type_a.id)
        cost_small = self._queries(lambda: small.write({"stage_id": self.a2.id}))
        cost_large = self._queries(lambda: large.write({"stage_id": self.a2.id}))
        self.assertEqual(cost_small, cost_large)

    def test_process_switch_cost_independent_of_batch_size(self):
        self._create_leads(1, pipeline_type_id=self.type_a.id).pipeline_type_id = self.type_b  # warm caches
        small = self._create_leads(10, pipeline_type_id=self.type_a.id)
        large = self._create_leads(40, pipeline_type_id=self.type_a.id)
        cost_small = self._queries(lambda: small.write({"pipeline_type_id": self.type_b.id}))
        cost_large = self._queries(lambda: large.write({"pipeline_type_id": self.type_b.id}))
        self.assertEqual(cost_small, cost_large)
