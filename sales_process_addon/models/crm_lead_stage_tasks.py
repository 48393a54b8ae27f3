import functools
import logging
import threading

import psycopg2
from markupsafe import Markup

from odoo import api, fields, models, tools
from odoo.service import server as odoo_server
from odoo.tools import SQL, config, split_every

from odoo.addons.mail.tools.discuss import Store

_logger = logging.getLogger(__name__)


def cron_workers_run():
    """Whether this Odoo server runs scheduled actions: the cron workers of a multi-process
    server (``--workers``, ``--max-cron-threads``), or cron threads in this process.

    Not in a process that loads Odoo without serving it (``odoo-bin shell``, a test run, a
    script), whatever its configuration says: nothing there works a queue.
    """
    if isinstance(odoo_server.server, odoo_server.PreforkServer):
        return config["max_cron_threads"] > 0
    return any(getattr(thread, "type", None) == "cron" for thread in threading.enumerate())


class CrmLeadStageTasks(models.AbstractModel):
    """Standard tasks of stages and stale-deal alerts; ``crm.lead`` inherits it.

    Entering a stage, by any path, schedules the activities of the stage's
    activity plan (once: those still open are not duplicated). Leaving the
    stage or losing the deal cancels them when the process says so. A daily
    job alerts the salesperson about opportunities left idle past the stage's
    days to rot (Odoo's rotting), then the team leader past the escalation.
    """

    _name = "crm.lead.stage.tasks"
    _description = "Opportunity Stage Tasks"

    _BACKGROUND_PARAM = "sales_process_addon.stage_tasks_in_background"
    _SCHEDULER = "sales_process_addon.ir_cron_schedule_stage_tasks"
    _JOB_BATCH = 200
    # Times a run reads the queue again after a conflict with another transaction.
    _JOB_RETRIES = 5
    _WAKE_UP = "sales_process_addon.stage_tasks_wake_up"

    # ------------------------------------------------------------
    # Stage tasks: at once, or in the background
    # ------------------------------------------------------------

    @api.model
    def _stage_tasks_background_setting(self):
        """The Settings' choice: stage tasks in the background (the default), unless set to "False"."""
        # sudo: a system parameter; every user moving a deal must know where its tasks go.
        return self.env["ir.config_parameter"].sudo().get_param(self._BACKGROUND_PARAM) != "False"

    @api.model
    def _stage_tasks_in_background(self):
        """Whether moves leave their stage tasks, and their history's report rows, to the scheduled action.

        So the Settings say (by default), and only where the scheduled action
        will run soon: not on a server without cron workers or threads
        (``--max-cron-threads 0``) nor in a process that serves nothing (a
        shell, a test run: see ``cron_workers_run``), nor while Odoo installs
        or updates modules (demo data, a module's moves of its records:
        ``odoo-bin -i/-u`` schedules nothing), nor when an admin archived or
        deleted the scheduled action. There the moves schedule their tasks
        themselves. Read from Odoo's caches and from the server's state: no
        query per move.
        """
        return (
            self.env.registry.ready
            and cron_workers_run()
            and self._stage_tasks_background_setting()
            and self._stage_tasks_scheduler_active()
        )

    @api.model
    @tools.ormcache()
    def _stage_tasks_scheduler_active(self):
        """Whether the scheduled action that works the queue exists and is active.

        Cached for the registry: archiving, restoring or deleting a scheduled
        action clears the cache (see ``ir.cron``).
        """
        cron_id = self.env["ir.model.data"]._xmlid_to_res_id(self._SCHEDULER, raise_if_not_found=False)
        # sudo: whether the server's own job runs does not depend on who moves a deal.
        return bool(cron_id and self.env["ir.cron"].sudo().browse(cron_id).exists().active)

    def _stage_tasks_work_queue_now(self):
        """Work the queued moves of these leads (the whole queue, called on the model) in this
        transaction.

        The whole queue before the scheduler stops working it: when the
        scheduled action is archived or deleted, or the setting turned off,
        the moves to come schedule their tasks themselves, and a move still
        queued would otherwise apply after them, whenever the queue is worked
        again. Some leads' moves before a merge: their tasks and report rows
        move with them to the opportunity kept.
        """
        domain = [("lead_id", "in", self.ids)] if self else []
        # sudo: the queue is the server's own; users have no access to it.
        jobs = self.env["crm.lead.stage.task.job"].sudo().search(domain)
        for (mover, day), batch in self._stage_task_job_batches(jobs):
            self._stage_task_jobs_work_batch(mover, day, batch)

    def _stage_tasks_before_merge(self):
        """Settle the queued moves of these leads before they are merged: their report rows
        are written, and their tasks scheduled, before the history and the tasks move.

        The moves with no task to cancel or schedule (see ``_stage_task_jobs_have_tasks``),
        such as the creation of each lead Odoo's assignment merges, only owe their report
        rows: they leave the queue, and their history rows are claimed for the reports, in the
        query that finds them (a merge of leads created in the Standard pipeline costs two
        queries here). The others are worked as the scheduled action would.

        Returns the leads' open stage tasks and stale-deal alerts once settled, as
        ``[(activity id, lead id, stage id, stage task id, is an alert)]`` (see
        ``_stage_tasks_merge``): read in the same query, as most merged leads have none.
        """
        self.env["crm.lead.stage.task.job"].flush_model()
        self.env["crm.lead.stage.history"].flush_model(["lead_id", "reports_pending"])
        self.env["mail.activity"].flush_model(
            ["res_model", "res_id", "active", "crm_stage_id", "crm_plan_template_id", "crm_stale_level"]
        )
        claimed, with_tasks, tasks = self.env.execute_query(
            SQL(
                """
                WITH taskless AS (
                    DELETE FROM crm_lead_stage_task_job job
                    WHERE job.lead_id = ANY(%(lead_ids)s::int4[])
                      AND job.left_stage_id IS NULL AND job.lost IS NOT TRUE
                      AND (job.entered_stage_id IS NULL OR job.entered_stage_id <> ALL(%(planned)s::int4[]))
                    RETURNING job.id, job.lead_id
                ),
                claimed AS (
                    UPDATE crm_lead_stage_history history
                    SET reports_pending = FALSE
                    WHERE history.lead_id IN (SELECT lead_id FROM taskless) AND history.reports_pending
                    RETURNING history.id, history.lead_id, history.event
                )
                SELECT COALESCE((SELECT json_agg(json_build_array(id, lead_id, event)) FROM claimed), '[]'),
                       EXISTS (
                           SELECT 1 FROM crm_lead_stage_task_job job
                           WHERE job.lead_id = ANY(%(lead_ids)s::int4[])
                             AND job.id NOT IN (SELECT id FROM taskless)
                       ),
                       COALESCE((
                           SELECT json_agg(json_build_array(
                               activity.id, activity.res_id, activity.crm_stage_id,
                               activity.crm_plan_template_id, activity.crm_stale_level IS NOT NULL
                           ) ORDER BY activity.id)
                           FROM mail_activity activity
                           WHERE activity.res_model = 'crm.lead'
                             AND activity.res_id = ANY(%(lead_ids)s::int4[])
                             AND activity.active
                             AND (activity.crm_stage_id IS NOT NULL OR activity.crm_stale_level IS NOT NULL)
                       ), '[]')
                """,
                lead_ids=list(self.ids),
                planned=self._stage_tasks_planned_stage_ids(),
            )
        )[0]
        self.env["crm.lead.stage.task.job"].invalidate_model()
        # sudo: the history and its report rows are the server's.
        self.env["crm.lead.stage.history"].sudo()._record_claimed_reports(claimed)
        if with_tasks:
            self._stage_tasks_work_queue_now()
            # The queue scheduled and cancelled tasks: read them as they are now.
            tasks = [
                (
                    task.id,
                    task.res_id,
                    task.crm_stage_id.id,
                    task.crm_plan_template_id.id,
                    bool(task.crm_stale_level),
                )
                for task in self._stage_tasks_open()
            ]
        return [tuple(task) for task in tasks]

    def _stage_tasks_merge(self, opportunities):
        """Settle the stage tasks of ``opportunities`` before Odoo moves their activities to
        ``self``, the deal the merge keeps (their queued moves first: ``_stage_tasks_before_merge``).

        Each merged deal leaves its stage for ``self``'s: its stage tasks of another stage than
        ``self``'s current one (of any stage when ``self`` is lost) are cancelled where their
        stage's process cancels tasks on exit, as a move out of that stage would. Of the tasks
        left, those ``self`` (or a deal ranked before in the merge) has open already are
        duplicates, cancelled too: a deal has each task of a stage once. The others move to
        ``self`` with the rest of the activities (a rep's own included), as Odoo moves them. The
        merged deals' stale-deal alerts close: they were about a deal that no longer exists.
        """
        self.ensure_one()
        tasks = (self | opportunities)._stage_tasks_before_merge()
        rank = {lead.id: position for position, lead in enumerate(opportunities - self)}
        merged = [task for task in tasks if task[1] in rank]
        if not merged:
            return
        structure = self._stage_gate_structure()
        types, stage_info = structure["types"], structure["stages"]
        head_stage = self.stage_id.id if self.won_status != "lost" else False
        scheduled = {
            (template_id, stage_id)
            for _id, lead_id, stage_id, template_id, _alert in tasks
            if lead_id == self.id and template_id
        }
        cancelled = []
        for activity_id, lead_id, stage_id, template_id, alert in sorted(
            merged, key=lambda task: (rank[task[1]], task[0])
        ):
            cancel = alert
            if not cancel and stage_id != head_stage:
                type_id = stage_info.get(stage_id, {}).get("type") or self.browse(lead_id).pipeline_type_id.id
                cancel = types.get(type_id, {}).get("cancel_tasks", False)
            if cancel or (template_id and (template_id, stage_id) in scheduled):
                cancelled.append(activity_id)
            elif template_id:
                scheduled.add((template_id, stage_id))
        # sudo: as a move's own cancelling (see ``_stage_tasks_open``), whoever the tasks are for.
        self.env["mail.activity"].sudo().browse(cancelled).unlink()

    @api.model
    def _stage_tasks_planned_stage_ids(self):
        """The stages whose activity plan gives a deal tasks when it enters them."""
        return [stage_id for stage_id, info in self._stage_gate_structure()["stages"].items() if info["plan"]]

    def _stage_tasks_apply(self, left, entered, today=None):
        """Cancel the stage tasks of the stages left, then schedule those of the stages entered.

        ``today``: the day of the moves, from which the tasks' deadlines count (default: today).
        """
        if not left:
            self._stage_tasks_schedule(entered, today=today)
            return
        # One read of the leads' open tasks serves both: what to cancel, and what is already
        # scheduled (taken before cancelling, as deleting clears the ORM cache).
        open_tasks = self.browse({**left, **entered})._stage_tasks_open()
        scheduled = open_tasks._crm_stage_task_keys()
        self._stage_tasks_cancel(left, open_tasks)
        self._stage_tasks_schedule(entered, scheduled, today)

    def _stage_tasks_cancel_before_move(self, stage_id):
        """Cancel now what these leads' move to ``stage_id`` will cancel, before the move is written.

        Deleting clears the whole ORM cache (Odoo's ``unlink``): done first,
        while nothing of the leads is cached (a drag, an RPC write), the move
        does not read them again after it. Leads already read in this
        transaction would be read again whenever the deletion comes: they keep
        the move's own cancelling, and cost no query here (e.g. Odoo's
        conversion of leads, one write each). Only the open leads of a process
        leaving their stage, and only the tasks that leaving cancels (those of
        the stage left, where its process says so, and the stale-deal alerts);
        the move's own cancelling then finds nothing left. Found in one query
        that loads nothing in the cache. Should the write fail (the stage gate
        refuses the move, the user may not write the deal), its error rolls
        this back with it.
        """
        if not self or self._stage_tasks_in_background():
            return
        stage_field = self._fields["stage_id"]
        if any(self.env.cache.contains(lead, stage_field) for lead in self):
            return
        self.env.flush_all()
        rows = self.env.execute_query(
            SQL(
                """
                SELECT activity.id, activity.crm_stage_id, activity.crm_stale_level IS NOT NULL
                FROM mail_activity activity
                JOIN crm_lead lead ON lead.id = activity.res_id
                WHERE activity.res_model = 'crm.lead'
                  AND lead.id IN %s
                  AND lead.pipeline_type_id IS NOT NULL AND lead.active AND lead.won_status = 'pending'
                  AND lead.stage_id IS DISTINCT FROM %s
                  AND (activity.crm_stale_level IS NOT NULL OR activity.crm_stage_id = lead.stage_id)
                """,
                tuple(self.ids),
                stage_id or None,
            )
        )
        structure = self._stage_gate_structure()
        types, stage_info = structure["types"], structure["stages"]
        cancelled = [
            activity_id
            for activity_id, stage_left, stale_alert in rows
            if stale_alert
            or types.get(stage_info.get(stage_left, {}).get("type"), {}).get("cancel_tasks", False)
        ]
        # sudo: as the move's own cancelling (see ``_stage_tasks_open``).
        self.env["mail.activity"].sudo().browse(cancelled).unlink()

    def _stage_tasks_enqueue(self, left, entered, moved=()):
        """Record the moves for the scheduled action, and wake it right after the commit (in a
        request: after its response).

        ``left``, ``entered``: as for ``_stage_tasks_apply``; ``moved``: the ids
        of all the leads whose stage state changed, whose history's report rows
        the scheduled action writes (see ``crm.lead.stage.history.reports_pending``).
        """
        lead_ids = list(dict.fromkeys([*moved, *left, *entered]))
        if not lead_ids:
            return
        # In SQL, as the history: the queue is the server's own (users have no access to it), and
        # its rows need none of create's work. The job keeps who moved (its creator), as whom its
        # tasks are scheduled.
        self.env["crm.lead.stage.task.job"].flush_model()
        now = self.env.cr.now()
        self.env.cr.execute(
            SQL(
                """
                INSERT INTO crm_lead_stage_task_job (
                    lead_id, left_stage_id, lost, entered_stage_id,
                    create_uid, create_date, write_uid, write_date
                )
                SELECT job.lead_id, job.left_stage_id, job.lost, job.entered_stage_id,
                       %(uid)s, %(now)s, %(uid)s, %(now)s
                FROM unnest(%(lead_ids)s::int4[], %(left)s::int4[], %(lost)s::bool[], %(entered)s::int4[])
                    WITH ORDINALITY AS job(lead_id, left_stage_id, lost, entered_stage_id, position)
                ORDER BY job.position
                """,
                uid=self.env.uid,
                now=now,
                lead_ids=lead_ids,
                left=[left.get(lead_id) or None for lead_id in lead_ids],
                lost=[lead_id in left and not left[lead_id] for lead_id in lead_ids],
                entered=[entered.get(lead_id) or None for lead_id in lead_ids],
            )
        )
        # Deleted in another worker since this one's cache was read: the move still goes through.
        # Its id comes from the registry cache (``env.ref`` would check that it exists, a query per move).
        cron_id = self.env["ir.model.data"]._xmlid_to_res_id(self._SCHEDULER, raise_if_not_found=False)
        postcommit = self.env.cr.postcommit
        if cron_id and not postcommit.data.get(self._WAKE_UP):
            # Once per transaction, once its moves are committed (see ``_stage_tasks_wake_up``);
            # in a request, once its response is sent: the user does not wait for the wake-up.
            postcommit.data[self._WAKE_UP] = True
            wake_up = functools.partial(self._stage_tasks_wake_up, cron_id)
            if not self.env["ir.http"]._after_response(self._WAKE_UP, wake_up):
                postcommit.add(wake_up)

    @api.model
    def _stage_tasks_wake_up(self, cron_id):
        """Wake the scheduled action for the moves just committed, unless a run of it will start
        anyway (``_stage_tasks_wake_up_due``).

        Each trigger costs Odoo a connection of its own to wake the cron workers: under load,
        one per move. Judged after the commit, in a transaction of its own: the move holds
        nothing while its transaction lasts (an import holding a trigger would hold up the runs).
        Only the registry is read from ``self``: after a request, its cursor is closed.
        """
        with self.env.registry.cursor() as cr:
            if not self._stage_tasks_wake_up_due(cr, cron_id):
                # sudo: the server's own scheduled action, woken for any user's move.
                self.env(cr=cr, su=True)["ir.cron"].browse(cron_id)._trigger()

    @api.model
    def _stage_tasks_wake_up_due(self, cr, cron_id):
        """Whether a run of the scheduled action will start after now, reading the queue as it
        is now: a trigger of it is due that no run has taken yet.

        A run starts by deleting the due triggers, then reads the queue. A trigger a run is
        deleting is locked by it: skipped (the run may have read the queue already). So is
        one it deleted since ``cr``'s transaction began (a serialization failure, rolled back).
        """
        try:
            with cr.savepoint(flush=False):
                cr.execute(
                    SQL(
                        """
                        SELECT id FROM ir_cron_trigger
                        WHERE cron_id = %s AND call_at <= %s
                        LIMIT 1
                        FOR KEY SHARE SKIP LOCKED
                        """,
                        cron_id,
                        fields.Datetime.now(),
                    ),
                    log_exceptions=False,
                )
                return bool(cr.fetchone())
        except psycopg2.errors.SerializationFailure:
            return False

    @api.model
    def _cron_schedule_stage_tasks(self):
        """Work the queued moves in their order, in batches committed one by one: the report rows
        of their history, then their stage tasks.

        A batch holds consecutive moves by one user on one day of theirs,
        each lead once (a lead's later move waits for the next batch, so moves
        apply in their order). The tasks are scheduled as the user who moved,
        as the move itself would have: the same assignees notified, the same
        author, deadlines counted from the day of the move.

        A move whose tasks cannot be scheduled (e.g. a plan's template that no
        longer works) does not hold up the others: its batch is worked again
        move by move, and a move that fails alone is dropped, logged and told
        on its opportunity's chatter. A conflict with another transaction (a
        merge or a move of the same deals since the run began) is no such
        failure: the batch is rolled back and the queue read again, a few
        times before the run gives up and the scheduler retries it.
        """
        Cron = self.env["ir.cron"]
        conflicts = 0
        while True:
            jobs = self.env["crm.lead.stage.task.job"].search([])
            Cron._commit_progress(remaining=len(jobs))
            try:
                for (mover, day), batch in self._stage_task_job_batches(jobs):
                    self._stage_task_jobs_work_batch(mover, day, batch)
                    if not Cron._commit_progress(len(batch)):
                        return
                return
            except psycopg2.errors.SerializationFailure:
                conflicts += 1
                if conflicts > self._JOB_RETRIES:
                    raise
                _logger.info("Stage tasks: a batch met a concurrent change, read the queue again")
                self.env.cr.rollback()  # ends the snapshot: the queue is read as it is now

    @api.model
    def _stage_task_jobs_work_batch(self, mover, day, batch):
        """Work the queued moves ``batch`` (see ``_cron_schedule_stage_tasks``), show their tasks to
        ``mover``, and delete them from the queue."""
        # The report rows first: a move whose tasks fail still counts in the reports.
        # sudo: the history and its report rows are the server's.
        self.env["crm.lead.stage.history"].sudo()._record_pending_reports(batch.lead_id)
        if self._stage_task_jobs_have_tasks(batch):
            if not self._stage_task_jobs_work(mover, day, batch):
                for job in batch:
                    if not self._stage_task_jobs_work(mover, day, job):
                        self._stage_task_job_failed(mover, job)
            batch.lead_id._stage_tasks_show_to(mover)
        self._stage_task_jobs_delete(batch)

    @api.model
    def _stage_task_jobs_have_tasks(self, jobs):
        """Whether the moves ``jobs`` may have tasks to cancel or schedule: a stage left, a deal
        lost, or a stage entered whose plan has tasks.

        The others (a deal created in a stage without a plan, as most of a Standard pipeline's
        are) only owe their report rows (see also ``_stage_tasks_before_merge``): they take no
        savepoint, which would run the transaction's pre-commit work (the chatter's tracking)
        early, and notify nobody.
        """
        planned = self._stage_tasks_planned_stage_ids()
        return any(job.left_stage_id or job.lost or job.entered_stage_id.id in planned for job in jobs)

    @api.model
    def _stage_task_jobs_delete(self, jobs):
        """Delete the worked ``jobs`` from the queue, in SQL as they were queued.

        The ORM's ``unlink`` clears the cache of every record of the transaction: after a merge
        that worked its leads' queue, Odoo's lead assignment, which writes its leads one by one,
        read each lead, its properties and its sub-lists again, one query each. Nothing refers
        to a job: deleting one changes nothing else.
        """
        self.env.cr.execute(SQL("DELETE FROM crm_lead_stage_task_job WHERE id = ANY(%s)", list(jobs.ids)))
        jobs.invalidate_recordset()

    @api.model
    def _stage_task_jobs_work(self, mover, day, jobs):
        """Cancel and schedule the tasks of the moves ``jobs`` as ``mover``; False when that
        failed, and was rolled back (a conflict with another transaction is raised)."""
        left = {job.lead_id.id: job.left_stage_id.id for job in jobs if job.left_stage_id}
        left.update({job.lead_id.id: False for job in jobs if job.lost})
        entered = {job.lead_id.id: job.entered_stage_id.id for job in jobs if job.entered_stage_id}
        try:
            with self.env.cr.savepoint():
                # sudo: the move was allowed when it was made; its tasks follow it even if the
                # mover's rights changed since. As the mover (env.user), so as the move would have.
                self.with_user(mover).sudo()._stage_tasks_apply(left, entered, day)
        except psycopg2.OperationalError:
            raise
        except Exception:  # whatever broke, the moves after it must go on
            _logger.exception("Stage tasks of moves %s could not be scheduled", jobs.ids)
            return False
        return True

    def _stage_tasks_show_to(self, user):
        """Show these leads' activities as they are now in ``user``'s open chatters.

        The tasks of a move scheduled in the background come after the page
        that made the move was drawn: the mover sees them appear, as with a
        move that schedules them at once. Sent on the bus at commit.
        """
        store = Store(bus_channel=user)
        self.with_user(user)._filtered_access("read")._thread_to_store(store, [], request_list=["activities"])
        store.bus_send()

    @api.model
    def _stage_task_job_failed(self, mover, job):
        """Tell the opportunity of ``job`` that the tasks of its move were not updated."""
        # In the language of the user who moved the deal: it is his move that lacks its tasks.
        in_his_language = self.with_context(lang=mover.lang or self.env.lang)
        if job.entered_stage_id:
            text = in_his_language.env._(
                'The standard tasks of "%(stage)s" could not be scheduled; the server\'s log has the reason.',
                stage=job.entered_stage_id.with_env(in_his_language.env).name,
            )
        else:
            text = in_his_language.env._(
                "The standard tasks of the stage left could not be cancelled; the server's log has the reason."
            )
        # sudo: the scheduler's note, on a deal its own user may not read.
        job.lead_id.sudo()._message_log(body=Markup("<p>%s</p>") % text)

    @api.model
    def _stage_task_job_batches(self, jobs):
        """``((mover, day of the move), jobs)`` batches of ``jobs``, in order (see ``_cron_schedule_stage_tasks``)."""
        batch, leads, key = [], set(), None
        for job in jobs:
            mover = job.create_uid or self.env.user  # the scheduler's, for a mover deleted since
            mover_env = self.with_user(mover).with_context(tz=mover.tz)
            job_key = (mover, fields.Date.context_today(mover_env, job.create_date))
            if batch and (job.lead_id.id in leads or job_key != key or len(batch) >= self._JOB_BATCH):
                yield key, jobs.browse(batch)
                batch, leads = [], set()
            batch.append(job.id)
            leads.add(job.lead_id.id)
            key = job_key
        if batch:
            yield key, jobs.browse(batch)

    # ------------------------------------------------------------
    # Stage tasks
    # ------------------------------------------------------------

    def _stage_tasks_schedule(self, stage_by_lead, scheduled=None, today=None):
        """Schedule the plan of the stage each lead entered, in one create.

        ``stage_by_lead``: ``{lead id: id of the stage it entered}``.
        ``scheduled``: the ``_crm_stage_task_keys`` of the leads' open stage
        tasks, when already read: those are not scheduled twice.
        ``today``: the day the deadlines count from (default: today).
        """
        stage_info = self._stage_gate_structure()["stages"]
        plan_of = {
            stage_id: stage_info[stage_id]["plan"]
            for stage_id in set(stage_by_lead.values())
            if stage_info.get(stage_id, {}).get("plan")
        }
        plans = self.env["mail.activity.plan"].browse(set(plan_of.values()))
        templates_of = {
            stage_id: templates
            for stage_id, plan_id in plan_of.items()
            if (templates := plans.browse(plan_id).template_ids)
        }
        leads = self.browse(
            [lead_id for lead_id, stage_id in stage_by_lead.items() if stage_id in templates_of]
        )
        if not leads:
            return self.env["mail.activity"]
        if scheduled is None:
            scheduled = leads._stage_tasks_open()._crm_stage_task_keys()
        today = today or fields.Date.context_today(self)
        model_id = self.env["ir.model"]._get_id("crm.lead")
        vals_list = []
        for lead in leads:
            stage_id = stage_by_lead[lead.id]
            for template in templates_of[stage_id]:
                if (lead.id, template.id, stage_id) in scheduled:
                    continue
                responsible = template._determine_responsible(lead.user_id, lead)["responsible"]
                user = responsible or lead.user_id or self.env.user
                # The task's texts in the language of the user who will do it.
                text = template.with_context(lang=user.lang or self.env.lang)
                vals_list.append(
                    {
                        "res_model_id": model_id,
                        "res_id": lead.id,
                        "activity_type_id": template.activity_type_id.id,
                        "summary": text.summary,
                        "note": text.note,
                        "date_deadline": template._get_date_deadline(today),
                        "user_id": user.id,
                        "automated": True,
                        "crm_stage_id": stage_id,
                        "crm_plan_template_id": template.id,
                    }
                )
        # Quietly: Odoo would email each task given to someone else, one per deal of a batch.
        tasks = self.env["mail.activity"].with_context(mail_activity_quick_update=True).create(vals_list)
        tasks._crm_stage_tasks_notify()
        return tasks

    def _stage_tasks_open(self):
        """The open stage tasks and stale-deal alerts of these leads, in one query.

        Read with what cancelling (``unlink``) and scheduling read of them.
        """
        # sudo: the process's own tasks and alerts, whoever they are assigned to (e.g. the team
        # leader's escalation): those the user moving the deal may not see are still cancelled,
        # and not scheduled twice.
        return (
            self.env["mail.activity"]
            .sudo()
            .search_fetch(
                [
                    ("res_model", "=", "crm.lead"),
                    ("res_id", "in", self.ids),
                    "|",
                    ("crm_stage_id", "!=", False),
                    ("crm_stale_level", "!=", False),
                ],
                [
                    "res_id",
                    "crm_stage_id",
                    "crm_plan_template_id",
                    "crm_stale_level",
                    "active",
                    "date_deadline",
                    "user_id",
                ],
            )
        )

    def _stage_tasks_cancel(self, stage_by_lead, open_tasks):
        """Cancel open stage tasks of the stage each lead left (of every stage for False).

        ``stage_by_lead``: ``{lead id: id of the stage left, or False}``. Only
        where the stage's process (else the lead's) cancels tasks on exit. The
        stale-deal alerts of these leads close in every process: they were
        about being idle in the stage left (or in the deal lost or won).
        ``open_tasks``: the leads' open stage tasks (``_stage_tasks_open``).
        """
        structure = self._stage_gate_structure()
        types, stage_info = structure["types"], structure["stages"]

        def cancels(type_id):
            return types.get(type_id, {}).get("cancel_tasks", False)

        wanted = {
            lead_id: stage_id
            for lead_id, stage_id in stage_by_lead.items()
            if stage_id and cancels(stage_info.get(stage_id, {}).get("type"))
        }
        anywhere = self.browse([lead_id for lead_id, stage_id in stage_by_lead.items() if not stage_id])
        wanted.update(
            dict.fromkeys(anywhere.filtered(lambda lead: cancels(lead.pipeline_type_id.id)).ids, False)
        )
        open_tasks.filtered(
            lambda activity: activity.res_id in stage_by_lead
            and (
                activity.crm_stale_level
                or wanted.get(activity.res_id, -1) in (False, activity.crm_stage_id.id)
            )
        ).unlink()

    # ------------------------------------------------------------
    # Stale-deal alerts
    # ------------------------------------------------------------

    _STALE_ALERT_BATCH = 500

    @api.model
    def _stage_alerts_close_outdated(self):
        """Close the alerts of deals no longer idle where the alert was raised:
        moved to another stage, lost, won or archived. One query to find them."""
        self.env["crm.lead"].flush_model(["stage_id", "won_status", "active"])
        self.env["mail.activity"].flush_model(["res_model", "res_id", "crm_stale_level", "crm_stage_id"])
        self.env.cr.execute(
            SQL(
                """
                SELECT activity.id
                FROM mail_activity activity
                JOIN crm_lead lead ON lead.id = activity.res_id
                WHERE activity.res_model = 'crm.lead'
                  AND activity.crm_stale_level IS NOT NULL
                  AND (lead.stage_id IS DISTINCT FROM activity.crm_stage_id
                       OR lead.won_status != 'pending'
                       OR NOT lead.active)
                """
            )
        )
        # sudo: the job closes alerts whoever they are assigned to.
        self.env["mail.activity"].sudo().browse(row[0] for row in self.env.cr.fetchall()).unlink()

    def _stage_alerts_raise(self):
        """Raise the alerts these idle leads are due and do not have yet.

        The salesperson's once the lead is rotting, the team leader's once it
        has been idle for the stage's escalation days; one open alert per lead
        and level at most (an index enforces it), for the stage it is in.
        """
        alerted = {
            (activity.res_id, activity.crm_stale_level)
            for activity in self.env["mail.activity"].search(
                [
                    ("res_model", "=", "crm.lead"),
                    ("res_id", "in", self.ids),
                    ("crm_stale_level", "!=", False),
                ]
            )
        }
        todo = self.env.ref("mail.mail_activity_data_todo")
        model_id = self.env["ir.model"]._get_id("crm.lead")
        today = fields.Date.context_today(self)
        vals_list = []
        for lead in self:
            alerts = []
            if lead.user_id and (lead.id, "salesperson") not in alerted:
                alerts.append(("salesperson", lead.user_id))
            escalation = lead.stage_id.escalation_days
            leader = lead.team_id.user_id
            if (
                escalation
                and lead.rotting_days >= escalation
                and leader
                and (lead.id, "manager") not in alerted
            ):
                alerts.append(("manager", leader))
            for level, user in alerts:
                # In the language of whom the alert is for: the job runs in its own user's.
                lang = user.lang or self.env.lang
                vals_list.append(
                    {
                        "res_model_id": model_id,
                        "res_id": lead.id,
                        "activity_type_id": todo.id,
                        "summary": self.with_context(lang=lang).env._(
                            "Stale opportunity: %(days)s days in %(stage)s",
                            days=lead.rotting_days,
                            stage=lead.stage_id.with_context(lang=lang).name,
                        ),
                        "date_deadline": today,
                        "user_id": user.id,
                        "automated": True,
                        "crm_stale_level": level,
                        "crm_stage_id": lead.stage_id.id,
                    }
                )
        # sudo: only the job sets the alert level (see mail.activity). Quietly: Odoo
        # would email every alert; each person gets one message instead.
        alerts = (
            self.env["mail.activity"].sudo().with_context(mail_activity_quick_update=True).create(vals_list)
        )
        self._stage_alerts_announce(alerts)
        return alerts

    def _stage_alerts_announce(self, alerts):
        """Tell each person, in one message, of the alerts just raised for them on these leads.

        Odoo emails every activity assigned by someone else: on a large
        database's first run that is one email per idle deal. One message per
        person per batch instead, in their language, to their inbox or by
        email as they chose in their preferences: their own deals, then their
        team's escalated to them; a deal once, whatever its levels.
        """
        for user, user_alerts in alerts.grouped("user_id").items():
            env = self.with_context(lang=user.lang or self.env.lang).env
            rows = {"own": [], "escalated": []}
            for lead in self.browse(dict.fromkeys(user_alerts.mapped("res_id"))):
                idle = env._(
                    "%(days)s days idle in %(stage)s",
                    days=lead.rotting_days,
                    stage=lead.stage_id.with_env(env).name,
                )
                own = lead.user_id == user
                if not own and lead.user_id:
                    idle = env._(
                        "%(idle)s, salesperson: %(salesperson)s", idle=idle, salesperson=lead.user_id.name
                    )
                rows["own" if own else "escalated"].append(
                    {"url": lead._notify_get_action_link("view"), "name": lead.name, "idle": idle}
                )
            env["mail.activity"]._crm_tell(
                user,
                env._("idle opportunities"),
                env._("Idle opportunities: %(count)s", count=len(rows["own"]) + len(rows["escalated"])),
                "sales_process_addon.crm_stale_alert_digest",
                rows,
            )

    def _stage_alerts_lock(self):
        """The leads of this batch that no other transaction is working on, locked until commit.

        With the lock taken first in the batch's transaction, a second run of
        the job sees the alerts the first one committed, or skips its leads.
        """
        self.env.cr.execute(
            SQL(
                "SELECT id FROM crm_lead WHERE id IN %s ORDER BY id FOR NO KEY UPDATE SKIP LOCKED",
                tuple(self.ids),
            )
        )
        return self.browse(row[0] for row in self.env.cr.fetchall())

    @api.model
    def _cron_alert_stale_opportunities(self):
        """Tell salespeople, then team leaders, about opportunities left idle.

        First closes the alerts of deals that moved on, then raises the alerts
        due, in batches committed one by one (the job resumes where it stopped
        when its time is up: leads already alerted are skipped).
        """
        Cron = self.env["ir.cron"]
        self._stage_alerts_close_outdated()
        # By salesperson: one batch holds a rep's idle deals, one message tells of them.
        lead_ids = self.search(
            [("type", "=", "opportunity"), ("is_rotting", "=", True)], order="user_id, id"
        ).ids
        Cron._commit_progress(remaining=len(lead_ids))
        for batch_ids in split_every(self._STALE_ALERT_BATCH, lead_ids):
            self.browse(batch_ids)._stage_alerts_lock()._stage_alerts_raise()
            if not Cron._commit_progress(len(batch_ids)):
                break
