from markupsafe import Markup

from odoo import _, api, fields, models
from odoo.exceptions import AccessError, UserError, ValidationError

from ..tools import join_list


class CrmLeadEvidence(models.Model):
    """Verifiable proof that an opportunity met a milestone.

    Part of the audit trail: evidence that is verified, or that proved a
    recorded move (``crm.lead.stage.history.evidence_ids``), is never changed
    nor deleted through the API; it is withdrawn with a reason instead, and
    then no longer counts (archived, kept).
    """

    _name = "crm.lead.evidence"
    _inherit = ["crm.lead.child.mixin"]
    _description = "Milestone Evidence"
    _order = "date desc, id desc"
    _rec_name = "summary"

    lead_id = fields.Many2one("crm.lead", "Opportunity", required=True, index=True, ondelete="cascade")
    milestone_id = fields.Many2one("crm.stage.milestone", required=True, index=True, ondelete="restrict")
    stage_id = fields.Many2one(related="milestone_id.stage_id", store=True, index=True, precompute=True)
    kind_id = fields.Many2one(
        "crm.evidence.kind",
        required=True,
        ondelete="restrict",
        compute="_compute_kind_id",
        store=True,
        readonly=False,
        precompute=True,
    )
    date = fields.Date(required=True, default=fields.Date.context_today)
    summary = fields.Text(required=True)
    customer_partner_id = fields.Many2one(
        "res.partner",
        "Produced by (Customer)",
        compute="_compute_customer_partner_id",
        store=True,
        readonly=False,
        precompute=True,
        help="The customer contact whose action this is.",
    )
    internal_user_id = fields.Many2one("res.users", "Produced by (Us)")
    customer_led = fields.Boolean(compute="_compute_customer_led", store=True, precompute=True)
    message_id = fields.Many2one("mail.message", ondelete="set null")
    attachment_ids = fields.Many2many("ir.attachment", string="Documents")
    calendar_event_id = fields.Many2one("calendar.event", ondelete="set null")
    amount = fields.Monetary(currency_field="currency_id", help="A recorded value, e.g. the budget shared.")
    currency_id = fields.Many2one(related="lead_id.company_currency")
    company_id = fields.Many2one(related="lead_id.company_id", store=True, index=True, precompute=True)
    recorded_by_id = fields.Many2one("res.users", default=lambda self: self.env.user, readonly=True)
    needs_verification = fields.Boolean(related="milestone_id.needs_verification")
    verified_by_id = fields.Many2one("res.users", readonly=True)
    verified_date = fields.Datetime(readonly=True)
    is_valid = fields.Boolean(
        "Counts",
        compute="_compute_is_valid",
        store=True,
        precompute=True,
        help="Whether the gate counts this evidence: verified, or no verification needed, and not withdrawn.",
    )
    # Withdrawn evidence is archived: it stays in the audit trail and no longer counts.
    active = fields.Boolean(default=True, readonly=True)
    withdrawal_reason = fields.Text(readonly=True)
    withdrawn_by_id = fields.Many2one("res.users", readonly=True)
    withdrawn_date = fields.Datetime(readonly=True)

    # UI only: the evidence form restricts the kind to the milestone's accepted kinds.
    milestone_kind_ids = fields.Many2many(related="milestone_id.evidence_kind_ids", string="Accepted Kinds")
    # UI only: the evidence form restricts the milestone to these stages.
    lead_evidence_stage_ids = fields.Many2many(
        "crm.stage", string="Stages to Prove", compute="_compute_lead_evidence_stage_ids"
    )

    # Derived by the server, or written by action_verify and action_withdraw only.
    _lead_child_server_fields = frozenset(
        {
            "company_id",
            "stage_id",
            "currency_id",
            "needs_verification",
            "customer_led",
            "is_valid",
            "recorded_by_id",
            "verified_by_id",
            "verified_date",
            "active",
            "withdrawal_reason",
            "withdrawn_by_id",
            "withdrawn_date",
            "lead_evidence_stage_ids",
        }
    )

    @api.depends("milestone_id")
    def _compute_kind_id(self):
        """Default: the milestone's only accepted kind; a kind it does not accept is cleared."""
        for evidence in self:
            accepted = evidence.milestone_id.evidence_kind_ids
            if len(accepted) == 1:
                evidence.kind_id = accepted
            elif accepted and evidence.kind_id not in accepted:
                evidence.kind_id = False

    @api.depends("milestone_id", "lead_id")
    def _compute_customer_partner_id(self):
        """Default for a customer-led milestone: the opportunity's contact person.

        The opportunity's customer when it is a person, else that company's only
        contact; nothing when that is ambiguous.
        """
        for evidence in self:
            if evidence.customer_partner_id or not evidence.milestone_id.customer_led:
                continue
            customer = evidence.lead_id.partner_id
            if customer.is_company:
                contacts = customer.child_ids.filtered(lambda p: p.type == "contact" and not p.is_company)
                customer = contacts if len(contacts) == 1 else customer.browse()
            evidence.customer_partner_id = customer

    @api.depends("customer_partner_id")
    def _compute_customer_led(self):
        for evidence in self:
            evidence.customer_led = bool(evidence.customer_partner_id)

    @api.depends("lead_id.stage_id")
    def _compute_lead_evidence_stage_ids(self):
        for evidence in self:
            lead = evidence.lead_id
            evidence.lead_evidence_stage_ids = lead._evidence_stages() if lead else False

    @api.depends("milestone_id.needs_verification", "verified_date", "active")
    def _compute_is_valid(self):
        for evidence in self:
            evidence.is_valid = evidence.active and bool(
                evidence.verified_date or not evidence.milestone_id.needs_verification
            )

    # ------------------------------------------------------------
    # CONSTRAINTS
    # ------------------------------------------------------------

    # Not on lead_id: evidence changes opportunity only in a merge, where it keeps its stage.
    @api.constrains("milestone_id")
    def _check_milestone_of_lead_stage(self):
        # The stages before a move saved with these lines (see ``crm.lead.write``).
        stages_before = self.env.cr.cache.get(self.env["crm.lead"]._STAGES_BEFORE_MOVE, {})
        for evidence in self:
            lead, stage = evidence.lead_id, evidence.milestone_id.stage_id
            current = lead.stage_id
            allowed = lead._evidence_stages()
            if lead.id in stages_before:
                # Refused, the move is not saved: the lead stays where it was.
                current = lead.stage_id.browse(stages_before[lead.id])
                allowed |= lead._evidence_stages(current)
            if stage not in allowed:
                raise ValidationError(
                    _(
                        'Evidence for "%(lead)s": milestone "%(milestone)s" belongs to stage "%(stage)s" '
                        '(%(type)s), but the opportunity is in stage "%(current)s" (%(lead_type)s). '
                        "Record evidence for the milestones of its current stage.",
                        lead=lead.name,
                        milestone=evidence.milestone_id.name,
                        stage=stage.name,
                        type=stage.pipeline_type_id.name,
                        current=current.name,
                        lead_type=lead.pipeline_type_id.name,
                    )
                )

    @api.constrains("milestone_id", "customer_partner_id", "internal_user_id", "kind_id", "date", "summary")
    def _check_evidence(self):
        """Every problem of the evidence at once, so that one save reports them all."""
        today = fields.Date.context_today(self)
        for evidence in self:
            milestone, problems = evidence.milestone_id, []
            summary = (evidence.summary or "").strip()
            if not summary:
                problems.append(_("Evidence needs a summary of what happened."))
            if not evidence.customer_partner_id and not evidence.internal_user_id:
                problems.append(
                    _(
                        'Evidence "%(summary)s": say who produced it, a customer contact or one of our users.',
                        summary=summary,
                    )
                )
            if milestone.customer_led and not evidence.customer_partner_id:
                problems.append(
                    _(
                        'Milestone "%(milestone)s" must be proven by the customer: '
                        "set the customer contact who produced the evidence.",
                        milestone=milestone.name,
                    )
                )
            if milestone.evidence_kind_ids and evidence.kind_id not in milestone.evidence_kind_ids:
                problems.append(
                    _(
                        'Milestone "%(milestone)s" accepts %(kinds)s as evidence, not "%(kind)s".',
                        milestone=milestone.name,
                        kinds=join_list(self.env, milestone.evidence_kind_ids.mapped("name")),
                        kind=evidence.kind_id.name,
                    )
                )
            if evidence.date > today:
                problems.append(
                    _(
                        'Evidence "%(summary)s" is dated %(date)s, in the future: evidence records what happened.',
                        summary=summary,
                        date=evidence.date,
                    )
                )
            if problems:
                raise ValidationError("\n".join(problems))

    @api.constrains("customer_partner_id", "internal_user_id")
    def _check_producer_side(self):
        """The customer contact is of the opportunity's customer; our user is one of ours."""
        customers = self.filtered("customer_partner_id")
        # sudo: only whether a contact is an internal user's counts; the contact is
        # checked readable by the user before (see _lead_child_before_create).
        internal_partners = (
            self.env["res.users"]
            .sudo()
            .search([("partner_id", "in", customers.customer_partner_id.ids), ("share", "=", False)])
            .partner_id
        )
        for evidence in customers:
            contact, customer = (
                evidence.customer_partner_id,
                evidence.lead_id.partner_id.commercial_partner_id,
            )
            if contact in internal_partners or not customer or contact.commercial_partner_id != customer:
                raise ValidationError(
                    _(
                        'Evidence "%(summary)s": %(contact)s is not a contact of the customer of '
                        '"%(lead)s". Customer evidence is produced by the customer or one of its '
                        "contacts; set the customer on the opportunity, or record what one of our "
                        "users did.",
                        summary=evidence.summary,
                        contact=contact.display_name,
                        lead=evidence.lead_id.name,
                    )
                )
        for evidence in self.filtered("internal_user_id"):
            if evidence.internal_user_id.share:
                raise ValidationError(
                    _(
                        'Evidence "%(summary)s": %(user)s is not one of our users; a customer\'s '
                        "action is recorded with the customer contact.",
                        summary=evidence.summary,
                        user=evidence.internal_user_id.name,
                    )
                )

    @api.constrains("message_id", "calendar_event_id")
    def _check_proof_of_lead(self):
        """A linked message or meeting is one of the opportunity's own."""
        for evidence in self:
            lead, message, meeting = evidence.lead_id, evidence.message_id, evidence.calendar_event_id
            if message and (message.model != "crm.lead" or message.res_id != lead.id):
                raise ValidationError(
                    _(
                        'Evidence "%(summary)s": message #%(message)s is not a message of "%(lead)s".',
                        summary=evidence.summary,
                        message=message.id,
                        lead=lead.name,
                    )
                )
            if meeting and meeting.opportunity_id != lead:
                raise ValidationError(
                    _(
                        'Evidence "%(summary)s": meeting #%(meeting)s is not a meeting of "%(lead)s".',
                        summary=evidence.summary,
                        meeting=meeting.id,
                        lead=lead.name,
                    )
                )

    # ------------------------------------------------------------
    # ORM
    # ------------------------------------------------------------

    @api.model_create_multi
    def create(self, vals_list):
        records = super().create(vals_list)
        # Customer-led evidence is an interaction: the relationship and risk follow it.
        records.lead_id._indicators_refresh()
        return records

    @api.model
    def _lead_child_before_create(self, vals_list):
        if not all(vals.get("milestone_id") for vals in vals_list):
            raise ValidationError(_("Evidence must name the milestone it proves."))
        self._check_linked_records_readable(vals_list)

    def _lead_child_before_write(self, vals):
        # An empty write changes nothing (a form saving a line it only displayed): nothing to refuse.
        if self.env.su or not vals:
            return
        self._check_linked_records_readable([vals])
        locked = self._audit_locked()
        if locked:
            raise AccessError(
                _(
                    'Evidence "%(summary)s" %(why)s and can no longer be changed; withdraw it with a '
                    "reason instead. Nothing was saved.",
                    summary=locked[0].summary,
                    why=locked._audit_locked_reason(),
                )
            )

    @api.ondelete(at_uninstall=False)
    def _unlink_except_audit_trail(self):
        """Users delete only unverified evidence that proved no move, their own (managers: any)."""
        if not self.env.su:
            locked = self._audit_locked()
            if locked:
                raise AccessError(
                    _(
                        'Evidence "%(summary)s" %(why)s: it stays in the audit trail. Withdraw it with '
                        "a reason instead. Nothing was deleted.",
                        summary=locked[0].summary,
                        why=locked._audit_locked_reason(),
                    )
                )
            if not self.env.user.has_group("sales_team.group_sale_manager"):
                others = self.filtered(lambda evidence: evidence.recorded_by_id != self.env.user)
                if others:
                    raise AccessError(
                        _(
                            'Evidence "%(summary)s" was recorded by %(user)s: only they or a sales manager '
                            "can delete it. Nothing was deleted.",
                            summary=others[0].summary,
                            user=others[0].recorded_by_id.name,
                        )
                    )

    @api.model
    def _check_linked_records_readable(self, vals_list):
        """Refuse linked records the user may not read (their names would show on the evidence).

        One check per linked model for the whole batch.
        """
        linked = {
            "res.partner": [vals.get("customer_partner_id") for vals in vals_list],
            "res.users": [vals.get("internal_user_id") for vals in vals_list],
            "mail.message": [vals.get("message_id") for vals in vals_list],
            "calendar.event": [vals.get("calendar_event_id") for vals in vals_list],
            "ir.attachment": [
                rid for vals in vals_list for rid in self._command_ids(vals.get("attachment_ids"))
            ],
        }
        for model, ids in linked.items():
            ids = list({record_id for record_id in ids if record_id})
            if not ids:
                continue
            if not all(isinstance(record_id, int) for record_id in ids):
                raise ValidationError(_("Evidence: %(ids)s are not record ids. Nothing was saved.", ids=ids))
            records = self.env[model].browse(ids)
            hidden = records - records.exists()._filtered_access("read")
            if hidden:
                raise ValidationError(
                    _(
                        "Evidence: %(model)s #%(ids)s does not exist or is not visible to you. "
                        "Nothing was saved.",
                        model=self.env["ir.model"]._get(model).name,
                        ids=", #".join(str(record_id) for record_id in hidden.ids),
                    )
                )

    @api.model
    def _command_ids(self, commands):
        """Ids a many2many value links: a list of ids or of link/set commands."""
        ids = []
        for command in commands or []:
            if isinstance(command, int):
                ids.append(command)
            elif isinstance(command, list | tuple) and command and command[0] == 4:
                ids.append(command[1])
            elif isinstance(command, list | tuple) and command and command[0] == 6:
                ids += list(command[2] or [])
        return ids

    def _audit_locked(self):
        """The evidence among these that is part of the audit trail: verified, withdrawn or used by a move."""
        # sudo: which evidence proved a recorded move decides what may change, whoever asks;
        # nothing of the history is shown.
        used = (
            self.env["crm.lead.stage.history"].sudo().search([("evidence_ids", "in", self.ids)]).evidence_ids
        )
        return self.filtered(
            lambda evidence: evidence.verified_date or not evidence.active or evidence.id in used.ids
        )

    def _audit_locked_reason(self):
        evidence = self[:1]
        if not evidence.active:
            return _("was withdrawn")
        if evidence.verified_date:
            return _("was verified by %(user)s", user=evidence.verified_by_id.name)
        return _("proved a recorded stage move")

    # ------------------------------------------------------------
    # ACTIONS
    # ------------------------------------------------------------

    def action_verify(self):
        """A sales manager other than the recorder verifies evidence she may change."""
        if not self.env.user.has_group("sales_team.group_sale_manager"):
            raise AccessError(_("Only a sales manager can verify evidence."))
        self.check_access("write")
        self._lead_child_check_leads(self.lead_id)
        own = self.filtered(lambda evidence: evidence.recorded_by_id == self.env.user)
        if own:
            # A rule of the process, not of access: the views hide the button from the recorder.
            raise UserError(
                _(
                    'You recorded the evidence "%(summary)s": another sales manager verifies it.',
                    summary=own[0].summary,
                )
            )
        withdrawn = self.filtered(lambda evidence: not evidence.active)
        if withdrawn:
            raise UserError(
                _(
                    'Evidence "%(summary)s" was withdrawn and cannot be verified.',
                    summary=withdrawn[0].summary,
                )
            )
        # sudo: the verification fields are written here only, after the checks above.
        self.filtered(lambda evidence: not evidence.verified_date).sudo().write(
            {"verified_by_id": self.env.user.id, "verified_date": fields.Datetime.now()}
        )
        return True

    def action_withdraw(self, reason):
        """Withdraw evidence with a reason: kept in the audit trail, it no longer counts.

        Anyone who may change the opportunity may withdraw its evidence: it only
        takes proof away. Moves already made keep their history.
        """
        reason = (reason or "").strip() if isinstance(reason, str) else ""
        if not reason:
            raise ValidationError(_("Say why the evidence is withdrawn."))
        self.check_access("write")
        self._lead_child_check_leads(self.lead_id)
        withdrawn = self.filtered(lambda evidence: not evidence.active)
        if withdrawn:
            raise UserError(_('Evidence "%(summary)s" is already withdrawn.', summary=withdrawn[0].summary))
        # sudo: the withdrawal fields are written here only, after the checks above.
        self.sudo().write(
            {
                "active": False,
                "withdrawal_reason": reason,
                "withdrawn_by_id": self.env.user.id,
                "withdrawn_date": fields.Datetime.now(),
            }
        )
        for evidence in self:
            evidence.lead_id._message_log(
                body=Markup("<p>%s</p>")
                # In the environment's language, like the milestone's name it quotes.
                % self.env._(
                    'Evidence "%(summary)s" (%(milestone)s) withdrawn: %(reason)s',
                    summary=evidence.summary,
                    milestone=evidence.milestone_id.name,
                    reason=reason,
                )
            )
        return True
