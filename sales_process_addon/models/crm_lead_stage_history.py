from odoo import fields, models


class CrmLeadStageHistory(models.Model):
    """One stage change of an opportunity, written by the server only.

    Kept apart from mail tracking so that reports (conversion, time in stage,
    cycle length) read one narrow, indexed table.
    """

    _name = "crm.lead.stage.history"
    _description = "Opportunity Stage History"
    _order = "date desc, id desc"
    _log_access = False

    lead_id = fields.Many2one("crm.lead", "Opportunity", required=True, index=True, ondelete="cascade")
    event = fields.Selection(
        [
            ("create", "Created"),
            ("forward", "Forward"),
            ("backward", "Backward"),
            ("won", "Won"),
            ("lost", "Lost"),
            ("restore", "Restored"),
            ("type_switch", "Sales process switch"),
        ],
        required=True,
        index=True,
    )
    date = fields.Datetime(required=True, default=fields.Datetime.now, index=True)
    user_id = fields.Many2one("res.users", "Changed by", default=lambda self: self.env.user)
    salesperson_id = fields.Many2one("res.users", index=True)
    team_id = fields.Many2one("crm.team", "Sales Team", index=True)
    company_id = fields.Many2one("res.company", index=True)
    pipeline_type_id = fields.Many2one("crm.pipeline.type", "Sales Process", index=True)
    from_pipeline_type_id = fields.Many2one("crm.pipeline.type", "From Sales Process")
    from_stage_id = fields.Many2one("crm.stage", index=True)
    to_stage_id = fields.Many2one("crm.stage", index=True)
    from_buyer_stage_id = fields.Many2one("crm.buyer.stage")
    to_buyer_stage_id = fields.Many2one("crm.buyer.stage")
    from_funnel_state_id = fields.Many2one("crm.funnel.state")
    to_funnel_state_id = fields.Many2one("crm.funnel.state")
    days_in_previous_stage = fields.Float("Days in Previous Stage", digits=(16, 2), aggregator="avg")
    exception_id = fields.Many2one("crm.stage.exception", "Exception Used", index="btree_not_null")
    note = fields.Char()
    facts_used = fields.Text(
        help="Milestones of the stage left that facts of the opportunity met, and which facts, "
        "e.g. a coach in the buying center.",
    )

    _lead_date_idx = models.Index("(lead_id, date)")
    _type_stage_date_idx = models.Index("(pipeline_type_id, to_stage_id, date)")
