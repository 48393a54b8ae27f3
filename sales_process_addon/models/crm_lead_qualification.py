from odoo import fields, models


class CrmLeadQualification(models.Model):
    """The answer of one opportunity to one qualification question."""

    _name = "crm.lead.qualification"
    _inherit = ["crm.lead.child.mixin", "crm.valid.selection.mixin"]
    _description = "Opportunity Qualification Answer"
    _order = "lead_id.id, question_id, id"  # by id: grouped by opportunity, no join to sort
    _rec_name = "question_id"

    lead_id = fields.Many2one("crm.lead", "Opportunity", required=True, index=True, ondelete="cascade")
    question_id = fields.Many2one("crm.qualification.question", required=True, ondelete="restrict")
    # Not stored: the order comes from the question (``_order``), and a new
    # opportunity's answers are then written in one INSERT, nothing more.
    sequence = fields.Integer(related="question_id.sequence")
    guidance = fields.Text(related="question_id.guidance")
    deal_breaker = fields.Boolean(related="question_id.deal_breaker")
    answer = fields.Selection(
        [("yes", "Yes"), ("partly", "Partly"), ("no", "No"), ("unknown", "Unknown")],
        required=True,
        default="unknown",
    )
    notes = fields.Text(help="The answer in words, and its source: who told us, or which document.")
    company_id = fields.Many2one(related="lead_id.company_id", store=True, index=True, precompute=True)

    _lead_child_server_fields = frozenset({"company_id", "sequence", "guidance", "deal_breaker"})

    _lead_question_uniq = models.Constraint(
        "UNIQUE(lead_id, question_id)",
        "A qualification question is asked once per opportunity.",
    )
