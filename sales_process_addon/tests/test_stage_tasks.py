from contextlib import contextmanager
from datetime import date, datetime
from unittest.mock import patch

from odoo.exceptions import AccessError, UserError, ValidationError
from odoo.tests import HttpCase, new_test_user, tagged

from .common_gate import StageGateCase


@tagged("post_install", "-at_install")
class TestStageTasks(StageGateCase):
    """A2's standard tasks: a call by the salesperson, a review by the team
    leader, a check by a named user; entering A2 by any path schedules them."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.team.user_id = cls.manager
        call = cls.env.ref("mail.mail_activity_data_call")
        todo = cls.env.ref("mail.mail_activity_data_todo")
        cls.plan = cls.env["mail.activity.plan"].create(
            {
                "name": "A2 standard tasks",
                "res_model": "crm.lead",
                "template_ids": [
                    (
                        0,
                        0,
                        {
                            "activity_type_id": call.id,
                            "summary": "Call the evaluator",
                            "responsible_type": "crm_salesperson",
                            "delay_count": 2,
                            "delay_from": "after_plan_date",
                        },
                    ),
                    (
                        0,
                        0,
                        {
                            "activity_type_id": todo.id,
                            "summary": "Review the deal",
                            "responsible_type": "crm_team_leader",
                            "delay_count": 5,
                            "delay_from": "after_plan_date",
                        },
                    ),
                    (
                        0,
                        0,
                        {
                            "activity_type_id": todo.id,
                            "summary": "Check references",
                            "responsible_type": "other",
                            "responsible_id": cls.manager_2.id,
                        },
                    ),
                ],
            }
        )
        cls.a2.activity_plan_id = cls.plan

    def _stage_tasks(self, lead, stage=None):
        return self.env["mail.activity"].search(
            [
                ("res_model", "=", "crm.lead"),
                ("res_id", "=", lead.id),
                ("crm_stage_id", "=", (stage or self.a2).id),
            ]
        )

    @contextmanager
    def _logged_queries(self):
        """The text of every query run inside the block."""
        queries = []
        execute = type(self.env.cr).execute

        def logged_execute(cr, query, params=None, log_exceptions=True):
            queries.append(str(query.code if hasattr(query, "code") else query))
            return execute(cr, query, params, log_exceptions)

        with patch.object(type(self.env.cr), "execute", logged_execute):
            yield queries

    def _ready_lead(self, **values):
        lead = self._lead(team_id=self.team.id, **values)
        self._prove_a1(lead)
        return lead

    def test_reopened_deal_enters_no_stage(self):
        """A deal reopened where it stands (its stage no longer marked won) enters no stage:
        the stage's tasks, closed by the win, are not scheduled again."""
        self.type_a.gate_mode = "guided"
        lead = self._lead(self.a2, team_id=self.team.id)
        self.assertEqual(len(self._stage_tasks(lead)), 3)
        self.a2.is_won = True
        self.a2.is_won = False
        self.assertEqual(lead.stage_history_ids.sorted("id").mapped("event"), ["create", "won", "reopen"])
        self.assertFalse(self._stage_tasks(lead))

    def test_entering_the_stage_schedules_its_plan(self):
        lead = self._ready_lead()
        with self.at(datetime(2026, 5, 4, 10, 0)):
            lead.with_user(self.rep).stage_id = self.a2
        tasks = self._stage_tasks(lead).sorted("summary")
        self.assertEqual(
            tasks.mapped("summary"), ["Call the evaluator", "Check references", "Review the deal"]
        )
        self.assertEqual(tasks.mapped("user_id"), self.rep | self.manager_2 | self.manager)
        self.assertEqual(
            tasks.mapped("date_deadline"), [date(2026, 5, 6), date(2026, 5, 4), date(2026, 5, 9)]
        )
        self.assertTrue(all(tasks.mapped("automated")))

    def test_creation_in_the_stage_schedules_it(self):
        lead = (
            self.env["crm.lead"]
            .with_user(self.manager)
            .create(
                {
                    "name": "Imported in A2",
                    "pipeline_type_id": self.type_a.id,
                    "stage_id": self.a2.id,
                    "team_id": self.team.id,
                    "user_id": self.rep.id,
                }
            )
        )
        self.assertEqual(len(self._stage_tasks(lead)), 3)

    def test_mass_edit_schedules_for_each_lead(self):
        leads = self._ready_lead(name="One") | self._ready_lead(name="Two")
        leads.with_user(self.manager).write({"stage_id": self.a2.id})
        self.assertEqual([len(self._stage_tasks(lead)) for lead in leads], [3, 3])

    def _told_since(self, message_id):
        """The notices to one person posted after message ``message_id``."""
        return self.env["mail.message"].search(
            [("id", ">", message_id), ("message_type", "=", "user_notification")]
        )

    def test_a_batch_tells_each_assignee_once(self):
        """One move: Odoo's own notice on the deal for a task given to someone else; a batch of
        moves: one message per person, listing the tasks, where Odoo would send one each."""
        one = self._ready_lead(name="Deal one")
        leads = self._ready_lead(name="Deal two") | self._ready_lead(name="Deal three")
        leads |= self._ready_lead(name="Deal four")
        last = self.env["mail.message"].search([], order="id desc", limit=1).id
        one.with_user(self.rep).stage_id = self.a2
        self.assertEqual(len(self._stage_tasks(one)), 3)
        told = self._told_since(last)
        self.assertEqual(told.mapped("model"), ["crm.lead", "crm.lead"])
        self.assertEqual(told.partner_ids, (self.manager | self.manager_2).partner_id, "not the mover")
        last = max(told.ids)
        leads.with_user(self.rep).write({"stage_id": self.a2.id})
        self.assertEqual([len(self._stage_tasks(lead)) for lead in leads], [3, 3, 3])
        told = self._told_since(last)
        self.assertEqual(len(told), 2)
        for user, task in ((self.manager, "Review the deal"), (self.manager_2, "Check references")):
            message = told.filtered(lambda message, user=user: message.partner_ids == user.partner_id)
            self.assertFalse(message.model, "not on one deal: on the three")
            self.assertEqual(message.subject, "Tasks assigned to you: 3")
            self.assertIn("Rep put these opportunities in new stages", message.body)
            for lead in leads:
                self.assertIn(lead.name, message.body)
            self.assertEqual(message.body.count(f"{task}, due"), 3)

    def test_move_that_hands_the_deal_over(self):
        """A rep who moves his deals while handing them to another salesperson may no longer
        write them once the move is written: the move still gives its tasks, and tells of them."""
        # A colleague of the same team: the deals keep their team, and its leader the review.
        self.team.member_ids |= self.other_rep
        one = self._ready_lead(name="Deal one")
        leads = self._ready_lead(name="Deal two") | self._ready_lead(name="Deal three")
        last = self.env["mail.message"].search([], order="id desc", limit=1).id
        handover = {"stage_id": self.a2.id, "user_id": self.other_rep.id}
        one.with_user(self.rep).write(handover)
        leads.with_user(self.rep).write(handover)
        with self.assertRaises(AccessError):
            one.with_user(self.rep).check_access("write")
        for lead in one | leads:
            tasks = self._stage_tasks(lead)
            self.assertEqual(lead.stage_id, self.a2)
            self.assertEqual(len(tasks), 3)
            self.assertEqual(
                {task.summary: task.user_id for task in tasks},
                {
                    "Call the evaluator": self.other_rep,
                    "Check references": self.manager_2,
                    "Review the deal": self.manager,
                },
            )
        # Told of each deal's task (at once: one notice for one move, one for the batch; in the
        # background: one for all), beside CRM's own notice of each deal given to them.
        told = self._told_since(last).filtered(
            lambda message: message.partner_ids == self.other_rep.partner_id
            and not message.subject.startswith("You have been assigned to")
        )
        text = " ".join(told.mapped("subject") + told.mapped("body"))
        self.assertIn("Call the evaluator", text)
        for lead in one | leads:
            self.assertIn(lead.name, text)

    def test_no_duplicates_when_re_entering(self):
        self.type_a.cancel_tasks_on_exit = False
        lead = self._ready_lead()
        lead.stage_id = self.a2
        lead.stage_id = self.a1
        lead.stage_id = self.a2
        self.assertEqual(len(self._stage_tasks(lead)), 3)
        # A task done is not open any more: entering again schedules it again.
        self._stage_tasks(lead).filtered(lambda a: a.summary == "Call the evaluator").action_done()
        lead.stage_id = self.a1
        lead.stage_id = self.a2
        self.assertEqual(len(self._stage_tasks(lead)), 3)

    def test_leaving_cancels_open_tasks(self):
        lead = self._ready_lead()
        lead.stage_id = self.a2
        other_activity = lead.activity_schedule("mail.mail_activity_data_todo", summary="Personal reminder")
        lead.stage_id = self.a1
        self.assertFalse(self._stage_tasks(lead))
        self.assertTrue(other_activity.exists(), "activities the process did not schedule stay")

    def test_refused_move_keeps_the_tasks_of_its_stage(self):
        """The tasks of the stage left are cancelled before the move is judged: a refused
        move brings them back with everything else it wrote."""
        lead = self._ready_lead()
        lead.stage_id = self.a2
        tasks = self._stage_tasks(lead)
        with self.assertRefused(UserError, "missing milestones"):
            lead.with_user(self.rep).stage_id = self.a3
        self.assertEqual(self._stage_tasks(lead), tasks)
        self.assertEqual(lead.stage_id, self.a2)

    def test_move_reads_the_deal_once(self):
        """Cancelling tasks deletes activities, and Odoo's deletion clears the whole ORM cache:
        done before the move reads the deal, the deal's row is read once, not again after it
        (to schedule the tasks of the stage entered)."""
        self.a1.activity_plan_id = self.plan.copy({"name": "A1 standard tasks"})
        lead = self._ready_lead()
        lead.stage_id = self.a2
        self.env.invalidate_all()
        with self._logged_queries() as queries:
            lead.with_user(self.rep).stage_id = self.a1
            self.env.flush_all()
            self.env.cr.precommit.run()
        row_reads = [
            q for q in queries if q.startswith('SELECT "crm_lead"."id", ') and '"crm_lead"."name"' in q
        ]
        self.assertEqual(len(row_reads), 1, "the deal read again after its tasks were cancelled")
        self.assertFalse(self._stage_tasks(lead), "A2's tasks cancelled")
        self.assertEqual(len(self._stage_tasks(lead, self.a1)), 3, "A1's scheduled")

    def test_deal_already_read_keeps_the_moves_own_cancelling(self):
        """A deal this transaction has read would be read again whenever its tasks are deleted:
        its move looks for nothing early (no query), and still cancels the stage left's tasks."""
        lead = self._ready_lead()
        lead.stage_id = self.a2
        self.assertTrue(self._stage_tasks(lead))
        self.env.invalidate_all()
        self.assertEqual(lead.stage_id, self.a2)
        with self._logged_queries() as queries:
            lead.with_user(self.rep).stage_id = self.a1
        self.assertFalse([q for q in queries if "JOIN crm_lead lead ON lead.id = activity.res_id" in q])
        self.assertFalse(self._stage_tasks(lead), "A2's tasks cancelled by the move itself")

    def test_leaving_keeps_tasks_when_process_says_so(self):
        self.type_a.cancel_tasks_on_exit = False
        lead = self._ready_lead()
        lead.stage_id = self.a2
        lead.stage_id = self.a1
        self.assertEqual(len(self._stage_tasks(lead)), 3)

    def test_saving_the_same_stage_keeps_its_tasks(self):
        """Writing the stage a deal is already in (an import, a script's save) is no move: the
        open tasks of that stage stay, even for a deal the transaction has not read yet."""
        lead = self._ready_lead()
        lead.stage_id = self.a2
        tasks = self._stage_tasks(lead)
        self.assertEqual(len(tasks), 3)
        self.env.invalidate_all()
        lead.with_user(self.rep).write({"stage_id": self.a2.id})
        self.assertEqual(self._stage_tasks(lead), tasks)

    def test_leaving_unread_deal_keeps_tasks_when_process_says_so(self):
        """A deal the transaction has not read (a drag in the kanban) has the tasks of the stage
        left cancelled before the move is written: there too, a process that keeps the tasks on
        exit keeps them."""
        self.type_a.cancel_tasks_on_exit = False
        lead = self._ready_lead()
        lead.stage_id = self.a2
        self.assertEqual(len(self._stage_tasks(lead)), 3)
        self.env.invalidate_all()
        lead.with_user(self.rep).stage_id = self.a1
        self.assertEqual(lead.stage_id, self.a1)
        self.assertEqual(len(self._stage_tasks(lead)), 3)

    def test_losing_keeps_tasks_when_process_says_so(self):
        """A process that keeps the stage tasks on exit keeps them when the deal is lost too."""
        self.type_a.cancel_tasks_on_exit = False
        lead = self._ready_lead()
        lead.stage_id = self.a2
        lead.with_user(self.rep).action_set_lost()
        self.assertEqual(len(self._stage_tasks(lead)), 3)

    def test_plan_launched_by_hand_follows_the_deal(self):
        """Launched from a deal's chatter (Odoo's plan wizard), the plan's tasks go to the deal's
        salesperson and team leader, not to the user the wizard asks for; in a team without a
        leader, the leader's tasks go to the salesperson."""
        leaderless = self.env["crm.team"].create({"name": "Team without a leader"})
        led = self._lead(name="Led deal", team_id=self.team.id)
        unled = self._lead(name="Unled deal", team_id=leaderless.id)
        for lead in (led, unled):
            wizard = (
                self.env["mail.activity.schedule"]
                .with_user(self.manager)
                .with_context(active_model="crm.lead", active_ids=lead.ids)
                .create({"plan_id": self.plan.id, "plan_on_demand_user_id": self.manager_2.id})
            )
            wizard.action_schedule_plan()

        def assignees(lead):
            return {activity.summary: activity.user_id for activity in lead.activity_ids}

        expected = {
            "Call the evaluator": self.rep,
            "Review the deal": self.manager,
            "Check references": self.manager_2,
        }
        self.assertEqual(assignees(led), expected)
        self.assertEqual(assignees(unled), {**expected, "Review the deal": self.rep})

    def test_losing_cancels_open_tasks(self):
        lead = self._ready_lead()
        lead.stage_id = self.a2
        lead.with_user(self.rep).action_set_lost()
        self.assertFalse(self._stage_tasks(lead))

    def test_restoring_brings_the_stage_tasks_back_once(self):
        lead = self._ready_lead()
        lead.stage_id = self.a2
        lead.with_user(self.rep).action_set_lost()
        self.assertFalse(self._stage_tasks(lead))
        lead.with_user(self.rep).action_unarchive()
        self.assertEqual(len(self._stage_tasks(lead)), 3)
        lead.with_user(self.rep).action_set_lost()
        lead.with_user(self.rep).action_unarchive()
        self.assertEqual(len(self._stage_tasks(lead)), 3, "restored twice, scheduled once")

    def test_rep_cannot_change_stage_tasks(self):
        with self.assertRaises(AccessError):
            self.a2.with_user(self.rep).activity_plan_id = False
        with self.assertRaises(AccessError):
            self.plan.with_user(self.rep).name = "Renamed"

    def test_task_delay_is_bounded(self):
        """A typo of a delay (no date in the calendar) is refused when the plan is configured,
        naming the task, instead of failing every move into the stage."""
        call = self.plan.template_ids.filtered(lambda t: t.summary == "Call the evaluator")
        with self.assertRaisesRegex(ValidationError, "Call the evaluator.*10000000 days.*36500 days"):
            call.delay_count = 10_000_000
        with self.assertRaisesRegex(ValidationError, "-10000000 days"):
            call.delay_count = -10_000_000

        with self.assertRaisesRegex(ValidationError, "1201 months"):
            call.write({"delay_count": 1201, "delay_unit": "months"})
        call.write({"delay_count": 1200, "delay_unit": "months"})
        lead = self._ready_lead()
        with self.at(datetime(2026, 5, 4, 10, 0)):
            lead.with_user(self.rep).stage_id = self.a2
        task = self._stage_tasks(lead).filtered(lambda a: a.summary == "Call the evaluator")
        self.assertEqual(task.date_deadline, date(2126, 5, 4))

    def test_task_delay_of_other_plans_is_odoos(self):
        """Plans of other documents keep Odoo's rules."""
        plan = self.env["mail.activity.plan"].create(
            {
                "name": "Partner plan",
                "res_model": "res.partner",
                "template_ids": [
                    (0, 0, {"activity_type_id": self.env.ref("mail.mail_activity_data_todo").id})
                ],
            }
        )
        plan.template_ids.delay_count = 10_000_000
        self.assertEqual(plan.template_ids.delay_count, 10_000_000)
        # Made a plan of opportunities, its tasks follow the opportunities' rule.
        with self.assertRaisesRegex(ValidationError, "10000000 days"):
            plan.res_model = "crm.lead"

    def test_scheduling_adds_no_query_per_lead(self):
        """Around Odoo's own batch creation of the activities, scheduling costs
        the same number of queries for 5 or 25 leads."""
        Activity = type(self.env["mail.activity"])
        created = []

        def fake_create(records, vals_list):
            created.append(len(vals_list))
            return records.browse()

        def our_queries(count):
            leads = self.env["crm.lead"].create(
                [
                    {
                        "name": f"T{i}",
                        "type": "opportunity",
                        "pipeline_type_id": self.type_a.id,
                        "user_id": self.rep.id,
                        "team_id": self.team.id,
                    }
                    for i in range(count)
                ]
            )
            self.env.invalidate_all()
            self.env.flush_all()
            before = self.cr.sql_log_count
            with patch.object(Activity, "create", fake_create):
                leads._stage_tasks_schedule(dict.fromkeys(leads.ids, self.a2.id))
            return self.cr.sql_log_count - before

        our_queries(2)  # warm caches
        self.assertEqual(our_queries(5), our_queries(25))
        self.assertEqual(created[-2:], [15, 75], "one batch create of 3 activities per lead")

    def test_telling_adds_no_query_per_deal(self):
        """Telling each person of the tasks a batch gives them costs the same number of
        queries for 5 or 25 deals."""
        Activity = type(self.env["mail.activity"])

        def queries(count):
            leads = self.env["crm.lead"].create(
                [
                    {
                        "name": f"Told {i}",
                        "type": "opportunity",
                        "pipeline_type_id": self.type_a.id,
                        "user_id": self.rep.id,
                        "team_id": self.team.id,
                    }
                    for i in range(count)
                ]
            )
            with patch.object(Activity, "_crm_stage_tasks_notify", autospec=True) as notify:
                leads._stage_tasks_schedule(dict.fromkeys(leads.ids, self.a2.id))
            tasks = notify.call_args.args[0]
            self.assertEqual(len(tasks), 3 * count)
            self.env.invalidate_all()
            self.env.flush_all()
            before = self.cr.sql_log_count
            tasks._crm_stage_tasks_notify()
            return self.cr.sql_log_count - before

        queries(2)  # warm caches
        self.assertEqual(queries(5), queries(25))

    @contextmanager
    def _counted_activity_writes(self, created, deleted):
        """Odoo's creation and deletion of activities replaced by counters.

        Appends to the lists ``created`` and ``deleted`` the number of
        activities of each call (a deletion of none is not counted: Odoo
        deletes the activities of any record it deletes).
        """
        Activity = type(self.env["mail.activity"])

        def fake_create(records, vals_list):
            created.append(len(vals_list))
            return records.browse()

        def fake_unlink(records):
            if records:
                deleted.append(len(records))
            return True

        with patch.object(Activity, "create", fake_create), patch.object(Activity, "unlink", fake_unlink):
            yield

    def _leads_moved_in_sql(self, count):
        """``(leads, their gate state before)``: ``count`` leads with A1 proven and a task plan in
        A1, moved to A2 in SQL, for ``_stage_gate_enforce`` to judge the move."""
        if not self.a1.activity_plan_id:
            self.a1.activity_plan_id = self.env["mail.activity.plan"].create(
                {
                    "name": "A1 standard tasks",
                    "res_model": "crm.lead",
                    "template_ids": [
                        (0, 0, {"activity_type_id": self.env.ref("mail.mail_activity_data_call").id})
                    ],
                }
            )
        leads = self.env["crm.lead"].union(*(self._lead(name=f"M{i}") for i in range(count)))
        for lead in leads:
            self._prove_a1(lead)
        self._stage_tasks(leads[:1])  # A1's tasks scheduled (by the queue, where there is one)
        self.env.flush_all()
        before = leads._stage_gate_state()
        self.env.cr.execute("UPDATE crm_lead SET stage_id = %s WHERE id = ANY(%s)", [self.a2.id, leads.ids])
        self.env.invalidate_all()
        return leads, before

    def test_move_reads_open_tasks_once(self):
        """A move that cancels and schedules tasks reads the leads' open tasks once, for both:
        the gate's queries around Odoo's creation and deletion of the activities are pinned,
        the same for 5 or 25 leads."""
        created, deleted = [], []
        for count in (5, 25):
            leads, before = self._leads_moved_in_sql(count)
            with self._counted_activity_writes(created, deleted), self.assertQueryCount(__system__=15):
                leads._stage_gate_enforce(before)
        self.assertEqual(created, [15, 75], "A2's three tasks scheduled for each lead, in one create")
        self.assertEqual(deleted, [5, 25], "A1's task cancelled for each lead, in one deletion")


