from odoo import fields, models


class MailActivity(models.Model):
    """Marks the activities the sales process schedules by itself.

    They are deduplicated and cancelled per stage, and stale-deal alerts are
    sent once per level.
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
    )
