import importlib.util
import json
import threading
from datetime import date, datetime, timedelta
from pathlib import Path
from unittest.mock import patch

import psycopg2
from hypothesis import given
from hypothesis import strategies as st

from odoo import fields, sql_db
from odoo.exceptions import AccessError, UserError, ValidationError
from odoo.service import server
from odoo.tests import HttpCase, JsonRpcException, TransactionCase, new_test_user, tagged
from odoo.tools import SQL, config, mute_logger

from odoo.addons.sales_process_addon.models.crm_lead_stage_tasks import cron_workers_run

from . import test_stage_tasks
from .common_hypothesis import property_settings

BACKGROUND = "sales_process_addon.stage_tasks_in_background"


CRON_WORKERS_RUN = "odoo.addons.sales_process_addon.models.crm_lead_stage_tasks.cron_workers_run"


def _stage_tasks_in_background(test_class):
    """The setting on for the tests of ``test_class``, on a server that runs scheduled actions."""
    test_class.env["ir.config_parameter"].set_param(BACKGROUND, True)
    # The parameter is rolled back with the class; Odoo's cache of parameters must follow.
    test_class.addClassCleanup(test_class.registry.clear_cache)
    # A server that runs scheduled actions (a test run runs none, whatever its configuration).
    test_class.startClassPatcher(patch(CRON_WORKERS_RUN, return_value=True))


