from datetime import datetime, timedelta

from odoo.exceptions import UserError
from odoo.tests import tagged

from . import test_stage_tasks_background as background
from .common_gate import StageGateCase

T0 = datetime(2026, 3, 2, 9, 0)


def day(n):
    return T0 + timedelta(days=n)


@tagged("post_install", "-at_install")
class TestMergeStageTasks(StageGateCase):
    """A merge leaves the deal kept with its current stage's tasks once; the merged deals'
    tasks of other stages close as a move out of those stages would close them."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.team.user_id = cls.manager
        call = cls.env.ref("mail.mail_activity_data_call")
        todo = cls.env.ref("mail.mail_activity_data_todo")

        def plan(name):
            return cls.env["mail.activity.plan"].create(
                {
                    "name": name,
                    "res_model": "crm.lead",
                    "template_ids": [
                        (
                            0,
                            0,
                            {
                                "activity_type_id": call.id,
                                "summary": f"{name}: call",
                                "responsible_type": "crm_salesperson",
                            },
                        ),
                        (
                            0,
                            0,
                            {
                                "activity_type_id": todo.id,
                                "summary": f"{name}: review",
                                "responsible_type": "crm_team_leader",
                            },
                        ),
                    ],
                }
            )

        cls.a1.activity_plan_id = plan("A1")
        cls.a2.activity_plan_id = plan("A2")
        cls.b2.activity_plan_id = plan("B2")

    def _run_queue(self):
        """Nothing queued: the moves schedule their tasks themselves (see the subclass)."""

    def _tasks(self, lead):
        self._run_queue()
        return sorted(
            self.env["mail.activity"]
            .search([("res_model", "=", "crm.lead"), ("res_id", "=", lead.id)])
            .mapped("summary")
        )

    def _deal(self, stage, **values):
        """A deal of the team created in ``stage`` of process A (as a sales manager may)."""
        return self._lead(stage, team_id=self.team.id, **values)

    def _merge(self, head, *tails):
        """Merge as a sales manager, ``head`` kept (Odoo keeps the higher probability here)."""
        head.probability = 90
        for tail in tails:
            tail.probability = 10
        merged = head.union(*tails).with_user(self.manager).merge_opportunity()
        self.assertEqual(merged, head)
        self.assertFalse(head.union(*tails).exists() - head)
        return merged

    def test_same_stage_tasks_once(self):
        """Three deals in A2 merged: A2's tasks once, not three times; a rep's own activity of a
        merged deal follows it, as in Odoo."""
        head, tail, other = (self._deal(self.a2, name=name) for name in ("Head", "Tail", "Other"))
        tail.activity_schedule(
            "mail.mail_activity_data_todo", summary="Personal reminder", user_id=self.rep.id
        )
        self.assertEqual(self._tasks(tail), ["A2: call", "A2: review", "Personal reminder"])
        self._merge(head, tail, other)
        self.assertEqual(self._tasks(head), ["A2: call", "A2: review", "Personal reminder"])

    def test_same_stage_task_done_on_the_head_moves(self):
        """A task the kept deal has done is not open: the merged deal's open one is no duplicate."""
        head, tail = self._deal(self.a2, name="Head"), self._deal(self.a2, name="Tail")
        self._run_queue()
        head.activity_ids.filtered(lambda task: task.summary == "A2: call").action_done()
        self._merge(head, tail)
        self.assertEqual(self._tasks(head), ["A2: call", "A2: review"])

    def test_tasks_of_another_stage_close(self):
        """The merged deal in A1 leaves A1 for the kept deal's A2: its A1 tasks close, and do not
        linger once the kept deal moves on."""
        head, tail = self._deal(self.a2, name="Head"), self._deal(self.a1, name="Tail")
        self.assertEqual(self._tasks(tail), ["A1: call", "A1: review"])
        self._merge(head, tail)
        self.assertEqual(self._tasks(head), ["A2: call", "A2: review"])
        head.stage_id = self.a1
        self.assertEqual(self._tasks(head), ["A1: call", "A1: review"])

    def test_tasks_of_another_stage_stay_when_the_process_keeps_them(self):
        """A process that keeps the tasks of a stage left keeps them through a merge too."""
        self.type_a.cancel_tasks_on_exit = False
        head, tail = self._deal(self.a2, name="Head"), self._deal(self.a1, name="Tail")
        self._merge(head, tail)
        self.assertEqual(self._tasks(head), ["A1: call", "A1: review", "A2: call", "A2: review"])

    def test_tasks_of_another_process_close(self):
        """A deal of process B merged into one of process A: its B2 tasks close (process B
        cancels on exit), whatever process A does."""
        self.type_a.cancel_tasks_on_exit = False
        head = self._deal(self.a2, name="Head")
        tail = self._lead(self.bx, name="Tail", pipeline_type_id=self.type_b.id, team_id=self.team.id)
        tail.stage_id = self.b2
        self.assertEqual(self._tasks(tail), ["B2: call", "B2: review"])
        self._merge(head, tail)
        self.assertEqual(self._tasks(head), ["A2: call", "A2: review"])

    def test_lost_deal_kept_carries_no_stage_tasks(self):
        """Merged into a lost deal (all of them lost, or leads merged into a lost opportunity), a
        deal's stage tasks close as the loss closes them."""
        head = self._deal(self.a2, name="Head")
        head.action_set_lost()
        tail = self._deal(self.a2, name="Tail", type="lead")
        self.assertEqual(self._tasks(tail), ["A2: call", "A2: review"])
        merged = (head | tail).with_user(self.manager).merge_opportunity()
        self.assertEqual(merged, head)
        self.assertEqual(self._tasks(head), [])

    def test_stale_alerts_of_merged_deals_close(self):
        """Each deal idle in A2 has the salesperson's alert: the merged deal's closes (it was
        about that deal), where moving it would break the one-alert-per-deal rule."""
        head, tail = self._deal(self.a2, name="Head"), self._deal(self.a2, name="Tail")
        self._run_queue()
        alerts = (head | tail)._stage_alerts_raise()
        self.assertEqual(len(alerts), 2)
        self._merge(head, tail)
        self.assertEqual(self._tasks(head), ["A2: call", "A2: review", alerts[0].summary])
        self.assertEqual(alerts.exists().res_id, head.id)

    def test_mass_conversion_with_deduplication(self):
        """Two leads of one customer, each with A1's tasks, merged by the mass conversion."""
        self.customer.email = "buyer@example.com"
        leads = self.env["crm.lead"].create(
            [
                {
                    "name": f"Lead {i}",
                    "type": "lead",
                    "pipeline_type_id": self.type_a.id,
                    "team_id": self.team.id,
                    "partner_id": self.customer.id,
                    "email_from": "buyer@example.com",
                }
                for i in range(2)
            ]
        )
        self.assertEqual(self._tasks(leads[0]), ["A1: call", "A1: review"])
        wizard = (
            self.env["crm.lead2opportunity.partner.mass"]
            .with_user(self.manager)
            .with_context(active_ids=leads[:1].ids, active_model="crm.lead")
            .create(
                {
                    "name": "convert",
                    "action": "exist",
                    "partner_id": self.customer.id,
                    "deduplicate": True,
                    "user_ids": [(6, 0, self.rep.ids)],
                    "team_id": self.team.id,
                }
            )
        )
        self.assertFalse(wizard.duplicated_lead_ids - leads)
        wizard.action_mass_convert()
        kept = leads.exists()
        self.assertEqual(len(kept), 1)
        self.assertEqual(self._tasks(kept), ["A1: call", "A1: review"])


