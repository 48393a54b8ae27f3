from odoo import fields, models


class ResConfigSettings(models.TransientModel):
    _inherit = "res.config.settings"

    # Not named default_*: res.config.settings reserves that prefix for ir.default values.
    company_pipeline_type_id = fields.Many2one(
        related="company_id.default_pipeline_type_id",
        readonly=False,
    )
    stage_exception_validity_days = fields.Integer(
        related="company_id.stage_exception_validity_days",
        readonly=False,
    )
    stage_tasks_in_background = fields.Boolean(
        "Stage Tasks in the Background",
        config_parameter="sales_process_addon.stage_tasks_in_background",
    )