@tagged("post_install", "-at_install")
class TestStageTasksInBackground(test_stage_tasks.TestStageTasks):
    """With the stage tasks in the background (Settings), every test of the
    stage tasks runs again: the moves only queue their tasks, and the queue is
    worked, as the scheduler does, before each look at the tasks."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        _stage_tasks_in_background(cls)

    def _run_queue(self, **context):
        """Work the queue as the scheduler does: in its own cursor, whose commits are savepoints here."""
        self.env.flush_all()
        with self.enter_registry_test_mode(), self.registry.cursor() as cr:
            self.env["crm.lead"].with_env(self.env(cr=cr)).with_context(
                **context
            )._cron_schedule_stage_tasks()
        self.env.invalidate_all()

    def _queue(self):
        return self.env["crm.lead.stage.task.job"].search([])

    def _stage_tasks(self, lead, stage=None):
        self._run_queue()
        self.assertFalse(self._queue(), "the queue is worked to the end")
        return super()._stage_tasks(lead, stage)

    def test_move_reads_open_tasks_once(self):
        """The move only queues (a constant number of queries, no activity created or deleted);
        working the queue reads the leads' open tasks once, then creates and deletes in one call each."""
        created, deleted = [], []
        for count in (5, 25):
            leads, before = self._leads_moved_in_sql(count)
            with self._counted_activity_writes(created, deleted):
                done = (len(created), len(deleted))
                # The gate's judgement and history rows, as for any move, without their report rows,
                # and the queue's rows in one insert; the scheduler is woken after the commit. 15 when
                # the move schedules the tasks and writes the report rows itself.
                with self.assertQueryCount(__system__=4):
                    leads._stage_gate_enforce(before)
                    self.env.flush_all()
                self.assertEqual((len(created), len(deleted)), done, "nothing created or deleted in the move")
                self.assertEqual(len(self._queue()), count)
                self._run_queue()
        self.assertEqual(created, [15, 75], "A2's three tasks scheduled for each lead, in one create")
        self.assertEqual(deleted, [5, 25], "A1's task cancelled for each lead, in one deletion")

    def _report_rows(self, lead):
        """The lead's stage entries and stays, without their dates and ids, as a commit leaves them."""
        self.env.cr.flush()
        entries = sorted(
            (
                entry.stage_id.id,
                entry.reached_next,
                entry.next_stage_id.id,
                entry.won_status,
                entry.user_id.id,
            )
            for entry in self.env["crm.lead.stage.entry"].search([("lead_id", "=", lead.id)])
        )
        stays = sorted(
            (stay.stage_id.id, stay.event, stay.exit_basis or "", stay.won_status, stay.user_id.id)
            for stay in self.env["crm.lead.stage.stay"].search([("lead_id", "=", lead.id)])
        )
        return entries, stays

    def test_report_rows_follow_in_the_background(self):
        """The move leaves its history's report rows to the queue, which writes them, once."""
        lead = self._ready_lead(user_id=self.rep.id)
        self._run_queue()
        lead.stage_id = self.a2
        self.env.flush_all()
        move = lead.stage_history_ids.filtered(lambda row: row.event == "forward")
        self.assertTrue(move.reports_pending)
        rep = self.rep.id
        self.assertEqual(self._report_rows(lead), ([(self.a1.id, False, self.a2.id, "pending", rep)], []))
        self._run_queue()
        move.invalidate_recordset()
        self.assertFalse(move.reports_pending)
        reported = (
            [(self.a1.id, True, self.a2.id, "pending", rep), (self.a2.id, False, self.a3.id, "pending", rep)],
            [(self.a1.id, "forward", "customer_evidence", "pending", rep)],
        )
        self.assertEqual(self._report_rows(lead), reported)
        # A rebuild of the report tables before the queue is worked: the rows are written once.
        lead.stage_id = self.a1
        self.env["crm.lead.stage.entry"]._rebuild()
        self.env["crm.lead.stage.stay"]._rebuild()
        self._run_queue()
        entries, stays = self._report_rows(lead)
        self.assertEqual(entries, reported[0])
        self.assertEqual(stays, sorted([*reported[1], (self.a2.id, "backward", "", "pending", rep)]))

    def test_queued_entries_judge_the_next_stage_by_date(self):
        """Created in A2, moved back to A1, both before the queue is worked: written in one batch,
        A1's entry did not lead on to A2 (entered before it)."""
        with self.at(datetime(2026, 3, 2, 9, 0)):
            lead = self._lead(stage=self.a2)
        with self.at(datetime(2026, 3, 3, 9, 0)):
            lead.stage_id = self.a1
        self.assertTrue(all(lead.stage_history_ids.mapped("reports_pending")))
        self._run_queue()
        rep = self.rep.id
        entries, _stays = self._report_rows(lead)
        self.assertEqual(
            entries,
            [
                (self.a1.id, False, self.a2.id, "pending", rep),
                (self.a2.id, False, self.a3.id, "pending", rep),
            ],
        )

    def test_merge_works_the_queue_of_the_merged_deals(self):
        """A merge first does what the deals' queued moves owe: the tasks and report rows of the
        deal merged away then move with its history to the deal kept, as when each move did that
        work itself."""
        head = self._ready_lead(name="Head deal")
        head.stage_id = self.a2
        self._run_queue()
        tail = self._ready_lead(name="Tail deal")
        tail.stage_id = self.a2
        head.probability, tail.probability = 90, 10  # the head survives the merge
        self.assertEqual(self._queue().lead_id, tail)
        merged = (head | tail).with_user(self.manager).merge_opportunity()
        self.assertEqual(merged, head)
        self.assertFalse(self._queue(), "worked by the merge, not deleted with the deal merged away")
        self.assertFalse(merged.stage_history_ids.filtered("reports_pending"))
        _entries, stays = self._report_rows(merged)
        self.assertEqual([stay[:2] for stay in stays], [(self.a1.id, "forward")] * 2, "the tail's stay kept")
        self.assertEqual(
            len(test_stage_tasks.TestStageTasks._stage_tasks(self, merged)),
            3,
            "the tail's A2 tasks, worked by the merge, are the head's: once",
        )

    def test_merge_of_new_deals_keeps_the_orm_cache(self):
        """Deals created in a stage without tasks, as those Odoo's lead assignment merges one by
        one, owe their queued creation only its report rows: a merge writes them and empties
        their queue in two queries. Neither it nor the scheduler clears the ORM cache (Odoo's
        ``unlink`` clears all of it, and the assignment then read each lead it wrote again,
        with its sub-lists)."""
        head, tail, other = (
            self._lead(name=name, team_id=self.team.id) for name in ("Head", "Tail", "Other")
        )
        self.assertEqual(self._queue().lead_id, head | tail | other)
        self.assertFalse(self.a1.activity_plan_id, "A1 has no tasks")
        self.env.flush_all()
        self.env["crm.lead"]._stage_gate_structure()  # the registry cache, warm in a running server
        # The queue's rows deleted and the history's rows claimed, then the stage entries.
        with self.assertQueryCount(__system__=2):
            (head | tail)._stage_tasks_before_merge()
        self.assertEqual(self._queue().lead_id, other, "another deal's move stays queued")
        self.assertTrue(self.env.cache.contains(other, other._fields["name"]), "the ORM cache is kept")
        self.assertFalse((head | tail).stage_history_ids.filtered("reports_pending"))
        self.assertEqual(
            self._report_rows(tail),
            ([(self.a1.id, False, self.a2.id, "pending", self.rep.id)], []),
            "as the scheduler",
        )
        # The scheduler's work deletes its jobs the same way.
        other._stage_tasks_work_queue_now()
        self.assertFalse(self._queue())
        self.assertTrue(self.env.cache.contains(head, head._fields["name"]), "the ORM cache is kept")
        self.assertEqual(self._report_rows(other), self._report_rows(tail))

    def test_moves_apply_in_their_order(self):
        """Several moves of a lead before the queue is worked: the tasks end as after each move."""
        lead = self._ready_lead()
        for stage in (self.a2, self.a1, self.a2, self.a1, self.a2):
            lead.stage_id = stage
        self.assertEqual(len(self._queue()), 6, "its creation, then each move")
        self.assertEqual(
            len(self._stage_tasks(lead)), 3, "A2's tasks once: those of earlier visits cancelled"
        )

    def test_move_leaves_the_cancelling_to_the_queue(self):
        """In the background a move deletes no task itself, even of a deal the transaction has
        not read (Odoo's deletion clears the whole ORM cache): the tasks of the stage left close
        when the queue is worked."""
        lead = self._ready_lead()
        lead.stage_id = self.a2
        tasks = self._stage_tasks(lead)
        self.assertEqual(len(tasks), 3)
        self.env.invalidate_all()
        lead.with_user(self.rep).stage_id = self.a1
        self.assertEqual(test_stage_tasks.TestStageTasks._stage_tasks(self, lead), tasks, "open until worked")
        self.assertFalse(self._stage_tasks(lead), "cancelled by the queue")

    def test_merge_settles_a_queued_loss(self):
        """A deal lost, its loss still queued, then merged: the loss cancels its stage tasks
        first, as at once; they do not come back on the merged deal."""
        lost = self._ready_lead(name="Lost deal")
        lost.stage_id = self.a2
        other = self._ready_lead(name="Other deal")
        self.assertEqual(len(self._stage_tasks(lost)), 3)
        lost.action_set_lost()
        self.assertEqual(self._queue().lead_id, lost, "the loss is queued")
        merged = (lost | other).with_user(self.manager).merge_opportunity()
        self.assertFalse(self._queue())
        self.assertFalse(test_stage_tasks.TestStageTasks._stage_tasks(self, merged, self.a2))

    def test_each_move_scheduled_as_its_mover_from_its_day(self):
        """Moves by two users, or by one user on two days, worked in one run: the tasks of each
        move are scheduled as the user who made it, their deadlines counted from its day."""
        one, two, three = (self._ready_lead(name=name) for name in ("One", "Two", "Three"))
        self._run_queue()
        with self.at(datetime(2026, 5, 4, 10, 0)):
            one.with_user(self.rep).stage_id = self.a2
            two.with_user(self.manager).stage_id = self.a2
        with self.at(datetime(2026, 5, 6, 10, 0)):
            three.with_user(self.manager).stage_id = self.a2
        self._run_queue()
        self.assertEqual(self._stage_tasks(one).create_uid, self.rep)
        self.assertEqual(self._stage_tasks(two).create_uid, self.manager)
        call = "Call the evaluator"
        deadlines = [
            self._stage_tasks(lead).filtered(lambda a: a.summary == call).date_deadline
            for lead in (two, three)
        ]
        self.assertEqual(deadlines, [date(2026, 5, 6), date(2026, 5, 8)])

    def test_move_without_the_scheduled_action(self):
        """Each move wakes the scheduled action for right after the commit. An admin deleted it:
        the queue is worked at once, and the moves after schedule their tasks themselves."""
        cron = self.env.ref("sales_process_addon.ir_cron_schedule_stage_tasks")
        lead = self._ready_lead()
        self._wake_up_taken()
        lead.stage_id = self.a2
        self._commit()
        self.assertEqual(len(self._wake_ups()), 1)
        cron.unlink()
        self.assertFalse(self._queue(), "worked when the action was deleted")
        self.assertEqual(len(test_stage_tasks.TestStageTasks._stage_tasks(self, lead)), 3)
        lead.stage_id = self.a1
        self.assertEqual(lead.stage_id, self.a1)
        self.assertFalse(self._queue(), "the move cancelled its tasks itself")
        self.assertFalse(test_stage_tasks.TestStageTasks._stage_tasks(self, lead), "A2's cancelled")
        lead.stage_id = self.a2
        self.assertFalse(self._queue(), "the move scheduled its tasks itself")
        self.assertEqual(len(test_stage_tasks.TestStageTasks._stage_tasks(self, lead)), 3)

    def test_archived_scheduled_action(self):
        """Archived, the action works the queue first: an older queued move never applies after
        the moves made meanwhile, which schedule their tasks themselves. Restored, moves queue
        again."""
        cron = self.env.ref("sales_process_addon.ir_cron_schedule_stage_tasks")
        lead = self._ready_lead()
        lead.stage_id = self.a2
        self.assertTrue(self._queue())
        cron.active = False
        self.assertFalse(self._queue(), "worked when the action was archived")
        lead.stage_id = self.a1
        self.assertFalse(self._queue(), "the move cancelled its tasks itself")
        self.assertFalse(test_stage_tasks.TestStageTasks._stage_tasks(self, lead), "A2's cancelled")
        lead.stage_id = self.a2
        self.assertFalse(self._queue(), "the move scheduled its tasks itself")
        self.assertEqual(len(test_stage_tasks.TestStageTasks._stage_tasks(self, lead)), 3)
        cron.active = True
        lead.stage_id = self.a1
        self.assertEqual(len(self._queue()), 1, "restored: the move is queued")
        self.assertFalse(self._stage_tasks(lead), "A2's cancelled once the queue is worked")

    def test_batches_keep_each_lead_once_and_the_mover(self):
        one, two = self._ready_lead(name="One"), self._ready_lead(name="Two")
        self._run_queue()
        one.with_user(self.rep).stage_id = self.a2
        two.with_user(self.rep).stage_id = self.a2
        one.with_user(self.manager).stage_id = self.a1
        jobs = self._queue()
        batches = [
            (mover, batch.lead_id)
            for (mover, _day), batch in self.env["crm.lead"]._stage_task_job_batches(jobs)
        ]
        self.assertEqual(batches, [(self.rep, one | two), (self.manager, one)])

    def test_tasks_scheduled_as_the_mover(self):
        """As the move would have: the mover is the tasks' author, and not told of the tasks given to him."""
        lead = self._ready_lead()
        self._run_queue()
        last_message = self.env["mail.message"].search([], order="id desc", limit=1).id
        lead.with_user(self.rep).stage_id = self.a2
        self.assertEqual(self._queue().create_uid, self.rep)
        tasks = self._stage_tasks(lead)
        self.assertEqual(tasks.create_uid, self.rep)
        self.assertIn(self.rep, tasks.user_id)
        notified = self.env["mail.message"].search(
            [
                ("id", ">", last_message),
                ("model", "=", "crm.lead"),
                ("res_id", "=", lead.id),
                ("message_type", "=", "user_notification"),
            ]
        )
        self.assertEqual(
            notified.partner_ids,
            (self.manager | self.manager_2).partner_id,
            "the others are told of the tasks they are given; the mover is not told of his own",
        )

    def _shown_to(self, user, since):
        """The activities each lead shows in ``user``'s open chatters since bus message ``since``."""
        shown = {}
        for message in self.env["bus.bus"].search([("id", ">", since)]):
            payload = json.loads(message.message)
            channel = json.loads(message.channel)
            if payload["type"] != "mail.record/insert" or channel[1:] != ["res.partner", user.partner_id.id]:
                continue
            for thread in payload["payload"].get("mail.thread", []):
                if thread["model"] == "crm.lead" and "activities" in thread:
                    shown[thread["id"]] = sorted(thread["activities"])
        return shown

    def test_the_mover_sees_the_tasks_appear(self):
        """Scheduled after the page that made the move was drawn: its chatter gets them (on the bus)."""
        lead = self._ready_lead()
        self._run_queue()
        since = max(self.env["bus.bus"].search([]).ids, default=0)
        lead.with_user(self.rep).stage_id = self.a2
        tasks = self._stage_tasks(lead)
        self.assertEqual(len(tasks), 3)
        self.assertEqual(self._shown_to(self.rep, since), {lead.id: sorted(lead.activity_ids.ids)})
        self.assertFalse(self._shown_to(self.manager, since), "only the mover had the page open")

    def test_no_tasks_shown_to_whom_may_no_longer_read(self):
        """Given to another rep before the queue was worked: the mover, who only reads his own
        deals, is not shown its tasks."""
        lead = self._ready_lead()
        self._run_queue()
        since = max(self.env["bus.bus"].search([]).ids, default=0)
        lead.with_user(self.rep).stage_id = self.a2
        lead.user_id = self.other_rep
        self.assertEqual(len(self._stage_tasks(lead)), 3, "the tasks follow the move all the same")
        self.assertFalse(self._shown_to(self.rep, since))

    def test_a_move_whose_tasks_fail_holds_up_no_other(self):
        """A plan's template that no longer works (a deadline out of the calendar) fails its
        move's tasks: the other moves of the batch and after it are worked, the failing one is
        dropped and told on its opportunity."""
        done, failing, later = (self._ready_lead(name=name) for name in ("Done", "Failing", "Later"))
        done.stage_id = self.a2
        self._run_queue()
        broken = self.env["mail.activity.plan.template"].create(
            {
                "plan_id": self.plan.id,
                "activity_type_id": self.env.ref("mail.mail_activity_data_todo").id,
                "summary": "Out of the calendar",
                "delay_from": "after_plan_date",
            }
        )
        # Saved before delays were bounded: the bound refuses such a save, not a row already there.
        self.env.cr.execute(
            SQL("UPDATE mail_activity_plan_template SET delay_count = %s WHERE id = %s", 10**7, broken.id)
        )
        broken.invalidate_recordset(["delay_count"])
        failing.stage_id = self.a2
        done.action_set_lost()
        with mute_logger("odoo.addons.sales_process_addon.models.crm_lead_stage_tasks"):
            self._run_queue()
        self.assertFalse(self._queue(), "the failing move no longer waits in the queue")
        self.assertFalse(self._stage_tasks(done), "the loss in the same batch cancelled its tasks")
        self.assertFalse(self._stage_tasks(failing), "nothing half-scheduled")
        note = failing.message_ids.filtered(lambda message: "could not be scheduled" in message.body)
        self.assertEqual(len(note), 1, "the opportunity tells why its tasks are missing")
        self.assertIn("A2", note.body)
        self.assertFalse(done.message_ids.filtered(lambda message: "could not be" in message.body))
        broken.unlink()
        later.stage_id = self.a2
        self.assertEqual(len(self._stage_tasks(later)), 3, "the moves after it are worked")

    def _wake_ups(self):
        """The scheduled action's due triggers (each one cost Odoo a connection to wake the workers)."""
        cron = self.env.ref("sales_process_addon.ir_cron_schedule_stage_tasks")
        return self.env["ir.cron.trigger"].search(
            [("cron_id", "=", cron.id), ("call_at", "<=", fields.Datetime.now())]
        )

    def _wake_up_taken(self):
        """As a run of the scheduled action does first: its due triggers deleted."""
        self._wake_ups().unlink()

    def _commit(self):
        """What a commit runs after it (here in the test's transaction, whose commits are savepoints)."""
        self.env.flush_all()
        with self.enter_registry_test_mode():
            self.env.cr.postcommit.run()
        self.env.invalidate_all()

    def test_moves_wake_the_scheduler_once(self):
        """A transaction's moves wake the scheduled action after their commit, unless a wake-up
        is due already: moves waiting for the same run share one trigger, not one each (each costs
        a connection to the server). Nothing is held while the moves' transaction lasts."""
        cron = self.env.ref("sales_process_addon.ir_cron_schedule_stage_tasks")
        first, second, third = (self._ready_lead() for _i in range(3))
        self._commit()
        self._wake_up_taken()
        first.stage_id = self.a2
        self.env.flush_all()
        self.assertFalse(self._wake_ups(), "not in the move's transaction")
        self._commit()
        self.assertEqual(len(self._wake_ups()), 1, "after its commit")
        second.stage_id = self.a2
        self._commit()
        self.assertEqual(len(self._wake_ups()), 1, "the second move's jobs wait for the same run")
        self._wake_up_taken()
        later = cron._trigger(fields.Datetime.now() + timedelta(hours=1))
        third.stage_id = self.a2
        self._commit()
        self.assertEqual(len(self._wake_ups()), 1, "a trigger for later does not wake it now")
        self.assertTrue(later.exists())
        self.assertEqual(len(self._queue()), 6, "every creation and move queued")

    def test_a_move_during_a_run_wakes_the_scheduler_again(self):
        """The check after a move's commit (``_stage_tasks_wake_up_due``) in a transaction of its
        own, against a run of the scheduled action in another, both committed as on a server.

        A run under way has deleted its triggers (not committed yet) and may have read the queue
        already: the move makes its own trigger, without waiting for the run; so it does when the
        run has committed since the check began. A due trigger no run has taken is held until the
        check's commit: a run starting then waits, and reads the queue after the move."""
        cron = self.env.ref("sales_process_addon.ir_cron_schedule_stage_tasks")
        Lead, due = self.env["crm.lead"], []
        run, check = (sql_db.db_connect(self.env.cr.dbname).cursor() for _i in range(2))

        def wake_up_due():
            # A check waiting for the run fails here rather than hanging the test.
            check.execute("SET LOCAL lock_timeout = '5s'")
            return Lead._stage_tasks_wake_up_due(check, cron.id)

        def trigger():
            run.execute(
                "INSERT INTO ir_cron_trigger (cron_id, call_at) VALUES (%s, %s) RETURNING id",
                [cron.id, fields.Datetime.now() - timedelta(minutes=1)],
            )
            due.append(run.fetchone()[0])
            run.commit()

        def run_starts(lock_timeout="5s"):
            run.execute(SQL("SET LOCAL lock_timeout = %s", lock_timeout))
            run.execute("DELETE FROM ir_cron_trigger WHERE id = ANY(%s)", [due])

        try:
            trigger()
            run_starts()
            self.assertFalse(wake_up_due(), "a run under way: the move's own trigger")
            check.rollback()
            run.rollback()  # the run is gone without taking the trigger: due again

            self.assertTrue(wake_up_due(), "a due trigger, held")
            with (
                self.assertRaises(psycopg2.errors.LockNotAvailable, msg="a run waits for the check"),
                mute_logger("odoo.sql_db"),
            ):
                run_starts(lock_timeout="100ms")
            run.rollback()
            check.rollback()

            check.execute("SELECT 1")  # the check began: its snapshot holds the trigger
            run_starts()
            run.commit()  # the run took it
            self.assertFalse(wake_up_due(), "taken since the check began: the move's own trigger")
            check.execute("SELECT 1")
            self.assertEqual(check.fetchone(), (1,), "and the check's transaction goes on")
        finally:
            check.rollback()
            run.rollback()
            run.execute("DELETE FROM ir_cron_trigger WHERE id = ANY(%s)", [due])
            run.commit()
            run.close()
            check.close()

    def test_the_queue_is_the_servers(self):
        self._ready_lead().with_user(self.rep).stage_id = self.a2
        for user in (self.rep, self.manager):
            with self.subTest(user=user.login), self.assertRaises(AccessError):
                self.env["crm.lead.stage.task.job"].with_user(user).search([])

    def _moved_lead(self):
        """A lead moved to A2: its tasks scheduled by the move itself (then nothing queued), or not."""
        lead = self._ready_lead()
        lead.stage_id = self.a2
        return lead

    def test_setting(self):
        queued = self._ready_lead()
        queued.stage_id = self.a2
        self.assertTrue(self._queue())
        settings_form = self.env["res.config.settings"].create({})
        self.assertTrue(settings_form.stage_tasks_in_background)
        settings_form.stage_tasks_in_background = False
        settings_form.execute()
        self.assertEqual(
            len(test_stage_tasks.TestStageTasks._stage_tasks(self, queued)),
            3,
            "the queue worked when turned off",
        )
        self.assertEqual(self.env["ir.config_parameter"].get_param(BACKGROUND), "False", "kept, not deleted")
        self.assertFalse(self.env["res.config.settings"].create({}).stage_tasks_in_background)
        lead = self._moved_lead()
        self.assertFalse(self._queue(), "off: the move schedules its tasks itself")
        self.assertEqual(len(test_stage_tasks.TestStageTasks._stage_tasks(self, lead)), 3)
        settings_form = self.env["res.config.settings"].create({"stage_tasks_in_background": True})
        settings_form.execute()
        self._moved_lead()
        self.assertEqual(len(self._queue()), 2, "on again: the lead's creation and its move queued")

    def test_in_the_background_by_default(self):
        self.env["ir.config_parameter"].search([("key", "=", BACKGROUND)]).unlink()
        self.assertTrue(self.env["res.config.settings"].create({}).stage_tasks_in_background)
        lead = self._moved_lead()
        self.assertEqual(len(self._queue()), 2, "the lead's creation and its move queued")
        self.assertEqual(len(self._stage_tasks(lead)), 3)

    def test_at_once_on_a_server_without_cron_workers(self):
        """Nothing would work the queue there: each move schedules its tasks itself, whatever the
        setting says (on here)."""
        with patch(CRON_WORKERS_RUN, return_value=False):
            lead = self._moved_lead()
        self.assertFalse(self._queue())
        self.assertEqual(len(test_stage_tasks.TestStageTasks._stage_tasks(self, lead)), 3)

    def test_cron_workers_run(self):
        """Where the scheduled actions run: the cron workers of a multi-process server, as its
        configuration says, or cron threads in this process; not a process that serves nothing
        (a test run, a shell), whatever its configuration says."""
        with patch.object(server, "server", None), patch.dict(config.options, {"max_cron_threads": 2}):
            self.assertFalse(cron_workers_run(), "a test run, a shell: no cron thread")
            stop = threading.Event()
            cron_thread = threading.Thread(target=stop.wait, name="test cron", daemon=True)
            cron_thread.type = "cron"  # as Odoo's threaded server marks its cron threads
            cron_thread.start()
            try:
                self.assertTrue(cron_workers_run(), "a threaded server's cron thread")
            finally:
                stop.set()
                cron_thread.join()
        prefork = object.__new__(server.PreforkServer)  # the master's object, as its workers have it
        with patch.object(server, "server", prefork):
            for threads, expected in ((2, True), (0, False)):
                with (
                    self.subTest(max_cron_threads=threads),
                    patch.dict(config.options, {"max_cron_threads": threads}),
                ):
                    self.assertEqual(cron_workers_run(), expected)

    def test_at_once_while_modules_load(self):
        """Installing or updating modules (``odoo-bin -i/-u``: demo data, a module's own moves)
        runs no scheduled action: those moves schedule their tasks themselves."""
        with patch.object(self.registry, "ready", False):
            lead = self._moved_lead()
        self.assertFalse(self._queue())
        self.assertEqual(len(test_stage_tasks.TestStageTasks._stage_tasks(self, lead)), 3)

    def test_upgrade_keeps_the_tasks_at_once(self):
        """A database from before 19.0.2.4.0 never set the parameter: it had its tasks at once and
        keeps them so; one that set it keeps its choice."""
        path = Path(__file__).parents[1] / "migrations/19.0.2.4.0/post-migrate.py"
        spec = importlib.util.spec_from_file_location("stage_tasks_upgrade", path)
        migration = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(migration)
        Param = self.env["ir.config_parameter"]
        for before, after in ((None, "False"), ("True", "True"), ("False", "False")):
            with self.subTest(before=before):
                Param.search([("key", "=", BACKGROUND)]).unlink()
                if before:
                    Param.set_param(BACKGROUND, before)
                migration.migrate(self.env.cr, "19.0.2.3.0")
                self.assertEqual(Param.get_param(BACKGROUND), after)

    # ------------------------------------------------------------
    # At once or in the background: the same tasks
    # ------------------------------------------------------------

    def _open_tasks(self, lead):
        return sorted(
            (task.crm_stage_id.id, task.summary, task.user_id.id)
            for task in self.env["mail.activity"].search(
                [("res_model", "=", "crm.lead"), ("res_id", "=", lead.id)]
            )
        )

    def _prove_what_can_be(self, lead):
        """Evidence for every required milestone the lead may prove now and has not."""
        for milestone in lead._evidence_stages().milestone_ids.filtered("required"):
            if milestone not in lead.evidence_ids.milestone_id:
                evidence = self._evidence(lead, milestone)
                if milestone.needs_verification:
                    evidence.with_user(self.manager).action_verify()

    def _play(self, steps):
        """The lead after ``steps``; the milestones of each stage it is in are proven before it moves."""
        lead = self._ready_lead(user_id=self.rep.id)
        stages = {"a1": self.a1, "a2": self.a2, "a3": self.a3, "a4": self.a4}
        for step in steps:
            if step == "reassign":
                # The queue's tasks go to the salesperson of when it is worked, right after the
                # move's commit: a reassignment comes after it.
                self._run_queue()
                lead.user_id = self.manager if lead.user_id == self.rep else self.rep
                continue
            if step.startswith("merge"):
                lead = self._merge_another_deal(lead, moved=step == "merge_moved")
                continue
            try:
                with self.env.cr.savepoint():
                    if step == "lost" and lead.active:
                        lead.action_set_lost()
                    elif step == "restore" and not lead.active:
                        lead.action_unarchive()
                    elif step in stages and lead.active:
                        self._prove_what_can_be(lead)
                        lead.stage_id = stages[step]
                    self.env.flush_all()
            except (UserError, ValidationError):
                # Refused (the gate, or Odoo: a won deal is not lost), at once as in the background.
                self.env.invalidate_all()
        return lead

    def _merge_another_deal(self, lead, moved):
        """The deal kept when ``lead`` is merged with a new deal, moved to A2 or not yet moved
        (its queued creation has tasks to schedule or not)."""
        other = self._ready_lead(user_id=self.rep.id, name="Merged deal")
        if moved:
            other.stage_id = self.a2
        self.env.flush_all()
        return (lead | other).with_user(self.manager).merge_opportunity()

    def _play_and_observe(self, steps, cancel_on_exit, background):
        """The open tasks and report rows after ``steps``, each move doing its own work or the
        queue doing it afterwards; rolled back, so that every run starts from the same
        database (a won or lost deal changes Odoo's lead scoring, hence which deal a merge keeps)."""
        with self.env.cr.savepoint(flush=False) as savepoint:
            self.type_a.cancel_tasks_on_exit = cancel_on_exit
            self.env["ir.config_parameter"].set_param(BACKGROUND, str(background))
            lead = self._play(steps)
            if background:
                self._run_queue()
                self.assertFalse(lead.stage_history_ids.filtered("reports_pending"), steps)
            observed = (self._open_tasks(lead), self._report_rows(lead))
            savepoint.rollback()
        self.env.invalidate_all()
        self.registry.clear_cache()
        return observed

    @property_settings(examples=25)
    @given(
        steps=st.lists(
            st.sampled_from(
                ["a1", "a2", "a3", "a4", "lost", "restore", "reassign", "merge_new", "merge_moved"]
            ),
            max_size=10,
        ),
        cancel_on_exit=st.booleans(),
    )
    def test_same_tasks_at_once_or_in_the_background(self, steps, cancel_on_exit):
        """Any sequence of moves, wins, moves back from a win, losses, restores, reassignments and
        merges ends with the same open stage tasks and the same report rows, whether each move
        does that work itself or the queue does it afterwards; the queue leaves no history row
        pending."""
        at_once = self._play_and_observe(steps, cancel_on_exit, background=False)
        in_background = self._play_and_observe(steps, cancel_on_exit, background=True)
        self.assertEqual(in_background, at_once, steps)


