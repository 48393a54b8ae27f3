from odoo import fields, models


class CrmBuyerProcess(models.Model):
    """The customer's own buying / decision process, as an ordered list of steps.

    Several sales processes may share one buyer process (e.g. an inside-sales and
    a field-sales variant of the same sale): opportunities moved between them keep
    their buyer stage.
    """

    _name = "crm.buyer.process"
    _description = "Customer Buying Process"
    _order = "name, id"
    _check_company_auto = True

    name = fields.Char(required=True, translate=True)
    description = fields.Text(translate=True)
    active = fields.Boolean(default=True)
    company_id = fields.Many2one("res.company", index=True)
    stage_ids = fields.One2many("crm.buyer.stage", "buyer_process_id", string="Buyer Stages", copy=True)
    pipeline_type_ids = fields.One2many("crm.pipeline.type", "buyer_process_id", string="Sales Processes")
