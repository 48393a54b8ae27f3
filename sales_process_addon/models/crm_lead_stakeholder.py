from odoo import api, fields, models
from odoo.exceptions import ValidationError


class CrmLeadStakeholder(models.Model):
    """A person of the customer's buying center: who they are, their role, their stance.

    Changes of people, roles, stances and influence are the warning signals of
    an opportunity: every create, change and removal logs an automatic signal.
    """

    _name = "crm.lead.stakeholder"
    _inherit = ["crm.lead.child.mixin", "crm.valid.selection.mixin"]
    _description = "Opportunity Stakeholder"
    _order = "lead_id.id, role_sequence, id"  # by id: grouped by opportunity, no join to sort
    _rec_name = "partner_id"

    lead_id = fields.Many2one("crm.lead", "Opportunity", required=True, index=True, ondelete="cascade")
    partner_id = fields.Many2one("res.partner", "Contact", required=True, index=True, ondelete="restrict")
    role_id = fields.Many2one("crm.stakeholder.role", required=True, index=True, ondelete="restrict")
    role_code = fields.Char(related="role_id.code")
    role_sequence = fields.Integer(related="role_id.sequence", store=True, precompute=True)
    stance = fields.Selection(
        [
            ("champion", "Champion"),
            ("supporter", "Supporter"),
            ("neutral", "Neutral"),
            ("opponent", "Opponent"),
        ],
        required=True,
        default="neutral",
        help="Their attitude towards us. A champion has the authority and the will to advocate for us.",
    )
    influence = fields.Selection(
        [("high", "High"), ("medium", "Medium"), ("low", "Low")],
        required=True,
        default="medium",
        help="The weight of their opinion in the decision.",
    )
    met = fields.Boolean(
        "Met in Person",
        compute="_compute_met",
        store=True,
        readonly=False,
        precompute=True,
        help="We have met this person. Set automatically with a meeting date.",
    )
    met_date = fields.Date(
        "Met On",
        help="When we met them. A decision maker with a meeting date proves the milestones "
        "that ask to meet the decision maker.",
    )
    concerns = fields.Text(help="What this person cares about, fears or expects from the project.")
    company_id = fields.Many2one(related="lead_id.company_id", store=True, index=True, precompute=True)

    # The friendly message comes from the check in create/write; this is the
    # guarantee under concurrency.
    _lead_partner_role_uniq = models.Constraint(
        "UNIQUE(lead_id, partner_id, role_id)",
        "A contact has each role only once in the buying center of an opportunity.",
    )

    _lead_child_server_fields = frozenset({"company_id", "role_sequence", "role_code"})
    # Changes logged as warning signals.
    _SIGNAL_FIELDS = frozenset({"partner_id", "role_id", "stance", "influence"})

    @api.depends("met_date")
    def _compute_met(self):
        for stakeholder in self:
            stakeholder.met = stakeholder.met or bool(stakeholder.met_date)

    @api.model
    def _contact_name(self, partner, lead):
        """How the buying center's texts name ``partner``: without the company when it is ``lead``'s
        customer, as the buying center list shows it."""
        customer = lead.partner_id.commercial_partner_id
        if customer and partner.commercial_partner_id == customer:
            return partner.with_context(partner_display_name_hide_company=True)._get_complete_name()
        return partner.display_name

    # ------------------------------------------------------------
    # CONSTRAINTS
    # ------------------------------------------------------------

    @api.constrains("partner_id", "lead_id", "company_id")
    def _check_partner_company(self):
        """The contact must be of the opportunity's company (or a parent of it), or shared; also
        once the opportunity moves to another company (``company_id`` follows it)."""
        for stakeholder in self:
            partner_company = stakeholder.partner_id.company_id
            lead_company = stakeholder.lead_id.company_id
            if partner_company and lead_company and partner_company not in lead_company.parent_ids:
                raise ValidationError(
                    self.env._(
                        '"%(contact)s" belongs to %(partner_company)s, but the opportunity "%(lead)s" '
                        "belongs to %(lead_company)s: pick a contact of %(lead_company)s or a shared one.",
                        contact=self._contact_name(stakeholder.partner_id, stakeholder.lead_id),
                        partner_company=partner_company.name,
                        lead=stakeholder.lead_id.name,
                        lead_company=lead_company.name,
                    )
                )

    @api.constrains("met_date")
    def _check_met_date(self):
        today = fields.Date.context_today(self)
        for stakeholder in self:
            if stakeholder.met_date and stakeholder.met_date > today:
                raise ValidationError(
                    self.env._(
                        "%(contact)s: the meeting date %(date)s is in the future. Record meetings that "
                        "took place; schedule the coming ones as activities or in the calendar.",
                        contact=self._contact_name(stakeholder.partner_id, stakeholder.lead_id),
                        date=stakeholder.met_date,
                    )
                )

    def _check_no_duplicates(self, triples):
        """Refuse a (lead, contact, role) given twice, before the database does.

        ``triples``: list of (lead id, partner id, role id) to be stored, for
        the records in ``self`` (being written) or new ones.
        """
        seen, duplicates = set(), []
        for triple in triples:
            if triple in seen:
                duplicates.append(triple)
            seen.add(triple)
        if seen:
            # sudo: a duplicate must be reported whoever can see the existing line.
            existing = self.sudo().search_fetch(
                [
                    ("lead_id", "in", list({lead for lead, _partner, _role in seen})),
                    ("partner_id", "in", list({partner for _lead, partner, _role in seen})),
                    ("role_id", "in", list({role for _lead, _partner, role in seen})),
                    ("id", "not in", self.ids),
                ],
                ["lead_id", "partner_id", "role_id"],
            )
            stored = {(rec.lead_id.id, rec.partner_id.id, rec.role_id.id) for rec in existing}
            duplicates += [triple for triple in seen if triple in stored]
        if duplicates:
            lead_id, partner_id, role_id = duplicates[0]
            raise ValidationError(
                self.env._(
                    '%(contact)s is already in the buying center of "%(lead)s" as %(role)s. '
                    "Change the existing line instead; nothing was saved.",
                    # The user may write the lead and read the contact: checked before.
                    contact=self._contact_name(
                        self.env["res.partner"].browse(partner_id), self.env["crm.lead"].browse(lead_id)
                    ),
                    lead=self.env["crm.lead"].browse(lead_id).name,
                    role=self.env["crm.stakeholder.role"].browse(role_id).name,
                )
            )

    # ------------------------------------------------------------
    # ORM
    # ------------------------------------------------------------

    @api.model
    def _lead_child_before_create(self, vals_list):
        self._check_partner_visible({vals["partner_id"] for vals in vals_list if vals.get("partner_id")})
        self._check_no_duplicates(
            [
                (vals["lead_id"], vals["partner_id"], vals["role_id"])
                for vals in vals_list
                if vals.get("lead_id") and vals.get("partner_id") and vals.get("role_id")
            ]
        )

    def _lead_child_before_write(self, vals):
        if vals.get("partner_id"):
            self._check_partner_visible({vals["partner_id"]})
        if {"lead_id", "partner_id", "role_id"} & vals.keys():
            self._check_no_duplicates(
                [
                    (
                        vals.get("lead_id", stakeholder.lead_id.id),
                        vals.get("partner_id", stakeholder.partner_id.id),
                        vals.get("role_id", stakeholder.role_id.id),
                    )
                    for stakeholder in self
                ]
            )

    @api.model_create_multi
    def create(self, vals_list):
        stakeholders = super().create(vals_list)
        stance_of = dict(self._fields["stance"]._description_selection(self.env))
        influence_of = dict(self._fields["influence"]._description_selection(self.env))
        self.env["crm.lead.signal"]._create_automatic(
            [
                {
                    "lead_id": stakeholder.lead_id.id,
                    "partner_id": stakeholder.partner_id.id,
                    "category": "people",
                    "description": self.env._(
                        "%(contact)s joined the buying center as %(role)s (%(stance)s, %(influence)s influence).",
                        contact=self._contact_name(stakeholder.partner_id, stakeholder.lead_id),
                        role=stakeholder.role_id.name,
                        stance=stance_of[stakeholder.stance],
                        influence=influence_of[stakeholder.influence],
                    ),
                }
                for stakeholder in stakeholders
            ]
        )
        return stakeholders

    def write(self, vals):
        """Log every change of person, role, stance or influence as a warning signal."""
        if not self._SIGNAL_FIELDS & vals.keys():
            return super().write(vals)
        before = {
            stakeholder.id: (
                stakeholder.partner_id,
                stakeholder.role_id,
                stakeholder.stance,
                stakeholder.influence,
            )
            for stakeholder in self
        }
        result = super().write(vals)
        self.env["crm.lead.signal"]._create_automatic(self._change_signal_values(before))
        return result

    def unlink(self):
        signals = [
            {
                "lead_id": stakeholder.lead_id.id,
                "partner_id": stakeholder.partner_id.id,
                "category": "people",
                "description": self.env._(
                    "%(contact)s (%(role)s) left the buying center.",
                    contact=self._contact_name(stakeholder.partner_id, stakeholder.lead_id),
                    role=stakeholder.role_id.name,
                ),
            }
            for stakeholder in self
        ]
        result = super().unlink()
        self.env["crm.lead.signal"]._create_automatic(signals)
        return result

    # ------------------------------------------------------------
    # BUSINESS
    # ------------------------------------------------------------

    def _fact_description(self, fact):
        """How this stakeholder proves ``fact`` (``coach_secured`` or ``decision_maker_met``), as the
        stage history records it."""
        self.ensure_one()
        if fact == "coach_secured":
            stance_of = dict(self._fields["stance"]._description_selection(self.env))
            return self.env._(
                "coach secured: %(contact)s (%(stance)s)",
                contact=self._contact_name(self.partner_id, self.lead_id),
                stance=stance_of[self.stance],
            )
        return self.env._(
            "decision maker met: %(contact)s on %(date)s",
            contact=self._contact_name(self.partner_id, self.lead_id),
            date=self.met_date,
        )

    def _change_signal_values(self, before):
        """Signal values for what changed since ``before`` ({id: (partner, role, stance, influence)})."""
        stance_of = dict(self._fields["stance"]._description_selection(self.env))
        influence_of = dict(self._fields["influence"]._description_selection(self.env))
        vals_list = []
        for stakeholder in self:
            partner, role, stance, influence = before[stakeholder.id]
            contact = self._contact_name(stakeholder.partner_id, stakeholder.lead_id)
            changes = []
            if partner != stakeholder.partner_id:
                changes.append(
                    (
                        "people",
                        self.env._(
                            "%(old)s was replaced by %(new)s as %(role)s.",
                            old=self._contact_name(partner, stakeholder.lead_id),
                            new=contact,
                            role=stakeholder.role_id.name,
                        ),
                    )
                )
            if role != stakeholder.role_id:
                changes.append(
                    (
                        "role",
                        self.env._(
                            "%(contact)s: role changed from %(old)s to %(new)s.",
                            contact=contact,
                            old=role.name,
                            new=stakeholder.role_id.name,
                        ),
                    )
                )
            if stance != stakeholder.stance:
                changes.append(
                    (
                        "role",
                        self.env._(
                            "%(contact)s: stance changed from %(old)s to %(new)s.",
                            contact=contact,
                            old=stance_of[stance],
                            new=stance_of[stakeholder.stance],
                        ),
                    )
                )
            if influence != stakeholder.influence:
                changes.append(
                    (
                        "role",
                        self.env._(
                            "%(contact)s: influence changed from %(old)s to %(new)s.",
                            contact=contact,
                            old=influence_of[influence],
                            new=influence_of[stakeholder.influence],
                        ),
                    )
                )
            vals_list += [
                {
                    "lead_id": stakeholder.lead_id.id,
                    "partner_id": stakeholder.partner_id.id,
                    "category": category,
                    "description": description,
                }
                for category, description in changes
            ]
        return vals_list
