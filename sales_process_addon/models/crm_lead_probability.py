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
        """Three queries for any number of leads: stages, milestones and what is proven.

        None for leads that have proven nothing yet (e.g. new ones): the stage's
        default probability.
        """
        blank = self.filtered(
            lambda lead: not lead.evidence_ids
            and not lead.stakeholder_ids
            and lead.qualification_status != "pursue"
        )
        for lead in blank:
            lead.evidence_probability = 100.0 if lead.stage_id.is_won else lead.stage_id.default_probability
        leads = self - blank
        if not leads:
            return
        stages = leads.stage_id
        process_stages = self.env["crm.stage"].search(
            [("pipeline_type_id", "in", stages.pipeline_type_id.ids)], order="sequence, id"
        )
        milestones = self.env["crm.stage.milestone"].search(
            [("stage_id", "in", stages.ids), ("required", "=", True)]
        )
        milestones_of = milestones.grouped("stage_id")
        met = leads.filtered("id")._stage_gate_milestones_met(milestones)
        for lead in leads:
            stage = lead.stage_id
            if stage.is_won:
                lead.evidence_probability = 100.0
                continue
            required = milestones_of.get(stage, milestones.browse())
            following = process_stages.filtered(
                lambda s, lead=lead: s.pipeline_type_id == lead.stage_id.pipeline_type_id
                and (s.sequence, s.id) > (lead.stage_id.sequence, lead.stage_id.id)
                and (not s.team_ids or lead.team_id in s.team_ids)
            )[:1]
            step = max(following.default_probability - stage.default_probability, 0.0) if following else 0.0
            proven = len(set(required.ids) & met.get(lead.id, set()))
            share = proven / len(required) if required else 0.0
            lead.evidence_probability = round(stage.default_probability + step * share, 2)

    # Predictive scoring gives way to the evidence in the processes that say so.
    # On what the evidence probability follows, not on its value: a new lead's scoring runs once.
    @api.depends("evidence_ids.is_valid", "evidence_ids.milestone_id", "pipeline_type_id.probability_mode")
    def _compute_probabilities(self):
        return super()._compute_probabilities()

    def _pls_get_naive_bayes_probabilities(self, batch_mode=False, is_tooltip=False):
        result = super()._pls_get_naive_bayes_probabilities(batch_mode=batch_mode, is_tooltip=is_tooltip)
        # The processes' modes come from the gate's registry cache: scoring a lead reads no process.
        types = self._stage_gate_structure()["types"]
        evidence_based = self.filtered(
            lambda lead: types.get(lead.pipeline_type_id.id, {}).get("probability_mode") == "evidence"
        )
        if batch_mode:
            evidence_based = evidence_based.filtered(
                lambda lead: lead.active and lead.won_status == "pending"
            )
        if is_tooltip or not evidence_based:
            return result
        # Odoo returns a bare dict when it computed nothing.
        probabilities, tooltip_data = result if isinstance(result, tuple) else (result, {})
        probabilities.update({lead.id: lead.evidence_probability for lead in evidence_based})
        return probabilities, tooltip_data
