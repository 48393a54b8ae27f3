from odoo import fields, models


class CrmLeadStageTaskJob(models.Model):
    """A stage move whose tasks are still to be cancelled and scheduled.

    With the stage tasks in the background (Settings), a move records one of
    these instead of doing that work in the rep's request; the scheduled
    action works them right after the commit, in the order of the moves (see
    ``crm.lead.stage.tasks._cron_schedule_stage_tasks``), and writes the
    report rows of the lead's history first (``reports_pending``): every
    change of a lead's stage state records one, even one with no task to
    follow (a reopened deal). Only the server reads and writes them.
    """

    _name = "crm.lead.stage.task.job"
    _description = "Opportunity Stage Tasks to Schedule"
    _order = "id"

    lead_id = fields.Many2one("crm.lead", "Opportunity", required=True, ondelete="cascade", index=True)
    left_stage_id = fields.Many2one("crm.stage", "Stage Left", ondelete="set null")
    lost = fields.Boolean(help="The deal was lost: its stage tasks are cancelled, whatever their stage.")
    entered_stage_id = fields.Many2one("crm.stage", "Stage Entered", ondelete="set null")
