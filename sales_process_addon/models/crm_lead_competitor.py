from odoo import api, fields, models


class CrmLeadCompetitor(models.Model):
    """A competitor in one opportunity: how it plays this deal and how much it threatens us."""

    _name = "crm.lead.competitor"
    _inherit = ["crm.lead.child.mixin", "crm.valid.selection.mixin"]
    _description = "Opportunity Competitor"
    _order = "lead_id.id, threat_sequence, id"  # by id: grouped by opportunity, no join to sort
    _rec_name = "competitor_id"
    _check_company_auto = True

    lead_id = fields.Many2one("crm.lead", "Opportunity", required=True, index=True, ondelete="cascade")
    competitor_id = fields.Many2one(
        "crm.competitor", required=True, index=True, ondelete="restrict", check_company=True
    )
    # Prefilled from the competitor's record, then specific to this deal.
    strengths = fields.Text(compute="_compute_strengths", store=True, readonly=False)
    weaknesses = fields.Text(compute="_compute_weaknesses", store=True, readonly=False)
    strategy = fields.Text(
        compute="_compute_strategy",
        store=True,
        readonly=False,
        help="How it plays this deal; prefilled with its usual strategy.",
    )
    ties_inside_customer = fields.Text(
        "Ties inside the Customer",
        help="People in the customer's organisation with past ties to this competitor, and their influence.",
    )
    threat_level = fields.Selection(
        [("low", "Low"), ("medium", "Medium"), ("high", "High")],
        required=True,
        default="medium",
    )
    threat_sequence = fields.Integer(compute="_compute_threat_sequence", store=True)
    won_status = fields.Selection(related="lead_id.won_status", string="Outcome")
    company_id = fields.Many2one(related="lead_id.company_id", store=True, index=True, precompute=True)

    _lead_child_server_fields = frozenset({"company_id", "threat_sequence", "won_status"})

    _lead_competitor_uniq = models.Constraint(
        "UNIQUE(lead_id, competitor_id)",
        "A competitor is listed once per opportunity.",
    )

    @api.constrains("company_id")
    def _check_company_follows_lead(self):
        """The competitor stays one of the opportunity's company once the opportunity moves to
        another company (``company_id`` follows it; ``check_company`` judges only what is written)."""
        self._check_company(["competitor_id"])

    @api.depends("competitor_id")
    def _compute_strengths(self):
        self._prefill_from_competitor("strengths", "strengths")

    @api.depends("competitor_id")
    def _compute_weaknesses(self):
        self._prefill_from_competitor("weaknesses", "weaknesses")

    @api.depends("competitor_id")
    def _compute_strategy(self):
        self._prefill_from_competitor("strategy", "usual_strategy")

    def _prefill_from_competitor(self, fname, source):
        """Prefill ``fname`` with the competitor's ``source`` text.

        What the rep wrote stays when the line changes competitor; a text that
        is still a competitor's own (the one prefilled) follows the new one.
        """
        standard = set()
        if any(line[fname] for line in self):
            # sudo: the competitors' texts are only compared with the line's, never shown.
            competitors = self.env["crm.competitor"].sudo().with_context(active_test=False).search([])
            standard = set(competitors.mapped(source))
        for line in self:
            if not line[fname] or line[fname] in standard:
                line[fname] = line.competitor_id[source]

    @api.depends("threat_level")
    def _compute_threat_sequence(self):
        order = {"high": 1, "medium": 2, "low": 3}
        for line in self:
            line.threat_sequence = order.get(line.threat_level, 4)
