from odoo import fields, models

# Days an approved stage exception stays usable when the company sets none.
DEFAULT_EXCEPTION_VALIDITY_DAYS = 14


class ResCompany(models.Model):
    _inherit = "res.company"

    default_pipeline_type_id = fields.Many2one(
        "crm.pipeline.type",
        string="Default Sales Process",
        domain="['|', ('company_id', '=', False), ('company_id', '=', id)]",
        help="Sales process given to new opportunities whose sales team has none.",
    )
    stage_exception_validity_days = fields.Integer(
        "Exception Validity (days)",
        default=DEFAULT_EXCEPTION_VALIDITY_DAYS,
        help="An approved stage exception not used within this many days expires.",
    )

    def _stage_exception_validity(self):
        """Days an approved exception of this company stays usable."""
        return (
            self.stage_exception_validity_days
            if self and self.stage_exception_validity_days > 0
            else (DEFAULT_EXCEPTION_VALIDITY_DAYS)
        )
