from odoo import api, fields, models


class MailActivityPlan(models.Model):
    """Plan names are translatable (Odoo stores them untranslated)."""

    _inherit = "mail.activity.plan"

    name = fields.Char(translate=True)

    @api.constrains("res_model")
    def _check_opportunity_task_delays(self):
        """A plan turned into an opportunities' plan keeps its tasks' delays within bounds."""
        self.template_ids._check_opportunity_task_delay()
