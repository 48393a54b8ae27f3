from collections import defaultdict

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
        "stakeholder_ids.role_id.code",
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
        met = proving._stage_gate_milestones_met(milestones) if proving else {}
        for lead in self:
            info = stage_info.get(lead.stage_id.id)
            if not info or info["won"]:
                won = info["won"] if info else lead.stage_id.is_won
                lead.evidence_probability = 100.0 if won else lead.stage_id.default_probability
                continue
            sequence = self._stage_gate_sequence(lead.pipeline_type_id.id, lead.team_id.id, lead.stage_id.id)
            # A stage outside its process's order (data written around the ORM, or a module's
            # data loading stage by stage) has no next stage to move towards.
            position = sequence.index(lead.stage_id.id) if lead.stage_id.id in sequence else len(sequence)
            following = sequence[position + 1 :][:1]
            step = (
                max(stage_info[following[0]]["probability"] - info["probability"], 0.0) if following else 0.0
            )
            required = info["required"]
            proven = len(set(required) & met.get(lead.id, set()))
            share = proven / len(required) if required else 0.0
            lead.evidence_probability = round(info["probability"] + step * share, 2)

    @api.model
    def _evidence_probability_basis(self):
        """``{stage id: what the evidence probability of its leads is computed from}``, for the
        stages of the processes, as the gate's registry cache has it.

        Compared before and after a change of the configuration (``_stage_gate_structure_readers``):
        no field lists what matters, the computation's own inputs do.
        """
        structure = self._stage_gate_structure()
        stages, milestones = structure["stages"], structure["milestones"]
        proving = defaultdict(list)  # proof key (or milestone id): the milestones whose evidence counts
        for milestone_id, info in milestones.items():
            proving[info["proof_key"] or milestone_id].append(milestone_id)

        def proof(milestone_id):
            info = milestones[milestone_id]
            return milestone_id, info["fact"], tuple(proving[info["proof_key"] or milestone_id])

        def basis(stage_id, info):
            if info["won"]:
                return (True,)
            if not info["required"]:  # nothing to prove: the stage's own probability
                return False, info["probability"]
            # The step goes to the next stage the lead's team sees: one of those after this one.
            order = structure["types"][info["type"]]["stages"]
            following = order[order.index(stage_id) + 1 :]
            return (
                False,
                info["probability"],
                tuple(map(proof, info["required"])),
                tuple(
                    (next_id, stages[next_id]["teams"], stages[next_id]["probability"])
                    for next_id in following
                ),
            )

        return {stage_id: basis(stage_id, info) for stage_id, info in stages.items()}

    def _stage_gate_recompute(self, fnames):
        """The probability of the deals that follow the evidence is recomputed with it."""
        result = super()._stage_gate_recompute(fnames)
        if "evidence_probability" in fnames:
            self._probability_follows_evidence()._stage_gate_recompute(
                ["probability", "automated_probability"]
            )
        return result

    # Predictive scoring gives way to the evidence in the processes that say so; what moves
    # the evidence probability reaches the probability through ``_modified_triggers``.
    @api.depends("pipeline_type_id.probability_mode")
    def _compute_probabilities(self):
        return super()._compute_probabilities()

    def _modified_triggers(self, tree, create=False):
        """Wherever the ORM marks the evidence probability, mark the probability of the
        deals whose process follows it.

        Every change of the deal's data passes here: evidence, a fact of the buying center,
        an answer, a stage or team change (a change of the process's configuration goes
        through ``_stage_gate_recompute``). A dependency cannot say "for those deals only":
        on the evidence probability it would rescore every predictive deal with each proof
        (Odoo's scoring does not weigh proof), and through a stored field pointing a deal to
        itself it costs the ORM a search on every team or stage change.
        """
        evidence_field = self._fields["evidence_probability"]
        for field, records, created in super()._modified_triggers(tree, create):
            yield field, records, created
            if field is evidence_field and (followers := records._probability_follows_evidence()):
                scores = [self._fields["probability"], self._fields["automated_probability"]]
                for score in scores:
                    yield score, followers, created
                yield from followers._modified(scores, created)

    def _probability_follows_evidence(self):
        """The leads of ``self`` whose process sets the probability from the evidence.

        The modes come from the gate's registry cache: no process is read.
        """
        types = self._stage_gate_structure()["types"]
        if not any(info["probability_mode"] == "evidence" for info in types.values()):
            return self.browse()
        return self.filtered(
            lambda lead: types.get(lead.pipeline_type_id.id, {}).get("probability_mode") == "evidence"
        )

    def _pls_get_naive_bayes_probabilities(self, batch_mode=False, is_tooltip=False):
        """Odoo's predictive scoring, but not for the leads whose process follows the evidence.

        Theirs is their evidence probability: scoring them too (Odoo reads the
        scoring tables for every lead, e.g. on each stage move) would be work
        thrown away. The tooltip still explains Odoo's scoring.
        """
        if is_tooltip:
            return super()._pls_get_naive_bayes_probabilities(batch_mode=batch_mode, is_tooltip=True)
        evidence_based = self._probability_follows_evidence()
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
