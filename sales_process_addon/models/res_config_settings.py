from odoo import fields, models


class ResConfigSettings(models.TransientModel):
    _inherit = "res.config.settings"

    default_pipeline_type_id = fields.Many2one(
        related="company_id.default_pipeline_type_id",
        readonly=False,
    )
