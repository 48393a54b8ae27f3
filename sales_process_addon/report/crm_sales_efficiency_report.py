from odoo import fields, models
from odoo.tools import SQL


class CrmSalesEfficiencyReport(models.Model):
    """Efficiency: win rate, deal size and cycle length of closed opportunities.

    One row per won or lost opportunity. ``win_rate`` is 100 for a won deal and
    0 for a lost one, so its average is the win rate in percent; ``deal_size``
    is the expected revenue of won deals only (empty for lost ones), so its
    average is the average won deal; ``cycle_days`` runs from creation to
    closing, averaged, and ``cycle_days_median`` is its median.

    The salesperson and team are the opportunity's current ones, as in CRM's
    own record rules; the period is the closing date.
    """

    _name = "crm.sales.efficiency.report"
    _inherit = ["crm.sales.report.mixin"]
    _description = "Sales Efficiency Analysis"
    _auto = False
    _rec_name = "lead_id"
    # Flushed before the view is read (see crm.sales.funnel.report).
    _depends = {
        "crm.lead": [
            "create_date",
            "date_closed",
            "user_id",
            "team_id",
            "company_id",
            "partner_id",
            "pipeline_type_id",
            "stage_id",
            "lost_reason_id",
            "won_status",
            "expected_revenue",
            "type",
        ],
        "res.company": ["currency_id"],
    }
    _order = "date_closed desc, id desc"

    lead_id = fields.Many2one("crm.lead", "Opportunity", readonly=True)
    create_date = fields.Datetime("Created on", readonly=True)
    date_closed = fields.Datetime("Closed on", readonly=True)
    user_id = fields.Many2one("res.users", "Salesperson", readonly=True)
    team_id = fields.Many2one("crm.team", "Sales Team", readonly=True)
    company_id = fields.Many2one("res.company", readonly=True)
    partner_id = fields.Many2one("res.partner", "Customer", readonly=True)
    pipeline_type_id = fields.Many2one("crm.pipeline.type", "Sales Process", readonly=True)
    stage_id = fields.Many2one("crm.stage", "Closing Stage", readonly=True)
    lost_reason_id = fields.Many2one("crm.lost.reason", readonly=True)
    won_status = fields.Selection([("won", "Won"), ("lost", "Lost")], "Outcome", readonly=True)
    won_count = fields.Integer("Won", readonly=True, aggregator="sum")
    lost_count = fields.Integer("Lost", readonly=True, aggregator="sum")
    win_rate = fields.Float("Win Rate (%)", readonly=True, aggregator="avg")
    currency_id = fields.Many2one("res.currency", readonly=True)
    deal_size = fields.Monetary(
        "Average Deal Size",
        currency_field="currency_id",
        readonly=True,
        aggregator="avg",
        help="Expected revenue of the won deals.",
    )
    won_revenue = fields.Monetary(currency_field="currency_id", readonly=True, aggregator="sum")
    cycle_days = fields.Float("Average Cycle (Days)", digits=(16, 2), readonly=True, aggregator="avg")
    cycle_days_median = fields.Float(
        "Median Cycle (Days)", digits=(16, 2), readonly=True, aggregator="median"
    )

    def _select(self):
        return SQL(
            """
            SELECT
                lead.id AS id,
                lead.id AS lead_id,
                lead.create_date,
                lead.date_closed,
                lead.user_id,
                lead.team_id,
                lead.company_id,
                lead.partner_id,
                lead.pipeline_type_id,
                lead.stage_id,
                lead.lost_reason_id,
                lead.won_status,
                (lead.won_status = 'won')::int AS won_count,
                (lead.won_status = 'lost')::int AS lost_count,
                CASE WHEN lead.won_status = 'won' THEN 100.0 ELSE 0.0 END AS win_rate,
                -- An opportunity without company: in the first company's currency, as one must be shown.
                COALESCE(
                    company.currency_id,
                    (SELECT first_company.currency_id FROM res_company first_company ORDER BY first_company.id LIMIT 1)
                ) AS currency_id,
                CASE WHEN lead.won_status = 'won' THEN lead.expected_revenue END AS deal_size,
                CASE WHEN lead.won_status = 'won' THEN lead.expected_revenue END AS won_revenue,
                (EXTRACT(EPOCH FROM lead.date_closed - lead.create_date) / 86400.0)::float8 AS cycle_days,
                (EXTRACT(EPOCH FROM lead.date_closed - lead.create_date) / 86400.0)::float8 AS cycle_days_median
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
        return SQL("WHERE lead.type = 'opportunity' AND lead.won_status IN ('won', 'lost')")
