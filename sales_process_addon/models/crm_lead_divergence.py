from odoo import _, api, fields, models
from odoo.tools import SQL


class CrmLead(models.Model):
    """Seller-buyer divergence on the opportunity: are we ahead of the customer?

    The rule and its query are the divergence report's
    (``crm.buyer.divergence.report``), read for these opportunities only: one
    query for any number of them, nothing stored, so a stage move or new
    evidence costs nothing more on write. Standard-pipeline stages have no
    buying stage: their opportunities are never flagged.
    """

    _inherit = "crm.lead"

    buyer_divergence = fields.Boolean(
        "Ahead of the Customer",
        compute="_compute_buyer_divergence",
        help="Our stage is more than one buying step past the last step the customer's own evidence "
        "supports.",
    )
    buyer_divergence_reason = fields.Char("Divergence", compute="_compute_buyer_divergence")

    @api.depends("stage_id", "evidence_ids.customer_led", "evidence_ids.is_valid", "evidence_ids.stage_id")
    @api.depends_context("lang")
    def _compute_buyer_divergence(self):
        self.buyer_divergence = False
        self.buyer_divergence_reason = False
        leads = self.filtered("id")._origin
        if not leads:
            return
        self.env["crm.lead.evidence"].flush_model(["lead_id", "stage_id", "customer_led", "is_valid"])
        self.env["crm.stage"].flush_model(["buyer_stage_id"])
        leads.flush_recordset(["stage_id", "buyer_stage_id", "type", "won_status", "active"])
        # The opportunities are readable (they are being read); their stage names are shown
        # on them already: no record rule to apply to this read.
        self.env.cr.execute(
            SQL(
                """
                SELECT divergence.lead_id, stage.name, supported.name
                FROM (%s) divergence
                JOIN crm_stage stage ON stage.id = divergence.stage_id
                LEFT JOIN crm_buyer_stage supported ON supported.id = divergence.supported_buyer_stage_id
                """,
                self.env["crm.buyer.divergence.report"]._query(leads.ids),
            )
        )
        lang = self.env.lang or "en_US"

        def translated(name):
            return name.get(lang) or name.get("en_US") or next(iter(name.values()), "")

        reasons = {}
        for lead_id, stage_name, supported_name in self.env.cr.fetchall():
            if supported_name:
                reasons[lead_id] = _(
                    "We are at %(stage)s; the customer's last evidenced step is %(buyer_stage)s",
                    stage=translated(stage_name),
                    buyer_stage=translated(supported_name),
                )
            else:
                reasons[lead_id] = _(
                    "We are at %(stage)s; the customer has evidenced no buying step yet",
                    stage=translated(stage_name),
                )
        for lead in self:
            reason = reasons.get(lead._origin.id)
            if reason:
                lead.buyer_divergence = True
                lead.buyer_divergence_reason = reason
