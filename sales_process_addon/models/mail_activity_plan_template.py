from odoo import _, api, fields, models
from odoo.exceptions import ValidationError
from odoo.tools.translate import html_translate

# The longest delay a task of an opportunity's plan may have: 100 years, in each unit.
# Far longer ones (a typo) give no date at all, and every move into the stage would fail.
MAX_DELAY = {"days": 36500, "weeks": 5200, "months": 1200}


class MailActivityPlanTemplate(models.Model):
    """Stage tasks can go to the opportunity's salesperson or its team leader.

    Their summary and note are translatable (Odoo stores them untranslated):
    the to-dos a rep gets are in the rep's language. On install Odoo turns the
    columns into translated jsonb ones (``en_US`` keeps the current text), and
    back to plain text on uninstall.
    """

    _inherit = "mail.activity.plan.template"

    summary = fields.Char(translate=True)
    note = fields.Html(translate=html_translate)
    responsible_type = fields.Selection(
        selection_add=[
            ("crm_salesperson", "Opportunity's salesperson"),
            ("crm_team_leader", "Sales team leader"),
        ],
        ondelete={"crm_salesperson": "set default", "crm_team_leader": "set default"},
    )

    @api.constrains("delay_count", "delay_unit", "plan_id")
    def _check_opportunity_task_delay(self):
        for template in self:
            if template.plan_id.res_model != "crm.lead":
                continue
            limit = MAX_DELAY.get(template.delay_unit)
            if limit and abs(template.delay_count) > limit:
                raise ValidationError(
                    _(
                        "The delay of the task “%(task)s” is %(count)s %(unit)s: at most %(limit)s %(unit)s "
                        "(100 years).",
                        task=template.summary or template.activity_type_id.name,
                        count=template.delay_count,
                        unit=dict(template._fields["delay_unit"]._description_selection(self.env))[
                            template.delay_unit
                        ],
                        limit=limit,
                    )
                )

    def _determine_responsible(self, on_demand_responsible, applied_on_record):
        if self.responsible_type not in ("crm_salesperson", "crm_team_leader"):
            return super()._determine_responsible(on_demand_responsible, applied_on_record)
        if applied_on_record._name != "crm.lead":
            responsible = on_demand_responsible
        elif self.responsible_type == "crm_salesperson":
            responsible = applied_on_record.user_id or on_demand_responsible
        else:
            responsible = (
                applied_on_record.team_id.user_id or applied_on_record.user_id or on_demand_responsible
            )
        return {"responsible": responsible, "error": False, "warning": False}
