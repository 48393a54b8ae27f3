from odoo import api, fields, models
from odoo.tools import SQL, split_every


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

    def _stage_tasks_schedule(self, stage_by_lead, scheduled=None):
        """Schedule the plan of the stage each lead entered, in one create.

        ``stage_by_lead``: ``{lead id: id of the stage it entered}``.
        ``scheduled``: the ``_crm_stage_task_keys`` of the leads' open stage
        tasks, when already read: those are not scheduled twice.
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
        today = fields.Date.context_today(self)
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
        return self.env["mail.activity"].create(vals_list)

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

    def _stage_alerts_close(self):
        """Close the open stale-deal alerts of these leads.

        For the stage gate, when a lead leaves its stage, is lost or won: the
        alert was about being idle in that stage. The daily job closes them too
        (see ``_stage_alerts_close_outdated``), this only makes it immediate.
        """
        # sudo: the alerts belong to the process; the user moving the deal may
        # not be the one they are assigned to (the team leader's escalation).
        self.env["mail.activity"].sudo().search(
            [("res_model", "=", "crm.lead"), ("res_id", "in", self.ids), ("crm_stale_level", "!=", False)]
        ).unlink()

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
        # sudo: only the job sets the alert level (see mail.activity).
        return self.env["mail.activity"].sudo().create(vals_list)

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
        lead_ids = self.search([("type", "=", "opportunity"), ("is_rotting", "=", True)], order="id").ids
        Cron._commit_progress(remaining=len(lead_ids))
        for batch_ids in split_every(self._STALE_ALERT_BATCH, lead_ids):
            self.browse(batch_ids)._stage_alerts_lock()._stage_alerts_raise()
            if not Cron._commit_progress(len(batch_ids)):
                break
