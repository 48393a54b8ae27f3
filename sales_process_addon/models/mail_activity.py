from odoo import _, api, fields, models
from odoo.exceptions import AccessError
from odoo.tools import format_date

from ..tools import server_field_defaults


class MailActivity(models.Model):
    """Marks the activities the sales process schedules by itself.

    They are deduplicated and cancelled per stage. Stale-deal alerts are
    raised by the daily job only, for the stage the deal is idle in, at most
    one open alert per deal and level; users cannot set or change the level
    (a salesperson could otherwise turn the team leader's escalation into an
    ordinary to-do).
    """

    _inherit = "mail.activity"

    crm_stage_id = fields.Many2one(
        "crm.stage", "Scheduled for Stage", index="btree_not_null", ondelete="set null", readonly=True
    )
    crm_plan_template_id = fields.Many2one(
        "mail.activity.plan.template", "Stage Task", ondelete="set null", readonly=True
    )
    crm_stale_level = fields.Selection(
        [("salesperson", "Salesperson"), ("manager", "Sales manager")],
        "Stale Deal Alert",
        readonly=True,
        copy=False,
    )

    _crm_stale_alert_uniq = models.UniqueIndex(
        "(res_id, crm_stale_level) WHERE res_model = 'crm.lead' AND crm_stale_level IS NOT NULL AND active",
        "An opportunity has at most one open stale-deal alert per level.",
    )

    @api.model
    def default_get(self, fields):
        defaults = super().default_get(fields)
        if self.env.su:
            return defaults
        return server_field_defaults(self, defaults, {"crm_stale_level"})

    def _check_stale_level_write(self, vals):
        if "crm_stale_level" in vals and not self.env.su:
            raise AccessError(
                _("Only the stale-opportunity job sets the alert level of an activity (Stale Deal Alert).")
            )

    @api.model_create_multi
    def create(self, vals_list):
        for vals in vals_list:
            self._check_stale_level_write(vals)
        return super().create(vals_list)

    def write(self, vals):
        self._check_stale_level_write(vals)
        return super().write(vals)

    def _crm_stage_task_keys(self):
        """``{(lead id, stage task id, stage id)}`` of these activities: what is scheduled."""
        return {
            (activity.res_id, activity.crm_plan_template_id.id, activity.crm_stage_id.id) for activity in self
        }

    def _crm_stage_tasks_localize(self):
        """Copy again the plan's texts into these stage tasks, in their assignee's language.

        For the tasks scheduled while the addon installs (its demo
        opportunities'): Odoo loads an addon's translations after its data, so
        those were copied before any translation existed, in English.
        """
        tasks = self.filtered("crm_plan_template_id")
        for (lang, template), group in tasks.grouped(
            lambda task: (task.user_id.lang or self.env.lang, task.crm_plan_template_id)
        ).items():
            text = template.with_context(lang=lang)
            group.write({"summary": text.summary, "note": text.note})

    def _crm_stage_tasks_notify(self):
        """Tell the assignees of these new stage tasks, created quietly, of what they were given.

        One task: Odoo's own message, as for any activity assigned by someone
        else. Several (a batch of moves): one message listing them, in the
        assignee's language, where Odoo would send one each. Not the user who
        moved: the tasks come from his move.
        """
        given = self.filtered(lambda task: task.user_id and task.user_id != self.env.user)
        for user, tasks in given.grouped("user_id").items():
            if len(tasks) == 1:
                # sudo: the assignee may be out of the mover's reach (Odoo's create does the same).
                tasks.sudo().action_notify()
                continue
            env = self.with_context(lang=user.lang or self.env.lang).env
            leads = env["crm.lead"].browse(tasks.mapped("res_id"))
            # Odoo's link reads its record alone (``self[0]``), and reads it whole
            # where the website gives records their own domain: read all leads first.
            leads.fetch()
            deals = []
            for lead_id, lead_tasks in tasks.grouped("res_id").items():
                lead = leads.browse(lead_id)
                lines = [
                    env._(
                        "%(task)s, due %(deadline)s",
                        task=task.summary or task.activity_type_id.with_env(env).name,
                        deadline=format_date(env, task.date_deadline),
                    )
                    for task in lead_tasks
                ]
                deals.append({"url": lead._notify_get_action_link("view"), "name": lead.name, "tasks": lines})
            env["mail.activity"]._crm_tell(
                user,
                env._("new tasks"),
                env._("Tasks assigned to you: %(count)s", count=len(tasks)),
                "sales_process_addon.crm_stage_tasks_assigned",
                {
                    "intro": env._(
                        "%(user)s put these opportunities in new stages, which give you these tasks:",
                        user=self.env.user.name,
                    ),
                    "deals": deals,
                },
            )

    @api.model
    def _crm_tell(self, user, heading, subject, template, values):
        """Tell ``user`` in one message, rendered from the QWeb ``template`` with ``values``.

        To their inbox or by email, as their preferences say, in Odoo's light
        email layout headed "Your <heading>"; in this environment's language
        (the caller sets it to theirs).
        """
        # sudo: a notice to one person, as Odoo's own for an activity assigned to them.
        self.env["mail.thread"].sudo().message_notify(
            partner_ids=user.partner_id.ids,
            email_layout_xmlid="mail.mail_notification_light",
            model_description=heading,
            subject=subject,
            body=self.env["ir.qweb"]._render(template, values, minimal_qcontext=True),
        )
