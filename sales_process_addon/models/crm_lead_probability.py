from odoo import api, fields, models


class CrmLeadProbability(models.AbstractModel):
    """Evidence-based probability; ``crm.lead`` inherits it.

    A deal's chance follows what it has proven rather than how similar deals
    ended: the default probability of its stage, plus the share of the
    stage's required milestones already proven times the step to the next
    stage's default probability (those milestones open the next stage). A won
    stage is 100. Processes choose it (``probability_mode``); elsewhere Odoo's
    predictive scoring stays. Both are kept side by side for the reports: the
    evidence value is stored on every opportunity.
    """

    _name = "crm.lead.probability"
    _description = "Opportunity Evidence-Based Probability"

    evidence_probability = fields.Float(
        "Evidence-Based Probability",
        compute="_compute_evidence_probability",
        store=True,
        aggregator="avg",
        help="The stage's default probability, raised towards the next stage's as the stage's "
        "required milestones are proven. The probability follows it when the sales process says so.",
    )

    @api.depends(
        "stage_id.default_probability",
        "stage_id.is_won",
        "team_id",
        "evidence_ids.is_valid",
        "evidence_ids.milestone_id",
        "stakeholder_ids.met",
        "stakeholder_ids.stance",
        "stakeholder_ids.role_id",
        "qualification_status",
    )
    def _compute_evidence_probability(self):
        """One query for any number of leads: what is proven.

        The stages' order, probabilities and required milestones come from the
        gate's registry cache; only what the leads proved is read, and only for
        those in a stage with required milestones. A lead outside the processes'
        stages keeps its stage's default probability.
        """
        stage_info = self._stage_gate_structure()["stages"]
        proving = self.filtered(
            lambda lead: (info := stage_info.get(lead.stage_id.id)) and not info["won"] and info["required"]
        )
        milestones = self.env["crm.stage.milestone"].browse(
            {mid for lead in proving for mid in stage_info[lead.stage_id.id]["required"]}
        )
        met = proving.filtered("id")._stage_gate_milestones_met(milestones) if proving else {}
        for lead in self:
            info = stage_info.get(lead.stage_id.id)
            if not info or info["won"]:
                won = info["won"] if info else lead.stage_id.is_won
                lead.evidence_probability = 100.0 if won else lead.stage_id.default_probability
                continue
            sequence = self._stage_gate_sequence(lead.pipeline_type_id.id, lead.team_id.id, lead.stage_id.id)
            following = sequence[sequence.index(lead.stage_id.id) + 1 :][:1]
            step = (
                max(stage_info[following[0]]["probability"] - info["probability"], 0.0) if following else 0.0
            )
            required = info["required"]
            proven = len(set(required) & met.get(lead.id, set()))
            share = proven / len(required) if required else 0.0
            lead.evidence_probability = round(info["probability"] + step * share, 2)

    # Predictive scoring gives way to the evidence in the processes that say so.
    # On what the evidence probability follows, not on its value: a new lead's scoring runs once.
    @api.depends("evidence_ids.is_valid", "evidence_ids.milestone_id", "pipeline_type_id.probability_mode")
    def _compute_probabilities(self):
        return super()._compute_probabilities()

    def _pls_get_naive_bayes_probabilities(self, batch_mode=False, is_tooltip=False):
        """Odoo's predictive scoring, but not for the leads whose process follows the evidence.

        Theirs is their evidence probability: scoring them too (Odoo reads the
        scoring tables for every lead, e.g. on each stage move) would be work
        thrown away. The tooltip still explains Odoo's scoring.
        """
        if is_tooltip:
            return super()._pls_get_naive_bayes_probabilities(batch_mode=batch_mode, is_tooltip=True)
        # The processes' modes come from the gate's registry cache: scoring a lead reads no process.
        types = self._stage_gate_structure()["types"]
        evidence_based = self.filtered(
            lambda lead: types.get(lead.pipeline_type_id.id, {}).get("probability_mode") == "evidence"
        )
        if batch_mode:
            evidence_based = evidence_based.filtered(
                lambda lead: lead.active and lead.won_status == "pending"
            )
        result = super(CrmLeadProbability, self - evidence_based)._pls_get_naive_bayes_probabilities(
            batch_mode=batch_mode
        )
        if not evidence_based:
            return result
        # Odoo returns a bare dict when it computed nothing.
        probabilities, tooltip_data = result if isinstance(result, tuple) else (result, {})
        probabilities.update({lead.id: lead.evidence_probability for lead in evidence_based})
        return probabilities, tooltip_data
