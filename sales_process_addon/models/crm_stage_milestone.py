from odoo import _, fields, models

from ..tools import join_list, parenthesized


class CrmStageMilestone(models.Model):
    """An exit criterion of a stage, met by verifiable evidence.

    The gate lets an opportunity leave the stage only when every required
    milestone is evidenced (and verified by a manager where asked).
    """

    _name = "crm.stage.milestone"
    _inherit = ["crm.stage.gate.config.mixin"]
    _description = "Stage Milestone"
    _order = "stage_id, sequence, id"

    name = fields.Char(required=True, translate=True)
    description = fields.Text(
        "What Counts as Proof",
        translate=True,
        help="The observable outcome that proves this milestone, ideally an action of the customer.",
    )
    sequence = fields.Integer(default=10)
    active = fields.Boolean(default=True)
    stage_id = fields.Many2one("crm.stage", required=True, index=True, ondelete="cascade")
    pipeline_type_id = fields.Many2one(related="stage_id.pipeline_type_id", store=True, index=True)
    required = fields.Boolean(default=True, help="Opportunities cannot leave the stage without it.")
    customer_led = fields.Boolean(
        "Customer-Led",
        default=True,
        help="Only evidence produced by a customer contact counts, e.g. their reply or signature.",
    )
    evidence_kind_ids = fields.Many2many(
        "crm.evidence.kind",
        string="Accepted Evidence",
        help="Kinds of evidence that can prove this milestone; empty means any kind.",
    )
    needs_verification = fields.Boolean(
        "Manager Verifies",
        help="Evidence counts only once a sales manager has verified it.",
    )
    proof_key = fields.Char(
        "Shared Proof",
        index="btree_not_null",
        help="Milestones of different sales processes with the same shared proof are met by the same "
        "evidence: when an opportunity switches process, what it proved follows it. E.g. "
        "'signed_contract' on the signing milestone of every process.",
    )
    fact = fields.Selection(
        [
            ("coach_secured", "Coach secured"),
            ("decision_maker_met", "Decision maker met"),
            ("qualified_pursue", "Qualified: pursue"),
        ],
        "Met by Fact",
        help="A fact of the opportunity's data that meets this milestone as evidence does; evidence "
        "still counts too. Coach secured: a buying-center contact with the Coach role whose stance is "
        "Supporter or Champion. Decision maker met: a contact with the Decision maker role, met, with "
        "a meeting date. Qualified: pursue: the qualification status is Pursue. The stage history "
        "records which fact met it.",
    )

    def _gate_label(self):
        """The milestone as named in a gate refusal."""
        self.ensure_one()
        notes = []
        if self.customer_led:
            notes.append(_("customer-led"))
        if self.needs_verification:
            notes.append(_("verified by a manager"))
        return self.name + parenthesized(self.env, join_list(self.env, notes)) if notes else self.name
