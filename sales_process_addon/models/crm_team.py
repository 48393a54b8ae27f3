from odoo import fields, models


class CrmTeam(models.Model):
    _inherit = "crm.team"

    pipeline_type_id = fields.Many2one(
        "crm.pipeline.type",
        string="Default Sales Process",
        check_company=True,
        help="Sales process given to this team's new opportunities; "
        "when empty, the company's default applies.",
    )
