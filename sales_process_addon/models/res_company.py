from odoo import fields, models


class ResCompany(models.Model):
    _inherit = "res.company"

    default_pipeline_type_id = fields.Many2one(
        "crm.pipeline.type",
        string="Default Sales Process",
        domain="['|', ('company_id', '=', False), ('company_id', '=', id)]",
        help="Sales process given to new opportunities whose sales team has none.",
    )
