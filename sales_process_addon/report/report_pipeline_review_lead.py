from odoo import _, api, models


class ReportPipelineReviewLead(models.AbstractModel):
    """Pipeline review sheet of the opportunities selected in the Pipeline Review list.

    One sheet per sales team of the selection (those without a team last),
    one section per salesperson: select a salesperson's or a team's
    opportunities (filter, group, select all) and print.
    """

    _name = "report.sales_process_addon.report_pipeline_review_lead"
    _inherit = ["crm.pipeline.review.report"]
    _description = "Pipeline Review Sheet of Selected Opportunities"

    @api.model
    def _get_report_values(self, docids, data=None):
        leads = self.env["crm.lead"].browse(docids)
        teams = leads.team_id.sorted()
        values = self._review_values(
            teams, "team_id", domain=[("id", "in", leads.ids)], none_sheet_title=_("No Sales Team")
        )
        values.update(doc_ids=leads.ids, doc_model=leads._name, docs=leads)
        return values
