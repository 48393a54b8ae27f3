from collections import Counter, defaultdict

from markupsafe import Markup

from odoo import _, api, fields, models
from odoo.tools import SQL

from ..tools import join_list, parenthesized


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
        "evidence_ids.is_valid",
        "evidence_ids.milestone_id",
    )
    def _compute_buying_center_summary(self):
        """Counts by role and stance, and what the buying center lacks (form only)."""
        Stakeholder = self.env["crm.lead.stakeholder"]
        stance_of = dict(Stakeholder._fields["stance"]._description_selection(self.env))
        # Evidence of a milestone met by a fact proves that fact as well (one source of truth).
        proven = self._facts_proven_by_evidence()
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
            warnings = lead._buying_center_warnings(proven[lead.id])
            lead.buying_center_warnings = (
                Markup("").join(
                    Markup('<div class="alert alert-warning py-1 px-2 mb-1" role="alert">%s</div>') % warning
                    for warning in warnings
                )
                if warnings
                else False
            )

    def _buying_center_warnings(self, proven):
        """What the buying center of this opportunity lacks, as sentences.

        ``proven``: the fact codes its evidence proves (``_facts_proven_by_evidence``).
        """
        self.ensure_one()
        if self.type == "lead" and not self.stakeholder_ids:
            return []
        stakeholders = self.stakeholder_ids
        Stakeholder = self.env["crm.lead.stakeholder"]
        deciders = stakeholders.filtered(lambda s: s.role_id.code == "decision_maker")
        warnings = []
        if "decision_maker_met" not in proven:
            if not deciders:
                warnings.append(_("No decision maker identified: who signs off on the purchase?"))
            elif not deciders.filtered("met"):
                warnings.append(
                    _(
                        "Decision maker not met: %(names)s.",
                        names=join_list(
                            self.env,
                            [Stakeholder._contact_name(decider.partner_id, self) for decider in deciders],
                        ),
                    )
                )
        if "coach_secured" not in proven and not stakeholders.filtered(
            lambda s: s.role_id.code == "coach" and s.stance in self._COACH_STANCES
        ):
            warnings.append(_("No coach: nobody inside tells us how the decision is really made."))
        if stakeholders and not stakeholders.filtered(lambda s: s.stance == "champion"):
            warnings.append(_("No champion advocates for us inside the customer."))
        for opponent in stakeholders.filtered(lambda s: s.stance == "opponent" and s.influence == "high"):
            warnings.append(
                _(
                    "%(contact)s (%(role)s) opposes us and has high influence.",
                    contact=Stakeholder._contact_name(opponent.partner_id, self),
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
        # sudo: the server gives a lead the questions of its process; the user who created or
        # switched the lead was checked on the lead itself.
        self.env["crm.lead.qualification"].sudo().create(to_create)

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
        # sudo: lines change opportunity only in a merge (see crm.lead.child.mixin);
        # the merge itself checked the user's rights on the opportunities.
        stakeholders.sudo().write({"lead_id": self.id})
        seen = set(self.competitor_ids.competitor_id)
        competitors = self.env["crm.lead.competitor"]
        for line in opportunities.competitor_ids:
            if line.competitor_id not in seen:
                seen.add(line.competitor_id)
                competitors |= line
        competitors.sudo().write({"lead_id": self.id})
        # sudo: automatic signals are the server's; merging moves them with the rest.
        opportunities.signal_ids.sudo().write({"lead_id": self.id})
        answered = {
            line.question_id: line for line in opportunities.qualification_ids if line.answer != "unknown"
        }
        for line in self.qualification_ids:
            source = answered.get(line.question_id)
            if line.answer == "unknown" and source:
                line.write({"answer": source.answer, "notes": line.notes or source.notes})

    def _merge_audit_trail(self, opportunities):
        """Keep the audit trail of merged ``opportunities``: move it to ``self``.

        Their evidence (withdrawn included), stage history and exceptions would
        otherwise be deleted with them. History rows keep their stages and dates
        and say which opportunity they come from; an exception not yet used for
        a move of another process than ``self``'s expires.
        """
        self.ensure_one()
        self.check_access("write")
        if not opportunities:
            return
        # sudo: the audit trail is moved by the server only, whoever merges; the
        # records follow opportunities the merge is deleting (withdrawn evidence too).
        Evidence = self.env["crm.lead.evidence"].sudo()
        Exception_ = self.env["crm.stage.exception"].sudo()
        Evidence.flush_model(["lead_id"])
        Exception_.flush_model(["lead_id"])
        # One query for both: most merged leads (e.g. those of Odoo's lead assignment) have neither.
        evidence_ids, exception_ids = self.env.execute_query(
            SQL(
                """
                SELECT ARRAY(SELECT id FROM crm_lead_evidence WHERE lead_id = ANY(%(ids)s::int4[]) ORDER BY id),
                       ARRAY(SELECT id FROM crm_stage_exception WHERE lead_id = ANY(%(ids)s::int4[]) ORDER BY id)
                """,
                ids=list(opportunities.ids),
            )
        )[0]
        Evidence.browse(evidence_ids).write({"lead_id": self.id})
        exceptions = Exception_.browse(exception_ids)
        # A request for a move of another process than the kept opportunity's can never be used.
        exceptions.filtered(
            lambda exception: exception.state in ("pending", "approved")
            and exception.from_stage_id.pipeline_type_id != self.pipeline_type_id
        ).write({"state": "expired"})
        exceptions.write({"lead_id": self.id})
        self._merge_history(opportunities)

    def _merge_history(self, opportunities):
        """Move the stage history of merged ``opportunities`` to ``self``, and the report rows
        derived from it, in one query.

        Each row says which opportunity it comes from. The stays follow their
        history rows. The stage entries become those of the merged history, as
        ``crm.lead.stage.entry._rebuild`` would make them: one per stage, the
        first entry of any of the opportunities (``self``'s row keeps its id),
        which reached the next stage when any of them entered that stage since.
        The rows then get the facts of ``self`` (salesperson, team, status)
        with its other rows.
        """
        origins = {
            lead.id: self.env._("Merged from %(lead)s (#%(id)s)", lead=lead.name, id=lead.id)
            for lead in opportunities
        }
        self.env["crm.lead.stage.history"].flush_model(
            ["lead_id", "company_id", "note", "from_stage_id", "to_stage_id", "date"]
        )
        self.env.cr.execute(
            SQL(
                """
                WITH origin AS (
                    SELECT * FROM unnest(%(ids)s::int4[], %(plain)s::varchar[], %(suffix)s::varchar[])
                        AS origin(lead_id, plain, suffix)
                ),
                history AS (
                    UPDATE crm_lead_stage_history history
                    SET lead_id = %(head)s,
                        company_id = %(company)s,
                        note = CASE WHEN COALESCE(history.note, '') = '' THEN origin.plain
                                    ELSE history.note || origin.suffix END
                    FROM origin
                    WHERE history.lead_id = origin.lead_id
                ),
                stays AS (
                    UPDATE crm_lead_stage_stay SET lead_id = %(head)s WHERE lead_id = ANY(%(ids)s)
                ),
                combined AS (
                    SELECT entry.id, entry.lead_id, entry.stage_id, entry.date, entry.next_stage_id
                    FROM crm_lead_stage_entry entry
                    WHERE entry.lead_id = ANY(%(all_ids)s)
                ),
                first AS (
                    SELECT DISTINCT ON (combined.stage_id) combined.*
                    FROM combined
                    ORDER BY combined.stage_id, combined.date, combined.id
                ),
                merged_entry AS (
                    SELECT COALESCE(kept.id, first.id) AS id, first.date, first.next_stage_id,
                           EXISTS (
                               SELECT 1 FROM crm_lead_stage_history later
                               WHERE later.lead_id = ANY(%(all_ids)s)
                                 AND later.to_stage_id = first.next_stage_id
                                 AND %(entry)s
                                 AND later.date >= first.date
                           ) AS reached_next
                    FROM first
                    LEFT JOIN combined kept ON kept.lead_id = %(head)s AND kept.stage_id = first.stage_id
                )
                UPDATE crm_lead_stage_entry entry
                SET lead_id = %(head)s, date = merged_entry.date, next_stage_id = merged_entry.next_stage_id,
                    reached_next = merged_entry.reached_next
                FROM merged_entry
                WHERE entry.id = merged_entry.id
                """,
                all_ids=[self.id, *origins],
                entry=self.env["crm.lead.stage.entry"]._entry_condition("later"),
                head=self.id,
                company=self.company_id.id or None,
                ids=list(origins),
                plain=list(origins.values()),
                suffix=[parenthesized(self.env, origin) for origin in origins.values()],
            )
        )
        self.env["crm.lead.stage.history"].invalidate_model(["lead_id", "company_id", "note"])
        self.env["crm.lead.stage.stay"].invalidate_model()
        self.env["crm.lead.stage.entry"].invalidate_model()
        (self | opportunities).invalidate_recordset(["stage_history_ids"])
        self._report_facts_later()

    def _opportunity_facts(self, facts, customer_facts=(), describe=True):
        """Which of ``facts`` (codes of ``crm.stage.milestone.fact``) hold for these leads.

        Returns ``{lead id: {fact: (what proves it, customer-produced)}}``;
        without ``describe``, what proves it is None (a kanban of hundreds of
        cards needs only which facts hold, not their sentences). A
        fact typed by the rep is internal proof. For ``customer_facts``, a fact
        is customer-produced when the customer left a trace of it: the coach, a
        contact of the customer, wrote to us on the opportunity; the decision
        maker, a contact of the customer, attended a meeting of the opportunity.
        A qualification is always internal. A constant number of queries,
        whatever the number of leads.
        """
        found = defaultdict(dict)
        if not self:
            return found
        role_codes = {"coach_secured": "coach", "decision_maker_met": "decision_maker"}
        wanted_roles = [role_codes[fact] for fact in facts if fact in role_codes]
        if wanted_roles:
            pairs = self._stakeholders_in_roles(wanted_roles)
            # sudo: the customer's messages and meetings prove a fact whoever reads the lead.
            traces = self.sudo()._customer_traces(pairs, customer_facts)
            for lead_id, stakeholder in pairs:
                code = stakeholder.role_id.code
                if code == "coach" and stakeholder.stance in self._COACH_STANCES and "coach_secured" in facts:
                    fact = "coach_secured"
                elif (
                    code == "decision_maker"
                    and stakeholder.met
                    and stakeholder.met_date
                    and "decision_maker_met" in facts
                ):
                    fact = "decision_maker_met"
                else:
                    continue
                customer = (fact, stakeholder.id) in traces
                # The first stakeholder proving the fact, a customer-produced one first.
                if fact not in found[lead_id] or (customer and not found[lead_id][fact][1]):
                    description = stakeholder._fact_description(fact) if describe else None
                    found[lead_id][fact] = (description, customer)
        if "qualified_pursue" in facts:
            description = _("qualification status: pursue") if describe else None
            # sudo: the qualification proves the fact whoever reads the lead.
            leads = self.sudo()
            # That column only: a kanban's hundreds of cards would fetch every other column too.
            leads.filtered("id").fetch(["qualification_status"])
            for lead in leads:
                if lead.qualification_status == "pursue":
                    found[lead.id]["qualified_pursue"] = (description, False)
        return found

    def _stakeholders_in_roles(self, role_codes):
        """``[(lead id, stakeholder)]`` of these leads' stakeholders whose role has one of ``role_codes``.

        Saved leads are read in one query; a lead being edited in a form (a new record of the
        onchange) gives its lines in memory, so that the form proves what the saved lead will.
        """
        # sudo: what proves a milestone must not depend on who moves or reads the lead.
        saved = self.filtered("id")
        stakeholders = (
            self.env["crm.lead.stakeholder"]
            .sudo()
            .search_fetch(
                [("lead_id", "in", saved.ids), ("role_id.code", "in", role_codes)],
                ["lead_id", "partner_id", "role_id", "stance", "met", "met_date"],
            )
            if saved
            else []
        )
        pairs = [(stakeholder.lead_id.id, stakeholder) for stakeholder in stakeholders]
        for lead in self - saved:
            pairs += [
                (lead.id, stakeholder)
                for stakeholder in lead.stakeholder_ids.sudo()
                if stakeholder.role_id.code in role_codes
            ]
        return pairs

    def _customer_traces(self, pairs, customer_facts):
        """``{(fact, stakeholder id)}`` of the facts the customer left a trace of (see ``_opportunity_facts``);
        ``pairs``: ``[(lead id, stakeholder)]`` (see ``_stakeholders_in_roles``)."""
        traces = set()
        if not customer_facts or not pairs:
            return traces
        # Only the leads of these stakeholders: a pipeline's other cards cost no customer read.
        leads = self.browse({lead_id for lead_id, _stakeholder in pairs})
        customers = {lead.id: lead.partner_id.commercial_partner_id for lead in leads}
        # The traces are saved ones: a lead being edited is known by its saved record.
        saved_id = {lead.id: lead._origin.id for lead in leads}
        of_customer = [
            (saved_id[lead_id], stakeholder)
            for lead_id, stakeholder in pairs
            if customers[lead_id] and stakeholder.partner_id.commercial_partner_id == customers[lead_id]
        ]
        coaches = [(lead_id, s) for lead_id, s in of_customer if s.role_id.code == "coach"]
        if "coach_secured" in customer_facts and coaches:
            written = self.env["mail.message"]._read_group(
                [
                    ("model", "=", "crm.lead"),
                    ("res_id", "in", leads.ids),
                    ("author_id", "in", list({s.partner_id.id for _lead_id, s in coaches})),
                    ("message_type", "in", ("email", "comment")),
                ],
                ["res_id", "author_id"],
            )
            written = {(res_id, author.id) for res_id, author in written}
            traces |= {
                ("coach_secured", s.id) for lead_id, s in coaches if (lead_id, s.partner_id.id) in written
            }
        deciders = [(lead_id, s) for lead_id, s in of_customer if s.role_id.code == "decision_maker"]
        if "decision_maker_met" in customer_facts and deciders:
            meetings = self.env["calendar.event"].search_fetch(
                [
                    ("opportunity_id", "in", leads.ids),
                    ("partner_ids", "in", list({s.partner_id.id for _lead_id, s in deciders})),
                    ("start", "<=", fields.Datetime.now()),
                ],
                ["opportunity_id", "partner_ids"],
            )
            attended = {(m.opportunity_id.id, partner.id) for m in meetings for partner in m.partner_ids}
            traces |= {
                ("decision_maker_met", s.id)
                for lead_id, s in deciders
                if (lead_id, s.partner_id.id) in attended
            }
        return traces

    def _stage_gate_facts(self, milestones, describe=True):
        """``(met, internal_only)``: what facts prove of ``milestones``, from one read of the facts.

        ``met``: ``{lead id: {milestone id: description}}`` (None without
        ``describe``). A customer-led milestone is met by a customer-produced
        fact only; an internal fact meets the others, and the description says
        it is internal.
        ``internal_only``: ``{lead id: set of milestone ids}`` of the
        customer-led milestones for which only internal facts hold.
        """
        # Which milestones have a fact: from the gate's registry cache, no read when none has.
        # Read with the others given (one query for all, e.g. a kanban's milestones of every column).
        known = self._stage_gate_structure()["milestones"]
        with_facts = milestones.browse(
            [mid for mid in milestones.ids if known.get(mid, {}).get("fact")]
        ).with_prefetch(milestones._prefetch_ids)
        met, internal_only = defaultdict(dict), defaultdict(set)
        if not with_facts:
            return met, internal_only
        customer_facts = set(with_facts.filtered("customer_led").mapped("fact"))
        facts = self._opportunity_facts(set(with_facts.mapped("fact")), customer_facts, describe)
        for lead_id, lead_facts in facts.items():
            for milestone in with_facts:
                if milestone.fact not in lead_facts:
                    continue
                description, customer = lead_facts[milestone.fact]
                if not customer and milestone.customer_led:
                    internal_only[lead_id].add(milestone.id)
                elif not describe:
                    met[lead_id][milestone.id] = None
                elif customer:
                    met[lead_id][milestone.id] = _(
                        "%(milestone)s: %(fact)s (customer)", milestone=milestone.name, fact=description
                    )
                else:
                    met[lead_id][milestone.id] = _(
                        "%(milestone)s: %(fact)s (internal proof)", milestone=milestone.name, fact=description
                    )
        return met, internal_only

    def _stage_gate_facts_met(self, milestones, describe=True):
        """``{lead id: {milestone id: description}}`` of ``milestones`` met by facts (``_stage_gate_facts``)."""
        return self._stage_gate_facts(milestones, describe)[0]
