from odoo import fields, models


class CrmQualificationQuestion(models.Model):
    """A question that qualifies an opportunity: is it worth our time and resources?

    Each opportunity gets the questions of its sales process (questions without
    processes apply to all). The answers give its qualification status.
    """

    _name = "crm.qualification.question"
    _description = "Qualification Question"
    _order = "sequence, id"

    name = fields.Char("Question", required=True, translate=True)
    guidance = fields.Text(
        translate=True,
        help="What a good answer looks like and where to find it; shown to the rep next to the question.",
    )
    sequence = fields.Integer(default=10)
    active = fields.Boolean(default=True)
    deal_breaker = fields.Boolean(
        help="A 'No' to this question drops the opportunity (qualification status: Drop), "
        "e.g. no funding allocated.",
    )
    pipeline_type_ids = fields.Many2many(
        "crm.pipeline.type",
        string="Sales Processes",
        help="Processes whose opportunities are asked this question; empty means all processes.",
    )
