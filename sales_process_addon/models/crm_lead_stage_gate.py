from collections import defaultdict
from typing import NamedTuple

from odoo import _, api, fields, models
from odoo.exceptions import ValidationError
from odoo.tools import SQL


class StageSnapshot(NamedTuple):
    """A lead's stored stage state, as ids: what the gate compares."""

    pipeline_type_id: int | None
    stage_id: int | None
    won_status: str | None
    entered: object  # datetime the lead entered its stage


class CrmLeadStageGate(models.AbstractModel):
    """The stage gate of opportunities; ``crm.lead`` inherits it.

    ``crm.lead`` calls ``_stage_gate_snapshot`` before a write that may change
    the stage and ``_stage_gate_enforce`` after it; ``_stage_gate_on_create``
    after a create. The gate compares the stored state before and after, so it
    judges every path alike (UI, RPC, import, merge, server actions) and no
    context key or public method can skip it. A refusal raises, which rolls the
    whole call back: a batch is all or nothing.

    The gate works on ids read in one query, not on records: it runs on every
    stage write, and a batch of thousands of leads must cost a fixed number of
    queries and little Python per lead.

    Extension points: ``_stage_gate_milestones_met`` (what proves a milestone).
    """

    _name = "crm.lead.stage.gate"
    _description = "Opportunity Stage Gate"

    # Fields whose change may change the stage or the won/lost status.
    _STAGE_GATE_FIELDS = frozenset({"stage_id", "pipeline_type_id", "active", "probability"})

    def _stage_gate_snapshot(self):
        """``{lead id: StageSnapshot}`` of these leads as stored, in one query."""
        # All pending values, not only those read here: after a stage write,
        # the fields that follow the stage go out in the same UPDATE.
        self.flush_recordset()
        self.env.cr.execute(
            SQL(
                """
                SELECT id, pipeline_type_id, stage_id, won_status, date_last_stage_update
                FROM crm_lead
                WHERE id = ANY(%s)
                """,
                self.ids,
            )
        )
        return {row[0]: StageSnapshot(*row[1:]) for row in self.env.cr.fetchall()}

    # ------------------------------------------------------------
    # ENFORCEMENT
    # ------------------------------------------------------------

    def _stage_gate_on_create(self):
        """New opportunities start in their process's first stage.

        Only sales managers (e.g. importing an existing pipeline) may create
        them further along; the history says so.
        """
        later = self.filtered(
            lambda lead: lead.pipeline_type_id and lead.stage_id != lead.pipeline_type_id.stage_ids[:1]
        )
        if later and not (self.env.su or self.env.user.has_group("sales_team.group_sale_manager")):
            raise ValidationError(
                _("New opportunities start in the first stage of their sales process; nothing was saved.")
                + "\n"
                + "\n".join(
                    _(
                        '"%(lead)s" would start in "%(stage)s": the first stage of "%(type)s" is "%(first)s".',
                        lead=lead.name,
                        stage=lead.stage_id.name,
                        type=lead.pipeline_type_id.name,
                        first=lead.pipeline_type_id.stage_ids[:1].name,
                    )
                    for lead in later
                )
            )
        note = _("Created directly in a later stage by a sales manager.")
        nothing = StageSnapshot(None, None, None, None)
        later_ids = set(later.ids)
        self._stage_history_record(
            [
                self._stage_history_row(
                    lead.id, "create", nothing, lead.stage_id.id, note=note if lead.id in later_ids else None
                )
                for lead in self
            ]
        )
        self._stage_tasks_schedule({lead.id: lead.stage_id.id for lead in self if lead.stage_id})

    def _stage_gate_enforce(self, before):
        """Judge and record every change since ``before`` (a snapshot)."""
        after = self._stage_gate_snapshot()
        type_ids = {state.pipeline_type_id for state in after.values()} - {None}
        types = self.env["crm.pipeline.type"].browse(type_ids)
        position = {
            ptype.id: {stage_id: i for i, stage_id in enumerate(ptype.stage_ids.ids)} for ptype in types
        }
        moves, changes = [], []  # (lead id, process id, from, to); (lead id, event, old, new)
        for lead_id, old in before.items():
            new = after[lead_id]
            if not old.pipeline_type_id and new.pipeline_type_id:
                # A lead from before the install gets its process: nothing moved,
                # unless the stage changed too.
                if new.stage_id != old.stage_id and old.stage_id in position[new.pipeline_type_id]:
                    moves.append((lead_id, new.pipeline_type_id, old.stage_id, new.stage_id))
                    changes.append((lead_id, None, old, new))
            elif new.pipeline_type_id != old.pipeline_type_id:
                changes.append((lead_id, "type_switch", old, new))
                if old.stage_id and new.pipeline_type_id:
                    # The process switch itself maps the stage; anything else is a move.
                    mapped = types.browse(new.pipeline_type_id)._find_matching_stage(
                        self.env["crm.stage"].browse(old.stage_id)
                    )[0]
                    if new.stage_id != mapped.id:
                        moves.append((lead_id, new.pipeline_type_id, mapped.id, new.stage_id))
            elif new.stage_id != old.stage_id:
                if new.pipeline_type_id:  # without a process, a lead has no stage to judge
                    moves.append((lead_id, new.pipeline_type_id, old.stage_id, new.stage_id))
                changes.append((lead_id, None, old, new))
            elif new.won_status != old.won_status and "lost" in (new.won_status, old.won_status):
                changes.append((lead_id, "lost" if new.won_status == "lost" else "restore", old, new))
        if not changes:
            return
        stage_ids = {stage_id for _lead, _type, src, dst in moves for stage_id in (src, dst)}
        won_ids = set(self.env["crm.stage"].browse(stage_ids).filtered("is_won").ids)
        exceptions_used = self._stage_gate_judge(moves, position, won_ids)
        self._stage_history_record(
            [
                self._stage_history_row(
                    lead_id,
                    event
                    or self._stage_move_event(
                        old.stage_id, new.stage_id, position.get(new.pipeline_type_id, {}), won_ids
                    ),
                    old,
                    new.stage_id,
                    exception_id=exceptions_used[lead_id].id if lead_id in exceptions_used else None,
                )
                for lead_id, event, old, new in changes
            ]
        )
        left = {
            lead_id: old.stage_id
            for lead_id, _event, old, new in changes
            if old.stage_id not in (None, new.stage_id)
        }
        left.update({lead_id: False for lead_id, event, _old, _new in changes if event == "lost"})
        self._stage_tasks_cancel(left)
        self._stage_tasks_schedule(
            {
                lead_id: new.stage_id
                for lead_id, _event, old, new in changes
                if new.stage_id and new.stage_id != old.stage_id and new.won_status != "lost"
            }
        )
        if exceptions_used:
            used = self.env["crm.stage.exception"].union(*exceptions_used.values())
            # sudo: the gate marks the exception it has just applied as used; users
            # cannot write the workflow fields of exceptions.
            used.sudo().write({"state": "used", "used_date": fields.Datetime.now()})

    def _stage_gate_judge(self, moves, position, won_ids):
        """Refuse the moves the gate forbids; return ``{lead id: exception}`` used.

        ``moves``: list of (lead id, process id, from stage id, to stage id),
        within one process; ``position``: ``{process id: {stage id: index}}``;
        ``won_ids``: the won stages among them.
        """
        if not moves:
            return {}
        lead_ids = [lead_id for lead_id, _type, _src, _dst in moves]
        # sudo: the gate must see every approved exception of these leads,
        # whatever the reading rights of the user moving them.
        approved = (
            self.env["crm.stage.exception"]
            .sudo()
            .search([("lead_id", "in", lead_ids), ("state", "=", "approved")])
        )
        exception_for = {(e.lead_id.id, e.from_stage_id.id, e.to_stage_id.id): e for e in approved}
        stage_ids_to_prove = {src for _lead, _type, src, _dst in moves}
        stage_ids_to_prove |= {
            dst for _lead, _type, src, dst in moves if dst in won_ids and src not in won_ids
        }
        milestones = self.env["crm.stage.milestone"].search(
            [("stage_id", "in", list(stage_ids_to_prove)), ("required", "=", True)]
        )
        required_of = defaultdict(list)
        for milestone in milestones:
            required_of[milestone.stage_id.id].append(milestone)
        leads = self.browse(lead_ids)
        met = leads._stage_gate_milestones_met(milestones)

        stages_model, types = self.env["crm.stage"], self.env["crm.pipeline.type"]

        def named(lead_id, src, dst):
            """The lead and the stages of a refused move, for its message."""
            return {
                # Read with the whole batch: one query for the names of every refused lead.
                "lead": leads.browse(lead_id).with_prefetch(leads._prefetch_ids).name,
                "stage": stages_model.browse(src).name,
                "target": stages_model.browse(dst).name,
            }

        problems, used = [], {}
        for lead_id, type_id, src, dst in moves:
            # No stage counts as before the first one.
            stages = position[type_id]
            src_index = stages.get(src, -1)
            offset = stages.get(dst, -1) - src_index
            problem = False
            if offset == 1:
                required = required_of[src] + (
                    required_of[dst] if dst in won_ids and src not in won_ids else []
                )
                missing = [milestone for milestone in required if milestone.id not in met[lead_id]]
                if missing:
                    problem = _(
                        '"%(lead)s" cannot leave "%(stage)s" for "%(target)s"; missing milestones: %(missing)s.',
                        **named(lead_id, src, dst),
                        missing="; ".join(milestone._gate_label() for milestone in missing),
                    )
            elif offset > 1:
                following = next(stage_id for stage_id, index in stages.items() if index == src_index + 1)
                problem = _(
                    '"%(lead)s" cannot jump from "%(stage)s" to "%(target)s": '
                    'stages cannot be skipped, the next stage is "%(next)s".',
                    **named(lead_id, src, dst),
                    next=stages_model.browse(following).name,
                )
            elif not types.browse(type_id).allow_backward:
                problem = _(
                    '"%(lead)s" cannot move back from "%(stage)s" to "%(target)s": '
                    'the sales process "%(type)s" does not allow moving backward.',
                    **named(lead_id, src, dst),
                    type=types.browse(type_id).name,
                )
            exception = exception_for.get((lead_id, src, dst))
            if problem and exception:
                used[lead_id] = exception
            elif problem:
                problems.append(problem)
        if problems:
            raise ValidationError(
                _("Stage change refused; nothing was saved.")
                + "\n"
                + "\n".join(problems)
                + "\n"
                + _("Record the missing evidence, or request an exception that a sales manager approves.")
            )
        return used

    def _stage_gate_milestones_met(self, milestones):
        """Return ``{lead id: set of milestone ids}`` that these leads have proven.

        A milestone is met by valid evidence (verified where verification is
        required). Override to accept other proofs.
        """
        return self._milestones_with_evidence(milestones, valid=True)

    def _milestones_with_evidence(self, milestones, valid):
        """``{lead id: set of milestone ids}`` of ``milestones`` with evidence that is valid or not.

        Not valid: recorded, waiting for a manager's verification.
        """
        # sudo: what proves a milestone must not depend on who moves or reads the lead.
        groups = (
            self.env["crm.lead.evidence"]
            .sudo()
            ._read_group(
                [
                    ("lead_id", "in", self.ids),
                    ("milestone_id", "in", milestones.ids),
                    ("is_valid", "=", valid),
                ],
                ["lead_id", "milestone_id"],
            )
        )
        found = defaultdict(set)
        for lead, milestone in groups:
            found[lead.id].add(milestone.id)
        return found

    # ------------------------------------------------------------
    # HISTORY
    # ------------------------------------------------------------

    @api.model
    def _stage_move_event(self, src, dst, stages, won_ids):
        """Kind of a move from stage ``src`` to ``dst``; ``stages``: ``{stage id: index}`` of the process."""
        if dst in won_ids and src not in won_ids:
            return "won"
        if stages.get(dst, -1) < stages.get(src, -1):  # no stage counts as before the first one
            return "backward"
        return "forward"

    @api.model
    def _stage_history_row(self, lead_id, event, old, to_stage_id, exception_id=None, note=None):
        """One stage change, as ``crm.lead.stage.history._record`` takes it."""
        return {
            "lead_id": lead_id,
            "event": event,
            "from_pipeline_type_id": old.pipeline_type_id,
            "from_stage_id": old.stage_id,
            "to_stage_id": to_stage_id or None,
            "entered": old.entered,
            "exception_id": exception_id,
            "note": note,
            "facts_used": None,
        }

    @api.model
    def _stage_history_record(self, rows):
        # sudo: history is written by the server only; users may only read it.
        return self.env["crm.lead.stage.history"].sudo()._record(rows)
