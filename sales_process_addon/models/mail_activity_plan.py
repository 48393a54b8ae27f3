from odoo import fields, models


class MailActivityPlan(models.Model):
    """Plan names are translatable (Odoo stores them untranslated)."""

    _inherit = "mail.activity.plan"

    name = fields.Char(translate=True)
