from odoo import fields, models


class MailActivityPlanTemplate(models.Model):
    """Stage tasks can go to the opportunity's salesperson or its team leader."""

    _inherit = "mail.activity.plan.template"

    responsible_type = fields.Selection(
        selection_add=[
            ("crm_salesperson", "Opportunity's salesperson"),
            ("crm_team_leader", "Sales team leader"),
        ],
        ondelete={"crm_salesperson": "set default", "crm_team_leader": "set default"},
    )

    def _determine_responsible(self, on_demand_responsible, applied_on_record):
        if self.responsible_type not in ("crm_salesperson", "crm_team_leader"):
            return super()._determine_responsible(on_demand_responsible, applied_on_record)
        if applied_on_record._name != "crm.lead":
            responsible = on_demand_responsible
        elif self.responsible_type == "crm_salesperson":
            responsible = applied_on_record.user_id or on_demand_responsible
        else:
            responsible = (
                applied_on_record.team_id.user_id or applied_on_record.user_id or on_demand_responsible
            )
        return {"responsible": responsible, "error": False, "warning": False}
