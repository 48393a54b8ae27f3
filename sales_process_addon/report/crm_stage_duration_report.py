from odoo import fields, models
from odoo.tools import SQL

from .crm_lead_stage_stay import STAY_ENDS


class CrmStageDurationReport(models.Model):
    """Time in stage: one row per stay in a stage that has ended (``crm.lead.stage.stay``).

    A stay ends when the opportunity moves forward, backward, is won, switches
    sales process, or is lost (unless it was restored afterwards: the stay then
    goes on and ends with a later move). Stays still going on are not counted.
    ``days`` averages and ``days_median`` takes the median (``percentile_cont``,
    see ``crm.sales.report.mixin``) over the same column.

    Opportunities only, as the other reports: a deal turned back into a lead
    leaves it. The salesperson, team and company are the opportunity's current
    ones, as in CRM's own record rules; the period is the date the opportunity
    left the stage.
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
        STAY_ENDS,
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
        return SQL(
            """
            SELECT
                stay.id,
                stay.lead_id,
                stay.date,
                stay.event,
                stay.pipeline_type_id,
                stay.stage_id,
                stay.buyer_stage_id,
                stay.funnel_state_id,
                stay.user_id,
                stay.team_id,
                stay.company_id,
                stay.days,
                stay.days AS days_median
            """
        )

    def _from(self):
        return SQL("FROM crm_lead_stage_stay stay")

    def _where(self):
        return SQL("WHERE stay.lead_type = 'opportunity'")
