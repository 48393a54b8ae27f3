from collections import defaultdict
from contextlib import contextmanager
from typing import NamedTuple

from odoo import _, api, fields, models, tools
from odoo.exceptions import UserError, ValidationError

from ..tools import join_list, server_field_defaults


class StageState(NamedTuple):
    """What the gate judges of a lead: its stored stage state, as ids."""

    pipeline_type_id: int | None
    stage_id: int | None
    won_status: str | None
    entered: object  # datetime the lead entered its stage
    team_id: int | None


class Transition(NamedTuple):
    """One judged change of a lead's stage state, as the history records it."""

    lead_id: int
    event: str
    old: StageState
    new: StageState
    exception_id: int | None
    proof: str | None  # evidence / exception / unproven / free, for moves that leave a stage
    evidence_ids: tuple
    note: str | None


class CrmLeadStageGate(models.AbstractModel):
    """The stage gate of opportunities; ``crm.lead`` inherits it.

    The gate is an invariant of the stored data, not a guard on field names:
    ``crm.lead`` reads each lead's stage state (process, stage, won/lost
    status, stage entry date) before any write or create that may change it,
    whatever the field written (the ORM's dependency graph says which), and
    hands both states to ``_stage_gate_enforce``. There, every change is
    classified (create, forward, backward, won, lost, restore, reopen, process
    switch), judged by one function, ``_stage_gate_judge``, and recorded by one
    history writer. A refusal raises, which rolls the whole call back: a batch
    is all or nothing. No context key or public method skips it.

    Legal states: a lead with a process has a stage of that process; it never
    loses its process. Legal transitions, in an *enforced* process: forward
    one stage of the lead's stage sequence (the process's stages visible to
    its team, in ``(sequence, id)`` order) once the required milestones of the
    stage left are met, and of the won stage entered when winning; backward
    where the process allows it; lost and restored from anywhere; a process
    switch that lands neither in nor out of a won stage, nor past the stage
    the lead's proof supports in the new process. Anything else needs an
    approved, unexpired exception for exactly that move, used once. In a
    *guided* process every move is free and recorded with what it proved.

    The process structure (stage order, teams, required milestones) is read
    once and kept in the registry cache (``_stage_gate_structure``), so a move
    costs a fixed number of queries whatever the batch size.

    Extension points: ``_stage_gate_milestones_met`` (what proves a milestone).
    """

    _name = "crm.lead.stage.gate"
    _description = "Opportunity Stage Gate"

    # Stored fields of crm.lead that only the gate and Odoo's own stage logic
    # derive; users write none of them, through any API.
    _STAGE_GATE_DERIVED_FIELDS = frozenset(
        {"won_status", "date_last_stage_update", "buyer_stage_id", "funnel_state_id"}
    )
    # The stored stage state that the gate judges.
    _STAGE_GATE_STATE_FIELDS = ("pipeline_type_id", "stage_id", "won_status", "date_last_stage_update")
    # Key in the cursor's cache (``cr.cache``) of the ids of leads whose caller judges their
    # changes once, after nested writes (``_stage_gate_judged_by_caller``). Not a context key:
    # no RPC call can set it.
    _STAGE_GATE_CALLER_JUDGES = "sales_process_addon.stage_gate_caller_judges"

    # ------------------------------------------------------------
    # STRUCTURE (registry cache)
    # ------------------------------------------------------------

    @api.model
    @tools.ormcache()
    def _stage_gate_structure(self):
        """The processes' stages as plain data, cached until a process, stage or milestone changes.

        ``{"types": {id: {"mode", "allow_backward", "company", "probability_mode", "cancel_tasks",
        "stages": (stage ids in gate order)}},
        "stages": {id: {"type", "teams": frozenset, "won", "fold", "probability", "required": (milestone ids),
        "plan": activity plan id or False}},
        "milestones": {id: {"stage", "active", "proof_key", "fact"}} (every milestone, archived too),
        "first_funnel_state": id of the first active funnel state, or False}``
        """
        # sudo: the gate's structure is the same for every user.
        types = (
            self.env["crm.pipeline.type"]
            .sudo()
            .with_context(active_test=False)
            .search_fetch(
                [], ["gate_mode", "allow_backward", "company_id", "probability_mode", "cancel_tasks_on_exit"]
            )
        )
        stages = (
            self.env["crm.stage"]
            .sudo()
            .search_fetch(
                [("pipeline_type_id", "!=", False)],
                ["pipeline_type_id", "is_won", "fold", "team_ids", "activity_plan_id", "default_probability"],
                order="sequence, id",
            )
        )
        milestones = (
            self.env["crm.stage.milestone"]
            .sudo()
            .with_context(active_test=False)
            .search_fetch([], ["stage_id", "required", "active", "proof_key", "fact"])
        )
        # sudo: as above; the first funnel state steers every lead's risk alike.
        first_funnel_state = self.env["crm.funnel.state"].sudo().search([], limit=1)
        required = defaultdict(list)
        for milestone in milestones:
            if milestone.required and milestone.active:
                required[milestone.stage_id.id].append(milestone.id)
        stage_ids_of = defaultdict(list)
        for stage in stages:
            stage_ids_of[stage.pipeline_type_id.id].append(stage.id)
        return {
            "types": {
                ptype.id: {
                    "mode": ptype.gate_mode,
                    "allow_backward": ptype.allow_backward,
                    "company": ptype.company_id.id,
                    "probability_mode": ptype.probability_mode,
                    "cancel_tasks": ptype.cancel_tasks_on_exit,
                    "stages": tuple(stage_ids_of[ptype.id]),
                }
                for ptype in types
            },
            "stages": {
                stage.id: {
                    "type": stage.pipeline_type_id.id,
                    "teams": frozenset(stage.team_ids.ids),
                    "won": stage.is_won,
                    "fold": stage.fold,
                    "probability": stage.default_probability,
                    "required": tuple(required[stage.id]),
                    "plan": stage.activity_plan_id.id,
                }
                for stage in stages
            },
            "milestones": {
                milestone.id: {
                    "stage": milestone.stage_id.id,
                    "active": milestone.active,
                    "proof_key": milestone.proof_key or False,
                    "fact": milestone.fact or False,
                }
                for milestone in milestones
            },
            "first_funnel_state": first_funnel_state.id,
        }

    @api.model
    def _stage_gate_sequence(self, type_id, team_id, *keep):
        """Stage ids of process ``type_id`` that a lead of team ``team_id`` goes through, in order.

        The shared stages and those of the team; ``keep`` (e.g. the lead's
        current stage) stays in the sequence even when another team's.
        """
        structure = self._stage_gate_structure()
        stage_info = structure["stages"]
        return [
            stage_id
            for stage_id in structure["types"].get(type_id, {}).get("stages", ())
            if not stage_info[stage_id]["teams"]
            or team_id in stage_info[stage_id]["teams"]
            or stage_id in keep
        ]

    @api.model
    def _stage_gate_structure_readers(self):
        """The leads' stored fields computed from the structure, which no dependency follows.

        ``{name: (selector, field names, {value of selector: basis})}``: a basis is
        what the computation reads from the structure for the leads with that value
        of ``selector``. ``crm.stage.gate.config.mixin`` takes them before and after
        each change of the configuration; ``_stage_gate_structure_changed``
        recomputes the fields of the leads whose basis changed.
        """
        return {
            "evidence_probability": (
                "stage_id",
                ["evidence_probability"],
                self._evidence_probability_basis(),
            ),
            "risk": ("funnel_state_id", ["risk_level", "risk_reason_codes"], self._risk_basis()),
        }

    @api.model
    def _stage_gate_structure_changed(self, before):
        """Recompute the stored fields whose basis changed since ``before`` (``_stage_gate_structure_readers``)."""
        for name, (selector, fnames, bases) in self._stage_gate_structure_readers().items():
            old = before[name][2]
            changed = [key for key in old.keys() | bases.keys() if old.get(key) != bases.get(key)]
            if changed:
                # sudo: the stored values are everyone's, those of lost deals included.
                leads = self.sudo().with_context(active_test=False).search([(selector, "in", changed)])
                leads._stage_gate_recompute(fnames)

    def _stage_gate_recompute(self, fnames):
        """Mark ``fnames`` to recompute on these leads, with what depends on them."""
        for fname in fnames:
            self.env.add_to_compute(self._fields[fname], self)
        # The ORM marks what depends on a field when it changes, not when it is computed.
        self.modified(fnames)

    @api.model
    def _stage_gate_trigger_fnames(self):
        """Names of the fields whose write may change a lead's stage state.

        The state fields themselves and every field they depend on, read from
        the ORM's dependency graph, so a field a future module makes the stage
        depend on is judged too.
        """
        return self._stage_gate_trigger_fnames_cached()

    @api.model
    @tools.ormcache()
    def _stage_gate_trigger_fnames_cached(self):
        state_fields = {self._fields[fname] for fname in self._STAGE_GATE_STATE_FIELDS}
        triggers = {*self._STAGE_GATE_STATE_FIELDS, "active", "probability", "team_id"}
        for fname, field in self._fields.items():
            if (
                field.store
                and fname not in triggers
                and state_fields & set(self.pool.get_dependent_fields(field))
            ):
                triggers.add(fname)
        return frozenset(triggers)

    # ------------------------------------------------------------
    # STATE
    # ------------------------------------------------------------

    def _stage_gate_state(self):
        """``{lead id: StageState}``, read through the cache (one query when not cached).

        An active lead in a stage that is not won is pending whatever its
        probability (Odoo's rule, ``_compute_won_status``): its won status is
        not read, so a write of the team or the salesperson does not force the
        predictive scoring to run for each lead written (Odoo recomputes it
        once for the batch, later).
        """
        stages = self._stage_gate_structure()["stages"]
        states = {}
        for lead in self:
            stage = lead.stage_id
            won_stage = stages[stage.id]["won"] if stage.id in stages else stage.is_won
            states[lead.id] = StageState(
                lead.pipeline_type_id.id or None,
                stage.id or None,
                lead.won_status if won_stage or not lead.active else "pending",
                lead.date_last_stage_update,
                lead.team_id.id or None,
            )
        return states

    @api.model
    @tools.ormcache()
    def _stage_gate_derived_fnames(self):
        """The gate's derived fields, and every stored field this addon computes on the lead
        without an inverse (indicators, qualification status, evidence probability, ...)."""
        return self._STAGE_GATE_DERIVED_FIELDS | {
            fname
            for fname, field in self._fields.items()
            if field._module == "sales_process_addon" and field.store and field.compute and field.readonly
        }

    @api.model
    def default_get(self, fields):
        defaults = super().default_get(fields)
        if self.env.su:
            return defaults
        # A derived field never comes from a user's context key or personal default either.
        return server_field_defaults(self, defaults, self._stage_gate_derived_fnames())

    @api.model
    def _stage_gate_check_vals(self, vals):
        """Refuse what users may not write: derived fields, and stage or process values that are no ids."""
        if self.env.su:
            return
        derived = self._stage_gate_derived_fnames() & vals.keys()
        if derived:
            raise UserError(
                _(
                    "%(fields)s cannot be written: the sales process derives them from the opportunity "
                    "(its stage, evidence, buying center and interactions). Move the opportunity, mark it "
                    "won or lost, or record what happened, instead.",
                    fields=join_list(
                        self.env,
                        [self._fields[fname]._description_string(self.env) for fname in sorted(derived)],
                    ),
                )
            )
        structure = self._stage_gate_structure()
        for fname, known in (("stage_id", structure["stages"]), ("pipeline_type_id", structure["types"])):
            if fname not in vals:
                continue
            value = vals[fname]
            if value is False or value is None:
                continue
            if not isinstance(value, int) or isinstance(value, bool) or value not in known:
                raise ValidationError(
                    _(
                        '%(field)s: "%(value)s" is not the id of an existing record; nothing was saved.',
                        field=self._fields[fname]._description_string(self.env),
                        value=str(value),  # as given: the translation would join a list or a dict's keys
                    )
                )

    # ------------------------------------------------------------
    # ENFORCEMENT
    # ------------------------------------------------------------

    @contextmanager
    def _stage_gate_judged_by_caller(self):
        """Leave these leads' changes made inside to the caller, who judges them once afterwards.

        For a change made through nested writes of the leads (Odoo writes the
        probability of every lead in a stage marked won): judged by each write
        and again by the caller, it would be recorded twice. The caller takes
        the leads' state before, and calls ``_stage_gate_enforce`` after.
        """
        cache = self.env.cr.cache
        outer = cache.get(self._STAGE_GATE_CALLER_JUDGES, frozenset())
        cache[self._STAGE_GATE_CALLER_JUDGES] = outer | frozenset(self.ids)
        try:
            yield
        finally:
            cache[self._STAGE_GATE_CALLER_JUDGES] = outer

    def _stage_gate_enforce(self, before, created=False):
        """Judge and record every change of these leads' stage state since ``before``.

        ``before``: ``{lead id: StageState}`` (empty states for created leads).
        Leads whose caller judges them (``_stage_gate_judged_by_caller``) are left to it.
        """
        left_to_caller = self.env.cr.cache.get(self._STAGE_GATE_CALLER_JUDGES)
        leads = self.filtered(lambda lead: lead.id not in left_to_caller) if left_to_caller else self
        after = leads._stage_gate_state()
        transitions = leads._stage_gate_judge(before, after, created)
        if not transitions:
            return
        background = leads._stage_tasks_in_background()
        leads._stage_history_record(transitions, reports_later=background)
        leads._stage_gate_after_transitions(transitions, background)

    def _stage_gate_later_creation_note(self, joined=False):
        """Who let a lead start past the first stage (created, or ``joined`` its first process): a
        sales manager, or system rights.

        The mail gateway and automated actions create as their user with
        superuser rights; the history must not call that user a manager.
        """
        system = self.env.su or self.env.user._is_superuser()  # OdooBot is in the managers' group
        if not system and self.env.user.has_group("sales_team.group_sale_manager"):
            if joined:
                return _(
                    "Existing opportunity joined the sales process in a later stage, by a sales manager."
                )
            return _("Created directly in a later stage by a sales manager.")
        if joined:
            return _("Existing opportunity joined the sales process in a later stage, with system rights.")
        return _(
            "Created directly in a later stage with system rights "
            "(for example an email alias or an automated action)."
        )

    def _stage_gate_judge(self, before, after, created):
        """Classify and judge the changes from ``before`` to ``after``; raise on any refused one.

        Returns the ``Transition`` list to record.
        """
        structure = self._stage_gate_structure()
        types = structure["types"]
        manager = self.env.su or self.env.user.has_group("sales_team.group_sale_manager")
        empty = StageState(None, None, None, None, None)
        candidates, problems = [], []
        for lead_id, new in after.items():
            old = empty if created else before.get(lead_id, empty)
            if not created and old[:3] == new[:3]:
                continue
            if (
                new.pipeline_type_id
                and not new.stage_id
                and types[new.pipeline_type_id]["mode"] == "enforced"
            ):
                # Guided processes keep Odoo's freedom of a lead without a stage.
                problems.append(self._stage_gate_structural_message(lead_id, "no_stage", old, new))
            elif old.pipeline_type_id and not new.pipeline_type_id:
                problems.append(self._stage_gate_structural_message(lead_id, "no_type", old, new))
            elif created or not old.pipeline_type_id:
                # A new lead, or one getting its first process (install, a lead created without
                # one): its first state, in the first stage unless a sales manager says otherwise.
                sequence = self._stage_gate_sequence(new.pipeline_type_id, new.team_id)
                enforced = types.get(new.pipeline_type_id, {}).get("mode") == "enforced"
                later = enforced and bool(sequence) and new.stage_id != sequence[0]
                if later and not manager:
                    problems.append(
                        self._stage_gate_structural_message(lead_id, "start_later", old, new, created)
                    )
                else:
                    note = None
                    if later:
                        note = self._stage_gate_later_creation_note(joined=not created)
                    elif not created:
                        note = _("Existing opportunity joined the sales process.")
                    candidates.append((lead_id, "create", old, new, note))
            else:
                candidates.append((lead_id, self._stage_gate_event(old, new), old, new, None))
        if problems:
            self._stage_gate_refuse(problems)

        needs = {
            lead_id: self._stage_gate_requirements(event, old, new)
            for lead_id, event, old, new, _n in candidates
        }
        proving = self.browse([lead_id for lead_id, need in needs.items() if need["prove"]])
        met, evidence_of = proving._stage_gate_proof(
            {mid for need in needs.values() for mid in need["prove"]}
        )

        judged, wanted = [], {}
        for lead_id, event, old, new, note in candidates:
            need = needs[lead_id]
            missing = [mid for mid in need["prove"] if mid not in met[lead_id]]
            problem = need["problem"] or ("missing" if missing else None)
            if problem and need["enforced"]:
                wanted[lead_id] = (old.stage_id, new.stage_id, old.entered)
            judged.append((lead_id, event, old, new, note, problem, missing))
        approved = self._stage_gate_exceptions(wanted)

        transitions, refused = [], []
        for lead_id, event, old, new, note, problem, missing in judged:
            need = needs[lead_id]
            exception_id = approved.get(lead_id) if lead_id in wanted else None
            if lead_id in wanted and not exception_id:
                refused.append(self._stage_gate_refusal_message(lead_id, old, new, problem, missing))
                continue
            if not need["moves"]:
                proof = "exception" if exception_id else None
            elif exception_id:
                proof = "exception"
            elif problem:
                proof = "unproven"
            else:
                proof = "evidence" if need["prove"] else "free"
            used = tuple(sorted({ev for mid in need["prove"] for ev in evidence_of[lead_id].get(mid, ())}))
            transitions.append(Transition(lead_id, event, old, new, exception_id, proof, used, note))
        if refused:
            self._stage_gate_refuse(refused)
        return transitions

    def _stage_gate_unproven_on_the_way(self, from_stage, to_stage):
        """The required milestones a move of this lead from ``from_stage`` to ``to_stage`` needs and
        the lead has not proven: what an exception for that move waives (a skip, those of every
        stage it passes)."""
        self.ensure_one()
        old = self._stage_gate_state()[self.id]._replace(stage_id=from_stage.id)
        new = old._replace(stage_id=to_stage.id, pipeline_type_id=to_stage.pipeline_type_id.id)
        need = self._stage_gate_requirements(self._stage_gate_event(old, new), old, new)
        met = self._stage_gate_proof(set(need["prove"]))[0][self.id] if need["prove"] else set()
        return self.env["crm.stage.milestone"].browse(mid for mid in need["prove"] if mid not in met)

    @api.model
    def _stage_gate_event(self, old, new):
        """Kind of a change of an existing lead that has a process before and after."""
        stage_info = self._stage_gate_structure()["stages"]
        if old.pipeline_type_id != new.pipeline_type_id:
            return "type_switch"
        # Lost or restored in the same change as a move: the loss or the restore is what happened.
        if new.won_status == "lost" and old.won_status != "lost":
            return "lost"
        if old.won_status == "lost" and new.won_status == "pending":
            return "restore"
        if old.stage_id != new.stage_id:
            if (
                new.won_status != "lost"  # a lost deal is not won by entering a won stage
                and stage_info.get(new.stage_id, {}).get("won")
                and not stage_info.get(old.stage_id, {}).get("won")
            ):
                return "won"
            # No stage (a guided process allows it) counts as before the first one.
            sequence = self._stage_gate_sequence(
                new.pipeline_type_id, new.team_id, old.stage_id, new.stage_id
            )
            src = sequence.index(old.stage_id) if old.stage_id in sequence else -1
            dst = sequence.index(new.stage_id) if new.stage_id in sequence else -1
            return "backward" if dst < src else "forward"
        if new.won_status == "lost":
            return "lost"
        if old.won_status == "lost":
            return "restore"
        return "won" if new.won_status == "won" else "reopen"

    @api.model
    def _stage_gate_requirements(self, event, old, new):
        """What a change must satisfy.

        ``{"prove": [milestone ids], "problem": None or skip/backward/won_switch/lost_switch/lost_move/other_team,
        "enforced": bool (a problem or a missing milestone refuses it), "moves": bool
        (a move that leaves a stage forward, whose proof the history records)}``.
        """
        structure = self._stage_gate_structure()
        types, stage_info = structure["types"], structure["stages"]
        ptype = types.get(new.pipeline_type_id, {})
        enforced = ptype.get("mode") == "enforced"
        need = {"prove": [], "problem": None, "enforced": enforced, "moves": event in ("forward", "won")}
        if event == "type_switch":
            won_stage = stage_info.get(old.stage_id, {}).get("won") or stage_info.get(new.stage_id, {}).get(
                "won"
            )
            if old.won_status == "won" or won_stage:
                # A won deal keeps its process, and no switch wins a deal: in every mode.
                need.update(problem="won_switch", enforced=True)
            elif old.won_status == "lost":
                # A lost deal stays where it was lost (losses are reported by process and stage).
                need.update(problem="lost_switch", enforced=True)
            elif enforced and new.stage_id:
                # Landing in the new process needs what its earlier stages require.
                sequence = self._stage_gate_sequence(new.pipeline_type_id, new.team_id, new.stage_id)
                earlier = sequence[: sequence.index(new.stage_id)]
                need["prove"] = [mid for stage_id in earlier for mid in stage_info[stage_id]["required"]]
            return need
        if (
            event != "create"
            and old.stage_id != new.stage_id
            and "lost" in (old.won_status, new.won_status)
            and enforced
        ):
            # A lost deal stays in the stage it was lost in; it is lost or restored where it stands.
            need["problem"] = "lost_move"
            return need
        if event not in ("forward", "backward", "won"):
            return need
        team_stages = stage_info.get(new.stage_id, {}).get("teams")
        if enforced and team_stages and new.team_id not in team_stages and old.stage_id != new.stage_id:
            # The lead's sequence is its team's: another team's stage is no step of it.
            need["problem"] = "other_team"
            return need
        if old.stage_id == new.stage_id:  # won by the probability, in a won stage
            need["prove"] = list(stage_info[new.stage_id]["required"])
            return need
        # No stage (a guided process allows it) counts as before the first one.
        sequence = self._stage_gate_sequence(new.pipeline_type_id, new.team_id, old.stage_id, new.stage_id)
        src = sequence.index(old.stage_id) if old.stage_id in sequence else -1
        dst = sequence.index(new.stage_id) if new.stage_id in sequence else -1
        if dst < src:
            if not ptype.get("allow_backward", True):
                need["problem"] = "backward"
            return need
        passed = sequence[max(src, 0) : dst]
        need["prove"] = [mid for stage_id in passed for mid in stage_info[stage_id]["required"]]
        if event == "won":
            need["prove"] += list(stage_info[new.stage_id]["required"])
        if dst > src + 1 and enforced:
            need["problem"] = "skip"
        return need

    def _stage_gate_proof(self, milestone_ids):
        """``(met, evidence)`` for these leads: ``{lead id: set of milestone ids}`` met (evidence or
        facts) and ``{lead id: {milestone id: evidence ids}}`` of the valid evidence that meets them."""
        met, evidence = defaultdict(set), defaultdict(dict)
        if not self or not milestone_ids:
            return met, evidence
        evidence.update(self._stage_gate_evidence(milestone_ids))
        milestones = self.env["crm.stage.milestone"].browse(milestone_ids)
        met.update(self._stage_gate_milestones_met(milestones, evidence))
        return met, evidence

    def _stage_gate_evidence(self, milestone_ids, valid=True):
        """``{lead id: {milestone id: [evidence ids]}}``: evidence of these leads meeting ``milestone_ids``.

        Evidence counts for its milestone and for every milestone sharing its
        proof key, so what a lead proved follows it into another process.
        ``valid``: counted evidence (True), or evidence awaiting a manager's
        verification (False).
        """
        return self._stage_gate_evidence_by_validity(milestone_ids, [valid])[valid]

    def _stage_gate_evidence_by_validity(self, milestone_ids, validities=(True, False)):
        """``{validity: {lead id: {milestone id: [evidence ids]}}}`` (see ``_stage_gate_evidence``)
        for each of ``validities``, in one query.

        A lead being edited in a form (a new record of the onchange) proves what its evidence
        lines in memory prove, so that the form shows what will hold once it is saved.
        """
        known = self._stage_gate_structure()["milestones"]

        def key_of(milestone_id):
            return known.get(milestone_id, {}).get("proof_key") or milestone_id

        wanted = set(milestone_ids)
        keys = {key_of(mid) for mid in wanted} - wanted
        proving = [mid for mid in known if mid in wanted or key_of(mid) in keys]
        saved = self.filtered("id")
        rows = []
        if saved:
            domain = [("lead_id", "in", saved.ids), ("milestone_id", "in", proving)]
            if len(validities) == 1:
                domain.append(("is_valid", "=", validities[0]))
            # sudo: what proves a milestone must not depend on who moves or reads the lead.
            groups = (
                self.env["crm.lead.evidence"]
                .sudo()
                ._read_group(domain, ["lead_id", "milestone_id", "is_valid"], ["id:array_agg"])
            )
            rows = [(lead.id, milestone.id, bool(valid), ids) for lead, milestone, valid, ids in groups]
        for lead in self - saved:
            # sudo: as above; the lines are those of the form, already in memory.
            for evidence in lead.evidence_ids.sudo():
                if evidence.milestone_id.id in proving and bool(evidence.is_valid) in validities:
                    rows.append((lead.id, evidence.milestone_id.id, bool(evidence.is_valid), [evidence.id]))
        by_key = defaultdict(set)
        for milestone_id in wanted:
            by_key[key_of(milestone_id)].add(milestone_id)
        found = {validity: defaultdict(lambda: defaultdict(list)) for validity in validities}
        for lead_id, milestone_id, is_valid, evidence_ids in rows:
            for target in by_key.get(key_of(milestone_id), ()):
                found[is_valid][lead_id][target].extend(evidence_ids)
        return found

    def _stage_gate_milestones_met(self, milestones, evidence=None):
        """``{lead id: set of milestone ids}`` that these leads have proven.

        ``evidence``: ``_stage_gate_evidence`` of these milestones, when already
        read. Override to accept other proofs (see the buying center's facts).
        """
        if evidence is None:
            evidence = self._stage_gate_evidence(milestones.ids)
        met = defaultdict(set)
        for lead_id, by_milestone in evidence.items():
            met[lead_id].update(by_milestone)
        return met

    @api.model
    def _stage_gate_exceptions(self, wanted):
        """``{lead id: exception id}``: the approved, unexpired exception for exactly each wanted move.

        ``wanted``: ``{lead id: (from stage id, to stage id, entered)}``. An
        exception is valid while the lead has stayed in its from-stage since the
        approval (``entered``, the stage entry date, not after the decision), and
        until its validity date.
        """
        if not wanted:
            return {}
        # sudo: the gate must see every approved exception of these leads,
        # whatever the reading rights of the user moving them.
        approved = (
            self.env["crm.stage.exception"]
            .sudo()
            .search([("lead_id", "in", list(wanted)), ("state", "=", "approved")])
        )
        now = fields.Datetime.now()
        found = {}
        for exception in approved:
            src, dst, entered = wanted[exception.lead_id.id]
            if (
                (src, dst) == (exception.from_stage_id.id, exception.to_stage_id.id)
                and now <= exception.valid_until
                # Decision dates are kept to the second; stage entry dates are finer.
                and (not entered or entered.replace(microsecond=0) <= exception.decision_date)
            ):
                found[exception.lead_id.id] = exception.id
        return found

    # ------------------------------------------------------------
    # MESSAGES
    # ------------------------------------------------------------

    # Set on the gate's refusals: the web client opens its move dialog in their place (move_guard.js).
    _STAGE_GATE_REFUSED = "sales_process_stage_gate_refused"

    @api.model
    def _stage_gate_refuse(self, messages):
        error = ValidationError(_("Stage change refused; nothing was saved.") + "\n" + "\n\n".join(messages))
        # Odoo sends an exception's ``context`` to the client with the error.
        error.context = {self._STAGE_GATE_REFUSED: True}
        raise error

    def _stage_gate_structural_message(self, lead_id, kind, old, new, created=True):
        lead = self.browse(lead_id)
        if kind == "no_stage":
            return _(
                '"%(lead)s" must be in a stage of its sales process "%(type)s": the stage cannot be emptied.',
                lead=lead.name,
                type=lead.pipeline_type_id.name,
            )
        if kind == "no_type":
            return _(
                '"%(lead)s" must keep a sales process: switch it to another process instead of emptying it.',
                lead=lead.name,
            )
        first = self._stage_gate_sequence(new.pipeline_type_id, new.team_id)[:1]
        if not created:
            return _(
                '"%(lead)s" would join its sales process in "%(stage)s", but opportunities join a '
                'sales process in its first stage, "%(first)s". Only a sales manager may place one '
                "further along.",
                lead=lead.name,
                stage=lead.stage_id.name,
                first=self.env["crm.stage"].browse(first).name,
            )
        return _(
            '"%(lead)s" would start in "%(stage)s", but new opportunities start in the first stage of '
            'their sales process, "%(first)s". Only a sales manager may create one further along.',
            lead=lead.name,
            stage=lead.stage_id.name,
            first=self.env["crm.stage"].browse(first).name,
        )

    def _stage_gate_refusal_message(self, lead_id, old, new, problem, missing):
        """Why a move is refused, and what the user can do about it."""
        lead = self.browse(lead_id)
        Stage = self.env["crm.stage"]
        names = {
            "lead": lead.name,
            "stage": Stage.browse(old.stage_id).name,
            "target": Stage.browse(new.stage_id).name,
        }
        missing_names = join_list(
            self.env, [m._gate_label() for m in self.env["crm.stage.milestone"].browse(missing)], "clause"
        )
        if problem == "skip":
            sequence = self._stage_gate_sequence(
                new.pipeline_type_id, new.team_id, old.stage_id, new.stage_id
            )
            # No stage (a guided process allows it) counts as before the first one.
            following = sequence[sequence.index(old.stage_id) + 1 if old.stage_id in sequence else 0]
            return _(
                '"%(lead)s" cannot jump from "%(stage)s" to "%(target)s": stages are passed one at a time, '
                'the next one is "%(next)s". To skip stages, request an exception that a sales manager approves.',
                **names,
                next=Stage.browse(following).name,
            )
        if problem == "backward":
            return _(
                '"%(lead)s" cannot move back from "%(stage)s" to "%(target)s": the sales process "%(type)s" '
                "does not allow moving backward. Request an exception that a sales manager approves.",
                **names,
                type=lead.pipeline_type_id.name,
            )
        if problem == "won_switch":
            return _(
                '"%(lead)s" cannot switch from "%(stage)s" to "%(target)s": a won deal keeps its sales process, '
                "and a process switch never wins a deal. A sales manager may request an exception that "
                "another sales manager approves.",
                **names,
            )
        if problem == "lost_switch":
            return _(
                '"%(lead)s" cannot switch from "%(stage)s" to "%(target)s": a lost deal keeps the sales process '
                "and the stage it was lost in. Restore it first, then change its process.",
                **names,
            )
        if problem == "other_team":
            return _(
                '"%(lead)s" cannot go from "%(stage)s" to "%(target)s": that stage is one of other sales teams, '
                "not a step of its team's sequence. Move it to a stage of its team, or change its team.",
                **names,
            )
        if problem == "lost_move":
            return _(
                '"%(lead)s" cannot go from "%(stage)s" to "%(target)s" while it is lost, or as it is lost or '
                "restored: a deal is lost in the stage it stands in, and stays there until it is restored. "
                "Restore it, then move it; or move it, then mark it lost.",
                **names,
            )
        if old.pipeline_type_id != new.pipeline_type_id:
            return _(
                '"%(lead)s" cannot enter "%(target)s" of the sales process "%(type)s": the milestones of its '
                "earlier stages are not proven: %(missing)s. Switch without choosing the stage (it lands as far "
                "as its proof allows), record the evidence, or request an exception.",
                **names,
                type=lead.pipeline_type_id.name,
                missing=missing_names,
            )
        return _(
            '"%(lead)s" cannot leave "%(stage)s" for "%(target)s" yet; missing milestones: %(missing)s. '
            "Record the evidence, or request an exception that a sales manager approves.",
            **names,
            missing=missing_names,
        )

    # ------------------------------------------------------------
    # EFFECTS
    # ------------------------------------------------------------

    def _stage_gate_after_transitions(self, transitions, background=False):
        """Use the exceptions, and cancel and schedule the stage tasks, of recorded transitions.

        ``background``: leave the tasks, and the report rows of the history,
        to the scheduled action (see ``crm.lead.stage.tasks``).
        """
        used = self.env["crm.stage.exception"].browse(t.exception_id for t in transitions if t.exception_id)
        if used:
            used._mark_used()
        left = {
            t.lead_id: t.old.stage_id
            for t in transitions
            if t.event in ("forward", "backward", "won", "type_switch") and t.old.stage_id
        }
        left.update({t.lead_id: False for t in transitions if t.event == "lost"})
        entered = {
            t.lead_id: t.new.stage_id
            for t in transitions
            if t.new.stage_id and t.new.won_status != "lost" and t.event != "reopen" and t.event != "lost"
        }
        if background:
            self._stage_tasks_enqueue(left, entered, [t.lead_id for t in transitions])
        else:
            # sudo: the move was allowed; its tasks follow it even where the move itself takes
            # the deal out of the mover's reach (handed to another salesperson). As the mover
            # (env.user), as the scheduled action does (``_stage_task_jobs_work``).
            self.sudo()._stage_tasks_apply(left, entered)

    # ------------------------------------------------------------
    # HISTORY
    # ------------------------------------------------------------

    @api.model
    def _stage_history_record(self, transitions, reports_later=False):
        """Write one history row per transition (see ``crm.lead.stage.history._record``)."""
        rows = [
            {
                "lead_id": t.lead_id,
                "event": t.event,
                # A lead's first row (created, or joining a process) starts its chain.
                "from_pipeline_type_id": t.old.pipeline_type_id if t.event != "create" else None,
                "from_stage_id": t.old.stage_id if t.event != "create" else None,
                "to_stage_id": t.new.stage_id,
                "entered": t.old.entered if t.event != "create" else None,
                "exception_id": t.exception_id,
                "proof": t.proof,
                "evidence_ids": list(t.evidence_ids),
                "note": t.note,
                "facts_used": None,
                "salesperson_id": lead.user_id.id or None,
                "team_id": t.new.team_id,
                "company_id": lead.company_id.id or None,
                "pipeline_type_id": t.new.pipeline_type_id,
            }
            for t, lead in zip(transitions, self.browse([t.lead_id for t in transitions]), strict=True)
        ]
        self._stage_history_complete(rows)
        # sudo: history is written by the server only; users may only read it.
        return self.env["crm.lead.stage.history"].sudo()._record(rows, reports_later)

    @api.model
    def _stage_history_complete(self, rows):
        """Hook to add to the history rows what other parts of the lead know (e.g. facts used)."""
