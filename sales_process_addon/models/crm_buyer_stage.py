from odoo import _, api, fields, models
from odoo.exceptions import ValidationError

from ..tools import join_list, parenthesized


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

    @api.constrains("buyer_process_id")
    def _check_paired_stages_process(self):
        """A seller stage's buyer stage is a step of its process's buying process (checked on the
        stage too): a step paired with seller stages stays in their buying process."""
        # sudo: every seller stage paired with the step counts, whoever edits the buying process.
        stages = self.env["crm.stage"].sudo().search([("buyer_stage_id", "in", self.ids)])
        for buyer_stage in self:
            paired = stages.filtered(
                lambda stage, buyer_stage=buyer_stage: stage.buyer_stage_id == buyer_stage
                and stage.pipeline_type_id.buyer_process_id != buyer_stage.buyer_process_id
            )
            if paired:
                raise ValidationError(
                    _(
                        'Buyer stage "%(buyer_stage)s" cannot move to the buying process "%(process)s": '
                        'stages of sales processes following "%(other)s" are paired with it: %(stages)s. '
                        "Pair them with another step first.",
                        buyer_stage=buyer_stage.name,
                        process=buyer_stage.buyer_process_id.name,
                        other=paired[0].pipeline_type_id.buyer_process_id.name or _("(none)"),
                        stages=join_list(
                            self.env,
                            [
                                stage.name + parenthesized(self.env, stage.pipeline_type_id.name)
                                for stage in paired
                            ],
                        ),
                    )
                )
