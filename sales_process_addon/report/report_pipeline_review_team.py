from odoo import api, models


class ReportPipelineReviewTeam(models.AbstractModel):
    """Pipeline review sheet of sales teams: one section per salesperson."""

    _name = "report.sales_process_addon.report_pipeline_review_team"
    _inherit = ["crm.pipeline.review.report"]
    _description = "Pipeline Review Sheet per Sales Team"

    @api.model
    def _get_report_values(self, docids, data=None):
        return self._review_values(self.env["crm.team"].browse(docids), "team_id")
