import math
from datetime import timedelta

from odoo import _, api, fields, models
from odoo.exceptions import AccessError


class CrmStage(models.Model):
    """Measured time in stage and the stale thresholds it suggests.

    Over the stays in the stage that ended in the last 12 months (the time in
    stage report): their number, median, 75th and 90th percentile. Suggested
    days to rot: the 75th percentile (a quarter of the deals stay longer);
    suggested escalation: the 90th percentile, at least a day after. A sales
    administrator applies them with one click.
    """

    _inherit = "crm.stage"

    time_stays_12m = fields.Integer("Stays (12 months)", compute="_compute_time_stats")
    time_median_12m = fields.Float("Median Days (12 months)", digits=(16, 1), compute="_compute_time_stats")
    time_p75_12m = fields.Float("75th Percentile Days", digits=(16, 1), compute="_compute_time_stats")
    time_p90_12m = fields.Float("90th Percentile Days", digits=(16, 1), compute="_compute_time_stats")
    suggested_rotting_days = fields.Integer(
        "Suggested Days to Rot",
        compute="_compute_time_stats",
        help="The 75th percentile of the time spent in the stage over the last 12 months.",
    )
    suggested_escalation_days = fields.Integer(
        "Suggested Days Before Manager Alert",
        compute="_compute_time_stats",
        help="The 90th percentile of the time spent in the stage over the last 12 months, "
        "at least one day after the suggested days to rot.",
    )

    @api.depends_context("uid", "allowed_company_ids")
    def _compute_time_stats(self):
        since = fields.Datetime.now() - timedelta(days=365)
        # sudo: the stage's figures cover every deal of the user's companies, not only those he
        # may open; only counts and percentiles are shown. Other companies' deals stay theirs.
        stats = (
            self.env["crm.sales.dashboard"]
            .sudo()
            ._duration_percentiles(
                [
                    ("stage_id", "in", self.ids),
                    ("date", ">=", since),
                    ("company_id", "in", [*self.env.companies.ids, False]),
                ]
            )
            if self.ids
            else {}
        )
        for stage in self:
            count, median, p75, p90 = stats.get(stage.id, (0, 0.0, 0.0, 0.0))
            stage.time_stays_12m = count
            stage.time_median_12m = median
            stage.time_p75_12m = p75
            stage.time_p90_12m = p90
            rotting = math.ceil(p75) if count and not stage.is_won else 0
            stage.suggested_rotting_days = rotting
            stage.suggested_escalation_days = max(math.ceil(p90), rotting + 1) if rotting else 0

    def action_apply_suggested_thresholds(self):
        """Set the days to rot and the escalation of these stages to the suggested ones."""
        if not self.env.user.has_group("sales_team.group_sale_manager"):
            raise AccessError(_("Only a sales administrator can apply the suggested stale thresholds."))
        for stage in self.filtered("suggested_rotting_days"):
            stage.write(
                {
                    "rotting_threshold_days": stage.suggested_rotting_days,
                    "escalation_days": stage.suggested_escalation_days,
                }
            )
