from odoo import fields, models
from odoo.tools import SQL


class CrmStageConversionReport(models.Model):
    """Stage conversion: of the opportunities that entered a stage, how many went on.

    One row per opportunity and stage it entered (first entry), read from
    ``crm.lead.stage.entry``, which the stage history keeps up to date (see
    there why a table). The next stage is the following stage of the same
    sales process, in the order of the stages (sequence, then id, as the
    stage gate reads them) when the opportunity entered the stage. ``reached_next_rate`` and ``won_rate`` are 0 or 100 per row, so
    their average over a group is the share in percent; the stage after the
    last one does not exist, so the last stage has no ``reached_next_rate``.

    The salesperson and team are the opportunity's current ones, as in CRM's
    own record rules; the period is the date the opportunity entered the stage.
    """

    _name = "crm.stage.conversion.report"
    _inherit = ["crm.sales.report.mixin"]
    _description = "Stage Conversion Analysis"
    _auto = False
    _rec_name = "lead_id"
    # Flushed before the view is read (see crm.sales.funnel.report); the entries are written in SQL.
    _depends = {"crm.stage": ["pipeline_type_id", "buyer_stage_id", "funnel_state_id"]}
    _order = "date desc, id desc"

    lead_id = fields.Many2one("crm.lead", "Opportunity", readonly=True)
    date = fields.Datetime("Entered on", readonly=True)
    pipeline_type_id = fields.Many2one("crm.pipeline.type", "Sales Process", readonly=True)
    stage_id = fields.Many2one("crm.stage", readonly=True)
    next_stage_id = fields.Many2one("crm.stage", readonly=True)
    buyer_stage_id = fields.Many2one("crm.buyer.stage", readonly=True)
    funnel_state_id = fields.Many2one("crm.funnel.state", readonly=True)
    user_id = fields.Many2one("res.users", "Salesperson", readonly=True)
    team_id = fields.Many2one("crm.team", "Sales Team", readonly=True)
    company_id = fields.Many2one("res.company", readonly=True)
    won_status = fields.Selection(
        [("won", "Won"), ("lost", "Lost"), ("pending", "Open")], "Status", readonly=True
    )
    reached_next_count = fields.Integer("Reached Next Stage", readonly=True, aggregator="sum")
    won_count = fields.Integer("Won", readonly=True, aggregator="sum")
    reached_next_rate = fields.Float(
        "Reached Next Stage (%)",
        readonly=True,
        aggregator="avg",
        help="Share of the opportunities that entered the stage and later entered the next stage.",
    )
    won_rate = fields.Float(
        "Won (%)",
        readonly=True,
        aggregator="avg",
        help="Share of the opportunities that entered the stage and are won.",
    )

    def _select(self):
        # float8 rates: PostgreSQL averages them much faster than numerics.
        return SQL(
            """
            SELECT
                entry.id,
                entry.lead_id,
                entry.date,
                stage.pipeline_type_id,
                entry.stage_id,
                entry.next_stage_id,
                stage.buyer_stage_id,
                stage.funnel_state_id,
                entry.user_id,
                entry.team_id,
                entry.company_id,
                entry.won_status,
                entry.reached_next::int AS reached_next_count,
                (entry.won_status = 'won')::int AS won_count,
                CASE
                    WHEN entry.next_stage_id IS NULL THEN NULL
                    WHEN entry.reached_next THEN 100.0::float8
                    ELSE 0.0::float8
                END AS reached_next_rate,
                CASE WHEN entry.won_status = 'won' THEN 100.0::float8 ELSE 0.0::float8 END AS won_rate
            """
        )

    def _from(self):
        return SQL(
            """
            FROM crm_lead_stage_entry entry
            JOIN crm_stage stage ON stage.id = entry.stage_id
            """
        )

    def _where(self):
        return SQL("WHERE entry.lead_type = 'opportunity' AND stage.pipeline_type_id IS NOT NULL")