@tagged("post_install", "-at_install")
class TestMergeStageTasksInBackground(TestMergeStageTasks):
    """The same, with the stage tasks in the background: the merge works the deals' queue first."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        background._stage_tasks_in_background(cls)

    _run_queue = background.TestStageTasksInBackground._run_queue


@tagged("post_install", "-at_install")
class TestMergeWonDeal(StageGateCase):
    """Odoo keeps the deal whose stage has the highest sequence: the won stage, in one pipeline.
    Processes' sequences overlap: a won deal survives the merge whatever the sequences."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        # Process B's stages after A's: B2 comes after A's won stage A3.
        cls.bwon.sequence = 20
        cls.b2.sequence = 10

    def test_won_deal_is_kept(self):
        won = self._lead(self.a3, name="Won deal", expected_revenue=50000)
        self.assertEqual(won.won_status, "won")
        other = self._lead(self.b2, name="Open deal", pipeline_type_id=self.type_b.id, expected_revenue=1000)
        self.assertGreater(other.stage_id.sequence, won.stage_id.sequence)
        merged = (won | other).with_user(self.manager).merge_opportunity()
        self.assertEqual(merged, won)
        self.assertFalse(other.exists())
        self.assertEqual(
            (merged.won_status, merged.stage_id, merged.pipeline_type_id, merged.expected_revenue),
            ("won", self.a3, self.type_a, 50000),
        )
        self.assertIn(self.b2, merged.stage_history_ids.to_stage_id, "the open deal's history moved")

    def test_won_deals_of_one_process_merge(self):
        first = self._lead(self.a3, name="First won deal")
        second = self._lead(self.a4, name="Second won deal")
        merged = (first | second).with_user(self.manager).merge_opportunity()
        self.assertEqual((merged, merged.won_status), (second, "won"), "Odoo's order: the later stage")

    def test_won_deals_of_two_processes_are_not_merged(self):
        won_a = self._lead(self.a3, name="Won in A")
        won_b = self._lead(self.bwon, name="Won in B", pipeline_type_id=self.type_b.id)
        with self.assertRefused(
            UserError,
            r"Won opportunities of different sales processes cannot be merged: "
            r"Won in A \(Process A\), Won in B \(Process B\)",
        ):
            (won_a | won_b).with_user(self.manager).merge_opportunity()
        self.assertEqual(len((won_a | won_b).exists()), 2)

    def test_odoo_order_among_open_deals(self):
        """No won deal: Odoo's order (stage sequence first) stands."""
        early = self._lead(name="Early")
        late = self._lead(self.a2, name="Late")
        early.probability = 90
        self.assertEqual((early | late)._sort_by_confidence_level(reverse=True).ids, [late.id, early.id])
        self.assertEqual((early | late)._sort_by_confidence_level().ids, [early.id, late.id])