@tagged("post_install", "-at_install")
class TestStaleAlerts(StageGateCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.a1.write({"rotting_threshold_days": 5, "escalation_days": 10})
        cls.team.user_id = cls.manager

    def test_escalation_must_follow_rotting(self):
        with self.assertRefused(ValidationError, "must come after the 5 days"):
            self.a1.escalation_days = 3


@tagged("post_install", "-at_install")
class TestStageTasksRemote(HttpCase):
    """Stage tasks are scheduled whatever the path: XML-RPC and import."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.ptype = cls.env["crm.pipeline.type"].create({"name": "Remote tasks", "code": "remote_tasks"})
        plan = cls.env["mail.activity.plan"].create(
            {
                "name": "Remote plan",
                "res_model": "crm.lead",
                "template_ids": [
                    (
                        0,
                        0,
                        {
                            "activity_type_id": cls.env.ref("mail.mail_activity_data_call").id,
                            "summary": "Remote call",
                            "responsible_type": "crm_salesperson",
                        },
                    ),
                ],
            }
        )
        cls.s1, cls.s2 = cls.env["crm.stage"].create(
            [
                {
                    "name": "Remote S1",
                    "sequence": 1,
                    "pipeline_type_id": cls.ptype.id,
                    "activity_plan_id": plan.id,
                },
                {
                    "name": "Remote S2",
                    "sequence": 2,
                    "pipeline_type_id": cls.ptype.id,
                    "activity_plan_id": plan.id,
                },
            ]
        )
        cls.rep = new_test_user(
            cls.env, login="tasks_rep", password="tasks_rep_pw1", groups="sales_team.group_sale_salesman"
        )

    def _tasks(self, lead):
        return self.env["mail.activity"].search(
            [("res_model", "=", "crm.lead"), ("res_id", "=", lead.id), ("crm_stage_id", "!=", False)]
        )

    def test_xmlrpc_move_schedules_tasks(self):
        lead = self.env["crm.lead"].create(
            {
                "name": "Remote deal",
                "type": "opportunity",
                "pipeline_type_id": self.ptype.id,
                "user_id": self.rep.id,
            }
        )
        self.assertEqual(self._tasks(lead).crm_stage_id, self.s1)
        db = self.env.cr.dbname
        uid = self.xmlrpc_common.login(db, "tasks_rep", "tasks_rep_pw1")
        self.xmlrpc_object.execute_kw(
            db, uid, "tasks_rep_pw1", "crm.lead", "write", [[lead.id], {"stage_id": self.s2.id}]
        )
        tasks = self._tasks(lead)
        self.assertEqual(
            (tasks.crm_stage_id, tasks.user_id, tasks.summary), (self.s2, self.rep, "Remote call")
        )

    def test_import_schedules_tasks(self):
        xmlid = self.ptype.export_data(["id"])["datas"][0][0]
        content = f"name,pipeline_type_id/id,user_id\nImported remote,{xmlid},{self.rep.name}\n".encode()
        importer = (
            self.env["base_import.import"]
            .with_user(self.rep)
            .create(
                {"res_model": "crm.lead", "file": content, "file_type": "text/csv", "file_name": "leads.csv"}
            )
        )
        result = importer.execute_import(
            ["name", "pipeline_type_id/id", "user_id"],
            ["name", "t", "u"],
            {"quoting": '"', "separator": ",", "has_headers": True},
        )
        self.assertFalse([m for m in result["messages"] if m["type"] == "error"], result["messages"])
        lead = self.env["crm.lead"].search([("name", "=", "Imported remote")])
        self.assertEqual(self._tasks(lead).crm_stage_id, self.s1)
