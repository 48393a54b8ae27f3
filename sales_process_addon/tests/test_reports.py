import ast
from datetime import datetime, timedelta

from lxml import etree

from odoo.exceptions import AccessError
from odoo.tests import new_test_user, tagged

from .common import SalesProcessCase

T0 = datetime(2026, 1, 5, 9, 0)


def day(n):
    return T0 + timedelta(days=n)


@tagged("post_install", "-at_install")
class TestReports(SalesProcessCase):
    """Exact figures of every report on one known history.

    Process A: A1 (search, buyer Need) -> A2 (in funnel, buyer Evaluation) -> A3 (won).
    Process B: BX (search) -> B2 (in funnel, buyer Evaluation) -> BWON (won).
    Times are 09:00 UTC; "d+n" is n days after Monday 5 January 2026.

    ==  =====  ====  =======  ===========================================================
    L   owner  team  revenue  life
    ==  =====  ====  =======  ===========================================================
    L1  rep    T     1,000    A1 d+0; A2 d+2; A3 won d+6
    L2  rep    T     2,000    A1 d+0; A2 d+4; lost d+5
    L3  rep2   T     4,000    A1 d+0; A2 d+1; back to A1 d+3; A2 d+7 (open)
    L4  rep2   T     8,000    created in A2 d+0 (open)
    L5  -      T     16,000   A1 d+0 (open)
    L6  rep    -     500      process B: BX d+0; B2 d+10 (open)
    L7  rep    T     3,000    A1 2 Feb; A2 5 Feb; A3 won 9 Feb
    L8  rep2   T     100      A1 d+0; lost d+1; restored d+2; A2 d+4 (open)
    ==  =====  ====  =======  ===========================================================
    """

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.rep2 = new_test_user(
            cls.env, login="sp_rep2", groups="sales_team.group_sale_salesman", name="Rep 2"
        )
        cls.customer = cls.env["res.partner"].create({"name": "Buyer Corp", "is_company": True})
        cls.contact = cls.env["res.partner"].create({"name": "Li Wei", "parent_id": cls.customer.id})

    def setUp(self):
        super().setUp()
        self.types = [("pipeline_type_id", "in", (self.type_a | self.type_b).ids)]

        def lead(name, user, revenue, stage, team=self.team):
            return self.env["crm.lead"].create(
                {
                    "name": name,
                    "type": "opportunity",
                    "user_id": user.id,
                    "team_id": team.id,
                    "expected_revenue": revenue,
                    "stage_id": stage.id,
                    "partner_id": self.customer.id,
                }
            )

        nobody, no_team = self.env["res.users"], self.env["crm.team"]
        with self.at(day(0)):
            self.l1 = lead("L1", self.rep, 1000, self.a1)
            self.l2 = lead("L2", self.rep, 2000, self.a1)
            self.l3 = lead("L3", self.rep2, 4000, self.a1)
            self.l4 = lead("L4", self.rep2, 8000, self.a2)
            self.l5 = lead("L5", nobody, 16000, self.a1)
            self.l6 = lead("L6", self.rep, 500, self.bx, team=no_team)
            self.l8 = lead("L8", self.rep2, 100, self.a1)
        with self.at(day(1)):
            self.l3.stage_id = self.a2
            self.l8.action_set_lost()
        with self.at(day(2)):
            self.l1.stage_id = self.a2
            self.l8.action_restore()
        with self.at(day(3)):
            self.l3.stage_id = self.a1
        with self.at(day(4)):
            self.l2.stage_id = self.a2
            self.l8.stage_id = self.a2
        with self.at(day(5)):
            self.l2.action_set_lost()
        with self.at(day(6)):
            self.l1.stage_id = self.a3
        with self.at(day(7)):
            self.l3.stage_id = self.a2
        with self.at(day(10)):
            self.l6.stage_id = self.b2
        with self.at(datetime(2026, 2, 2, 9, 0)):
            self.l7 = lead("L7", self.rep, 3000, self.a1)
        with self.at(datetime(2026, 2, 5, 9, 0)):
            self.l7.stage_id = self.a2
        with self.at(datetime(2026, 2, 9, 9, 0)):
            self.l7.stage_id = self.a3
        self.leads = self.l1 | self.l2 | self.l3 | self.l4 | self.l5 | self.l6 | self.l7 | self.l8
        self.env.flush_all()

    def _groups(self, model, groupby, aggregates, domain=(), user=None):
        """``{group values: aggregate values}`` of a report, as ``user`` (default: superuser)."""
        Report = self.env[model].with_user(user) if user else self.env[model]
        rows = Report._read_group(list(self.types) + list(domain), groupby, aggregates)
        n = len(groupby)
        return {
            tuple(v.id if hasattr(v, "_name") else v for v in row[:n]): (
                row[n:] if len(aggregates) > 1 else row[n]
            )
            for row in rows
        }

    def _assert_groups(self, actual, expected):
        self.assertEqual(set(actual), set(expected))
        for key, values in expected.items():
            values = values if isinstance(values, tuple) else (values,)
            got = actual[key] if isinstance(actual[key], tuple) else (actual[key],)
            for got_value, value in zip(got, values, strict=True):
                if isinstance(value, float):
                    self.assertAlmostEqual(got_value, value, places=4, msg=f"group {key}")
                else:
                    self.assertEqual(got_value, value, f"group {key}")

    # ------------------------------------------------------------
    # Fixture
    # ------------------------------------------------------------

    def test_fixture(self):
        self.assertEqual(
            self.leads.mapped("won_status"),
            ["won", "lost", "pending", "pending", "pending", "pending", "won", "pending"],
        )
        self.assertFalse(self.l6.team_id)
        self.assertEqual(self.l1.date_closed, day(6))
        self.assertEqual(
            self.l8.stage_history_ids.sorted("id").mapped("event"), ["create", "lost", "restore", "forward"]
        )

    # ------------------------------------------------------------
    # 1. Funnel
    # ------------------------------------------------------------

    def test_funnel(self):
        model, measures, open_ = (
            "crm.sales.funnel.report",
            ["__count", "expected_revenue:sum"],
            [("won_status", "=", "pending")],
        )
        self._assert_groups(
            self._groups(model, ["funnel_state_id"], measures, open_),
            {(self.funnel_search.id,): (1, 16000.0), (self.funnel_in.id,): (4, 12600.0)},
        )
        self._assert_groups(
            self._groups(model, ["stage_id"], measures, open_),
            {(self.a1.id,): (1, 16000.0), (self.a2.id,): (3, 12100.0), (self.b2.id,): (1, 500.0)},
        )
        self._assert_groups(
            self._groups(model, ["buyer_stage_id"], measures, open_),
            {(self.buyer_need.id,): (1, 16000.0), (self.buyer_eval.id,): (4, 12600.0)},
        )
        self._assert_groups(
            self._groups(model, ["pipeline_type_id"], measures, open_),
            {(self.type_a.id,): (4, 28100.0), (self.type_b.id,): (1, 500.0)},
        )
        self._assert_groups(
            self._groups(model, ["team_id"], measures, open_),
            {(self.team.id,): (4, 28100.0), (False,): (1, 500.0)},
        )
        self._assert_groups(
            self._groups(model, ["user_id"], measures, open_),
            {(self.rep.id,): (1, 500.0), (self.rep2.id,): (3, 12100.0), (False,): (1, 16000.0)},
        )
        # Lost opportunities are archived: shown with the "Lost" filter (active_test off).
        Funnel = self.env[model].with_context(active_test=False)
        by_status = {
            status: (count, revenue)
            for status, count, revenue in Funnel._read_group(self.types, ["won_status"], measures)
        }
        self.assertEqual(by_status, {"won": (2, 4000.0), "lost": (1, 2000.0), "pending": (5, 28600.0)})
        by_month = self._groups(model, ["create_date:month", "funnel_state_id"], ["__count"])
        self.assertEqual(by_month[datetime(2026, 2, 1), self.funnel_best.id], 1)
        self.assertEqual(by_month[datetime(2026, 1, 1), self.funnel_best.id], 1)

    # ------------------------------------------------------------
    # 2. Stage conversion
    # ------------------------------------------------------------

    def test_stage_conversion(self):
        model = "crm.stage.conversion.report"
        measures = ["__count", "reached_next_count:sum", "reached_next_rate:avg", "won_rate:avg"]
        # A1: L1 L2 L3 L5 L7 L8 entered (L3 twice: counted once); all but L5 reached A2; L1 L7 won.
        # A2: L1 L2 L3 L4 L7 L8 entered; L1 L7 reached A3 and won.
        # A3 is the last stage: no next stage, no share.
        self._assert_groups(
            self._groups(model, ["pipeline_type_id", "stage_id"], measures),
            {
                (self.type_a.id, self.a1.id): (6, 5, 500 / 6, 200 / 6),
                (self.type_a.id, self.a2.id): (6, 2, 200 / 6, 200 / 6),
                (self.type_a.id, self.a3.id): (2, 0, False, 100.0),
                (self.type_b.id, self.bx.id): (1, 1, 100.0, 0.0),
                (self.type_b.id, self.b2.id): (1, 0, 0.0, 0.0),
            },
        )
        self._assert_groups(
            self._groups(model, ["team_id"], measures),
            {(self.team.id,): (14, 7, 700 / 12, 600 / 14), (False,): (2, 1, 50.0, 0.0)},
        )
        self._assert_groups(
            self._groups(model, ["date:month"], ["__count"]),
            {(datetime(2026, 1, 1),): 13, (datetime(2026, 2, 1),): 3},
        )
        rows = self.env[model].search([("lead_id", "=", self.l3.id)])
        self.assertEqual(
            {(row.stage_id, row.next_stage_id, row.date, row.reached_next_count) for row in rows},
            {(self.a1, self.a2, day(0), 1), (self.a2, self.a3, day(1), 0)},
        )

    def test_stage_entries_rebuild(self):
        """The entries and stays kept up to date move by move equal those rebuilt from the history."""
        Entry, Stay = self.env["crm.lead.stage.entry"], self.env["crm.lead.stage.stay"]
        domain = [("lead_id", "in", self.leads.ids)]
        entry_fields = ["stage_id", "date", "reached_next", "next_stage_id", "user_id", "team_id"]
        entry_fields += ["company_id", "won_status", "lead_type"]
        stay_fields = ["history_id", "date", "event", "pipeline_type_id", "stage_id", "buyer_stage_id"]
        stay_fields += ["funnel_state_id", "company_id", "days", "exception_id", "exit_basis", "user_id"]
        stay_fields += ["team_id", "won_status", "lead_type", "cycle_days"]

        def rows(model, fnames):
            model.invalidate_model()
            return {
                tuple(round(value, 6) if isinstance(value, float) else value for value in row.values())
                for row in model.search_read(domain, ["lead_id", *fnames], load=None)
                for row in [{key: value for key, value in row.items() if key != "id"}]
            }

        entries, stays = rows(Entry, entry_fields), rows(Stay, stay_fields)
        self.assertEqual(len(entries), 16)
        self.assertEqual(len(stays), 11)
        l3 = Entry.search([("lead_id", "=", self.l3.id)])
        self.assertEqual(
            {(e.stage_id, e.date, e.reached_next, e.user_id, e.won_status) for e in l3},
            {(self.a1, day(0), True, self.rep2, "pending"), (self.a2, day(1), False, self.rep2, "pending")},
        )
        # L1's stays: A1 (2 days, forward), A2 (4 days, won), all of a won deal of 6 days.
        self.assertEqual(
            [
                (s.stage_id, s.event, s.days, s.won_status, s.cycle_days)
                for s in Stay.search([("lead_id", "=", self.l1.id)], order="date")
            ],
            [(self.a1, "forward", 2.0, "won", 6.0), (self.a2, "won", 4.0, "won", 6.0)],
        )
        Entry._rebuild()
        Stay._rebuild()
        self.assertEqual(rows(Entry, entry_fields), entries)
        self.assertEqual(rows(Stay, stay_fields), stays)

    def test_report_rows_follow_the_opportunity(self):
        """Reassigned, lost, restored, turned back into a lead: the report rows follow at once."""
        duration, conversion = "crm.stage.duration.report", "crm.stage.conversion.report"

        def seen(model, user):
            return self.env[model].with_user(user).search_count(self.types)

        self.assertEqual((seen(duration, self.rep), seen(conversion, self.rep)), (7, 11))
        # L3 (3 stays, 2 entries) goes from rep2 to rep; L6 joins the team.
        self.l3.user_id = self.rep
        self.l6.team_id = self.team
        self.assertEqual((seen(duration, self.rep), seen(conversion, self.rep)), (10, 13))
        self.assertEqual((seen(duration, self.rep2), seen(conversion, self.rep2)), (1, 4))
        # L3's team follows its new salesperson (CRM's rule): its 3 stays with it.
        self.assertNotEqual(self.l3.team_id, self.team)
        self._assert_groups(
            self._groups(duration, ["team_id"], ["__count"]), {(self.team.id,): 8, (self.l3.team_id.id,): 3}
        )
        # L3 lost: its A2 stay ends, its entries count as lost; restored: the stay goes on.
        conversion_status = ["won_status"]
        with self.at(day(8)):
            self.l3.action_set_lost()
        self.assertEqual(self._groups(duration, ["stage_id"], ["__count"])[(self.a2.id,)], 5)
        self.assertEqual(
            self._groups(conversion, conversion_status, ["__count"], [("lead_id", "=", self.l3.id)]),
            {("lost",): 2},
        )
        with self.at(day(9)):
            self.l3.action_restore()
        self.assertEqual(self._groups(duration, ["stage_id"], ["__count"])[(self.a2.id,)], 4)
        self.assertEqual(
            self._groups(conversion, conversion_status, ["__count"], [("lead_id", "=", self.l3.id)]),
            {("pending",): 2},
        )
        # Written one at a time (as lead assignment does): their rows are synced together.
        leads = self.l1 | self.l2 | self.l7
        for lead in leads:
            lead.user_id = self.rep2
        self.env.flush_all()
        with self.assertQueryCount(2):  # which of them still exist, then one UPDATE
            self.env.cr.flush()
        self.assertEqual(
            set(self.env["crm.lead.stage.stay"].search([("lead_id", "in", leads.ids)]).user_id), {self.rep2}
        )
        # An opportunity turned back into a lead leaves the conversion report.
        self.l5.type = "lead"
        self.assertEqual(self.env[conversion].search_count([("lead_id", "=", self.l5.id)]), 0)

    def test_group_order(self):
        """Groups come in the order of the grouped model (stage sequence), not by id,
        from the grouped read, the pivot's grouping sets, and a page of groups."""
        (self.a1 | self.a2 | self.a3).sudo().write({"sequence": 20})
        self.a2.sequence = 5  # A2, then A1 (name), then A3
        self.env.flush_all()
        Funnel = self.env["crm.sales.funnel.report"].with_context(active_test=False)
        domain = [("pipeline_type_id", "=", self.type_a.id)]
        stages = [
            stage for stage, _count in Funnel._read_group(domain, ["stage_id"], ["__count"], order="stage_id")
        ]
        self.assertEqual(stages, [self.a2, self.a1, self.a3])
        stages = [
            stage
            for stage, _count in Funnel._read_group(domain, ["stage_id"], ["__count"], order="stage_id desc")
        ]
        self.assertEqual(stages, [self.a3, self.a1, self.a2])
        page = Funnel._read_group(domain, ["stage_id"], ["__count"], order="stage_id", limit=2)
        self.assertEqual([stage for stage, _count in page], [self.a2, self.a1])
        by_stage, by_type = Funnel.formatted_read_grouping_sets(
            domain, [["pipeline_type_id", "stage_id"], ["pipeline_type_id"]], ["__count"]
        )
        self.assertEqual([row["stage_id"][0] for row in by_stage], [self.a2.id, self.a1.id, self.a3.id])
        # A2: L2 (lost there) L3 L4 L8; A1: L5; A3: L1 L7 (L6 is in process B).
        self.assertEqual([row["__count"] for row in by_stage], [4, 1, 2])
        self.assertEqual(by_type[0]["__count"], 7)

    # ------------------------------------------------------------
    # 3. Time in stage and cycle length
    # ------------------------------------------------------------

    def test_time_in_stage(self):
        model, measures = "crm.stage.duration.report", ["__count", "days:avg", "days_median:median"]
        # A1 stays: L1 2, L2 4, L3 1 and 4, L7 3, L8 4 (its loss was undone: the stay went on).
        # A2 stays: L1 4, L2 1 (lost), L3 2 (moved back), L7 4. BX: L6 10.
        self._assert_groups(
            self._groups(model, ["stage_id"], measures),
            {(self.a1.id,): (6, 3.0, 3.5), (self.a2.id,): (4, 2.75, 3.0), (self.bx.id,): (1, 10.0, 10.0)},
        )
        self._assert_groups(
            self._groups(model, ["team_id"], measures),
            {(self.team.id,): (10, 2.9, 3.5), (False,): (1, 10.0, 10.0)},
        )
        self._assert_groups(
            self._groups(model, ["event"], ["__count"]),
            {("forward",): 7, ("backward",): 1, ("won",): 2, ("lost",): 1},
        )

    def test_history_reports_open_on_the_last_12_months(self):
        """The reports read from the stage history open on its last 12 months, with a filter the
        manager can remove: the filter's own domain keeps L7's February rows, not January's."""
        in_february = {(self.a1.id,): 1, (self.a2.id,): 1}
        reports = {
            "crm_stage_duration_report_action": in_february,  # L7 left A1 on 5 Feb, A2 on 9 Feb
            "crm_stage_exit_report_action": in_february,
            "crm_stage_conversion_report_action": {**in_february, (self.a3.id,): 1},  # and entered A3
        }
        for xmlid, expected in reports.items():
            with self.subTest(report=xmlid):
                action = self.env.ref(f"sales_process_addon.{xmlid}")
                self.assertEqual(ast.literal_eval(action.context).get("search_default_last_12_months"), 1)
                views = self.env[action.res_model].get_views([(action.search_view_id.id, "search")])
                [node] = etree.fromstring(views["views"]["search"]["arch"]).xpath(
                    "//filter[@name='last_12_months']"
                )
                domain = ast.literal_eval(node.get("domain"))
                with self.at(datetime(2027, 1, 20, 9, 0)):
                    self.assertEqual(
                        self._groups(action.res_model, ["stage_id"], ["__count"], domain), expected
                    )
                    self.assertGreater(
                        sum(self._groups(action.res_model, ["stage_id"], ["__count"]).values()), 3
                    )

    def test_time_in_stage_pivot_median(self):
        """The pivot asks for grouping sets: the median works there too."""
        Report = self.env["crm.stage.duration.report"]
        self.assertEqual(Report.fields_get(["days_median"])["days_median"]["aggregator"], "median")
        rows_by_stage, rows_total = Report.formatted_read_grouping_sets(
            self.types, [["stage_id"], []], ["days_median:median", "days:avg"]
        )
        medians = {row["stage_id"][0]: row["days_median:median"] for row in rows_by_stage}
        self.assertEqual(medians, {self.a1.id: 3.5, self.a2.id: 3.0, self.bx.id: 10.0})
        # All 11 stays: 1 1 2 2 3 [4] 4 4 4 4 10.
        self.assertAlmostEqual(rows_total[0]["days_median:median"], 4.0)
        self.assertAlmostEqual(rows_total[0]["days:avg"], 39 / 11)
        with self.assertRaises(ValueError):
            Report._read_group([], ["stage_id"], ["lead_id:median"])

    def test_cycle_length(self):
        model, measures = (
            "crm.sales.efficiency.report",
            ["__count", "cycle_days:avg", "cycle_days_median:median"],
        )
        # Won: L1 in 6 days, L7 in 7; lost: L2 in 5. L8's loss was undone: not closed.
        self._assert_groups(
            self._groups(model, ["won_status"], measures),
            {("won",): (2, 6.5, 6.5), ("lost",): (1, 5.0, 5.0)},
        )

    # ------------------------------------------------------------
    # 4. Efficiency
    # ------------------------------------------------------------

    def test_efficiency(self):
        model = "crm.sales.efficiency.report"
        measures = [
            "__count",
            "win_rate:avg",
            "won_count:sum",
            "lost_count:sum",
            "deal_size:avg",
            "won_revenue:sum",
            "cycle_days:avg",
        ]
        self._assert_groups(
            self._groups(model, [], measures),
            {(): (3, 200 / 3, 2, 1, 2000.0, 4000.0, 6.0)},
        )
        self._assert_groups(
            self._groups(model, ["date_closed:month"], measures),
            {
                (datetime(2026, 1, 1),): (2, 50.0, 1, 1, 1000.0, 1000.0, 5.5),
                (datetime(2026, 2, 1),): (1, 100.0, 1, 0, 3000.0, 3000.0, 7.0),
            },
        )
        self._assert_groups(
            self._groups(model, ["pipeline_type_id", "team_id", "user_id"], ["__count", "win_rate:avg"]),
            {(self.type_a.id, self.team.id, self.rep.id): (3, 200 / 3)},
        )

    def test_leads_are_left_out_of_the_reports(self):
        """Turned back into leads, L1 (won) and L2 (lost) leave the funnel, efficiency and exit reports:
        they count opportunities only."""
        (self.l1 | self.l2).write({"type": "lead"})
        self.env.flush_all()
        Funnel = self.env["crm.sales.funnel.report"].with_context(active_test=False)
        by_status = {
            status: (count, revenue)
            for status, count, revenue in Funnel._read_group(
                self.types, ["won_status"], ["__count", "expected_revenue:sum"]
            )
        }
        self.assertEqual(by_status, {"won": (1, 3000.0), "pending": (5, 28600.0)})
        self._assert_groups(
            self._groups("crm.sales.efficiency.report", ["won_status"], ["__count", "won_revenue:sum"]),
            {("won",): (1, 3000.0)},
        )
        # Forward and won exits: L3 2, L7 2, L8 1, L6 1 (L1's 2 and L2's 1 are gone).
        self._assert_groups(
            self._groups("crm.stage.exit.report", ["stage_id"], ["__count"]),
            {(self.a1.id,): 4, (self.a2.id,): 1, (self.bx.id,): 1},
        )

    def test_opportunity_without_company_in_the_first_companys_currency(self):
        """An opportunity without company is shown in the first company's currency, not none."""
        with self.at(day(11)):
            orphan = self.env["crm.lead"].create(
                {"name": "No company", "type": "opportunity", "stage_id": self.bx.id, "expected_revenue": 70}
            )
            orphan.company_id = False
        first = self.env["res.company"].search([], order="id", limit=1)
        row = self.env["crm.sales.funnel.report"].search([("lead_id", "=", orphan.id)])
        self.assertEqual((row.currency_id, row.expected_revenue), (first.currency_id, 70.0))

    def test_exit_report_counts_forward_and_won_exits_only(self):
        """L3 left A1 forward twice and A2 backward once: the exit report has its two A1 exits."""
        self._assert_groups(
            self._groups("crm.stage.exit.report", ["stage_id"], ["__count"], [("lead_id", "=", self.l3.id)]),
            {(self.a1.id,): 2},
        )
        # A1: L1 L2 L3 (twice) L7 L8; A2: L1 and L7 won; BX: L6. Not L2's loss nor L3's move back.
        self._assert_groups(
            self._groups("crm.stage.exit.report", ["stage_id", "exit_basis"], ["__count"]),
            {
                (self.a1.id, "no_evidence"): 6,
                (self.a2.id, "no_evidence"): 2,
                (self.bx.id, "no_evidence"): 1,
            },
        )

    def test_stay_ended_by_a_process_switch_counts_in_the_process_left(self):
        """L6 switched from process B to A after 2 days in B2: that stay is B2's, in process B."""
        with self.at(day(12)):
            self.l6.pipeline_type_id = self.type_a
        self.assertEqual(self.l6.stage_id, self.a2)
        rows = self.env["crm.stage.duration.report"].search([("lead_id", "=", self.l6.id)])
        self.assertEqual(
            {(row.pipeline_type_id, row.stage_id, row.event, row.days) for row in rows},
            {(self.type_b, self.bx, "forward", 10.0), (self.type_b, self.b2, "type_switch", 2.0)},
        )

    def test_company_change_moves_the_report_rows(self):
        """L6 moved to another company: its conversion, time in stage and exit rows follow, out of
        this company's reports, also after the rows are rebuilt from the history."""
        other = self.env["res.company"].create({"name": "Other company"})
        domain = [("lead_id", "=", self.l6.id)]
        models = ("crm.stage.conversion.report", "crm.stage.duration.report", "crm.stage.exit.report")
        self.l6.user_id = False  # the rep works for this company only
        for model in models:
            self.assertTrue(self.env[model].with_user(self.manager).search_count(domain), model)
        self.l6.company_id = other
        for rebuilt in (False, True):
            if rebuilt:
                self.env["crm.lead.stage.stay"]._rebuild()
                self.env["crm.lead.stage.entry"]._rebuild()
            for model in models:
                rows = self.env[model].search(domain)
                self.assertTrue(rows, model)
                self.assertEqual(set(rows.company_id), {other}, model)
                self.assertEqual(self.env[model].with_user(self.manager).search_count(domain), 0, model)

    def test_lead_leaves_the_time_in_stage_report(self):
        """Turned back into a lead, L1 leaves the time in stage report, as it leaves the others."""
        domain = [("lead_id", "=", self.l1.id)]
        Duration = self.env["crm.stage.duration.report"]
        self.assertEqual(Duration.search_count(domain), 2)
        self.l1.type = "lead"
        self.assertEqual(Duration.search_count(domain), 0)
        self.assertEqual(self.env["crm.stage.conversion.report"].search_count(domain), 0)
        self.assertEqual(self.env["crm.stage.exit.report"].search_count(domain), 0)

    def test_next_stage_follows_the_team_order(self):
        """A1x, after A1, is another team's stage only: the gate moves team T's deals from A1 to
        A2, and the conversion report takes A2 as A1's next stage for them (A1x for the other
        team's deals), before and after a rebuild."""
        other_team, a1x = self._other_team_stage()
        self.assertEqual(
            self.env["crm.lead"]._stage_gate_sequence(self.type_a.id, self.team.id)[:2],
            [self.a1.id, self.a2.id],
        )
        with self.at(day(12)):
            ours, theirs = self.env["crm.lead"].create(
                [
                    {"name": "L9", "type": "opportunity", "team_id": self.team.id, "stage_id": self.a1.id},
                    {"name": "L10", "type": "opportunity", "team_id": other_team.id, "stage_id": self.a1.id},
                ]
            )
        with self.at(day(13)):
            ours.stage_id = self.a2
            theirs.stage_id = a1x
        Conversion = self.env["crm.stage.conversion.report"]

        def a1_rows():
            rows = Conversion.search([("lead_id", "in", (ours | theirs).ids), ("stage_id", "=", self.a1.id)])
            return {(row.lead_id, row.next_stage_id, row.reached_next_count) for row in rows}

        expected = {(ours, self.a2, 1), (theirs, a1x, 1)}
        self.assertEqual(a1_rows(), expected)
        self.env["crm.lead.stage.entry"]._rebuild()
        self.assertEqual(a1_rows(), expected)

    def test_report_read_sees_the_writes_of_its_transaction(self):
        """A report read right after a write in the same transaction (a server action, an RPC
        call that writes then reads) shows the written figures."""
        self.l5.expected_revenue = 99999
        row = self.env["crm.sales.funnel.report"].search_read(
            [("lead_id", "=", self.l5.id)], ["expected_revenue"]
        )
        self.assertEqual(row[0]["expected_revenue"], 99999)

    def test_next_stage_follows_the_stage_order(self):
        """A stage added after A1 (same sequence, created later) is A1's next stage, not A2."""
        a1b = self.env["crm.stage"].create({"name": "A1b", "sequence": 1, "pipeline_type_id": self.type_a.id})
        with self.at(day(12)):
            deal = self.env["crm.lead"].create(
                {"name": "L9", "type": "opportunity", "team_id": self.team.id, "stage_id": self.a1.id}
            )
        with self.at(day(13)):
            deal.stage_id = a1b
        rows = self.env["crm.stage.conversion.report"].search([("lead_id", "=", deal.id)])
        self.assertEqual(
            {(row.stage_id, row.next_stage_id, row.reached_next_count) for row in rows},
            {(self.a1, a1b, 1), (a1b, self.a2, 0)},
        )

    def test_entry_after_the_next_stage_is_not_converted_after_a_rebuild(self):
        """L4, created in A2, moved back to A1 and stays there: A1 did not lead to A2, before or
        after the entries are rebuilt from the history."""
        with self.at(day(8)):
            self.l4.stage_id = self.a1
        Conversion = self.env["crm.stage.conversion.report"]
        domain = [("lead_id", "=", self.l4.id)]

        def converted():
            return {(row.stage_id, row.reached_next_count) for row in Conversion.search(domain)}

        self.assertEqual(converted(), {(self.a2, 0), (self.a1, 0)})
        self.env["crm.lead.stage.entry"]._rebuild()
        self.assertEqual(converted(), {(self.a2, 0), (self.a1, 0)})

    def test_group_order_of_a_page_in_descending_order(self):
        """A page of groups in descending stage order: the first groups of the stage order."""
        (self.a1 | self.a2 | self.a3).sudo().write({"sequence": 20})
        self.a2.sequence = 5  # A2, then A1 (name), then A3
        self.env.flush_all()
        Funnel = self.env["crm.sales.funnel.report"].with_context(active_test=False)
        domain = [("pipeline_type_id", "=", self.type_a.id)]
        page = Funnel._read_group(domain, ["stage_id"], ["__count"], order="stage_id desc", limit=2)
        self.assertEqual([stage for stage, _count in page], [self.a3, self.a1])

    def test_group_order_puts_the_empty_group_last(self):
        """Ascending, the opportunities without a team come after the teams; descending, first."""
        Funnel = self.env["crm.sales.funnel.report"]
        for order, expected in (("team_id", [self.team, False]), ("team_id desc", [False, self.team])):
            groups = Funnel._read_group(self.types, ["team_id"], ["__count"], order=order)
            self.assertEqual([team or False for team, _count in groups], expected, order)

    def test_group_order_keeps_an_archived_team_in_place(self):
        """An archived team's group keeps its place in the team order (here first)."""
        first = self.env["crm.team"].create({"name": "First team", "sequence": 1})
        self.l5.team_id = first
        first.action_archive()
        groups = self.env["crm.sales.funnel.report"]._read_group(
            self.types, ["team_id"], ["__count"], order="team_id"
        )
        self.assertEqual([team or False for team, _count in groups], [first, self.team, False])

    def test_group_order_by_a_flag_then_the_stage(self):
        """Grouped by active flag and stage: the archived rows (False) come first, as in SQL."""
        Funnel = self.env["crm.sales.funnel.report"].with_context(active_test=False)
        groups = Funnel._read_group(self.types, ["active", "stage_id"], ["__count"], order="active, stage_id")
        flags = [active for active, _stage, _count in groups]
        self.assertIn(False, flags)
        self.assertEqual(flags, sorted(flags))

    # ------------------------------------------------------------
    # 5. Exceptions
    # ------------------------------------------------------------

    def _exceptions(self):
        Exception_ = self.env["crm.stage.exception"]
        with self.at(day(20)):
            skip, backward, missing = Exception_.create(
                [
                    {
                        "lead_id": self.l5.id,
                        "from_stage_id": self.a1.id,
                        "to_stage_id": self.a3.id,
                        "reason": "Signed at the first meeting",
                        "requested_by_id": self.rep.id,
                    },
                    {
                        "lead_id": self.l4.id,
                        "from_stage_id": self.a2.id,
                        "to_stage_id": self.a1.id,
                        "reason": "Imported in the wrong stage",
                        "requested_by_id": self.rep2.id,
                    },
                    {
                        "lead_id": self.l3.id,
                        "from_stage_id": self.a2.id,
                        "to_stage_id": self.a3.id,
                        "reason": "The customer lost the email",
                        "requested_by_id": self.rep2.id,
                    },
                ]
            )
            backward.with_user(self.manager).action_approve()
            missing.with_user(self.manager).action_reject("Not convinced")
        return skip | backward | missing

    def test_exceptions(self):
        exceptions = self._exceptions()
        domain = [("id", "in", exceptions.ids)]
        Exception_ = self.env["crm.stage.exception"]

        def groups(groupby, user=None):
            model = Exception_.with_user(user) if user else Exception_
            return {
                tuple(v.id if hasattr(v, "_name") else v for v in row[:-1]): row[-1]
                for row in model._read_group(domain, groupby, ["__count"])
            }

        self.assertEqual(groups(["kind"]), {("skip",): 1, ("backward",): 1, ("missing_evidence",): 1})
        self.assertEqual(groups(["state"]), {("pending",): 1, ("approved",): 1, ("rejected",): 1})
        self.assertEqual(groups(["requested_by_id"]), {(self.rep.id,): 1, (self.rep2.id,): 2})
        self.assertEqual(groups(["approver_id"]), {(self.manager.id,): 2, (False,): 1})
        self.assertEqual(groups(["team_id", "create_date:month"]), {(self.team.id, datetime(2026, 1, 1)): 3})
        # A rep sees the exceptions of his and of unassigned opportunities; a manager all.
        self.assertEqual(groups(["kind"], self.rep), {("skip",): 1})
        self.assertEqual(sum(groups(["kind"], self.rep2).values()), 3)
        self.assertEqual(sum(groups(["kind"], self.manager).values()), 3)

    # ------------------------------------------------------------
    # Rights
    # ------------------------------------------------------------

    def test_rights(self):
        """Reps see the rows of their own and of unassigned opportunities; managers all."""
        expected = {
            # model: (rows seen by rep, by rep2, by the manager)
            "crm.sales.funnel.report": (4, 4, 7),  # active opportunities
            "crm.stage.conversion.report": (11, 6, 16),
            "crm.stage.duration.report": (7, 4, 11),
            "crm.sales.efficiency.report": (3, 0, 3),
        }
        for model, counts in expected.items():
            seen = tuple(
                self.env[model].with_user(user).search_count(self.types)
                for user in (self.rep, self.rep2, self.manager)
            )
            self.assertEqual(seen, counts, model)
        # The rows a rep sees are those of his opportunities, by the grouped read too.
        own = self._groups("crm.stage.duration.report", ["user_id"], ["__count"], user=self.rep)
        self.assertEqual(own, {(self.rep.id,): 7})
        # Users outside sales read none of them.
        employee = new_test_user(self.env, login="sp_employee", groups="base.group_user")
        for model in expected:
            with self.assertRaises(AccessError):
                self.env[model].with_user(employee).search_count([])
        funnel = self._groups(
            "crm.sales.funnel.report",
            ["user_id"],
            ["expected_revenue:sum"],
            [("won_status", "=", "pending")],
            self.rep,
        )
        self.assertEqual(funnel, {(self.rep.id,): 500.0, (False,): 16000.0})

    def test_rights_other_company(self):
        """Rows of another company's opportunities are seen by its users only."""
        other = self.env["res.company"].create({"name": "Other company"})
        with self.at(day(0)):
            foreign = (
                self.env["crm.lead"]
                .with_company(other)
                .create(
                    {"name": "Foreign", "type": "opportunity", "company_id": other.id, "stage_id": self.a1.id}
                )
            )
        both = new_test_user(
            self.env,
            login="sp_manager_both",
            groups="sales_team.group_sale_manager",
            company_id=other.id,
            company_ids=[(6, 0, (self.env.company | other).ids)],
        )
        for model in ("crm.sales.funnel.report", "crm.stage.conversion.report"):
            domain = [("lead_id", "=", foreign.id)]
            self.assertFalse(self.env[model].with_user(self.manager).search(domain), model)
            self.assertFalse(self.env[model].with_user(self.rep).search(domain), model)
            Report = self.env[model].with_user(both).with_context(allowed_company_ids=[other.id])
            self.assertEqual(Report.search(domain).lead_id, foreign, model)

    # ------------------------------------------------------------
    # 6. Pipeline review sheet
    # ------------------------------------------------------------

    def _review_fixture(self):
        milestone_optional, milestone_required = self.env["crm.stage.milestone"].create(
            [
                {"name": "Budget shared", "stage_id": self.a2.id, "required": False, "customer_led": False},
                {"name": "Decision maker met", "stage_id": self.a2.id},
            ]
        )
        kind_email = self.env.ref("sales_process_addon.evidence_kind_customer_email")
        Evidence = self.env["crm.lead.evidence"]
        with self.at(day(21)):
            Evidence.create(
                [
                    {
                        "lead_id": self.l4.id,
                        "milestone_id": milestone_optional.id,
                        "kind_id": kind_email.id,
                        "date": day(8).date(),
                        "summary": "Budget of 8,000 shared",
                        "customer_partner_id": self.contact.id,
                    },
                    {
                        "lead_id": self.l4.id,
                        "milestone_id": milestone_optional.id,
                        "kind_id": kind_email.id,
                        "date": day(12).date(),
                        "summary": "Confirmed our meeting summary",
                        "customer_partner_id": self.contact.id,
                    },
                    {
                        "lead_id": self.l4.id,
                        "milestone_id": milestone_optional.id,
                        "kind_id": kind_email.id,
                        "date": day(14).date(),
                        "summary": "We sent the proposal",
                        "internal_user_id": self.rep2.id,
                    },
                    {
                        "lead_id": self.l3.id,
                        "milestone_id": milestone_optional.id,
                        "kind_id": kind_email.id,
                        "date": day(9).date(),
                        "summary": "Internal note",
                        "internal_user_id": self.rep2.id,
                    },
                ]
            )
            self.l4.activity_schedule(
                "mail.mail_activity_data_call",
                date_deadline=day(23).date(),
                summary="Call the CFO",
                user_id=self.rep2.id,
            )
        return milestone_required

    def test_pipeline_review_values(self):
        milestone = self._review_fixture()
        Review = self.env["report.sales_process_addon.report_pipeline_review_team"]
        values = Review._get_report_values(self.team.ids)
        sheet = values["sheets"][0]
        lines = [
            (line["lead"], line["evidence"]) for section in sheet["sections"] for line in section["lines"]
        ]
        missing = [line[0].milestone_missing for line in lines]
        activities = [line[0].activity_date_deadline for line in lines]
        self.assertEqual(values["show_qualification"], "qualification_status" in self.env["crm.lead"]._fields)
        self.assertEqual((sheet["doc"], sheet["count"], sheet["expected_revenue"]), (self.team, 4, 28100.0))
        self.assertEqual(
            [(s["title"], s["count"], s["expected_revenue"]) for s in sheet["sections"]],
            [("Rep 2", 3, 12100.0), ("Unassigned", 1, 16000.0)],
        )
        # Open opportunities of the team only, by salesperson, then stage, then revenue.
        self.assertEqual([lead for lead, _evidence in lines], [self.l4, self.l3, self.l8, self.l5])
        self.assertEqual(lines[0][1].summary, "Confirmed our meeting summary")
        self.assertEqual([evidence for _lead, evidence in lines[1:]], [None, None, None])
        self.assertEqual(missing, [milestone._gate_label()] * 3 + [False])
        self.assertEqual(activities, [day(23).date(), False, False, False])

    def test_pipeline_review_queries(self):
        """The number of queries of a sheet does not grow with its opportunities."""
        self._review_fixture()
        Review = self.env["report.sales_process_addon.report_pipeline_review_team"]
        html = self.env["ir.actions.report"]._render_qweb_html

        def count_queries():
            self.env.invalidate_all()
            start = self.cr.sql_log_count
            Review._get_report_values(self.team.ids)
            values_queries = self.cr.sql_log_count - start
            self.env.invalidate_all()
            start = self.cr.sql_log_count
            html("sales_process_addon.action_report_pipeline_review_team", self.team.ids)
            return values_queries, self.cr.sql_log_count - start

        count_queries()  # the first rendering compiles the templates
        before = count_queries()
        with self.at(day(22)):
            more = self._create_leads(
                20,
                user_id=self.rep2.id,
                team_id=self.team.id,
                stage_id=self.a2.id,
                partner_id=self.customer.id,
            )
            for lead in more[:5]:
                lead.activity_schedule("mail.mail_activity_data_call", summary="Call", user_id=self.rep2.id)
        self.assertEqual(count_queries(), before)

    def test_pipeline_review_rights(self):
        """A rep's sheet of his team shows what he may see: his and unassigned opportunities."""
        Review = self.env["report.sales_process_addon.report_pipeline_review_team"].with_user(self.rep)
        sheet = Review._get_report_values(self.team.ids)["sheets"][0]
        self.assertEqual([s["title"] for s in sheet["sections"]], ["Unassigned"])
        user_sheet = (
            self.env["report.sales_process_addon.report_pipeline_review_user"]
            .with_user(self.rep)
            ._get_report_values(self.rep.ids)["sheets"][0]
        )
        self.assertEqual([line["lead"] for line in user_sheet["sections"][0]["lines"]], [self.l6])

    def test_pipeline_review_in_the_users_language(self):
        """The sheet's section of unassigned opportunities is titled in the reader's language."""
        self.env["res.lang"]._activate_lang("zh_CN")
        Review = self.env["report.sales_process_addon.report_pipeline_review_team"].with_user(self.rep)
        sheet = Review.with_context(lang="zh_CN")._get_report_values(self.team.ids)["sheets"][0]
        self.assertEqual([s["title"] for s in sheet["sections"]], ["未分配"])

    def test_pipeline_review_pdf(self):
        self._review_fixture()
        Report = self.env["ir.actions.report"].with_context(force_report_rendering=True)
        # One document per call: wkhtmltopdf builds without patched Qt cannot merge several
        # documents in one call when the report's assets cannot be fetched (no HTTP server running).
        for report_ref, docs in (
            ("sales_process_addon.action_report_pipeline_review_team", self.team),
            ("sales_process_addon.action_report_pipeline_review_user", self.rep2),
        ):
            pdf, report_type = self._render_pdf(report_ref, docs.ids, self.manager)
            self.assertEqual(report_type, "pdf")
            self.assertTrue(pdf.startswith(b"%PDF"), report_ref)
        html = Report._render_qweb_html(
            "sales_process_addon.action_report_pipeline_review_user", (self.rep2 | self.rep).ids
        )[0]
        self.assertEqual(html.count(b"o_pipeline_review_table"), 2)
        for text in (b"Rep 2", b"L6", b"L8"):
            self.assertIn(text, html)
        html = Report._render_qweb_html(
            "sales_process_addon.action_report_pipeline_review_team", self.team.ids
        )[0]
        for text in (
            b"L4",
            b"Confirmed our meeting summary",
            b"Decision maker met",
            b"Call the CFO",
            b"Unassigned",
        ):
            self.assertIn(text, html)
        self.assertNotIn(b"We sent the proposal", html)

    def test_pipeline_review_list(self):
        action = self.env["ir.actions.act_window"]._for_xml_id(
            "sales_process_addon.crm_lead_action_pipeline_review"
        )
        domain = ast.literal_eval(action["domain"])
        leads = self.env["crm.lead"].search(domain + [("id", "in", self.leads.ids)])
        self.assertEqual(leads, self.l3 | self.l4 | self.l5 | self.l6 | self.l8)

    def test_pipeline_review_leaves_out_archived_opportunities(self):
        """An archived opportunity still pending is not on the sheet, even read with archived
        records (active_test off)."""
        # Archived with no probability, Odoo takes it for lost: a manual one keeps it pending.
        self.l4.write({"probability": 40.0, "active": False})
        self.assertEqual(self.l4.won_status, "pending")
        Review = self.env["report.sales_process_addon.report_pipeline_review_team"]
        sheet = Review.with_context(active_test=False)._get_report_values(self.team.ids)["sheets"][0]
        leads = [line["lead"] for section in sheet["sections"] for line in section["lines"]]
        self.assertEqual(leads, [self.l3, self.l8, self.l5])

    def test_pipeline_review_latest_evidence_of_a_day(self):
        """Two customer evidence of the same day: the sheet shows the one recorded last."""
        milestone = self._review_fixture()
        kind_email = self.env.ref("sales_process_addon.evidence_kind_customer_email")
        with self.at(day(22)):
            later = self.env["crm.lead.evidence"].create(
                {
                    "lead_id": self.l4.id,
                    "milestone_id": milestone.id,
                    "kind_id": kind_email.id,
                    "date": day(12).date(),
                    "summary": "Decision maker confirmed by email",
                    "customer_partner_id": self.contact.id,
                }
            )
        latest = self.env["crm.pipeline.review.report"]._latest_customer_evidence(self.l4)
        self.assertEqual(latest[self.l4.id], later)

    def test_pipeline_review_wide_characters_take_two_places(self):
        """Chinese characters are twice as wide as Latin ones: the row height counts them double."""
        Review = self.env["crm.pipeline.review.report"]
        width = Review._COLUMN_WIDTHS["evidence"]  # 45 Latin characters a line
        self.assertEqual(Review._text_lines("x" * 30, width), 1)
        self.assertEqual(Review._text_lines("客" * 30, width), 2)
        self.assertEqual(Review._text_lines("x" * 30 + "\n" + "客" * 10, width), 2)

    def test_pipeline_review_sections_by_salesperson_name(self):
        """Sections follow the salespeople's names, whatever the order they were created in."""
        aaron = new_test_user(
            self.env, login="sp_aaron", groups="sales_team.group_sale_salesman", name="Aaron"
        )
        self.assertGreater(aaron.id, self.rep2.id)
        self.l5.write({"user_id": aaron.id, "team_id": self.team.id})
        Review = self.env["report.sales_process_addon.report_pipeline_review_team"]
        sheet = Review._get_report_values(self.team.ids)["sheets"][0]
        self.assertEqual([s["title"] for s in sheet["sections"]], ["Aaron", "Rep 2"])
