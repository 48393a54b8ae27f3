from odoo import fields, models


class CrmFunnelState(models.Model):
    """Where the customer stands in the sales funnel (search, in funnel, best state).

    Funnel states steer resources: customers still in *search* are costly to
    convert, those *in the funnel* deserve investment, the *best state* closes.
    """

    _name = "crm.funnel.state"
    _inherit = ["crm.stage.gate.config.mixin"]
    _description = "Sales Funnel State"
    _order = "sequence, id"

    name = fields.Char(required=True, translate=True)
    sequence = fields.Integer(default=10)
    active = fields.Boolean(default=True)
    color = fields.Integer()
    indicators = fields.Text(
        translate=True,
        help="Observable signs that a customer is in this state.",
    )
    guidance = fields.Text(
        translate=True,
        help="How much time and resources a customer in this state deserves.",
    )
