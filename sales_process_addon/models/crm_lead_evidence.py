from odoo import _, api, fields, models
from odoo.exceptions import AccessError, ValidationError


class CrmLeadEvidence(models.Model):
    """Verifiable proof that an opportunity met a milestone."""

    _name = "crm.lead.evidence"
    _description = "Milestone Evidence"
    _order = "date desc, id desc"
    _rec_name = "summary"

    lead_id = fields.Many2one("crm.lead", "Opportunity", required=True, index=True, ondelete="cascade")
    milestone_id = fields.Many2one("crm.stage.milestone", required=True, index=True, ondelete="restrict")
    stage_id = fields.Many2one(related="milestone_id.stage_id", store=True, index=True)
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
    customer_led = fields.Boolean(compute="_compute_customer_led", store=True)
    message_id = fields.Many2one("mail.message", ondelete="set null")
    attachment_ids = fields.Many2many("ir.attachment", string="Documents")
    calendar_event_id = fields.Many2one("calendar.event", "Meeting", ondelete="set null")
    amount = fields.Monetary(currency_field="currency_id", help="A recorded value, e.g. the budget shared.")
    currency_id = fields.Many2one(related="lead_id.company_currency")
    company_id = fields.Many2one(related="lead_id.company_id", store=True, index=True)
    recorded_by_id = fields.Many2one("res.users", default=lambda self: self.env.user, readonly=True)
    needs_verification = fields.Boolean(related="milestone_id.needs_verification")
    verified_by_id = fields.Many2one("res.users", readonly=True)
    verified_date = fields.Datetime(readonly=True)
    is_valid = fields.Boolean(
        "Counts",
        compute="_compute_is_valid",
        store=True,
        help="Whether the gate counts this evidence: verified, or no verification needed.",
    )

    # UI only: the evidence form restricts the kind to the milestone's accepted kinds.
    milestone_kind_ids = fields.Many2many(related="milestone_id.evidence_kind_ids", string="Accepted Kinds")
    # UI only: the evidence form restricts the milestone to these stages.
    lead_evidence_stage_ids = fields.Many2many(
        "crm.stage", string="Stages to Prove", compute="_compute_lead_evidence_stage_ids"
    )

    # Written by action_verify only.
    _VERIFICATION_FIELDS = frozenset({"verified_by_id", "verified_date"})

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

    @api.depends("milestone_id.needs_verification", "verified_date")
    def _compute_is_valid(self):
        for evidence in self:
            evidence.is_valid = bool(evidence.verified_date or not evidence.milestone_id.needs_verification)

    # ------------------------------------------------------------
    # CONSTRAINTS
    # ------------------------------------------------------------

    @api.constrains("milestone_id", "lead_id")
    def _check_milestone_of_lead_stage(self):
        for evidence in self:
            lead, stage = evidence.lead_id, evidence.milestone_id.stage_id
            if stage not in lead._evidence_stages():
                raise ValidationError(
                    _(
                        'Evidence for "%(lead)s": milestone "%(milestone)s" belongs to stage "%(stage)s" '
                        '(%(type)s), but the opportunity is in stage "%(current)s" (%(lead_type)s). '
                        "Record evidence for the milestones of its current stage.",
                        lead=lead.name,
                        milestone=evidence.milestone_id.name,
                        stage=stage.name,
                        type=stage.pipeline_type_id.name,
                        current=lead.stage_id.name,
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
                        kinds=", ".join(milestone.evidence_kind_ids.mapped("name")),
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

    # ------------------------------------------------------------
    # ORM
    # ------------------------------------------------------------

    @api.model_create_multi
    def create(self, vals_list):
        for vals in vals_list:
            self._check_verification_keys(vals)
            if not vals.get("milestone_id"):
                raise ValidationError(_("Evidence must name the milestone it proves."))
        records = super().create(vals_list)
        # Customer-led evidence is an interaction: the relationship and risk follow it.
        records.lead_id._indicators_refresh()
        return records

    def write(self, vals):
        self._check_verification_keys(vals)
        if not self.env.su:
            verified = self.filtered("verified_date")
            if verified and not self.env.user.has_group("sales_team.group_sale_manager"):
                raise AccessError(
                    _(
                        'Evidence "%(summary)s" was verified by %(user)s and can no longer be changed.',
                        summary=verified[0].summary,
                        user=verified[0].verified_by_id.name,
                    )
                )
        return super().write(vals)

    def _check_verification_keys(self, vals):
        if self._VERIFICATION_FIELDS & vals.keys() and not self.env.su:
            raise AccessError(_("Evidence is verified with the Verify button, by a sales manager."))

    # ------------------------------------------------------------
    # ACTIONS
    # ------------------------------------------------------------

    def action_verify(self):
        if not self.env.user.has_group("sales_team.group_sale_manager"):
            raise AccessError(_("Only a sales manager can verify evidence."))
        # sudo: the verification fields are written here only, after the group check.
        self.sudo().write({"verified_by_id": self.env.user.id, "verified_date": fields.Datetime.now()})
        return True
