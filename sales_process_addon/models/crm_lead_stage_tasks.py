from odoo import _, api, fields, models


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

    def _stage_tasks_schedule(self, stage_by_lead):
        """Schedule the plan of the stage each lead entered, in one create."""
        templates_of = {
            stage: stage.activity_plan_id.template_ids
            for stage in set(stage_by_lead.values())
            if stage.activity_plan_id.template_ids
        }
        leads = self.browse([lead.id for lead, stage in stage_by_lead.items() if stage in templates_of])
        if not leads:
            return self.env["mail.activity"]
        all_templates = self.env["mail.activity.plan.template"].union(*templates_of.values())
        still_open = {
            (activity.res_id, activity.crm_plan_template_id.id)
            for activity in self.env["mail.activity"].search(
                [
                    ("res_model", "=", "crm.lead"),
                    ("res_id", "in", leads.ids),
                    ("crm_plan_template_id", "in", all_templates.ids),
                ]
            )
        }
        today = fields.Date.context_today(self)
        model_id = self.env["ir.model"]._get_id("crm.lead")
        vals_list = []
        for lead in leads:
            stage = stage_by_lead[lead]
            for template in templates_of[stage]:
                if (lead.id, template.id) in still_open:
                    continue
                responsible = template._determine_responsible(lead.user_id, lead)["responsible"]
                vals_list.append(
                    {
                        "res_model_id": model_id,
                        "res_id": lead.id,
                        "activity_type_id": template.activity_type_id.id,
                        "summary": template.summary,
                        "note": template.note,
                        "date_deadline": template._get_date_deadline(today),
                        "user_id": (responsible or lead.user_id or self.env.user).id,
                        "automated": True,
                        "crm_stage_id": stage.id,
                        "crm_plan_template_id": template.id,
                    }
                )
        return self.env["mail.activity"].create(vals_list)

    def _stage_tasks_cancel(self, stage_by_lead):
        """Cancel open stage tasks of the given stage (or of every stage for False).

        Only where the stage's process (else the lead's) cancels tasks on exit.
        """
        wanted = {}
        for lead, stage in stage_by_lead.items():
            ptype = stage.pipeline_type_id if stage else lead.pipeline_type_id
            if ptype.cancel_tasks_on_exit:
                wanted[lead.id] = stage.id if stage else False
        if not wanted:
            return
        activities = self.env["mail.activity"].search(
            [("res_model", "=", "crm.lead"), ("res_id", "in", list(wanted)), ("crm_stage_id", "!=", False)]
        )
        activities.filtered(
            lambda activity: wanted[activity.res_id] in (False, activity.crm_stage_id.id)
        ).unlink()

    @api.model
    def _cron_alert_stale_opportunities(self):
        """Tell salespeople, then team leaders, about opportunities left idle."""
        leads = self.search([("type", "=", "opportunity"), ("is_rotting", "=", True)])
        alerted = {
            (activity.res_id, activity.crm_stale_level)
            for activity in self.env["mail.activity"].search(
                [
                    ("res_model", "=", "crm.lead"),
                    ("res_id", "in", leads.ids),
                    ("crm_stale_level", "!=", False),
                ]
            )
        }
        todo = self.env.ref("mail.mail_activity_data_todo")
        model_id = self.env["ir.model"]._get_id("crm.lead")
        today = fields.Date.context_today(self)
        vals_list = []
        for lead in leads:
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
                vals_list.append(
                    {
                        "res_model_id": model_id,
                        "res_id": lead.id,
                        "activity_type_id": todo.id,
                        "summary": _(
                            "Stale opportunity: %(days)s days in %(stage)s",
                            days=lead.rotting_days,
                            stage=lead.stage_id.name,
                        ),
                        "date_deadline": today,
                        "user_id": user.id,
                        "automated": True,
                        "crm_stale_level": level,
                    }
                )
        return self.env["mail.activity"].create(vals_list)
