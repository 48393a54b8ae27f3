from odoo import fields, models
from odoo.tools import SQL


class CrmBuyerDivergenceReport(models.Model):
    """Open opportunities where we are ahead of the customer: seller-buyer divergence.

    The customer's evidence supports a buying stage: the latest one, in the
    buying process's order, of the stages whose milestones the customer has
    evidenced (customer-led, counting evidence). An opportunity diverges when
    the buying stage of its current stage is more than one step past it
    (working on the next step is normal), or past the first step with no
    customer evidence at all. ``gap`` is the number of buying stages skipped.
    Only stages paired with a buying stage are judged.

    The opportunity form reads the same query for its own opportunities
    (``_query(lead_ids)``, see ``crm.lead.divergence``): the report and the
    badge cannot disagree.
    """

    _name = "crm.buyer.divergence.report"
    _inherit = ["crm.sales.report.mixin"]
    _description = "Seller-Buyer Divergence"
    _auto = False
    _rec_name = "lead_id"
    # Flushed before the view is read (see crm.sales.funnel.report).
    _depends = {
        "crm.lead": [
            "user_id",
            "team_id",
            "company_id",
            "pipeline_type_id",
            "stage_id",
            "buyer_stage_id",
            "expected_revenue",
            "type",
            "won_status",
            "active",
        ],
        "crm.lead.evidence": ["lead_id", "stage_id", "customer_led", "is_valid"],
        "crm.stage": ["buyer_stage_id"],
        "crm.buyer.stage": ["buyer_process_id", "sequence"],
        "res.company": ["currency_id"],
    }
    _order = "gap desc, id"

    lead_id = fields.Many2one("crm.lead", "Opportunity", readonly=True)
    user_id = fields.Many2one("res.users", "Salesperson", readonly=True)
    team_id = fields.Many2one("crm.team", "Sales Team", readonly=True)
    company_id = fields.Many2one("res.company", readonly=True)
    pipeline_type_id = fields.Many2one("crm.pipeline.type", "Sales Process", readonly=True)
    stage_id = fields.Many2one("crm.stage", "Our Stage", readonly=True)
    buyer_stage_id = fields.Many2one("crm.buyer.stage", "Buying Stage of Our Stage", readonly=True)
    supported_buyer_stage_id = fields.Many2one(
        "crm.buyer.stage", "Last Buying Stage Evidenced by the Customer", readonly=True
    )
    gap = fields.Integer("Buying Stages Ahead", readonly=True, aggregator="avg")
    currency_id = fields.Many2one("res.currency", readonly=True)
    expected_revenue = fields.Monetary(currency_field="currency_id", readonly=True)

    def _query(self, lead_ids=None):
        """The report's query, for every open opportunity or only for ``lead_ids``.

        The filter is applied inside the evidence grouping too: filtering the
        view from outside would still group the evidence of every opportunity.
        """
        return SQL("%s %s %s", self._select(lead_ids), self._from(), self._where(lead_ids))

    def _lead_filter(self, column, lead_ids):
        return SQL("TRUE") if lead_ids is None else SQL("%s = ANY(%s)", column, list(lead_ids))

    def _select(self, lead_ids=None):
        return SQL(
            """
            WITH buyer_rank AS (
                SELECT buyer.id, buyer.buyer_process_id,
                       ROW_NUMBER() OVER (PARTITION BY buyer.buyer_process_id ORDER BY buyer.sequence, buyer.id)
                           AS position
                FROM crm_buyer_stage buyer
            ),
            supported AS (
                SELECT evidence.lead_id, rank.buyer_process_id, MAX(rank.position) AS position
                FROM crm_lead_evidence evidence
                JOIN crm_stage stage ON stage.id = evidence.stage_id
                JOIN buyer_rank rank ON rank.id = stage.buyer_stage_id
                WHERE evidence.customer_led AND evidence.is_valid AND %s
                GROUP BY evidence.lead_id, rank.buyer_process_id
            )
            SELECT
                lead.id,
                lead.id AS lead_id,
                lead.user_id,
                lead.team_id,
                lead.company_id,
                lead.pipeline_type_id,
                lead.stage_id,
                lead.buyer_stage_id,
                supported_stage.id AS supported_buyer_stage_id,
                current.position - COALESCE(supported.position, 0) - 1 AS gap,
                company.currency_id,
                lead.expected_revenue
            """,
            self._lead_filter(SQL("evidence.lead_id"), lead_ids),
        )

    def _from(self):
        return SQL(
            """
            FROM crm_lead lead
            JOIN buyer_rank current ON current.id = lead.buyer_stage_id
            LEFT JOIN supported
                ON supported.lead_id = lead.id AND supported.buyer_process_id = current.buyer_process_id
            LEFT JOIN buyer_rank supported_stage
                ON supported_stage.buyer_process_id = current.buyer_process_id
               AND supported_stage.position = supported.position
            LEFT JOIN res_company company ON company.id = lead.company_id
            """
        )

    def _where(self, lead_ids=None):
        return SQL(
            """
            WHERE lead.type = 'opportunity' AND lead.won_status = 'pending' AND lead.active
              AND current.position > COALESCE(supported.position, 0) + 1 AND %s
            """,
            self._lead_filter(SQL("lead.id"), lead_ids),
        )
