from odoo import fields, models
from odoo.tools import SQL


class CrmStageDurationReport(models.Model):
    """Time in stage: one row per stay in a stage that has ended, from the stage history.

    A stay ends when the opportunity moves forward, backward, is won, switches
    sales process, or is lost (unless it was restored afterwards: the stay then
    goes on and ends with a later move). Stays still going on are not counted.
    ``days`` averages and ``days_median`` takes the median (``percentile_cont``,
    see ``crm.sales.report.mixin``) over the same column.

    The salesperson and team are the opportunity's current ones, as in CRM's
    own record rules; the company is the one of the history row (the opportunity's);
    the period is the date the opportunity left the stage.
    """

    _name = "crm.stage.duration.report"
    _inherit = ["crm.sales.report.mixin"]
    _description = "Time in Stage Analysis"
    _auto = False
    _rec_name = "lead_id"
    _order = "date desc, id desc"

    lead_id = fields.Many2one("crm.lead", "Opportunity", readonly=True)
    date = fields.Datetime("Left on", readonly=True)
    event = fields.Selection(
        [
            ("forward", "Forward"),
            ("backward", "Backward"),
            ("won", "Won"),
            ("lost", "Lost"),
            ("type_switch", "Sales process switch"),
        ],
        "Left by",
        readonly=True,
    )
    pipeline_type_id = fields.Many2one("crm.pipeline.type", "Sales Process", readonly=True)
    stage_id = fields.Many2one("crm.stage", readonly=True)
    buyer_stage_id = fields.Many2one("crm.buyer.stage", readonly=True)
    funnel_state_id = fields.Many2one("crm.funnel.state", readonly=True)
    user_id = fields.Many2one("res.users", "Salesperson", readonly=True)
    team_id = fields.Many2one("crm.team", "Sales Team", readonly=True)
    company_id = fields.Many2one("res.company", readonly=True)
    days = fields.Float("Average Days in Stage", digits=(16, 2), readonly=True, aggregator="avg")
    days_median = fields.Float("Median Days in Stage", digits=(16, 2), readonly=True, aggregator="median")

    def _select(self):
        # float8: the median sorts the values, much faster on floats than on numerics.
        return SQL(
            """
            SELECT
                history.id,
                history.lead_id,
                history.date,
                history.event,
                COALESCE(history.from_pipeline_type_id, history.pipeline_type_id) AS pipeline_type_id,
                history.from_stage_id AS stage_id,
                history.from_buyer_stage_id AS buyer_stage_id,
                history.from_funnel_state_id AS funnel_state_id,
                lead.user_id,
                lead.team_id,
                history.company_id,
                history.days_in_previous_stage::float8 AS days,
                history.days_in_previous_stage::float8 AS days_median
            """
        )

    def _from(self):
        # LEFT JOIN on the primary key: PostgreSQL drops the join when no lead column is used.
        return SQL(
            """
            FROM crm_lead_stage_history history
            LEFT JOIN crm_lead lead ON lead.id = history.lead_id
            LEFT JOIN (
                SELECT restore.lead_id, MAX(restore.id) AS last_restore_id
                FROM crm_lead_stage_history restore
                WHERE restore.event = 'restore'
                GROUP BY restore.lead_id
            ) restored ON restored.lead_id = history.lead_id
            """
        )

    def _where(self):
        # A loss undone by a later restore does not end the stay.
        return SQL(
            """
            WHERE history.from_stage_id IS NOT NULL
              AND history.event IN ('forward', 'backward', 'won', 'lost', 'type_switch')
              AND NOT (history.event = 'lost' AND COALESCE(restored.last_restore_id > history.id, FALSE))
            """
        )
