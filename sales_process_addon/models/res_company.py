from odoo import _, api, fields, models
from odoo.exceptions import ValidationError

# Days an approved stage exception stays usable when the company sets none.
DEFAULT_EXCEPTION_VALIDITY_DAYS = 14


class ResCompany(models.Model):
    _inherit = "res.company"

    default_pipeline_type_id = fields.Many2one(
        "crm.pipeline.type",
        string="Default Sales Process",
        default=lambda self: self._default_sales_process(),
        domain="['|', ('company_id', '=', False), ('company_id', '=', id)]",
        help="Sales process given to new opportunities whose sales team has none.",
    )
    stage_exception_validity_days = fields.Integer(
        "Exception Validity (days)",
        default=DEFAULT_EXCEPTION_VALIDITY_DAYS,
        help="An approved stage exception not used within this many days expires.",
    )

    @api.constrains("default_pipeline_type_id")
    def _check_default_pipeline_type_company(self):
        for company in self:
            if company.default_pipeline_type_id and not company.default_pipeline_type_id.active:
                raise ValidationError(
                    _(
                        'The sales process "%(type)s" is archived: it cannot be the default of %(company)s.',
                        type=company.default_pipeline_type_id.name,
                        company=company.name,
                    )
                )
            ptype_company = company.default_pipeline_type_id.company_id
            if ptype_company and ptype_company != company:
                raise ValidationError(
                    _(
                        'The sales process "%(type)s" belongs to %(other)s: it cannot be the default of '
                        "%(company)s. Pick a process of %(company)s or a shared one.",
                        type=company.default_pipeline_type_id.name,
                        other=ptype_company.name,
                        company=company.name,
                    )
                )

    @api.constrains("stage_exception_validity_days")
    def _check_stage_exception_validity_days(self):
        for company in self:
            if company.stage_exception_validity_days < 1:
                raise ValidationError(
                    _(
                        "%(company)s: an approved stage exception must stay valid at least one day, not "
                        "%(days)s days.",
                        company=company.name,
                        days=company.stage_exception_validity_days,
                    )
                )

    def _stage_exception_validity(self):
        """Days an approved exception of this company stays usable."""
        days = self.stage_exception_validity_days if self else 0
        return days if days > 0 else DEFAULT_EXCEPTION_VALIDITY_DAYS

    @api.model
    def _default_sales_process(self):
        """A company created after the install starts with the shared Standard pipeline.

        Stages (kanban columns) created in the company then get a process. When the
        Standard pipeline was archived or deleted, the first active shared process.
        The existing companies get theirs from the post-init hook.
        """
        standard = self.env.ref("sales_process_addon.pipeline_type_standard", raise_if_not_found=False)
        if standard and standard.active and not standard.company_id:
            return standard
        return self.env["crm.pipeline.type"].search([("company_id", "=", False)], limit=1)
