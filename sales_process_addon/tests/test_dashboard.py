from datetime import datetime, timedelta

from odoo.exceptions import AccessError
from odoo.tests import HttpCase, tagged

from .common import SalesProcessCase

T0 = datetime(2026, 3, 2, 9, 0)


def day(n):
    return T0 + timedelta(days=n)


@tagged("post_install", "-at_install")
class TestDashboard(SalesProcessCase):
    """The dashboard's figures on a known history of process A (A1 -> A2 -> A3 won).

    ==  =======  =================================  ====
    L   revenue  life                               team
    ==  =======  =================================  ====
    L1  1,000    A1 d+0; A2 d+2; A3 won d+6         T
    L2  2,000    A1 d+0; A2 d+4; lost d+5           T
    L3  4,000    A1 d+0; lost d+1                   T
    L4  8,000    A1 d+0 (open)                      T
    L5  16,000   A1 d+0; A2 d+3 (open)              T
    L6  500      A1 d+0 (open)                      none
    ==  =======  =================================  ====

    Exceptions: L4 A1 -> A3 (skip, d+1), L5 A2 -> A1 (backward, d+4).
    """

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.a1.rotting_threshold_days = 5

    def setUp(self):
        super().setUp()

        def lead(name, revenue, team=self.team):
            return self.env["crm.lead"].create(
                {
                    "name": name,
                    "type": "opportunity",
                    "user_id": self.rep.id,
                    "team_id": team.id,
                    "expected_revenue": revenue,
                    "stage_id": self.a1.id,
                }
            )

        with self.at(day(0)):
            self.l1, self.l2, self.l3, self.l4, self.l5 = (
                lead(f"L{i + 1}", revenue) for i, revenue in enumerate((1000, 2000, 4000, 8000, 16000))
            )
            self.l6 = lead("L6", 500, self.env["crm.team"])
            self.l6.team_id = False
        with self.at(day(1)):
            self.l3.action_set_lost()
            self._exception(self.l4, self.a1, self.a3)
        with self.at(day(2)):
            self.l1.stage_id = self.a2
        with self.at(day(3)):
            self.l5.stage_id = self.a2
        with self.at(day(4)):
            self.l2.stage_id = self.a2
            self._exception(self.l5, self.a2, self.a1)
        with self.at(day(5)):
            self.l2.action_set_lost()
        with self.at(day(6)):
            self.l1.stage_id = self.a3

    def _exception(self, lead, from_stage, to_stage):
        return self.env["crm.stage.exception"].create(
            {"lead_id": lead.id, "from_stage_id": from_stage.id, "to_stage_id": to_stage.id, "reason": "Test"}
        )

    def _data(self, **kwargs):
        data = self.env["crm.sales.dashboard"].get_dashboard_data(self.type_a.id, **kwargs)
        return data, {stage["name"]: stage for stage in data["stages"]}

    def test_figures(self):
        data, stages = self._data()
        self.assertEqual(list(stages), ["A1", "A2", "A3"])
        self.assertEqual(
            [(s["open_count"], s["open_value"]) for s in stages.values()],
            [(2, 8500.0), (1, 16000.0), (0, 0.0)],
        )
        self.assertEqual(stages["A1"]["funnel_state"]["id"], self.funnel_search.id)
        # Conversion: entered, reached the next stage, lost without reaching it.
        self.assertEqual(
            [(s["entered"], s["reached_next"], s["lost"]) for s in stages.values()],
            [(6, 3, 1), (3, 1, 1), (1, None, 0)],
        )
        self.assertEqual(stages["A1"]["conversion_rate"], 50.0)
        self.assertAlmostEqual(stages["A2"]["conversion_rate"], 100 / 3)
        self.assertEqual(stages["A1"]["next_stage"]["id"], self.a2.id)
        self.assertFalse(stages["A3"]["next_stage"])
        # Time in stage: A1 stays of 2 (L1), 4 (L2), 1 (L3), 3 (L5) days; A2: 4 (L1), 1 (L2).
        # percentile_cont over [1, 2, 3, 4]: 2.5, 3.25, 3.7; over [1, 4]: 2.5, 3.25, 3.7.
        for name, stays in (("A1", 4), ("A2", 2)):
            stage = stages[name]
            self.assertEqual(stage["stays"], stays)
            for key, value in (("days_median", 2.5), ("days_p75", 3.25), ("days_p90", 3.7)):
                self.assertAlmostEqual(stage[key], value, places=6, msg=f"{name} {key}")
        self.assertEqual((stages["A3"]["stays"], stages["A3"]["days_median"]), (0, None))
        self.assertEqual((stages["A1"]["stale_days"], stages["A2"]["stale_days"]), (5, False))
        self.assertEqual(
            sorted((row["stage_id"], row["kind"], row["count"]) for row in data["exceptions"]),
            sorted([(self.a1.id, "skip", 1), (self.a2.id, "backward", 1)]),
        )

    def _exits_fixture(self):
        """How each forward exit happened: L1 left A1 with the customer's evidence, L2 with ours
        only, L5 through an exception; L1 left A2 with no evidence recorded."""
        # Evidence is recorded for the current stage's milestones; the gate links it to the move.
        on_a3, on_a2 = self.env["crm.stage.milestone"].create(
            [
                {"name": "Signed", "stage_id": stage.id, "required": False, "customer_led": False}
                for stage in (self.a3, self.a2)
            ]
        )
        kind = self.env.ref("sales_process_addon.evidence_kind_customer_email")
        customer = self.env["res.partner"].create({"name": "Buyer contact"})
        self.l1.partner_id = customer  # customer evidence is produced by the opportunity's customer
        Evidence = self.env["crm.lead.evidence"]
        by_customer, ours = Evidence.create(
            [
                {
                    "lead_id": self.l1.id,
                    "milestone_id": on_a3.id,
                    "kind_id": kind.id,
                    "summary": "Yes",
                    "customer_partner_id": customer.id,
                },
                {
                    "lead_id": self.l2.id,
                    "milestone_id": on_a2.id,
                    "kind_id": kind.id,
                    "summary": "Us",
                    "internal_user_id": self.rep.id,
                },
            ]
        )
        History = self.env["crm.lead.stage.history"]

        def exit_row(lead):
            return History.search(
                [("lead_id", "=", lead.id), ("from_stage_id", "=", self.a1.id), ("event", "=", "forward")]
            )

        self.env.flush_all()
        self.env.cr.execute(
            "INSERT INTO crm_lead_stage_history_evidence_rel (history_id, evidence_id) VALUES (%s, %s), (%s, %s)",
            [exit_row(self.l1).id, by_customer.id, exit_row(self.l2).id, ours.id],
        )
        exception = self.env["crm.stage.exception"].search([("lead_id", "=", self.l5.id)])
        self.env.cr.execute(
            "UPDATE crm_lead_stage_history SET exception_id = %s WHERE id = %s",
            [exception.id, exit_row(self.l5).id],
        )
        # The history was changed in SQL: derive the stays of the reports from it again.
        self.env["crm.lead.stage.stay"]._rebuild()
        self.env.invalidate_all()

    def test_exit_criteria_and_wins(self):
        self._exits_fixture()
        data, _stages = self._data()
        exits = {
            (row["stage_id"], row["basis"]): (row["count"], row["won_rate"], row["cycle_days"])
            for row in data["exits"]
        }
        self.assertEqual(
            exits,
            {
                (self.a1.id, "customer_evidence"): (1, 100.0, 6.0),
                (self.a1.id, "own_evidence"): (1, 0.0, None),
                (self.a1.id, "exception"): (1, None, None),
                (self.a2.id, "no_evidence"): (1, 100.0, 6.0),
            },
        )
        # The report measure, per process and exit basis.
        groups = self.env["crm.stage.exit.report"]._read_group(
            [("pipeline_type_id", "=", self.type_a.id), ("won_status", "!=", "pending")],
            ["exit_basis"],
            ["__count", "won_rate:avg", "cycle_days:avg"],
        )
        self.assertEqual(
            sorted(groups),
            [
                ("customer_evidence", 1, 100.0, 6.0),
                ("no_evidence", 1, 100.0, 6.0),
                ("own_evidence", 1, 0.0, False),
            ],
        )

    def test_suggested_thresholds(self):
        """A1 stays of 1, 2, 3, 4 days, A2 of 1 and 4: p75 3.25 and p90 3.7 in both."""
        with self.at(day(30)):
            stages = self.a1 | self.a2 | self.a3
            self.assertEqual(stages.mapped("time_stays_12m"), [4, 2, 0])
            self.assertAlmostEqual(self.a1.time_median_12m, 2.5)
            self.assertAlmostEqual(self.a1.time_p90_12m, 3.7)
            self.assertEqual(stages.mapped("suggested_rotting_days"), [4, 4, 0])
            # The escalation comes at least a day after the days to rot.
            self.assertEqual(stages.mapped("suggested_escalation_days"), [5, 5, 0])
            with self.assertRefused(AccessError, "Only a sales administrator"):
                stages.with_user(self.rep).action_apply_suggested_thresholds()
            self.assertEqual(self.a1.rotting_threshold_days, 5)
            stages.with_user(self.manager).action_apply_suggested_thresholds()
            self.assertEqual(
                [(stage.rotting_threshold_days, stage.escalation_days) for stage in stages],
                [(4, 5), (4, 5), (0, 0)],
            )
        with self.at(day(400)):
            self.env.invalidate_all()
            self.assertEqual(stages.mapped("time_stays_12m"), [0, 0, 0])
            self.assertEqual(stages.mapped("suggested_rotting_days"), [0, 0, 0])

    def test_stage_figures_count_the_user_s_companies(self):
        """L1's stays (A1 2 days, A2 4 days) move with it to another company: its users see them
        in the stage's figures, and this company's users no longer do."""
        other = self.env["res.company"].create({"name": "Other company"})
        self.rep.company_ids |= other
        self.l1.company_id = other
        with self.at(day(30)):
            for companies, counts in (
                ([self.company], [3, 1]),
                ([other], [1, 1]),
                ([self.company, other], [4, 2]),
            ):
                with self.subTest(companies=[company.name for company in companies]):
                    stages = (self.a1 | self.a2).with_context(allowed_company_ids=[c.id for c in companies])
                    self.assertEqual(stages.mapped("time_stays_12m"), counts)

    def test_team_and_period(self):
        _data, stages = self._data(team_id=self.team.id)
        self.assertEqual((stages["A1"]["open_count"], stages["A1"]["entered"]), (1, 5))
        # From d+3: entries of A2 by L5 and L2, stays ended from d+3, the backward exception.
        data, stages = self._data(date_from=day(3).strftime("%Y-%m-%d %H:%M:%S"))
        self.assertEqual([s["entered"] for s in stages.values()], [0, 2, 1])
        self.assertEqual((stages["A1"]["stays"], stages["A1"]["days_median"]), (2, 3.5))
        self.assertEqual([row["kind"] for row in data["exceptions"]], ["backward"])
        data, stages = self._data(date_to=day(3).strftime("%Y-%m-%d"))
        self.assertEqual([s["entered"] for s in stages.values()], [6, 1, 0])

    def test_drill_down(self):
        """The records behind each figure are those counted."""
        data, stages = self._data(team_id=self.team.id)
        drill = data["drill"]

        def records(block, extra):
            return self.env[drill[block]["model"]].search(drill[block]["domain"] + extra)

        self.assertEqual(records("funnel", [("stage_id", "=", self.a1.id)]), self.l4)
        self.assertEqual(len(records("conversion", [("stage_id", "=", self.a1.id)])), stages["A1"]["entered"])
        lost = records("duration", [("stage_id", "=", self.a1.id), ("event", "=", "lost")])
        self.assertEqual(lost.lead_id, self.l3)
        self.assertEqual(len(records("duration", [("stage_id", "=", self.a1.id)])), 4)
        self.assertEqual(
            records("exceptions", [("from_stage_id", "=", self.a1.id), ("kind", "=", "skip")]).lead_id,
            self.l4,
        )

    def test_rights(self):
        """A salesperson's dashboard counts what he may see: not a colleague's opportunity."""
        self.l4.copy({"user_id": self.manager.id, "name": "Manager's"})
        Dashboard = self.env["crm.sales.dashboard"]
        self.assertEqual(Dashboard.get_dashboard_data(self.type_a.id)["stages"][0]["open_count"], 3)
        self.assertEqual(
            Dashboard.with_user(self.rep).get_dashboard_data(self.type_a.id)["stages"][0]["open_count"], 2
        )

    def test_opens_on_the_users_process(self):
        """Without a process chosen, the dashboard shows the user's, as the pipeline opens on it:
        his sales team's, else the company's."""
        Dashboard = self.env["crm.sales.dashboard"]
        self.company.default_pipeline_type_id = self.type_b
        self.team.member_ids = self.rep
        self.assertEqual(Dashboard.with_user(self.rep).get_dashboard_data()["process"]["id"], self.type_a.id)
        self.assertEqual(
            Dashboard.with_user(self.manager).get_dashboard_data()["process"]["id"], self.type_b.id
        )
        self.assertEqual(
            Dashboard.with_user(self.rep).get_dashboard_data(self.type_b.id)["process"]["id"], self.type_b.id
        )

    def test_queries(self):
        """A fixed number of queries, whatever the number of opportunities."""
        Dashboard = self.env["crm.sales.dashboard"]
        Dashboard.get_dashboard_data(self.type_a.id)
        self.env.invalidate_all()
        start = self.cr.sql_log_count
        Dashboard.get_dashboard_data(self.type_a.id)
        before = self.cr.sql_log_count - start
        self._create_leads(10, stage_id=self.a2.id, pipeline_type_id=self.type_a.id, team_id=self.team.id)
        self.env.flush_all()
        self.env.invalidate_all()
        start = self.cr.sql_log_count
        Dashboard.get_dashboard_data(self.type_a.id)
        self.assertEqual(self.cr.sql_log_count - start, before)

    def test_lost_counts_each_deal_in_the_stage_it_was_lost_in(self):
        """L8 went A1 -> A2 -> back to A1 and was lost there: lost in A1, not in A2 (which it
        entered and left without reaching A3), and once in all."""
        with self.at(day(7)):
            l8 = self.env["crm.lead"].create(
                {"name": "L8", "type": "opportunity", "user_id": self.rep.id, "stage_id": self.a1.id}
            )
        with self.at(day(8)):
            l8.stage_id = self.a2
        with self.at(day(9)):
            l8.stage_id = self.a1
        with self.at(day(10)):
            l8.action_set_lost()
        data, stages = self._data()
        self.assertEqual([s["lost"] for s in stages.values()], [2, 1, 0])  # L3 and L8; L2
        drill = data["drill"]["duration"]
        lost = self.env[drill["model"]].search(drill["domain"] + [("event", "=", "lost")])
        self.assertEqual(lost.lead_id, self.l2 | self.l3 | l8)
        _data, stages = self._data(date_from=day(6).strftime("%Y-%m-%d %H:%M:%S"))
        self.assertEqual([s["lost"] for s in stages.values()], [1, 0, 0], "lost in the period only")
        with self.at(day(11)):
            l8.action_unarchive()
        _data, stages = self._data()
        self.assertEqual([s["lost"] for s in stages.values()], [1, 1, 0], "a restore undoes the loss")

    def test_exceptions_stay_with_the_process_of_the_stage_left(self):
        """L4's exception was requested for a move of process A: it stays on A's dashboard after L4
        switched to process B, and is not on B's."""
        self.l4.pipeline_type_id = self.type_b
        data, _stages = self._data()
        self.assertIn(
            {"stage_id": self.a1.id, "kind": "skip", "count": 1},
            [{k: row[k] for k in ("stage_id", "kind", "count")} for row in data["exceptions"]],
        )
        data = self.env["crm.sales.dashboard"].get_dashboard_data(self.type_b.id)
        self.assertFalse(data["exceptions"])

    def test_period_end_is_excluded(self):
        """``date_to`` is excluded: L5's entry in A2 at d+3 09:00 is out of a period ending then,
        in one starting then."""
        moment = day(3).strftime("%Y-%m-%d %H:%M:%S")
        _data, stages = self._data(date_to=moment)
        self.assertEqual([s["entered"] for s in stages.values()], [6, 1, 0])
        _data, stages = self._data(date_from=moment)
        self.assertEqual([s["entered"] for s in stages.values()], [0, 2, 1])

    def test_won_stage_followed_by_another_won_stage(self):
        """A won stage followed by a post-sale won stage converts to nothing and suggests no days
        to rot, though deals left it: A3 -> A4 is no conversion of the sales process."""
        a4 = self.env["crm.stage"].create(
            {"name": "A4", "sequence": 4, "pipeline_type_id": self.type_a.id, "is_won": True}
        )
        with self.at(day(9)):
            self.l1.stage_id = a4
        with self.at(day(30)):
            _data, stages = self._data()
            self.assertEqual(list(stages), ["A1", "A2", "A3", "A4"])
            won = stages["A3"]
            self.assertEqual((won["entered"], won["stays"]), (1, 1))
            self.assertEqual(
                (won["reached_next"], won["conversion_rate"], won["next_stage"]), (None, None, False)
            )
            self.assertEqual((self.a3.time_stays_12m, self.a3.suggested_rotting_days), (1, 0))
            self.assertEqual(self.a3.suggested_escalation_days, 0)

    def test_team_filter_applies_to_every_block(self):
        """L6 has no team: with the team chosen, its stay in A1 and its exception are left out."""
        with self.at(day(7)):
            self.l6.stage_id = self.a2
            self._exception(self.l6, self.a2, self.a1)
        data, stages = self._data()
        self.assertEqual(stages["A1"]["stays"], 5)
        self.assertEqual(
            sorted((row["stage_id"], row["kind"], row["count"]) for row in data["exceptions"]),
            sorted([(self.a1.id, "skip", 1), (self.a2.id, "backward", 2)]),
        )
        data, stages = self._data(team_id=self.team.id)
        self.assertEqual(stages["A1"]["stays"], 4)
        self.assertEqual(
            sorted((row["stage_id"], row["kind"], row["count"]) for row in data["exceptions"]),
            sorted([(self.a1.id, "skip", 1), (self.a2.id, "backward", 1)]),
        )

    def test_team_sees_its_own_stages(self):
        """A1x is another team's stage: the whole process shows it after A1; with the team chosen,
        the dashboard shows the team's stages, A2 after A1, as its deals go."""
        other_team, _a1x = self._other_team_stage()
        _data, stages = self._data()
        self.assertEqual(list(stages), ["A1", "A1x", "A2", "A3"])
        # Without a team, the shared stages' next stage is never a team's own.
        self.assertEqual(stages["A1"]["next_stage"]["name"], "A2")
        self.assertEqual(stages["A1x"]["next_stage"]["name"], "A2")
        _data, stages = self._data(team_id=self.team.id)
        self.assertEqual(list(stages), ["A1", "A2", "A3"])
        self.assertEqual(stages["A1"]["next_stage"]["name"], "A2")
        _data, stages = self._data(team_id=other_team.id)
        self.assertEqual(list(stages), ["A1", "A1x", "A2", "A3"])
        self.assertEqual(stages["A1"]["next_stage"]["name"], "A1x")

    def test_team_sees_another_team_s_stage_where_its_deals_went(self):
        """L7, of the team, is in A1x, another team's stage: the team's dashboard shows A1x while
        L7 is open there (even with no entry in the period), and once L7 entered it in the period."""
        other_team, a1x = self._other_team_stage()
        with self.at(day(8)):
            # Created in A1x with the team (an import, a deal moved with its team): A1x stays.
            l7 = self.env["crm.lead"].create(
                {
                    "name": "L7",
                    "type": "opportunity",
                    "user_id": self.rep.id,
                    "team_id": self.team.id,
                    "stage_id": a1x.id,
                }
            )
        self.assertEqual(l7.stage_id, a1x)
        # Open in A1x, entered it before the period: the funnel shows it.
        _data, stages = self._data(team_id=self.team.id, date_from=day(9).strftime("%Y-%m-%d %H:%M:%S"))
        self.assertEqual(list(stages), ["A1", "A1x", "A2", "A3"])
        self.assertEqual((stages["A1x"]["open_count"], stages["A1x"]["entered"]), (1, 0))
        with self.at(day(10)):
            l7.stage_id = self.a2
        # No longer open in A1x, but entered it: the conversion shows it.
        _data, stages = self._data(team_id=self.team.id)
        self.assertEqual(list(stages), ["A1", "A1x", "A2", "A3"])
        self.assertEqual((stages["A1x"]["open_count"], stages["A1x"]["entered"]), (0, 1))
        # A1x shows where the team's deals went; A1's next stage is still the team's A2.
        self.assertEqual(stages["A1"]["next_stage"]["name"], "A2")

    def test_process_out_of_reach_falls_back_to_a_visible_one(self):
        """Asked for another company's process, the dashboard shows one the user may see."""
        other_company = self.env["res.company"].create({"name": "Other company"})
        foreign = self.env["crm.pipeline.type"].create(
            {"name": "Foreign process", "code": "FOREIGN", "company_id": other_company.id}
        )
        Dashboard = self.env["crm.sales.dashboard"].with_user(self.rep)
        visible = self.env["crm.pipeline.type"].with_user(self.rep).search([])
        self.assertNotIn(foreign, visible)
        data = Dashboard.get_dashboard_data(foreign.id)
        self.assertEqual(data["process"]["id"], visible[:1].id)
        self.assertNotIn(foreign.id, [process["id"] for process in data["processes"]])

    def test_period_applies_to_the_exits(self):
        """From d+3: L5 (d+3) and L2 (d+4) left A1, L1 left A2 won (d+6); not L1's exit of A1 (d+2)."""
        data, _stages = self._data()
        self.assertEqual(
            sorted((row["stage_id"], row["count"]) for row in data["exits"]),
            [(self.a1.id, 3), (self.a2.id, 1)],
        )
        data, _stages = self._data(date_from=day(3).strftime("%Y-%m-%d %H:%M:%S"))
        self.assertEqual(
            sorted((row["stage_id"], row["count"]) for row in data["exits"]),
            [(self.a1.id, 2), (self.a2.id, 1)],
        )


@tagged("post_install", "-at_install")
class TestDashboardTour(HttpCase):
    def test_dashboard_tour(self):
        standard = self.env.ref("sales_process_addon.pipeline_type_standard")
        process = self.env["crm.pipeline.type"].create({"name": "Tour process", "code": "tour_dashboard"})
        one, two = self.env["crm.stage"].create(
            [
                {
                    "name": "Tour Stage One",
                    "sequence": 1,
                    "pipeline_type_id": process.id,
                    "funnel_state_id": self.env.ref("sales_process_addon.funnel_state_search").id,
                },
                {"name": "Tour Stage Two", "sequence": 2, "pipeline_type_id": process.id},
            ]
        )
        leads = self.env["crm.lead"].create(
            [
                {
                    "name": f"Tour deal {i}",
                    "type": "opportunity",
                    "stage_id": one.id,
                    "pipeline_type_id": process.id,
                }
                for i in range(1, 4)
            ]
        )
        leads[2].stage_id = two
        self.env.company.default_pipeline_type_id = process
        self.assertNotEqual(process, standard)
        self.start_tour(
            "/odoo/action-sales_process_addon.crm_sales_dashboard_action",
            "sales_process_dashboard_tour",
            login="admin",
        )
