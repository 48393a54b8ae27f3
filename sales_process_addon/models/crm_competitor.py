from collections import Counter

from odoo import _, fields, models


class CrmCompetitor(models.Model):
    """A competitor we meet in deals: what the whole team knows about it.

    Wins and losses count the opportunities it took part in, won or lost by us.
    """

    _name = "crm.competitor"
    _description = "Competitor"
    _order = "name, id"
    _check_company_auto = True

    name = fields.Char(required=True)
    partner_id = fields.Many2one("res.partner", "Company Contact", check_company=True)
    active = fields.Boolean(default=True)
    color = fields.Integer()
    company_id = fields.Many2one("res.company", index=True, default=lambda self: self.env.company)
    strengths = fields.Text()
    weaknesses = fields.Text()
    usual_strategy = fields.Text(
        help="How this competitor usually sells: price, relationships, technology..."
    )
    lead_competitor_ids = fields.One2many("crm.lead.competitor", "competitor_id", string="Opportunities")
    won_count = fields.Integer("Won Against", compute="_compute_outcome_counts")
    lost_count = fields.Integer("Lost Against", compute="_compute_outcome_counts")
    open_count = fields.Integer("Open Against", compute="_compute_outcome_counts")
    win_rate = fields.Float(
        "Win Rate (%)",
        compute="_compute_outcome_counts",
        digits=(16, 1),
        help="Won / (won + lost) opportunities in which this competitor took part.",
    )

    _name_company_uniq = models.UniqueIndex(
        "(company_id, name) NULLS NOT DISTINCT",
        "A competitor with this name already exists in this company.",
    )

    def _compute_outcome_counts(self):
        """One grouped query for all competitors, by the opportunities' outcome.

        Counts every opportunity of the user's companies, including those the
        user cannot open: the competitor list is the team's shared knowledge.
        """
        counts = Counter()
        if self.ids:
            # sudo: company-wide statistics, limited to the user's companies below.
            groups = (
                self.env["crm.lead.competitor"]
                .sudo()
                .with_context(active_test=False)
                ._read_group(
                    [
                        ("competitor_id", "in", self.ids),
                        ("company_id", "in", [*self.env.companies.ids, False]),
                    ],
                    ["competitor_id", "lead_id.won_status"],
                    ["__count"],
                )
            )
            counts = Counter({(competitor.id, status): count for competitor, status, count in groups})
        for competitor in self:
            won, lost = counts[competitor.id, "won"], counts[competitor.id, "lost"]
            competitor.won_count = won
            competitor.lost_count = lost
            competitor.open_count = counts[competitor.id, "pending"]
            competitor.win_rate = 100.0 * won / (won + lost) if won + lost else 0.0

    # ------------------------------------------------------------
    # ACTIONS
    # ------------------------------------------------------------

    def action_view_opportunities(self):
        self.ensure_one()
        status = self.env.context.get("won_status")
        domain = [("competitor_ids.competitor_id", "=", self.id)]
        if status:
            domain.append(("won_status", "=", status))
        return {
            "type": "ir.actions.act_window",
            "name": _("Opportunities against %(competitor)s", competitor=self.name),
            "res_model": "crm.lead",
            "view_mode": "list,kanban,form",
            "views": [(False, "list"), (False, "kanban"), (False, "form")],
            "domain": domain,
            "context": {"active_test": False, "default_type": "opportunity"},
        }
