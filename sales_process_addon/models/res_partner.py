from odoo import api, models


class ResPartner(models.Model):
    _inherit = "res.partner"

    @api.depends_context("partner_display_name_hide_company")
    def _compute_display_name(self):
        """Odoo's display name reads this context key without depending on it: a name computed
        earlier in the request (the milestone checklist names who produced each evidence) was
        served from the cache with the company in front, in lists of the customer's people."""
        return super()._compute_display_name()
