from odoo import _, api, fields, models
from odoo.exceptions import ValidationError

from ..tools import join_list


class CrmLeadEvidenceEntry(models.AbstractModel):
    """Evidence recorded in place: the move dialog's and the form checklist's compact entry.

    ``crm.lead`` inherits it. The entry asks only what the milestone needs;
    ``record_milestone_evidence`` checks the whole entry at once and reports
    every problem together, then the evidence model's own checks run on create.
    """

    _name = "crm.lead.evidence.entry"
    _description = "Opportunity Inline Evidence Entry"

    # What the compact entry may give; the rest of an evidence is the server's.
    _evidence_entry_fields = frozenset(
        {"kind_id", "date", "summary", "customer_partner_id", "internal_user_id", "amount", "attachment_ids"}
    )

    # ------------------------------------------------------------
    # BUSINESS
    # ------------------------------------------------------------

    @api.readonly
    def evidence_entry_defaults(self, milestone_ids):
        """What the compact entry of each milestone offers and prefills.

        Returns ``{"today", "user", "customer", "milestones": {milestone id:
        {"id", "name", "description", "customer_led", "needs_verification",
        "kinds": [{"id", "name", "code"}], "kind_id", "customer_partner"}}}``.
        The prefilled kind and contact are the evidence model's own defaults:
        the milestone's only accepted kind, the opportunity's contact person for
        a customer-led milestone. ``customer`` is the customer company whose
        contacts may produce customer evidence.
        """
        self.ensure_one()
        self.check_access("read")
        milestones = self.env["crm.stage.milestone"].browse(milestone_ids).exists()
        any_kind = self.env["crm.evidence.kind"].search([])
        Evidence = self.env["crm.lead.evidence"]
        # The customer's person by name, as the buying center names them: with "<customer>, "
        # first, a phone's narrow field showed the customer and cut the person's name.
        contact_name = self.env["crm.lead.stakeholder"]._contact_name
        result = {}
        for milestone in milestones:
            draft = Evidence.new({"lead_id": self.id, "milestone_id": milestone.id})
            contact = draft.customer_partner_id
            result[milestone.id] = {
                "id": milestone.id,
                "name": milestone.name,
                "description": milestone.description or "",
                "customer_led": milestone.customer_led,
                "needs_verification": milestone.needs_verification,
                "kinds": [
                    {"id": kind.id, "name": kind.name, "code": kind.code}
                    for kind in milestone.evidence_kind_ids or any_kind
                ],
                "kind_id": draft.kind_id.id,
                "customer_partner": {"id": contact.id, "name": contact_name(contact, self)}
                if contact
                else False,
            }
        customer = self.partner_id.commercial_partner_id
        return {
            "today": fields.Date.to_string(fields.Date.context_today(self)),
            "user": {"id": self.env.user.id, "name": self.env.user.name},
            "customer": {"id": customer.id, "name": customer.display_name} if customer else False,
            "milestones": result,
        }

    def record_milestone_evidence(self, milestone_id, values):
        """Record evidence that this opportunity met ``milestone_id``, from the compact entry.

        ``values``: ``kind_id``, ``date`` (default today), ``summary``,
        ``customer_partner_id`` or ``internal_user_id``, and optionally
        ``amount`` and ``attachment_ids`` (ids). Every problem is reported at
        once in one ``ValidationError`` and nothing is saved. Returns the new
        evidence's id.
        """
        self.ensure_one()
        self.check_access("write")
        if not isinstance(values, dict):
            raise ValidationError(_("The evidence entry must be a set of named values. Nothing was saved."))
        milestone = self._evidence_entry_milestone(milestone_id)
        problems = self._evidence_entry_problems(milestone, values)
        if problems:
            raise ValidationError(
                "\n".join(
                    [
                        _(
                            'The evidence for "%(milestone)s" was not saved:',
                            milestone=milestone.name or _("no milestone"),
                        ),
                        *(f"• {problem}" for problem in problems),
                    ]
                )
            )
        vals = {
            "lead_id": self.id,
            "milestone_id": milestone.id,
            "kind_id": values["kind_id"],
            "date": values.get("date") or fields.Date.context_today(self),
            "summary": values["summary"].strip(),
            "customer_partner_id": values.get("customer_partner_id") or False,
            "internal_user_id": values.get("internal_user_id") or False,
        }
        if values.get("amount"):
            vals["amount"] = values["amount"]
        if values.get("attachment_ids"):
            vals["attachment_ids"] = [fields.Command.set(values["attachment_ids"])]
        return self.env["crm.lead.evidence"].create(vals).id

    def _evidence_entry_milestone(self, milestone_id):
        """The milestone named by the entry, or an empty recordset."""
        Milestone = self.env["crm.stage.milestone"]
        if not self._evidence_entry_is_id(milestone_id):
            return Milestone
        return Milestone.browse(milestone_id).exists()

    @api.model
    def _evidence_entry_is_id(self, value):
        return isinstance(value, int) and not isinstance(value, bool) and value > 0

    def _evidence_entry_problems(self, milestone, values):
        """Every problem of one compact entry, in the order of its fields."""
        problems = []
        unknown = sorted(set(values) - self._evidence_entry_fields)
        if unknown:
            problems.append(
                _("These values cannot be given with evidence: %(fields)s.", fields=", ".join(unknown))
            )
        if not milestone:
            problems.append(_("Say which milestone the evidence proves."))
        elif milestone.stage_id not in self._evidence_stages():
            problems.append(
                _(
                    'Milestone "%(milestone)s" belongs to stage "%(stage)s"; "%(lead)s" is in stage '
                    '"%(current)s": record evidence for the milestones of its current stage.',
                    milestone=milestone.name,
                    stage=milestone.stage_id.name,
                    lead=self.name,
                    current=self.stage_id.name,
                )
            )
        problems += self._evidence_entry_kind_problems(milestone, values.get("kind_id"))
        problems += self._evidence_entry_date_problems(values.get("date"))
        summary = values.get("summary")
        if not isinstance(summary, str) or not summary.strip():
            problems.append(_("Describe what happened, e.g. who confirmed what, and how."))
        problems += self._evidence_entry_producer_problems(
            milestone, values.get("customer_partner_id"), values.get("internal_user_id")
        )
        amount = values.get("amount")
        if amount not in (None, False) and (
            not isinstance(amount, int | float) or isinstance(amount, bool) or amount < 0
        ):
            problems.append(_("The recorded value must be a positive amount."))
        problems += self._evidence_entry_attachment_problems(values.get("attachment_ids"))
        return problems

    def _evidence_entry_kind_problems(self, milestone, kind_id):
        accepted = milestone.evidence_kind_ids
        kinds = join_list(self.env, accepted.mapped("name")) if accepted else ""
        kind = self.env["crm.evidence.kind"]
        if self._evidence_entry_is_id(kind_id):
            kind = kind.browse(kind_id).exists().filtered("active")
        if not kind:
            if kinds:
                return [_("Say what kind of proof it is, one of: %(kinds)s.", kinds=kinds)]
            return [_("Say what kind of proof it is.")]
        if accepted and kind not in accepted:
            return [
                _(
                    '"%(milestone)s" accepts only %(kinds)s as evidence, not "%(kind)s".',
                    milestone=milestone.name,
                    kinds=kinds,
                    kind=kind.name,
                )
            ]
        return []

    def _evidence_entry_date_problems(self, value):
        if value in (None, False, ""):
            return []  # today
        try:
            date = fields.Date.to_date(value) if isinstance(value, str) else None
        except ValueError:
            date = None
        if not date:
            return [_('"%(value)s" is not a date.', value=value)]
        if date > fields.Date.context_today(self):
            return [_("The date %(date)s is in the future: evidence records what happened.", date=value)]
        return []

    def _evidence_entry_producer_problems(self, milestone, partner_id, user_id):
        """Who produced the evidence: a contact of the customer, or one of our users."""
        problems = []
        customer = self.partner_id.commercial_partner_id
        contact = self.env["res.partner"]
        if partner_id not in (None, False):
            if self._evidence_entry_is_id(partner_id):
                contact = contact.browse(partner_id).exists()._filtered_access("read")
            if not contact:
                problems.append(
                    _("Customer contact #%(id)s does not exist or is not visible to you.", id=partner_id)
                )
            # sudo: only whether the contact is an internal user's counts, as in the evidence's check.
            elif (
                not customer
                or contact.commercial_partner_id != customer
                or contact.sudo().user_ids.filtered(lambda user: not user.share)
            ):
                problems.append(
                    _(
                        '%(contact)s is not a contact of the customer of "%(lead)s".',
                        contact=contact.display_name,
                        lead=self.name,
                    )
                )
        user = self.env["res.users"]
        if user_id not in (None, False):
            if self._evidence_entry_is_id(user_id):
                user = user.browse(user_id).exists()
            if not user or user.share:
                problems.append(_("User #%(id)s is not one of our users.", id=user_id))
        if milestone.customer_led and partner_id in (None, False):
            if customer:
                problems.append(
                    _(
                        '"%(milestone)s" is proven by the customer: say which contact of %(customer)s '
                        "produced the evidence.",
                        milestone=milestone.name,
                        customer=customer.display_name,
                    )
                )
            else:
                problems.append(
                    _(
                        '"%(milestone)s" is proven by the customer, and "%(lead)s" has no customer yet: '
                        "set the customer on the opportunity first.",
                        milestone=milestone.name,
                        lead=self.name,
                    )
                )
        elif milestone and partner_id in (None, False) and user_id in (None, False):
            problems.append(_("Say who produced the evidence: a customer contact or one of our users."))
        return problems

    @api.model
    def _evidence_entry_attachment_problems(self, attachment_ids):
        if attachment_ids in (None, False):
            return []
        if not isinstance(attachment_ids, list) or not all(map(self._evidence_entry_is_id, attachment_ids)):
            return [_("The documents must be given as a list of attachment ids.")]
        attachments = self.env["ir.attachment"].browse(attachment_ids)
        hidden = attachments - attachments.exists()._filtered_access("read")
        if hidden:
            return [
                _(
                    "Document #%(ids)s does not exist or is not visible to you.",
                    ids=", #".join(str(attachment_id) for attachment_id in hidden.ids),
                )
            ]
        return []

    def _milestone_checklist_lines_by_lead(self):
        """``{lead id: checklist lines}``: the form checklist's lines (``milestone_checklist``) of
        any number of leads in a fixed number of queries, so that reading many opportunities with
        all their fields (an export, an RPC ``read`` without field list) costs no query per one.

        The lines of a lead: each milestone of its stage, ``{"id", "name", "description",
        "required", "customer_led", "needs_verification", "state" ("met", "awaiting" or
        "missing"), "internal_only", "fact", "evidence": [{"id", "summary", "date", "kind",
        "producer", "is_valid"}]}``. ``fact``: how a fact of the opportunity meets the milestone
        (when met without evidence) or could meet it.
        """
        # The stages' milestones from the registry cache: no search (the form's other fields read them too).
        milestones_of = self._milestones_of_stages()
        milestones = self.env["crm.stage.milestone"].union(*milestones_of.values())
        if not milestones:
            return {lead.id: [] for lead in self}
        # The facts are read once, for what they prove and for what only internal facts hold.
        facts_met, internal_only = self._with_fact_milestones(milestones_of)._stage_gate_facts(
            milestones, describe=False
        )
        by_validity = self._stage_gate_evidence_by_validity(milestones.ids)
        valid, awaiting = by_validity[True], by_validity[False]
        met = self._stage_gate_milestones_met(milestones, valid, facts_met=facts_met)
        evidence = (
            self.env["crm.lead.evidence"]
            .browse(
                {
                    evidence_id
                    for by_milestone in (*valid.values(), *awaiting.values())
                    for ids in by_milestone.values()
                    for evidence_id in ids
                }
            )
            ._filtered_access("read")
        )
        fact_labels = dict(milestones._fields["fact"]._description_selection(self.env))
        accessible = set(evidence.ids)
        lines = {}
        for lead in self:
            lines[lead.id] = []
            for milestone in milestones_of.get(lead.stage_id, milestones.browse()):
                ids = valid[lead.id].get(milestone.id, []) + awaiting[lead.id].get(milestone.id, [])
                # The accessible ones, read together with all the others (one prefetch).
                shown = evidence.browse([eid for eid in ids if eid in accessible]).with_prefetch(
                    evidence._prefetch_ids
                )
                lines[lead.id].append(
                    self._milestone_checklist_line(
                        milestone,
                        met[lead.id],
                        awaiting[lead.id],
                        internal_only.get(lead.id, set()),
                        shown,
                        fact_labels,
                    )
                )
        return lines

    @api.model
    def _milestone_checklist_line(self, milestone, met, awaiting, internal, shown, fact_labels):
        """One line of the checklist: ``milestone`` given the ids met, awaiting verification
        (``{milestone id: evidence ids}``) and held by internal facts only, and the evidence shown."""
        state = "met" if milestone.id in met else "awaiting" if milestone.id in awaiting else "missing"
        if state == "met" and milestone.fact and not shown.filtered("is_valid"):
            fact = _("Met by a fact: %(fact)s.", fact=fact_labels[milestone.fact])
        else:
            fact = self._milestone_fact_hint(milestone) if state == "missing" else False
        return {
            "id": milestone.id,
            "name": milestone.name,
            "description": milestone.description or "",
            "required": milestone.required,
            "customer_led": milestone.customer_led,
            "needs_verification": milestone.needs_verification,
            "state": state,
            "internal_only": milestone.id in internal and state != "met",
            "fact": fact,
            "evidence": [
                {
                    "id": record.id,
                    "summary": record.summary,
                    "date": fields.Date.to_string(record.date),
                    "kind": record.kind_id.name,
                    "producer": (record.customer_partner_id or record.internal_user_id).display_name,
                    "is_valid": record.is_valid,
                }
                for record in shown
            ],
        }
