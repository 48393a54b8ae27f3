from odoo import fields, models
from odoo.tools import SQL

from .crm_lead_stage_stay import EXIT_BASES


class CrmStageExitReport(models.Model):
    """Do the exit criteria predict wins? One row per stage an opportunity left forward.

    How the stage was left (``exit_basis``): through an approved exception,
    with its milestones evidenced by the customer (at least one piece of
    customer-led evidence), with evidence of our own only, or with no
    evidence recorded (a stage without milestones, a guided process). Per
    group: ``won_rate``, the share of the closed opportunities that are won
    (open ones are left out), and ``cycle_days``, the days from creation to
    signature of the won ones. Compare, per process and stage, the win rate
    of deals let through by an exception with those that met the criteria.

    The evidence is the one the stage gate recorded on the move
    (``crm.lead.stage.history.evidence_ids``), judged when the move is
    recorded (``crm.lead.stage.stay``). The salesperson and team are the
    opportunity's current ones; the period is the date the stage was left.
    """

    _name = "crm.stage.exit.report"
    _inherit = ["crm.sales.report.mixin"]
    _description = "Stage Exit Analysis"
    _auto = False
    _rec_name = "lead_id"
    _order = "date desc, id desc"

    lead_id = fields.Many2one("crm.lead", "Opportunity", readonly=True)
    date = fields.Datetime("Left on", readonly=True)
    pipeline_type_id = fields.Many2one("crm.pipeline.type", "Sales Process", readonly=True)
    stage_id = fields.Many2one("crm.stage", "Stage Left", readonly=True)
    user_id = fields.Many2one("res.users", "Salesperson", readonly=True)
    team_id = fields.Many2one("crm.team", "Sales Team", readonly=True)
    company_id = fields.Many2one("res.company", readonly=True)
    exception_id = fields.Many2one("crm.stage.exception", "Exception Used", readonly=True)
    exit_basis = fields.Selection(
        EXIT_BASES,
        "Left With",
        readonly=True,
    )
    won_status = fields.Selection(
        [("won", "Won"), ("lost", "Lost"), ("pending", "Open")], "Status", readonly=True
    )
    won_rate = fields.Float(
        "Win Rate (%)",
        readonly=True,
        aggregator="avg",
        help="Share of the closed opportunities that are won; open ones are not counted.",
    )
    cycle_days = fields.Float(
        "Cycle Length (days)",
        digits=(16, 1),
        readonly=True,
        aggregator="avg",
        help="Days from creation to signature, of the won opportunities.",
    )

    def _select(self):
        return SQL(
            """
            SELECT
                stay.id,
                stay.lead_id,
                stay.date,
                stay.pipeline_type_id,
                stay.stage_id,
                stay.user_id,
                stay.team_id,
                stay.company_id,
                stay.exception_id,
                stay.exit_basis,
                stay.won_status,
                CASE stay.won_status WHEN 'won' THEN 100.0::float8 WHEN 'lost' THEN 0.0::float8 END AS won_rate,
                stay.cycle_days
            """
        )

    def _from(self):
        return SQL("FROM crm_lead_stage_stay stay")

    def _where(self):
        return SQL("WHERE stay.event IN ('forward', 'won') AND stay.lead_type = 'opportunity'")
