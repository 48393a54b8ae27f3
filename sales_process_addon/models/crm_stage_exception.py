import unicodedata
from datetime import timedelta

from markupsafe import Markup

from odoo import _, api, fields, models
from odoo.exceptions import AccessError, UserError, ValidationError
from odoo.tools import plaintext2html

from ..tools import join_list


def _has_words(text):
    """Whether ``text`` shows anything: not only spaces, line breaks or invisible characters."""
    return any(unicodedata.category(char)[0] not in "ZC" for char in text or "")


class CrmStageException(models.Model):
    """A declared, justified, approved deviation from the stage gate.

    A rep asks to move one opportunity from its current stage to another
    despite the gate (skipping stages, missing evidence, going back where the
    process forbids it, a process switch of a won deal). The lead and the two
    stages are fixed once requested; only the requester edits the reason while
    it is pending. A sales manager other than the requester approves it (with
    a comment) or rejects it (a comment is required). An approved exception
    lets exactly that move through once, while the lead is still in the
    from-stage and for the company's validity period; then it is used, or it
    expires. Each step is written in the opportunity's chatter.
    """

    _name = "crm.stage.exception"
    _description = "Stage Gate Exception"
    _inherit = ["crm.lead.child.mixin", "mail.thread", "mail.activity.mixin"]
    _order = "create_date desc, id desc"

    lead_id = fields.Many2one("crm.lead", "Opportunity", required=True, index=True, ondelete="cascade")
    pipeline_type_id = fields.Many2one(related="lead_id.pipeline_type_id", string="Sales Process")
    from_stage_id = fields.Many2one("crm.stage", required=True, ondelete="cascade")
    to_stage_id = fields.Many2one("crm.stage", required=True, ondelete="cascade")
    kind = fields.Selection(
        [
            ("missing_evidence", "Missing evidence"),
            ("skip", "Skip stages"),
            ("backward", "Move backward"),
            ("switch", "Process switch"),
        ],
        compute="_compute_kind",
        store=True,
    )
    reason = fields.Text(required=True, tracking=True)
    state = fields.Selection(
        [
            ("pending", "Pending"),
            ("approved", "Approved"),
            ("rejected", "Rejected"),
            ("used", "Used"),
            ("expired", "Expired"),
        ],
        default="pending",
        required=True,
        index=True,
        tracking=True,
        readonly=True,
    )
    requested_by_id = fields.Many2one(
        "res.users", "Requested by", default=lambda self: self.env.user, readonly=True, index=True
    )
    approver_id = fields.Many2one("res.users", "Decided by", readonly=True, tracking=True)
    decision_date = fields.Datetime(readonly=True)
    decision_comment = fields.Text("Manager's Comment", readonly=True)
    valid_until = fields.Datetime(readonly=True, help="An approved exception not used by then expires.")
    used_date = fields.Datetime(readonly=True)
    waived_milestone_ids = fields.Many2many(
        "crm.stage.milestone",
        string="Waived Milestones",
        compute="_compute_waived_milestone_ids",
        help="Required milestones of this move that are not proven now: what approving waives.",
    )
    company_id = fields.Many2one(related="lead_id.company_id", store=True, index=True)
    team_id = fields.Many2one(related="lead_id.team_id", store=True, index=True)

    # Written by the actions and the gate only; the move is fixed once requested.
    _WORKFLOW_FIELDS = frozenset(
        {
            "state",
            "requested_by_id",
            "approver_id",
            "decision_date",
            "decision_comment",
            "valid_until",
            "used_date",
            "kind",
            "company_id",
            "team_id",
        }
    )
    _MOVE_FIELDS = ("lead_id", "from_stage_id", "to_stage_id")

    # The gate and the expiry job read both on every approved exception.
    _approved_decided = models.Constraint(
        "CHECK(state != 'approved' OR (approver_id IS NOT NULL AND valid_until IS NOT NULL))",
        "An approved exception names who approved it and until when it may be used.",
    )
    _lead_child_server_fields = frozenset({"company_id", "team_id", "pipeline_type_id", "kind"})

    @api.model
    def _lead_child_server_fnames(self):
        return super()._lead_child_server_fnames() | self._WORKFLOW_FIELDS

    # ------------------------------------------------------------
    # COMPUTE
    # ------------------------------------------------------------

    @api.depends("from_stage_id", "to_stage_id", "lead_id")
    def _compute_kind(self):
        Lead = self.env["crm.lead"]
        for exception in self:
            lead, src, dst = exception.lead_id, exception.from_stage_id, exception.to_stage_id
            if not (lead and src and dst):
                exception.kind = False
                continue
            if src.pipeline_type_id != dst.pipeline_type_id:
                exception.kind = "switch"
                continue
            sequence = Lead._stage_gate_sequence(dst.pipeline_type_id.id, lead.team_id.id, src.id, dst.id)
            offset = sequence.index(dst.id) - sequence.index(src.id)
            exception.kind = "backward" if offset < 0 else "skip" if offset > 1 else "missing_evidence"

    @api.depends("lead_id", "from_stage_id", "to_stage_id")
    def _compute_waived_milestone_ids(self):
        for exception in self:
            lead = exception.lead_id
            if not (lead and exception.to_stage_id) or exception.state not in ("pending", "approved"):
                exception.waived_milestone_ids = False
                continue
            # sudo: the approver sees what the move waives, whatever the reading rules of milestones.
            exception.waived_milestone_ids = lead.sudo()._stage_gate_unproven_on_the_way(
                exception.from_stage_id, exception.to_stage_id
            )

    @api.depends("lead_id", "to_stage_id")
    def _compute_display_name(self):
        for exception in self:
            exception.display_name = _(
                "%(lead)s: %(from)s → %(to)s",
                lead=exception.lead_id.name,
                **{"from": exception.from_stage_id.name},
                to=exception.to_stage_id.name,
            )

    # ------------------------------------------------------------
    # CONSTRAINTS
    # ------------------------------------------------------------

    @api.constrains("reason")
    def _check_reason(self):
        for exception in self:
            if not _has_words(exception.reason):
                raise ValidationError(_("An exception needs a reason."))

    @api.constrains("from_stage_id", "to_stage_id", "lead_id")
    def _check_stages(self):
        """A usable request names a move of its opportunity's process. A decided one is history:
        it keeps its stages when a merge moves it to another opportunity."""
        for exception in self.filtered(lambda exception: exception.state in ("pending", "approved")):
            lead = exception.lead_id
            if exception.from_stage_id == exception.to_stage_id:
                raise ValidationError(_("An exception must lead to another stage than the current one."))
            if exception.from_stage_id.pipeline_type_id != lead.pipeline_type_id:
                raise ValidationError(
                    _("An exception starts from a stage of the opportunity's own sales process.")
                )
            switch = exception.to_stage_id.pipeline_type_id != lead.pipeline_type_id
            if switch and not (exception.from_stage_id.is_won or exception.to_stage_id.is_won):
                raise ValidationError(
                    _(
                        'Exception for "%(lead)s": both stages must belong to its sales process "%(type)s". '
                        "To move it to another process, change its process: exceptions across processes are "
                        "for won deals only.",
                        lead=lead.name,
                        type=lead.pipeline_type_id.name,
                    )
                )

    # ------------------------------------------------------------
    # ORM
    # ------------------------------------------------------------

    @api.model_create_multi
    def create(self, vals_list):
        leads = self.env["crm.lead"]
        for vals in vals_list:
            self._check_workflow_keys(vals)
            if not _has_words(vals.get("reason")):
                raise ValidationError(_("An exception needs a reason."))
            if "lead_id" not in vals:
                # The default create would take (a context key, a personal default), checked alike.
                vals.update(self.default_get(["lead_id"]))
            if not isinstance(vals.get("lead_id"), int) or isinstance(vals.get("lead_id"), bool):
                raise ValidationError(_("An exception names the opportunity it is for."))
            leads |= leads.browse(vals["lead_id"])
        self._lead_child_check_leads(leads)
        for vals in vals_list:
            lead = leads.browse(vals["lead_id"])
            if not lead.stage_id:
                raise ValidationError(
                    _("An exception is for a move from the opportunity's stage: put it in a stage first.")
                )
            vals.setdefault("from_stage_id", lead.stage_id.id)
            if vals["from_stage_id"] != lead.stage_id.id:
                raise ValidationError(
                    _("An exception is requested for a move from the opportunity's current stage.")
                )
        exceptions = super().create(vals_list)
        exceptions._log_on_leads("requested")
        exceptions._schedule_approval_activities()
        return exceptions

    def write(self, vals):
        self._check_workflow_keys(vals)
        if self.env.su:
            return super().write(vals)
        self._lead_child_check_leads(self.lead_id)
        for fname in self._MOVE_FIELDS:
            if fname in vals and any(exception[fname].id != vals[fname] for exception in self):
                raise UserError(
                    _(
                        "The opportunity and the stages of an exception are fixed once requested: "
                        "request a new exception for another move."
                    )
                )
        if self.filtered(lambda e: e.state != "pending"):
            raise UserError(_("Only a pending exception request can be changed."))
        if self.filtered(lambda e: e.requested_by_id != self.env.user):
            raise AccessError(_("Only the person who requested an exception may change its reason."))
        return super().write(vals)

    @api.ondelete(at_uninstall=False)
    def _unlink_only_pending(self):
        if self.filtered(lambda e: e.state != "pending"):
            raise UserError(
                _("Decided and used exceptions are part of the audit trail: they cannot be deleted.")
            )

    def _check_workflow_keys(self, vals):
        if self._WORKFLOW_FIELDS & vals.keys() and not self.env.su:
            raise AccessError(
                _("An exception is approved, rejected, used or expired through its workflow only.")
            )

    # ------------------------------------------------------------
    # ACTIONS
    # ------------------------------------------------------------

    def action_approve(self, comment=None):
        self._decide("approved", comment)
        return True

    def action_reject(self, comment=None):
        self._decide("rejected", comment)
        return True

    def action_open_decision(self):
        """The decision dialog: approve or reject with a comment."""
        self.ensure_one()
        return {
            "type": "ir.actions.act_window",
            "name": _("Decide on the exception"),
            "res_model": "crm.stage.exception.decision",
            "view_mode": "form",
            "target": "new",
            "context": {
                "default_exception_id": self.id,
                "default_decision": self.env.context.get("decision", "approved"),
            },
        }

    def _decide(self, state, comment):
        if not self.env.user.has_group("sales_team.group_sale_manager"):
            raise AccessError(_("Only a sales manager can approve or reject an exception."))
        self.check_access("read")
        self.lead_id.check_access("read")
        comment = (comment or "").strip()
        if state == "rejected" and not _has_words(comment):
            raise UserError(_("Say why you reject the exception: the requester reads your comment."))
        for exception in self:
            if exception.state != "pending":
                raise UserError(
                    _(
                        'Exception "%(name)s" is %(state)s: only a pending request can be decided.',
                        name=exception.display_name,
                        state=dict(exception._fields["state"]._description_selection(self.env))[
                            exception.state
                        ].lower(),
                    )
                )
            if exception.requested_by_id == self.env.user:
                raise AccessError(
                    _(
                        'You requested exception "%(name)s": another sales manager must decide on it.',
                        name=exception.display_name,
                    )
                )
        now = fields.Datetime.now()
        for company, exceptions in self.grouped("company_id").items():
            # sudo: the workflow fields are written here only, after the checks above.
            exceptions.sudo().write(
                {
                    "state": state,
                    "approver_id": self.env.user.id,
                    "decision_date": now,
                    "decision_comment": comment or False,
                    "valid_until": now + timedelta(days=company._stage_exception_validity())
                    if state == "approved"
                    else False,
                }
            )
        self.activity_ids.action_done()
        self._log_on_leads(state)

    # ------------------------------------------------------------
    # BUSINESS
    # ------------------------------------------------------------

    def _mark_used(self):
        """Called by the gate for the moves it has just let through."""
        # sudo: the gate marks the exceptions it applied; users cannot write the workflow fields.
        self.sudo().write({"state": "used", "used_date": fields.Datetime.now()})
        self._log_on_leads("used")

    @api.model
    def _cron_expire(self):
        """Approved exceptions expire past their validity, or once the lead has left their from-stage.

        A scheduled action runs without a language, where Odoo's ``_()`` takes its user's and
        the stage names read in English: the chatter log is written in its user's, names included.
        """
        if not self.env.lang:
            return self.with_context(lang=self.env.user.lang or "en_US")._cron_expire()
        approved = self.search([("state", "=", "approved")])
        now = fields.Datetime.now()
        stale = approved.filtered(
            lambda e: e.valid_until < now
            or e.lead_id.stage_id != e.from_stage_id
            or e.lead_id.date_last_stage_update.replace(microsecond=0) > e.decision_date
        )
        # sudo: workflow fields are written by the server only.
        stale.sudo().write({"state": "expired"})
        stale._log_on_leads("expired")

    def _log_on_leads(self, step):
        """One chatter entry per exception on its opportunity; the requester is notified of decisions,
        in his language. A request records the milestones it waives."""
        user_name = self.env.user.name
        for exception in self.sudo():
            # sudo: the log is posted for the user's own action on an opportunity he may read.
            if step in ("approved", "rejected"):
                exception = exception.with_context(lang=exception.requested_by_id.lang or self.env.lang)
            env = exception.env
            text = {
                "requested": env._("Stage exception requested by %(user)s: %(move)s."),
                "approved": env._("Stage exception approved by %(user)s: %(move)s."),
                "rejected": env._("Stage exception rejected by %(user)s: %(move)s."),
                "used": env._("Stage exception used: %(move)s."),
                "expired": env._("Stage exception expired unused: %(move)s."),
            }[step]
            move = env._(
                "%(from)s → %(to)s", **{"from": exception.from_stage_id.name}, to=exception.to_stage_id.name
            )
            body = Markup("<p>%s</p>") % (text % {"user": user_name, "move": move})
            if step == "requested" and exception.waived_milestone_ids:
                body += Markup("<p>%s</p>") % env._(
                    "Milestones waived: %(milestones)s.",
                    milestones=join_list(env, exception.waived_milestone_ids.mapped("name")),
                )
            note = exception.reason if step == "requested" else exception.decision_comment
            if note and step in ("requested", "approved", "rejected"):
                body += Markup("<p>%s</p>") % note
            if step in ("approved", "rejected"):
                exception.lead_id.message_post(
                    body=body,
                    message_type="comment",
                    subtype_xmlid="mail.mt_note",
                    partner_ids=exception.requested_by_id.partner_id.ids,
                )
            else:
                exception.lead_id._message_log(body=body)

    def _schedule_approval_activities(self):
        """Ask a sales manager who may decide: the team leader if he is one, else another manager."""
        # sudo: the server picks who decides; the requester may not read the managers' other companies.
        managers = (
            self.env.ref("sales_team.group_sale_manager")
            .sudo()
            .all_user_ids.filtered(lambda user: not user.share)
        )
        for exception in self:
            deciders = managers.filtered(
                lambda user, exception=exception: user != exception.requested_by_id
                and exception.company_id.id in user.company_ids.ids
            )
            leader = exception.lead_id.team_id.user_id
            approver = leader if leader in deciders else deciders[:1]
            if approver:
                exception.activity_schedule(
                    "mail.mail_activity_data_todo",
                    # In the approver's language: the to-do is his.
                    summary=exception.with_context(lang=approver.lang or self.env.lang).env._(
                        "Approve or reject a stage exception"
                    ),
                    note=plaintext2html(exception.reason),
                    user_id=approver.id,
                )
