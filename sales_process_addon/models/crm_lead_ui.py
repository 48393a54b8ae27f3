from markupsafe import Markup

from odoo import _, api, models
from odoo.exceptions import UserError


class CrmLeadUi(models.AbstractModel):
    """What the browser shows of the sales process; ``crm.lead`` inherits it.

    Read-only helpers of the pipeline, the kanban card, the opportunity form
    and the guided move dialog. The server stays the judge: nothing here moves
    a lead past the gate.
    """

    _name = "crm.lead.ui"
    _description = "Opportunity Sales Process Display"

    # ------------------------------------------------------------
    # COMPUTE
    # ------------------------------------------------------------

    @api.depends("stage_id")
    def _compute_stage_exit_criteria(self):
        """The stage's exit criteria, from its milestones themselves (one source)."""
        milestones = self.env["crm.stage.milestone"].search([("stage_id", "in", self.stage_id.ids)])
        milestones_of = milestones.grouped("stage_id")
        for lead in self:
            lead.stage_exit_criteria = self._render_exit_criteria(milestones_of.get(lead.stage_id))

    @api.depends("risk_level")
    def _compute_risk_reasons(self):
        for lead in self:
            lead.risk_reasons = "\n".join(lead._risk_reasons()) if lead.risk_level else False

    @api.depends("pipeline_type_id", "stage_id")
    def _compute_stage_unreachable_ids(self):
        """Stages of an enforced process the lead cannot move to directly.

        Stages after the next one (skips), and earlier ones where the process
        does not allow moving backward. An approved exception opens its target.
        """
        for lead in self:
            ptype = lead.pipeline_type_id
            if not ptype or ptype.gate_mode == "guided" or lead.stage_id not in ptype.stage_ids:
                lead.stage_unreachable_ids = False
                continue
            stages = ptype.stage_ids
            index = list(stages).index(lead.stage_id)
            unreachable = stages[index + 2 :]
            if not ptype.allow_backward:
                unreachable |= stages[:index]
            approved = lead.stage_exception_ids.filtered(
                lambda e, lead=lead: e.state == "approved" and e.from_stage_id == lead.stage_id
            )
            lead.stage_unreachable_ids = unreachable - approved.to_stage_id

    @api.depends(
        "stage_id",
        "stage_exception_ids.state",
        "stage_exception_ids.from_stage_id",
        "stage_exception_ids.to_stage_id",
    )
    def _compute_stage_exception_banner(self):
        """The exception of the current stage that the rep waits for or may use."""
        for lead in self:
            current = lead.stage_exception_ids.filtered(
                lambda e, lead=lead: e.from_stage_id == lead.stage_id and e.state in ("pending", "approved")
            )
            approved = current.filtered(lambda e: e.state == "approved")[:1]
            shown = approved or current[:1]
            lead.stage_exception_banner_id = shown
            lead.stage_exception_banner_state = shown.state or False
            lead.stage_exception_banner_target_id = shown.to_stage_id

    # ------------------------------------------------------------
    # ACTIONS
    # ------------------------------------------------------------

    def action_move_with_exception(self):
        """Move to the target of the approved exception shown in the banner; the gate applies it."""
        self.ensure_one()
        exception = self.stage_exception_banner_id
        if exception.state != "approved":
            raise UserError(
                _(
                    '"%(lead)s" has no approved exception to leave "%(stage)s".',
                    lead=self.name,
                    stage=self.stage_id.name,
                )
            )
        self.stage_id = exception.to_stage_id
        return True

    # ------------------------------------------------------------
    # BUSINESS
    # ------------------------------------------------------------

    @api.model
    def _pipeline_type_of_user(self):
        """The current user's process: their sales team's, else the company's."""
        return self.env.user.sale_team_id.pipeline_type_id or self.env.company.default_pipeline_type_id

    @api.model
    def _milestone_fact_hint(self, milestone):
        """How a fact of the opportunity's data meets ``milestone``, for the move dialog."""
        if not milestone.fact:
            return False
        hints = {
            "coach_secured": _(
                "Or add a contact with the Coach role, stance Supporter or Champion, to the buying center."
            ),
            "decision_maker_met": _(
                "Or mark a Decision maker of the buying center as met, with the meeting date."
            ),
            "qualified_pursue": _("Or answer every qualification question Yes (status Pursue)."),
        }
        return hints.get(milestone.fact, False)

    def evidence_milestone_suggestion(self):
        """The milestone a customer's message most likely proves, for "Use as Evidence".

        The first required milestone of the stages evidence may be recorded for
        that is still missing, customer-led, and accepts a customer's email (or
        any kind); else the first missing one. Returns ``{"milestone_id",
        "kind_id"}``: the kind is a customer's email where the milestone accepts
        it, else its only accepted kind, else False.
        """
        self.ensure_one()
        self.check_access("read")
        milestones = self.env["crm.stage.milestone"].search(
            [("stage_id", "in", self._evidence_stages().ids), ("required", "=", True)]
        )
        met = self._stage_gate_milestones_met(milestones)[self.id]
        awaiting = self._milestones_with_evidence(milestones, valid=False)[self.id]
        missing = milestones.filtered(lambda m: m.id not in met and m.id not in awaiting)
        email = self.env.ref("sales_process_addon.evidence_kind_customer_email", raise_if_not_found=False)
        suited = missing.filtered(
            lambda m: m.customer_led and (not m.evidence_kind_ids or email in m.evidence_kind_ids)
        )
        milestone = (suited or missing)[:1]
        accepted = milestone.evidence_kind_ids
        if not accepted or email in accepted:
            kind = email
        else:
            kind = accepted if len(accepted) == 1 else accepted.browse()
        return {"milestone_id": milestone.id or False, "kind_id": kind.id or False}

    def stage_move_check(self, stage_ids):
        """FALLBACK until the lead engineer's gate method lands; delete this method then.

        Same contract as ``crm.lead.stage.gate.stage_move_check`` (HELPERS_COMMON);
        the gate's own method comes first in ``crm.lead``'s bases and overrides it.
        """
        self.ensure_one()
        ptype = self.pipeline_type_id
        stages = list(ptype.stage_ids)
        guided = ptype.gate_mode == "guided"
        src = self.stage_id
        src_index = stages.index(src) if src in stages else -1
        targets = self.env["crm.stage"].browse(stage_ids)
        milestones = self.env["crm.stage.milestone"].search([("stage_id", "in", (src | targets).ids)])
        met = self._stage_gate_milestones_met(milestones)[self.id]
        awaiting = self._milestones_with_evidence(milestones, valid=False)[self.id]
        exceptions = self.stage_exception_ids.filtered(
            lambda e: e.from_stage_id == src and e.state in ("pending", "approved")
        )
        result = {}
        for dst in targets:
            offset = (stages.index(dst) if dst in stages else -1) - src_index
            next_stage = stages[src_index + 1] if 0 <= src_index + 1 < len(stages) else False
            required = milestones.filtered(lambda m: m.required and m.stage_id == src)
            if dst.is_won and not src.is_won:
                required |= milestones.filtered(lambda m, dst=dst: m.required and m.stage_id == dst)
            missing = required.filtered(lambda m: m.id not in met)
            if dst == src:
                reason, message = "ok", ""
            elif offset > 1:
                reason = "skip"
                message = _(
                    'Stages cannot be skipped: from "%(stage)s" the next stage is "%(next)s".',
                    stage=src.name,
                    next=next_stage.name if next_stage else "",
                )
            elif offset < 0 and not ptype.allow_backward:
                reason = "backward"
                message = _('The sales process "%(type)s" does not allow moving backward.', type=ptype.name)
            elif offset == 1 and missing:
                reason = "missing"
                message = _(
                    'To leave "%(stage)s" for "%(target)s", record evidence of the missing milestones.',
                    stage=src.name,
                    target=dst.name,
                )
            else:
                reason, message = "ok", ""
            exception = exceptions.filtered(lambda e, dst=dst: e.to_stage_id == dst)[:1]
            refused = reason != "ok" and not guided and exception.state != "approved"
            result[dst.id] = {
                "allowed": not refused,
                "reason": reason,
                "message": message,
                "next_stage": {"id": next_stage.id, "name": next_stage.name} if next_stage else False,
                "missing": [
                    {
                        "id": m.id,
                        "name": m.name,
                        "customer_led": m.customer_led,
                        "needs_verification": m.needs_verification,
                        "evidence_kind_ids": m.evidence_kind_ids.ids,
                        "fact": self._milestone_fact_hint(m),
                        "awaiting_verification": m.id in awaiting,
                    }
                    for m in (missing if reason == "missing" else [])
                ],
                "exception": {"id": exception.id, "state": exception.state} if exception else False,
                "guided": guided,
            }
        return result

    @api.model
    def _render_exit_criteria(self, milestones):
        if not milestones:
            return False
        return Markup("").join(
            Markup('<div class="mb-1"><span class="fw-semibold">%s</span>%s</div>')
            % (
                milestone.name,
                Markup('<div class="text-muted small">%s</div>') % milestone.description
                if milestone.description
                else "",
            )
            for milestone in milestones
        )
