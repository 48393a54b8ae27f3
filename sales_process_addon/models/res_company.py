from odoo import api, fields, models


class ResCompany(models.Model):
    _inherit = "res.company"

    default_pipeline_type_id = fields.Many2one(
        "crm.pipeline.type",
        string="Default Sales Process",
        default=lambda self: self._default_sales_process(),
        domain="['|', ('company_id', '=', False), ('company_id', '=', id)]",
        help="Sales process given to new opportunities whose sales team has none.",
    )

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
