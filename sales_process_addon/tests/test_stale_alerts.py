import time
from datetime import datetime, timedelta
from unittest.mock import patch

import psycopg2

from odoo import sql_db
from odoo.exceptions import AccessError
from odoo.tests import tagged
from odoo.tools import mute_logger

from .common_gate import StageGateCase


@tagged("post_install", "-at_install")
class TestStaleAlertLifecycle(StageGateCase):
    """Stale-deal alerts: raised per stage, closed when the deal moves on, never doubled."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.a1.write({"rotting_threshold_days": 5, "escalation_days": 10})
        cls.a2.write({"rotting_threshold_days": 3, "escalation_days": 0})
        cls.team.user_id = cls.manager

    def _alerts(self, leads):
        return self.env["mail.activity"].search(
            [("res_model", "=", "crm.lead"), ("res_id", "in", leads.ids), ("crm_stale_level", "!=", False)]
        )

    def _run(self, **context):
        """Run the job as the scheduler does: in its own cursor, whose commits are savepoints here."""
        self.env.flush_all()
        with (
            self.enter_registry_test_mode(),
            self.registry.cursor() as cr,
            patch.object(cr, "now", self.env.cr.now),
        ):
            self.env["crm.lead"].with_env(self.env(cr=cr)).with_context(
                **context
            )._cron_alert_stale_opportunities()
        self.env.invalidate_all()

    def _idle_lead(self):
        """A lead of the team created 1 June 08:00 in A1, alerted at both levels on 12 June."""
        with self.at(datetime(2026, 6, 1, 8, 0)):
            lead = self._lead(team_id=self.team.id)
            self._prove_a1(lead)
        with self.at(datetime(2026, 6, 12, 8, 0)):
            self._run()
            self.assertEqual(sorted(self._alerts(lead).mapped("crm_stale_level")), ["manager", "salesperson"])
            self.assertEqual(self._alerts(lead).crm_stage_id, self.a1)
        return lead

    def test_salesperson_then_manager_alerted_once(self):
        with self.at(datetime(2026, 6, 1, 8, 0)):
            lead = self._lead(team_id=self.team.id)
        with self.at(datetime(2026, 6, 4, 8, 0)):
            self._run()
            self.assertFalse(self._alerts(lead))
        with self.at(datetime(2026, 6, 7, 8, 0)):
            self._run()
            self._run()
            alerts = self._alerts(lead)
            self.assertEqual((alerts.crm_stale_level, alerts.user_id), ("salesperson", self.rep))
            self.assertIn("Stale opportunity: 6 days in A1", alerts.summary)
        with self.at(datetime(2026, 6, 12, 8, 0)):
            self._run()
            alerts = self._alerts(lead)
            self.assertEqual(sorted(alerts.mapped("crm_stale_level")), ["manager", "salesperson"])
            self.assertEqual(alerts.filtered(lambda a: a.crm_stale_level == "manager").user_id, self.manager)

    def _messages(self, user):
        """The job's messages to this user: on no document, Odoo's notifications to one person."""
        return self.env["mail.message"].search(
            [
                ("partner_ids", "in", user.partner_id.ids),
                ("model", "=", False),
                ("message_type", "=", "user_notification"),
            ]
        )

    def test_one_message_per_person(self):
        """Odoo would email every alert: each person gets one message of the run, as they chose to be told."""
        self.rep.notification_type = "email"
        self.manager.notification_type = "inbox"
        with self.at(datetime(2026, 6, 1, 8, 0)):
            pump = self._lead(team_id=self.team.id, name="Idle pump")
            compressor = self._lead(team_id=self.team.id, name="Idle compressor", user_id=self.manager.id)
        with self.at(datetime(2026, 6, 5, 8, 0)):
            valve = self._lead(team_id=self.team.id, name="Idle valve")
        on_the_deals = [("model", "=", "crm.lead"), ("res_id", "in", (pump | valve).ids)]
        notified = self.env["mail.message"].search(
            on_the_deals + [("message_type", "=", "user_notification")]
        )
        with self.at(datetime(2026, 6, 11, 8, 0)):
            self._run()
        # The pump and the compressor have been idle 10 days (alerted and escalated), the valve 6.
        self.assertEqual(len(self._alerts(pump | valve | compressor)), 5)
        to_rep, to_manager = self._messages(self.rep), self._messages(self.manager)
        self.assertEqual((len(to_rep), len(to_manager)), (1, 1))
        self.assertEqual(to_rep.subject, "Idle opportunities: 2")
        self.assertIn("Idle pump", to_rep.body)
        self.assertIn("10 days idle in A1", to_rep.body)
        self.assertIn("Idle valve", to_rep.body)
        self.assertIn("6 days idle in A1", to_rep.body)
        self.assertIn(f"/mail/view?model=crm.lead&amp;res_id={pump.id}", to_rep.body)
        # The team leader's own deal first, once for its two alerts; then the rep's escalated.
        self.assertEqual(to_manager.subject, "Idle opportunities: 2")
        self.assertEqual(to_manager.body.count("Idle compressor"), 1)
        self.assertLess(to_manager.body.index("Idle compressor"), to_manager.body.index("Idle pump"))
        self.assertIn("10 days idle in A1, salesperson: Rep", to_manager.body)
        self.assertNotIn("salesperson: Manager", to_manager.body)
        self.assertNotIn("Idle valve", to_manager.body)
        # Told by email or in the inbox, as each one chose; nothing more on the deals.
        email = self.env["mail.mail"].search([("mail_message_id", "=", to_rep.id)])
        self.assertEqual(len(email), 1)
        self.assertIn("Your idle opportunities", email.body_html, "Odoo's light layout, with its header")
        self.assertEqual(to_manager.notification_ids.notification_type, "inbox")
        self.assertEqual(
            self.env["mail.message"].search(on_the_deals + [("message_type", "=", "user_notification")]),
            notified,
        )
        # The next run raises nothing new, and says nothing.
        with self.at(datetime(2026, 6, 12, 8, 0)):
            self._run()
        self.assertEqual((len(self._messages(self.rep)), len(self._messages(self.manager))), (1, 1))

    def test_announcing_adds_no_query_per_deal(self):
        """Telling each person of their alerts costs the same number of queries for 5 or 25 deals."""
        Lead = type(self.env["crm.lead"])

        def queries(count):
            with self.at(datetime(2026, 6, 1, 8, 0)):
                leads = self._create_leads(count, user_id=self.rep.id, team_id=self.team.id)
            with (
                self.at(datetime(2026, 6, 12, 8, 0)),
                patch.object(Lead, "_stage_alerts_announce", autospec=True),
            ):
                alerts = leads._stage_alerts_raise()
            self.assertEqual(len(alerts), 2 * count)
            self.env.invalidate_all()
            self.env.flush_all()
            before = self.cr.sql_log_count
            with self.at(datetime(2026, 6, 12, 8, 0)):
                leads._stage_alerts_announce(alerts)
            return self.cr.sql_log_count - before

        queries(2)  # warm caches
        self.assertEqual(queries(5), queries(25))

    def test_new_stage_new_alert(self):
        """Moved on: the job closes the old alerts by itself; idle again, a new alert for the new stage."""
        lead = self._idle_lead()
        with self.at(datetime(2026, 6, 13, 8, 0)):
            lead.stage_id = self.a2
        with self.at(datetime(2026, 6, 14, 8, 0)):
            self._run()
            self.assertFalse(self._alerts(lead))
        with self.at(datetime(2026, 6, 17, 8, 0)):
            self._run()
            self._run()
            alert = self._alerts(lead)
            self.assertEqual(
                (alert.crm_stale_level, alert.crm_stage_id, alert.user_id), ("salesperson", self.a2, self.rep)
            )
            self.assertIn("4 days in A2", alert.summary)

    def test_lost_closes_alerts(self):
        lead = self._idle_lead()
        other = self._idle_lead()
        with self.at(datetime(2026, 6, 13, 8, 0)):
            lead.action_set_lost()
            self._run()
        self.assertFalse(self._alerts(lead))
        self.assertEqual(len(self._alerts(other)), 2)

    def test_archived_closes_alerts(self):
        lead = self._idle_lead()
        with self.at(datetime(2026, 6, 13, 8, 0)):
            lead.action_archive()
            self._run()
        self.assertFalse(self._alerts(lead))

    def test_gate_closes_at_once(self):
        """A deal moved on closes its own alerts at once, no other deal's."""
        lead = self._idle_lead()
        other = self._idle_lead()
        with self.at(datetime(2026, 6, 13, 8, 0)):
            lead.stage_id = self.a2
        self.assertFalse(self._alerts(lead))
        self.assertEqual(len(self._alerts(other)), 2)
        # Won: closed by the job even if nobody called the method.
        with self.at(datetime(2026, 6, 13, 8, 0)):
            self.env.cr.execute("UPDATE crm_lead SET won_status = 'won' WHERE id = %s", [other.id])
            self.env.invalidate_all()
            self._run()
        self.assertFalse(self._alerts(other))

    def test_never_two_open_alerts_per_level(self):
        lead = self._idle_lead()
        alert = self._alerts(lead).filtered(lambda a: a.crm_stale_level == "salesperson")
        with (
            mute_logger("odoo.sql_db"),
            self.assertRaises(psycopg2.errors.UniqueViolation),
            self.cr.savepoint(),
        ):
            alert.sudo().copy({"crm_stale_level": "salesperson"})
        # Once marked done, the level may be raised again.
        alert.action_feedback("Called the customer")
        self.assertEqual(self._alerts(lead).mapped("crm_stale_level"), ["manager"])
        with self.at(datetime(2026, 6, 13, 8, 0)):
            self._run()
        self.assertEqual(sorted(self._alerts(lead).mapped("crm_stale_level")), ["manager", "salesperson"])

    def test_level_not_writable_by_users(self):
        lead = self._idle_lead()
        alerts = self._alerts(lead)
        escalation = alerts.filtered(lambda a: a.crm_stale_level == "manager")
        mine = alerts.filtered(lambda a: a.crm_stale_level == "salesperson").with_user(self.rep)
        for activity, value in ((escalation.with_user(self.rep), False), (mine, "manager")):
            with self.assertRefused(AccessError, "Only the stale-opportunity job sets the alert level"):
                activity.write({"crm_stale_level": value})
        with self.assertRefused(AccessError, "Only the stale-opportunity job sets the alert level"):
            self.env["mail.activity"].with_user(self.rep).create(
                {
                    "res_model_id": self.env["ir.model"]._get_id("crm.lead"),
                    "res_id": lead.id,
                    "summary": "Fake escalation",
                    "crm_stale_level": "manager",
                }
            )
        self.env.invalidate_all()
        self.assertEqual(sorted(self._alerts(lead).mapped("crm_stale_level")), ["manager", "salesperson"])
        # The rest of his own alert stays his to edit.
        mine.write({"summary": "Calling them Monday"})
        self.assertEqual(mine.summary, "Calling them Monday")

    def test_batches_with_progress(self):
        """Batches committed with progress; out of time, the job stops and the next run goes on."""
        with self.at(datetime(2026, 6, 1, 8, 0)):
            leads = self._create_leads(
                5, pipeline_type_id=self.type_a.id, stage_id=self.a1.id, user_id=self.rep.id
            )
        cron = self.env.ref("sales_process_addon.ir_cron_alert_stale_opportunities")
        Lead = type(self.env["crm.lead"])

        def run_in_cron(seconds_left):
            progress = self.env["ir.cron.progress"].create({"cron_id": cron.id, "remaining": 0, "done": 0})
            self._run(
                ir_cron_progress_id=progress.id,
                cron_id=cron.id,
                cron_end_time=time.monotonic() + seconds_left,
            )
            return progress

        with self.at(datetime(2026, 6, 8, 8, 0)), patch.object(Lead, "_STALE_ALERT_BATCH", 2):
            progress = run_in_cron(0)
            self.assertEqual((progress.done, progress.remaining), (2, 3))
            self.assertEqual(len(self._alerts(leads)), 2)
            progress = run_in_cron(600)
            self.assertEqual((progress.done, progress.remaining), (5, 0))
            self.assertEqual(len(self._alerts(leads)), 5)

    def test_second_worker_skips_locked_leads(self):
        """Leads locked by another transaction (another run of the job) are left to it."""
        Lead = self.env["crm.lead"]
        # Committed deals (the demo data's): another connection sees none of this test's.
        demo = Lead.search([("type", "=", "opportunity")], limit=2, order="id")
        if len(demo) < 2:
            self.skipTest("needs two opportunities committed in the database, as the demo data's")
        other = sql_db.db_connect(self.env.cr.dbname).cursor()
        try:
            other.execute("SELECT id FROM crm_lead WHERE id = %s FOR NO KEY UPDATE", [demo[0].id])
            self.assertEqual(demo._stage_alerts_lock(), demo[1])
        finally:
            other.rollback()
            other.close()
        self.assertEqual(demo._stage_alerts_lock(), demo)

    def test_job_leaves_a_lead_another_run_holds(self):
        """The job alerts none of the leads another run holds, and alerts them once they are free."""
        Lead = self.env["crm.lead"]
        # Committed deals (the demo data's): another connection sees none of this test's.
        demo = Lead.search(
            [("type", "=", "opportunity"), ("won_status", "=", "pending"), ("user_id", "!=", False)],
            limit=2,
            order="id",
        )
        if len(demo) < 2:
            self.skipTest("needs two open opportunities committed in the database, as the demo data's")
        # Idle a month later in any stage (the stages are written, not the leads another run holds).
        demo.stage_id.write({"rotting_threshold_days": 5, "escalation_days": 0})
        later = max(demo.mapped("date_last_stage_update")) + timedelta(days=30)
        held, free = demo
        other = sql_db.db_connect(self.env.cr.dbname).cursor()
        try:
            other.execute("SELECT id FROM crm_lead WHERE id = %s FOR NO KEY UPDATE", [held.id])
            with self.at(later):
                # A write of the held lead would wait for the other run: fail at once instead.
                self.env.cr.execute("SET LOCAL lock_timeout = '5s'")
                self._run()
            self.assertFalse(self._alerts(held))
            self.assertEqual(self._alerts(free).mapped("crm_stale_level"), ["salesperson"])
        finally:
            other.rollback()
            other.close()
        with self.at(later):
            self._run()
        self.assertEqual(self._alerts(held).mapped("crm_stale_level"), ["salesperson"])
        self.assertEqual(len(self._alerts(free)), 1, "the free lead's alert is not raised twice")

    def test_move_closes_alerts_at_once(self):
        """A deal moved on closes its alerts with the move, before the job runs again, in every
        process (even one that keeps its stage tasks on exit): whether the transaction had read
        the deal (the move's own cancelling) or not (cancelled before the move is written)."""
        self.type_a.cancel_tasks_on_exit = False
        read, unread = self._idle_lead(), self._idle_lead()
        with self.at(datetime(2026, 6, 13, 8, 0)):
            self.assertEqual(read.stage_id, self.a1)
            read.stage_id = self.a2
        with self.at(datetime(2026, 6, 13, 8, 0)):
            unread.stage_id = self.a2
        self.assertFalse(self._alerts(read | unread))

    def test_job_closes_alerts_of_deals_moved_behind_its_back(self):
        """A deal whose stage changed without the ORM (an SQL script): the job closes the alerts
        of the stage it left by itself."""
        lead = self._idle_lead()
        with self.at(datetime(2026, 6, 13, 8, 0)):
            self.env.cr.execute(
                "UPDATE crm_lead SET stage_id = %s, date_last_stage_update = %s WHERE id = %s",
                [self.a2.id, datetime(2026, 6, 13, 8, 0), lead.id],
            )
            self.env.invalidate_all()
            self._run()
        self.assertFalse(self._alerts(lead))

    def test_alerts_only_for_someone(self):
        """A deal nobody sells raises no salesperson alert, but its team leader's escalation; a
        deal of a team without a leader escalates to nobody."""
        leaderless = self.env["crm.team"].create({"name": "Team without a leader"})
        with self.at(datetime(2026, 6, 1, 8, 0)):
            unassigned = self._lead(team_id=self.team.id, user_id=False)
            unled = self._lead(team_id=leaderless.id)
        with self.at(datetime(2026, 6, 12, 8, 0)):
            self._run()
        alerts = self._alerts(unassigned | unled)
        self.assertEqual(
            sorted((a.res_id, a.crm_stale_level, a.user_id.id) for a in alerts),
            sorted([(unassigned.id, "manager", self.manager.id), (unled.id, "salesperson", self.rep.id)]),
        )
