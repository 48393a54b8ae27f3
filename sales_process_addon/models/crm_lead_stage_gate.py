from collections import defaultdict
from typing import NamedTuple

from odoo import _, api, fields, models
from odoo.exceptions import ValidationError


class StageSnapshot(NamedTuple):
    """What the gate needs to know of a lead before a write."""

    pipeline_type: models.BaseModel
    stage: models.BaseModel
    won_status: str
    entered: object  # datetime the lead entered its stage


class CrmLeadStageGate(models.AbstractModel):
    """The stage gate of opportunities; ``crm.lead`` inherits it.

    ``crm.lead`` calls ``_stage_gate_snapshot`` before a write that may change
    the stage and ``_stage_gate_enforce`` after it; ``_stage_gate_on_create``
    after a create. The gate compares the stored state before and after, so it
    judges every path alike (UI, RPC, import, merge, server actions) and no
    context key or public method can skip it. A refusal raises, which rolls the
    whole call back: a batch is all or nothing.

    Extension points: ``_stage_gate_milestones_met`` (what proves a milestone).
    """

    _name = "crm.lead.stage.gate"
    _description = "Opportunity Stage Gate"

    # Fields whose change may change the stage or the won/lost status.
    _STAGE_GATE_FIELDS = frozenset({"stage_id", "pipeline_type_id", "active", "probability"})

    def _stage_gate_snapshot(self):
        return {
            lead.id: StageSnapshot(
                lead.pipeline_type_id, lead.stage_id, lead.won_status, lead.date_last_stage_update
            )
            for lead in self
        }

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
        self._stage_history_create(
            [
                lead._stage_history_values(
                    "create", False, False, False, note=note if lead in later else False
                )
                for lead in self
            ]
        )
        self._stage_tasks_schedule({lead: lead.stage_id for lead in self if lead.stage_id})

    def _stage_gate_enforce(self, before):
        """Judge and record every change since ``before`` (a snapshot)."""
        moves, records = [], []
        for lead in self:
            old = before[lead.id]
            if not old.pipeline_type and lead.pipeline_type_id:
                # A lead from before the install gets its process: nothing moved,
                # unless the stage changed too.
                if lead.stage_id != old.stage and old.stage in lead.pipeline_type_id.stage_ids:
                    moves.append((lead, old.stage, lead.stage_id))
                    records.append((lead, None, old))
            elif lead.pipeline_type_id != old.pipeline_type:
                records.append((lead, "type_switch", old))
                if old.stage:
                    # The process switch itself maps the stage; anything else is a move.
                    mapped = lead.pipeline_type_id._find_matching_stage(old.stage)[0]
                    if lead.stage_id != mapped:
                        moves.append((lead, mapped, lead.stage_id))
            elif lead.stage_id != old.stage:
                moves.append((lead, old.stage, lead.stage_id))
                records.append((lead, None, old))
            elif lead.won_status != old.won_status and "lost" in (lead.won_status, old.won_status):
                records.append((lead, "lost" if lead.won_status == "lost" else "restore", old))
        if not records:
            return
        exceptions_used = self._stage_gate_judge(moves)
        history_vals = []
        for lead, event, old in records:
            exception = exceptions_used.get(lead.id, self.env["crm.stage.exception"])
            history_vals.append(
                lead._stage_history_values(
                    event or lead._stage_move_event(old.stage, lead.stage_id),
                    old.pipeline_type,
                    old.stage,
                    old.entered,
                    exception=exception,
                )
            )
        self._stage_history_create(history_vals)
        left = {lead: old.stage for lead, _event, old in records if old.stage and lead.stage_id != old.stage}
        left.update({lead: False for lead, event, _old in records if event == "lost"})
        self._stage_tasks_cancel(left)
        self._stage_tasks_schedule(
            {
                lead: lead.stage_id
                for lead, _event, old in records
                if lead.stage_id != old.stage and lead.won_status != "lost"
            }
        )
        used = self.env["crm.stage.exception"].union(*exceptions_used.values())
        # sudo: the gate marks the exception it has just applied as used; users
        # cannot write the workflow fields of exceptions.
        used.sudo().write({"state": "used", "used_date": fields.Datetime.now()})

    def _stage_gate_judge(self, moves):
        """Refuse the moves the gate forbids; return ``{lead id: exception}`` used.

        ``moves``: list of (lead, from stage, to stage) within one process.
        """
        if not moves:
            return {}
        leads = self.browse([lead.id for lead, _src, _dst in moves])
        # sudo: the gate must see every approved exception of these leads,
        # whatever the reading rights of the user moving them.
        approved = (
            self.env["crm.stage.exception"]
            .sudo()
            .search([("lead_id", "in", leads.ids), ("state", "=", "approved")])
        )
        exception_for = {(e.lead_id.id, e.from_stage_id.id, e.to_stage_id.id): e for e in approved}
        stages_to_prove = self.env["crm.stage"].union(
            *(src | (dst if dst.is_won and not src.is_won else src) for _lead, src, dst in moves)
        )
        milestones = self.env["crm.stage.milestone"].search(
            [("stage_id", "in", stages_to_prove.ids), ("required", "=", True)]
        )
        milestones_of = milestones.grouped("stage_id")
        met = leads._stage_gate_milestones_met(milestones)

        problems, used = [], {}
        for lead, src, dst in moves:
            stages = list(lead.pipeline_type_id.stage_ids)
            offset = stages.index(dst) - stages.index(src)
            exception = exception_for.get((lead.id, src.id, dst.id))
            problem = False
            if offset == 1:
                required = milestones_of.get(src, milestones.browse())
                if dst.is_won and not src.is_won:
                    required |= milestones_of.get(dst, milestones.browse())
                missing = required.filtered(lambda m, lead=lead: m.id not in met[lead.id])
                if missing:
                    problem = _(
                        '"%(lead)s" cannot leave "%(stage)s" for "%(target)s"; missing milestones: %(missing)s.',
                        lead=lead.name,
                        stage=src.name,
                        target=dst.name,
                        missing="; ".join(m._gate_label() for m in missing),
                    )
            elif offset > 1:
                problem = _(
                    '"%(lead)s" cannot jump from "%(stage)s" to "%(target)s": '
                    'stages cannot be skipped, the next stage is "%(next)s".',
                    lead=lead.name,
                    stage=src.name,
                    target=dst.name,
                    next=stages[stages.index(src) + 1].name,
                )
            elif not lead.pipeline_type_id.allow_backward:
                problem = _(
                    '"%(lead)s" cannot move back from "%(stage)s" to "%(target)s": '
                    'the sales process "%(type)s" does not allow moving backward.',
                    lead=lead.name,
                    stage=src.name,
                    target=dst.name,
                    type=lead.pipeline_type_id.name,
                )
            if problem and exception:
                used[lead.id] = exception
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
        # sudo: what proves a milestone must not depend on who moves the lead.
        groups = (
            self.env["crm.lead.evidence"]
            .sudo()
            ._read_group(
                [
                    ("lead_id", "in", self.ids),
                    ("milestone_id", "in", milestones.ids),
                    ("is_valid", "=", True),
                ],
                ["lead_id", "milestone_id"],
            )
        )
        met = defaultdict(set)
        for lead, milestone in groups:
            met[lead.id].add(milestone.id)
        return met

    # ------------------------------------------------------------
    # HISTORY
    # ------------------------------------------------------------

    def _stage_move_event(self, src, dst):
        self.ensure_one()
        if dst.is_won and not src.is_won:
            return "won"
        stages = list(self.pipeline_type_id.stage_ids)
        if src in stages and dst in stages and stages.index(dst) < stages.index(src):
            return "backward"
        return "forward"

    def _stage_history_values(self, event, old_type, old_stage, entered, exception=False, note=False):
        self.ensure_one()
        # The transaction's time, as Odoo uses for date_last_stage_update.
        now = self.env.cr.now()
        return {
            "lead_id": self.id,
            "event": event,
            "date": now,
            "user_id": self.env.uid,
            "salesperson_id": self.user_id.id,
            "team_id": self.team_id.id,
            "company_id": self.company_id.id,
            "pipeline_type_id": self.pipeline_type_id.id,
            "from_pipeline_type_id": old_type.id if old_type else False,
            "from_stage_id": old_stage.id if old_stage else False,
            "to_stage_id": self.stage_id.id,
            "from_buyer_stage_id": old_stage.buyer_stage_id.id if old_stage else False,
            "to_buyer_stage_id": self.stage_id.buyer_stage_id.id,
            "from_funnel_state_id": old_stage.funnel_state_id.id if old_stage else False,
            "to_funnel_state_id": self.stage_id.funnel_state_id.id,
            "days_in_previous_stage": (now - entered).total_seconds() / 86400 if entered else 0.0,
            "exception_id": exception.id if exception else False,
            "note": note,
        }

    @api.model
    def _stage_history_create(self, vals_list):
        # sudo: history is written by the server only; users may only read it.
        return self.env["crm.lead.stage.history"].sudo().create(vals_list)