@tagged("post_install", "-at_install")
class TestMergeStageEntries(StageGateCase):
    """The stage entries (conversion report) of the deal kept equal those rebuilt from the
    merged history."""

    ENTRY_FIELDS = ["stage_id", "date", "reached_next", "next_stage_id", "user_id", "team_id"]
    ENTRY_FIELDS += ["company_id", "won_status", "lead_type"]
    STAY_FIELDS = ["history_id", "date", "event", "stage_id", "days", "exit_basis", "won_status"]

    def _rows(self, model, lead, fnames):
        self.env[model].invalidate_model()
        return sorted(
            tuple(round(row[fname], 6) if isinstance(row[fname], float) else row[fname] for fname in fnames)
            for row in self.env[model].search_read([("lead_id", "=", lead.id)], fnames, load=None)
        )

    def _assert_as_rebuilt(self, lead):
        entries = self._rows("crm.lead.stage.entry", lead, self.ENTRY_FIELDS)
        stays = self._rows("crm.lead.stage.stay", lead, self.STAY_FIELDS)
        self.env["crm.lead.stage.entry"]._rebuild()
        self.env["crm.lead.stage.stay"]._rebuild()
        self.assertEqual(self._rows("crm.lead.stage.entry", lead, self.ENTRY_FIELDS), entries)
        self.assertEqual(self._rows("crm.lead.stage.stay", lead, self.STAY_FIELDS), stays)
        return entries

    def _merge(self, head, tail):
        head.probability, tail.probability = 90, 10
        with self.at(day(9)):
            merged = (head | tail).with_user(self.manager).merge_opportunity()
        self.assertEqual(merged, head)
        return merged

    def _tail_there_and_back(self, start):
        """A deal created on day ``start`` in A1, in A2 the next day, back in A1 the day after."""
        with self.at(day(start)):
            tail = self._lead(name="Tail", team_id=self.team.id)
            self._prove_a1(tail)
        with self.at(day(start + 1)):
            tail.stage_id = self.a2
        with self.at(day(start + 2)):
            tail.stage_id = self.a1
        return tail

    def _a1_entry(self, lead):
        return self.env["crm.lead.stage.entry"].search(
            [("lead_id", "=", lead.id), ("stage_id", "=", self.a1.id)]
        )

    def test_kept_entry_reached_next_through_the_merged_deal(self):
        """The kept deal entered A1 first and stayed; the merged deal went on to A2 since: A1
        led to A2."""
        with self.at(day(0)):
            head = self._lead(name="Head", team_id=self.team.id)
        tail = self._tail_there_and_back(1)
        self.assertFalse(self._a1_entry(head).reached_next)
        merged = self._merge(head, tail)
        entries = self._assert_as_rebuilt(merged)
        self.assertEqual(
            [(stage, date, reached) for stage, date, reached, *_rest in entries],
            [(self.a1.id, day(0), True), (self.a2.id, day(2), False)],
        )

    def test_kept_entry_dated_by_the_merged_deal(self):
        """The merged deal entered A1 before the kept deal: A1 was first entered then."""
        tail = self._tail_there_and_back(0)
        with self.at(day(5)):
            head = self._lead(name="Head", team_id=self.team.id)
        head_entry = self._a1_entry(head)
        merged = self._merge(head, tail)
        self.assertEqual(self._a1_entry(merged), head_entry, "the kept deal's row, updated")
        entries = self._assert_as_rebuilt(merged)
        self.assertEqual(
            [(stage, date, reached) for stage, date, reached, *_rest in entries],
            [(self.a1.id, day(0), True), (self.a2.id, day(1), False)],
        )
