from odoo import fields, models


class CrmStakeholderRole(models.Model):
    """A role a customer contact plays in the buying center (decision maker, coach...).

    The codes of the shipped roles are used by the warnings of the buying center
    and by the facts that meet milestones (``decision_maker``, ``coach``).
    """

    _name = "crm.stakeholder.role"
    _description = "Stakeholder Role"
    _order = "sequence, id"

    name = fields.Char(required=True, translate=True)
    code = fields.Char(required=True, help="Technical identifier, e.g. decision_maker or coach.")
    sequence = fields.Integer(default=10)
    active = fields.Boolean(default=True)
    description = fields.Text(translate=True, help="What this person does in the customer's buying process.")

    _code_uniq = models.Constraint("UNIQUE(code)", "The code of a stakeholder role must be unique.")
