from collections import Counter, defaultdict

from markupsafe import Markup

from odoo import _, api, models


class CrmLeadBuyingCenter(models.AbstractModel):
    """Qualification, buying center and fact-based milestones; ``crm.lead`` inherits it.

    The fields live on ``crm.lead``. Facts of this data (a coach secured, the
    decision maker met, the qualification) meet the milestones configured with
    them, as evidence does: see ``_stage_gate_facts_met``.
    """

    _name = "crm.lead.buying.center"
    _description = "Opportunity Qualification and Buying Center"

    # Stances that make a coach a real one.
    _COACH_STANCES = ("supporter", "champion")

    # ------------------------------------------------------------
    # COMPUTE
    # ------------------------------------------------------------

    @api.depends("qualification_ids.answer", "qualification_ids.question_id.deal_breaker")
    def _compute_qualification_status(self):
        for lead in self:
            lines = lead.qualification_ids
            if not lines:
                lead.qualification_status = False
            elif any(line.answer == "no" and line.question_id.deal_breaker for line in lines):
                lead.qualification_status = "drop"
            elif all(line.answer == "yes" for line in lines):
                lead.qualification_status = "pursue"
            else:
                lead.qualification_status = "nurture"

    @api.depends(
        "stakeholder_ids.role_id",
        "stakeholder_ids.stance",
        "stakeholder_ids.influence",
        "stakeholder_ids.met",
        "stakeholder_ids.partner_id",
    )
    def _compute_buying_center_summary(self):
        """Counts by role and stance, and what the buying center lacks (form only)."""
        Stakeholder = self.env["crm.lead.stakeholder"]
        stance_of = dict(Stakeholder._fields["stance"]._description_selection(self.env))
        for lead in self:
            stakeholders = lead.stakeholder_ids
            if not stakeholders:
                lead.buying_center_summary = False
            else:
                roles = Counter(s.role_id.name for s in stakeholders)
                stances = Counter(s.stance for s in stakeholders)
                badges = Markup("").join(
                    Markup('<span class="badge rounded-pill text-bg-light border me-1">%s: %s</span>')
                    % (name, count)
                    for name, count in roles.items()
                )
                badges += Markup('<span class="mx-2 text-muted">|</span>')
                badges += Markup("").join(
                    Markup('<span class="badge rounded-pill me-1 %s">%s: %s</span>')
                    % (
                        {
                            "champion": "text-bg-success",
                            "supporter": "text-bg-info",
                            "neutral": "text-bg-secondary",
                            "opponent": "text-bg-danger",
                        }[stance],
                        stance_of[stance],
                        stances[stance],
                    )
                    for stance in stance_of
                    if stances[stance]
                )
                lead.buying_center_summary = badges
            warnings = lead._buying_center_warnings()
            lead.buying_center_warnings = (
                Markup("").join(
                    Markup('<div class="alert alert-warning py-1 px-2 mb-1" role="alert">%s</div>') % warning
                    for warning in warnings
                )
                if warnings
                else False
            )

    def _buying_center_warnings(self):
        """What the buying center of this opportunity lacks, as sentences."""
        self.ensure_one()
        if self.type == "lead" and not self.stakeholder_ids:
            return []
        stakeholders = self.stakeholder_ids
        deciders = stakeholders.filtered(lambda s: s.role_id.code == "decision_maker")
        warnings = []
        if not deciders:
            warnings.append(_("No decision maker identified: who signs off on the purchase?"))
        elif not deciders.filtered("met"):
            warnings.append(
                _(
                    "Decision maker not met: %(names)s.",
                    names=", ".join(deciders.partner_id.mapped("display_name")),
                )
            )
        if not stakeholders.filtered(lambda s: s.role_id.code == "coach" and s.stance in self._COACH_STANCES):
            warnings.append(_("No coach: nobody inside tells us how the decision is really made."))
        if stakeholders and not stakeholders.filtered(lambda s: s.stance == "champion"):
            warnings.append(_("No champion advocates for us inside the customer."))
        for opponent in stakeholders.filtered(lambda s: s.stance == "opponent" and s.influence == "high"):
            warnings.append(
                _(
                    "%(contact)s (%(role)s) opposes us and has high influence.",
                    contact=opponent.partner_id.display_name,
                    role=opponent.role_id.name,
                )
            )
        return warnings

    # ------------------------------------------------------------
    # ACTIONS
    # ------------------------------------------------------------

    def action_load_qualification_questions(self):
        self._qualification_fill()
        return True

    # ------------------------------------------------------------
    # BUSINESS
    # ------------------------------------------------------------

    def _qualification_fill(self):
        """Give these leads the questions of their process, in one create.

        Questions of another process that are still unanswered (unknown, no
        notes) go away on a process switch; answered ones are kept.
        """
        leads = self.filtered("id")
        if not leads:
            return
        wanted_by_type = self.env["crm.qualification.question"]._for_pipeline_types(
            {lead.pipeline_type_id for lead in leads}
        )
        to_create, to_remove = [], self.env["crm.lead.qualification"]
        for lead in leads:
            wanted = wanted_by_type[lead.pipeline_type_id]
            lines = lead.qualification_ids
            to_create += [
                {"lead_id": lead.id, "question_id": question.id} for question in wanted - lines.question_id
            ]
            to_remove |= lines.filtered(
                lambda line, wanted=wanted: line.question_id not in wanted
                and line.answer == "unknown"
                and not line.notes
            )
        to_remove.unlink()
        self.env["crm.lead.qualification"].create(to_create)

    def _merge_buying_center(self, opportunities):
        """Keep what the team learned on merged ``opportunities``: move it to ``self``.

        Stakeholders and competitors the head lacks, all the signals, and the
        answers to questions the head has not answered yet.
        """
        self.ensure_one()
        seen = {(s.partner_id, s.role_id) for s in self.stakeholder_ids}
        stakeholders = self.env["crm.lead.stakeholder"]
        for stakeholder in opportunities.stakeholder_ids:
            if (stakeholder.partner_id, stakeholder.role_id) not in seen:
                seen.add((stakeholder.partner_id, stakeholder.role_id))
                stakeholders |= stakeholder
        stakeholders.write({"lead_id": self.id})
        seen = set(self.competitor_ids.competitor_id)
        competitors = self.env["crm.lead.competitor"]
        for line in opportunities.competitor_ids:
            if line.competitor_id not in seen:
                seen.add(line.competitor_id)
                competitors |= line
        competitors.write({"lead_id": self.id})
        # sudo: automatic signals are the server's; merging moves them with the rest.
        opportunities.signal_ids.sudo().write({"lead_id": self.id})
        answered = {
            line.question_id: line for line in opportunities.qualification_ids if line.answer != "unknown"
        }
        for line in self.qualification_ids:
            source = answered.get(line.question_id)
            if line.answer == "unknown" and source:
                line.write({"answer": source.answer, "notes": line.notes or source.notes})

    def _opportunity_facts(self, facts):
        """Which of ``facts`` (codes of ``crm.stage.milestone.fact``) hold for these leads.

        Returns ``{lead id: {fact: what proves it}}``. One query over the
        buying centers of all the leads, whatever their number.
        """
        found = defaultdict(dict)
        if not self.ids:
            return found
        role_codes = {"coach_secured": "coach", "decision_maker_met": "decision_maker"}
        wanted_roles = [role_codes[fact] for fact in facts if fact in role_codes]
        if wanted_roles:
            # sudo: what proves a milestone must not depend on who moves the lead.
            stakeholders = (
                self.env["crm.lead.stakeholder"]
                .sudo()
                .search_fetch(
                    [("lead_id", "in", self.ids), ("role_id.code", "in", wanted_roles)],
                    ["lead_id", "partner_id", "role_id", "stance", "met", "met_date"],
                )
            )
            stance_of = dict(stakeholders._fields["stance"]._description_selection(self.env))
            for stakeholder in stakeholders:
                code, lead_id = stakeholder.role_id.code, stakeholder.lead_id.id
                if code == "coach" and stakeholder.stance in self._COACH_STANCES and "coach_secured" in facts:
                    found[lead_id].setdefault(
                        "coach_secured",
                        _(
                            "coach secured: %(contact)s (%(stance)s)",
                            contact=stakeholder.partner_id.display_name,
                            stance=stance_of[stakeholder.stance],
                        ),
                    )
                elif (
                    code == "decision_maker"
                    and stakeholder.met
                    and stakeholder.met_date
                    and "decision_maker_met" in facts
                ):
                    found[lead_id].setdefault(
                        "decision_maker_met",
                        _(
                            "decision maker met: %(contact)s on %(date)s",
                            contact=stakeholder.partner_id.display_name,
                            date=stakeholder.met_date,
                        ),
                    )
        if "qualified_pursue" in facts:
            for lead in self.sudo():
                if lead.qualification_status == "pursue":
                    found[lead.id]["qualified_pursue"] = _("qualification status: pursue")
        return found

    def _stage_gate_facts_met(self, milestones):
        """``{lead id: {milestone id: description}}`` of ``milestones`` met by facts."""
        with_facts = milestones.filtered("fact")
        if not with_facts:
            return {}
        facts = self._opportunity_facts(set(with_facts.mapped("fact")))
        met = defaultdict(dict)
        for lead_id, lead_facts in facts.items():
            for milestone in with_facts:
                if milestone.fact in lead_facts:
                    met[lead_id][milestone.id] = f"{milestone.name}: {lead_facts[milestone.fact]}"
        return met
