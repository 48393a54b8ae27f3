from odoo import fields, models


class CrmEvidenceKind(models.Model):
    """A kind of proof: a customer's email, a signed document, a meeting held..."""

    _name = "crm.evidence.kind"
    _description = "Evidence Kind"
    _order = "sequence, id"

    name = fields.Char(required=True, translate=True)
    code = fields.Char(required=True)
    sequence = fields.Integer(default=10)
    active = fields.Boolean(default=True)
    description = fields.Text(translate=True)

    _code_uniq = models.Constraint("UNIQUE(code)", "The code of an evidence kind must be unique.")
