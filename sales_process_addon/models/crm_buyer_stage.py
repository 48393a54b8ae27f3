from odoo import fields, models


class CrmBuyerStage(models.Model):
    """One step of the customer's buying process, paired with seller stages."""

    _name = "crm.buyer.stage"
    _description = "Customer Buying Stage"
    _order = "buyer_process_id, sequence, id"

    name = fields.Char(required=True, translate=True)
    sequence = fields.Integer(default=10)
    buyer_process_id = fields.Many2one(
        "crm.buyer.process", string="Buying Process", required=True, index=True, ondelete="cascade"
    )
    description = fields.Text(
        translate=True,
        help="What the customer does at this step, and how we can observe it.",
    )
