from odoo import fields, models
from odoo.tools import SQL


class CrmSalesFunnelReport(models.Model):
    """Funnel: opportunities and expected revenue by funnel state, stage, buyer stage.

    One row per opportunity, read straight from the stored, indexed columns of
    ``crm_lead``. The salesperson and team are the opportunity's current ones,
    as in CRM's own record rules.
    """

    _name = "crm.sales.funnel.report"
    _inherit = ["crm.sales.report.mixin"]
    _description = "Sales Funnel Analysis"
    _auto = False
    _rec_name = "lead_id"
    # Flushed before the view is read, so a report read after a write in the same
    # transaction (a server action, an RPC call) sees it.
    _depends = {
        "crm.lead": [
            "create_date",
            "date_deadline",
            "date_closed",
            "date_last_stage_update",
            "user_id",
            "team_id",
            "company_id",
            "partner_id",
            "pipeline_type_id",
            "stage_id",
            "buyer_stage_id",
            "funnel_state_id",
            "won_status",
            "active",
            "probability",
            "expected_revenue",
            "prorated_revenue",
            "type",
        ],
        "res.company": ["currency_id"],
    }
    _order = "create_date desc, id desc"

    lead_id = fields.Many2one("crm.lead", "Opportunity", readonly=True)
    create_date = fields.Datetime("Created on", readonly=True)
    date_deadline = fields.Date("Expected Closing", readonly=True)
    date_closed = fields.Datetime("Closed on", readonly=True)
    date_last_stage_update = fields.Datetime("Last Stage Update", readonly=True)
    user_id = fields.Many2one("res.users", "Salesperson", readonly=True)
    team_id = fields.Many2one("crm.team", "Sales Team", readonly=True)
    company_id = fields.Many2one("res.company", readonly=True)
    partner_id = fields.Many2one("res.partner", "Customer", readonly=True)
    pipeline_type_id = fields.Many2one("crm.pipeline.type", "Sales Process", readonly=True)
    stage_id = fields.Many2one("crm.stage", readonly=True)
    buyer_stage_id = fields.Many2one("crm.buyer.stage", readonly=True)
    funnel_state_id = fields.Many2one("crm.funnel.state", readonly=True)
    won_status = fields.Selection(
        [("won", "Won"), ("lost", "Lost"), ("pending", "Open")], "Status", readonly=True
    )
    active = fields.Boolean(readonly=True)
    probability = fields.Float("Probability (%)", readonly=True, aggregator="avg")
    currency_id = fields.Many2one("res.currency", readonly=True)
    expected_revenue = fields.Monetary(currency_field="currency_id", readonly=True)
    prorated_revenue = fields.Monetary(currency_field="currency_id", readonly=True)

    def _select(self):
        return SQL(
            """
            SELECT
                lead.id AS id,
                lead.id AS lead_id,
                lead.create_date,
                lead.date_deadline,
                lead.date_closed,
                lead.date_last_stage_update,
                lead.user_id,
                lead.team_id,
                lead.company_id,
                lead.partner_id,
                lead.pipeline_type_id,
                lead.stage_id,
                lead.buyer_stage_id,
                lead.funnel_state_id,
                lead.won_status,
                lead.active,
                lead.probability,
                -- An opportunity without company: in the first company's currency, as one must be shown.
                COALESCE(
                    company.currency_id,
                    (SELECT first_company.currency_id FROM res_company first_company ORDER BY first_company.id LIMIT 1)
                ) AS currency_id,
                lead.expected_revenue,
                lead.prorated_revenue
            """
        )

    def _from(self):
        return SQL(
            """
            FROM crm_lead lead
            LEFT JOIN res_company company ON company.id = lead.company_id
            """
        )

    def _where(self):
        return SQL("WHERE lead.type = 'opportunity'")
