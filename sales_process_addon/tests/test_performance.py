import os
import sys
from unittest.mock import patch

from odoo.sql_db import Cursor
from odoo.tests import tagged

import odoo.addons

from .common import SalesProcessCase

ADDON_DIR = os.path.dirname(os.path.dirname(os.path.abspath(__file__))) + os.sep
TESTS_DIR = os.path.dirname(os.path.abspath(__file__)) + os.sep
ADDONS_DIRS = tuple(os.path.abspath(path) + os.sep for path in odoo.addons.__path__)


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

    def _addon_queries(self, func):
        """Queries whose nearest module code is this addon's (not its tests).

        The stack is walked up past the framework (ORM, cursor, tools, Python)
        to the first frame of a module: a query belongs to the module that
        asked for it, so Odoo's own work under our overrides is not ours.
        Counted through ``func``, its flush and the work done when the
        transaction commits (chatter tracking, whose messages reach our hooks).
        """
        count = 0
        execute = Cursor.execute

        def counting_execute(cr, *args, **kwargs):
            nonlocal count
            frame = sys._getframe(1)
            while frame:
                path = frame.f_code.co_filename
                if path.startswith(ADDON_DIR):
                    count += not path.startswith(TESTS_DIR)
                    break
                if path.startswith(ADDONS_DIRS):
                    break
                frame = frame.f_back
            return execute(cr, *args, **kwargs)

        self.env.invalidate_all()
        self.env.flush_all()
        self.env.cr.precommit.run()
        with patch.object(Cursor, "execute", counting_execute):
            func()
            self.env.flush_all()
            self.env.cr.precommit.run()
        return count

    def test_addon_queries_independent_of_batch_size_whole_transaction(self):
        """Create, then move, 5 or 10 leads: the same queries of ours, commit-time work included.

        Small batches: the ORM writes the leads' qualification lines by 100
        rows, which is no cost per lead.
        """
        vals = {"pipeline_type_id": self.type_a.id, "team_id": self.team.id, "user_id": self.rep.id}
        self._create_leads(1, **vals).stage_id = self.a2  # warm caches
        costs = {}
        for count in (5, 10):
            created = []
            costs[count, "create"] = self._addon_queries(
                lambda count=count, created=created: created.append(self._create_leads(count, **vals))
            )
            costs[count, "move"] = self._addon_queries(
                lambda leads=created[0]: leads.write({"stage_id": self.a2.id})
            )
        self.assertEqual(costs[5, "create"], costs[10, "create"])
        self.assertEqual(costs[5, "move"], costs[10, "move"])
        self.assertGreater(costs[5, "move"], 0, "the gate's own queries are counted")

    def test_stage_check_queries_independent_of_batch_size(self):
        small = self._create_leads(10, pipeline_type_id=self.type_a.id)
        large = self._create_leads(200, pipeline_type_id=self.type_a.id)
        self.env.invalidate_all()
        # stage_id only: the stages' processes come from the gate's cached structure.
        with self.assertQueryCount(1):
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

    def test_assignment_one_lead_at_a_time_keeps_scoring_batched(self):
        """Odoo's lead assignment writes the team of one lead at a time: the gate judges
        each write without running the predictive scoring for that lead; Odoo then scores
        the whole batch once, as it does without this addon."""
        leads = self._create_leads(6, type="lead", pipeline_type_id=self.type_a.id)
        other_team = self.env["crm.team"].create({"name": "Assigned team"})
        self.env.flush_all()
        Lead = type(self.env["crm.lead"])
        scored = []
        compute = Lead._compute_probabilities

        def counting_compute(records):
            scored.append(len(records))
            return compute(records)

        with patch.object(Lead, "_compute_probabilities", counting_compute):
            for lead in leads:
                lead.write({"team_id": other_team.id})
            self.env.flush_all()
        self.assertEqual(scored, [len(leads)])
        self.assertEqual(leads.mapped("won_status"), ["pending"] * len(leads))
