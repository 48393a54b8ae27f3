from odoo import api, models


class ReportPipelineReviewUser(models.AbstractModel):
    """Pipeline review sheet of salespersons: their own open opportunities."""

    _name = "report.sales_process_addon.report_pipeline_review_user"
    _inherit = ["crm.pipeline.review.report"]
    _description = "Pipeline Review Sheet per Salesperson"

    @api.model
    def _get_report_values(self, docids, data=None):
        return self._review_values(self.env["res.users"].browse(docids), "user_id")