@tagged("post_install", "-at_install")
class TestStageTasksWakeUpAfterResponse(HttpCase):
    """A move made through the web client wakes the scheduled action once the rep has the answer."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        _stage_tasks_in_background(cls)
        ptype = cls.env["crm.pipeline.type"].create({"name": "Wake-up process", "code": "wake_up_test"})
        cls.first, cls.second = cls.env["crm.stage"].create(
            [{"name": f"Wake-up S{i}", "sequence": i, "pipeline_type_id": ptype.id} for i in (1, 2)]
        )
        rep = new_test_user(
            cls.env, login="wake_up_rep", password="wake_up_rep_pw1", groups="sales_team.group_sale_salesman"
        )
        cls.lead = cls.env["crm.lead"].create(
            {"name": "Wake-up deal", "type": "opportunity", "pipeline_type_id": ptype.id, "user_id": rep.id}
        )
        cls.cron = cls.env.ref("sales_process_addon.ir_cron_schedule_stage_tasks")

    def _due_wake_ups(self):
        return self.env["ir.cron.trigger"].search(
            [("cron_id", "=", self.cron.id), ("call_at", "<=", fields.Datetime.now())]
        )

    def _web_move(self):
        """The lead to the second stage, as the web client saves it, as the logged-in rep."""
        self.authenticate("wake_up_rep", "wake_up_rep_pw1")
        self.make_jsonrpc_request(
            "/web/dataset/call_kw/crm.lead/write",
            {
                "model": "crm.lead",
                "method": "write",
                "args": [[self.lead.id], {"stage_id": self.second.id}],
                "kwargs": {},
            },
        )

    def test_web_move_wakes_the_scheduler_after_its_response(self):
        """The wake-up (Odoo opens a connection for it) runs after the response is sent, not in
        the time the rep waits; the move is committed by then, and the scheduled action woken."""
        self._due_wake_ups().unlink()
        Lead = type(self.env["crm.lead"])
        wake_up = Lead._stage_tasks_wake_up
        answered, woken, order = threading.Event(), threading.Event(), []

        def wake_up_once_answered(lead_model, cron_id):
            # True once the test has the response; False after 5 s if it waits for this wake-up.
            order.append(answered.wait(timeout=5))
            wake_up(lead_model, cron_id)
            woken.set()

        with patch.object(Lead, "_stage_tasks_wake_up", wake_up_once_answered):
            self._web_move()
            answered.set()
            # The server's thread then opens a cursor of its own: the test lets it, as for a request.
            with self.allow_requests():
                self.assertTrue(woken.wait(timeout=10), "the move wakes the scheduled action")
        self.assertEqual(order, [True], "after the response")
        self.assertEqual(len(self._due_wake_ups()), 1)
        self.assertEqual(self.env["crm.lead.stage.task.job"].search([]).lead_id, self.lead)
        self.assertEqual(self.lead.stage_id, self.second)

    def test_refused_web_move_wakes_nothing(self):
        """A move the gate refuses sends an error: nothing was queued, and nothing runs after it."""
        self.env["crm.stage.milestone"].create({"name": "Wake-up proof", "stage_id": self.first.id})
        self._due_wake_ups().unlink()
        queued = self.env["crm.lead.stage.task.job"].search([])  # the lead's creation
        Lead = type(self.env["crm.lead"])
        woken = threading.Event()
        with patch.object(Lead, "_stage_tasks_wake_up", lambda lead_model, cron_id: woken.set()):
            with self.assertRaises(JsonRpcException), mute_logger("odoo.http"):
                self._web_move()
            with self.allow_requests():
                self.assertFalse(woken.wait(timeout=2), "no wake-up after the error")
        self.assertFalse(self._due_wake_ups())
        self.assertEqual(self.env["crm.lead.stage.task.job"].search([]), queued)
        self.assertEqual(self.lead.stage_id, self.first)


@tagged("post_install", "-at_install")
class TestAfterResponse(TransactionCase):
    """``ir.http._after_response``: the work a request runs once its response is sent."""

    def test_without_a_request_the_caller_runs_it(self):
        self.assertFalse(self.env["ir.http"]._after_response("key", lambda: None))

    def test_a_failure_holds_up_nothing_else(self):
        """The response is sent: a failing work is logged, and the others still run."""
        ran = []

        def fails():
            raise RuntimeError("broken work")

        with self.assertLogs("odoo.addons.sales_process_addon.models.ir_http", "ERROR") as logs:
            type(self.env["ir.http"])._run_after_response({"broken": fails, "fine": lambda: ran.append(1)})
        self.assertEqual(ran, [1])
        self.assertIn("broken, after the response to a request, failed", logs.output[0])


@tagged("post_install", "-at_install")
class TestStageTaskJobConflict(TransactionCase):
    """The scheduled action meets a concurrent change of its leads (another transaction's merge or
    move, committed since its run began): it reads the queue again instead of failing the run."""

    def test_a_conflict_reads_the_queue_again(self):
        connect = sql_db.db_connect(self.env.cr.dbname)
        setup, run, other = connect.cursor(), connect.cursor(), connect.cursor()
        lead_id = None
        try:
            for cursor in (setup, run, other):
                cursor.execute("SET lock_timeout = '5s'")  # a test that waits fails rather than hangs
                cursor.commit()
            # Committed rows, written in SQL: nothing else of the test's transaction is needed.
            setup.execute(
                "SELECT id, pipeline_type_id FROM crm_stage WHERE pipeline_type_id IS NOT NULL LIMIT 1"
            )
            stage_id, ptype_id = setup.fetchone()
            setup.execute(
                """
                INSERT INTO crm_lead (name, type, active, stage_id, pipeline_type_id, create_date, write_date)
                VALUES ('Conflict deal', 'opportunity', TRUE, %s, %s, now() at time zone 'UTC', now() at time zone 'UTC')
                RETURNING id
                """,
                [stage_id, ptype_id],
            )
            lead_id = setup.fetchone()[0]
            setup.execute(
                """
                INSERT INTO crm_lead_stage_history (lead_id, event, date, to_stage_id, pipeline_type_id, reports_pending)
                VALUES (%s, 'create', now() at time zone 'UTC', %s, %s, TRUE) RETURNING id
                """,
                [lead_id, stage_id, ptype_id],
            )
            history_id = setup.fetchone()[0]
            setup.execute(
                """
                INSERT INTO crm_lead_stage_task_job (lead_id, lost, create_uid, create_date, write_uid, write_date)
                VALUES (%s, FALSE, 1, now() at time zone 'UTC', 1, now() at time zone 'UTC')
                """,
                [lead_id],
            )
            setup.commit()
            History = self.env(cr=run)["crm.lead.stage.history"]
            record_pending_reports = type(History)._record_pending_reports
            calls = []

            def merged_meanwhile(history_model, leads):
                calls.append(leads.ids)
                if len(calls) == 1:
                    # Another transaction changes the row once the run's transaction has begun.
                    history_model.env.cr.execute("SELECT 1")  # the run's reads so far: its snapshot
                    other.execute(
                        "UPDATE crm_lead_stage_history SET note = 'Merged' WHERE id = %s", [history_id]
                    )
                    other.commit()
                return record_pending_reports(history_model, leads)

            with (
                patch.object(type(History), "_record_pending_reports", merged_meanwhile),
                mute_logger("odoo.sql_db"),
            ):
                History.env["crm.lead"]._cron_schedule_stage_tasks()
            self.assertEqual(calls, [[lead_id], [lead_id]], "the batch met the change, then was worked again")
            other.execute(
                "SELECT reports_pending, note FROM crm_lead_stage_history WHERE id = %s", [history_id]
            )
            self.assertEqual(other.fetchone(), (False, "Merged"), "its report rows written, once")
            other.execute("SELECT COUNT(*) FROM crm_lead_stage_task_job WHERE lead_id = %s", [lead_id])
            self.assertEqual(other.fetchone(), (0,), "the queue worked")
        finally:
            for cursor in (run, other):
                cursor.rollback()
            if lead_id:
                setup.execute("DELETE FROM crm_lead WHERE id = %s", [lead_id])  # cascades to the rest
                setup.commit()
            for cursor in (setup, run, other):
                cursor.close()
