from collections import Counter
from datetime import timedelta

from odoo import api, fields, models


class CrmLeadIndicators(models.AbstractModel):
    """Status indicators of the verify step; ``crm.lead`` inherits it.

    The indicators are stored, so that kanban, lists, filters and group-bys
    read them from the row. Each is computed in batch: one grouped query per
    source for any number of leads. The relationship status depends on time:
    it is refreshed by each interaction on the lead (a message exchanged, an
    activity done, a meeting booked) and by a daily job for all open opportunities.
    """

    _name = "crm.lead.indicators"
    _description = "Opportunity Status Indicators"

    # The relationship status counts the interactions of the last N days.
    _RELATIONSHIP_WINDOW_DAYS = 30
    # From this many interactions in the window, the relationship is active.
    _RELATIONSHIP_ACTIVE_MIN = 4
    # Evidence kinds (codes) that show a customer committing time, effort or money.
    _COMMITMENT_KINDS = frozenset({"meeting", "document", "value", "trial"})

    # ------------------------------------------------------------
    # COMPUTE
    # ------------------------------------------------------------

    def _compute_relationship_status(self):
        """No depends: refreshed by ``_indicators_refresh`` (messages, daily job)."""
        counts = self._interaction_counts()
        for lead in self:
            count = counts[lead.id] if isinstance(lead.id, int) else 0
            lead.interaction_count = count
            if not count:
                lead.relationship_status = "cold"
            elif count < self._RELATIONSHIP_ACTIVE_MIN:
                lead.relationship_status = "warm"
            else:
                lead.relationship_status = "active"

    @api.depends("stakeholder_ids.role_id.code", "stakeholder_ids.met")
    def _compute_has_decision_maker_access(self):
        for lead in self:
            lead.has_decision_maker_access = any(
                stakeholder.met and stakeholder.role_id.code == "decision_maker"
                for stakeholder in lead.stakeholder_ids
            )

    @api.depends("evidence_ids.is_valid", "evidence_ids.customer_led", "evidence_ids.kind_id.code")
    def _compute_customer_commitment(self):
        for lead in self:
            kinds = {
                evidence.kind_id.code
                for evidence in lead.evidence_ids
                if evidence.is_valid and evidence.customer_led
            }
            lead.customer_commitment = bool(kinds & self._COMMITMENT_KINDS)
            lead.has_trial_order = "trial" in kinds

    @api.depends(
        "type",
        "active",
        "won_status",
        "funnel_state_id",
        "qualification_status",
        "relationship_status",
        "has_decision_maker_access",
        "customer_commitment",
    )
    def _compute_risk_level(self):
        """See the help of ``risk_level`` for the rule."""
        first_state = None  # looked up once, only when an open opportunity has a funnel state
        for lead in self:
            if lead.type != "opportunity" or not lead.active or lead.won_status != "pending":
                lead.risk_level = False
                continue
            if first_state is None and lead.funnel_state_id:
                first_state = self.env["crm.funnel.state"].search([], limit=1)
            advanced = bool(lead.funnel_state_id) and lead.funnel_state_id != first_state
            cold = lead.relationship_status == "cold"
            access, commitment = lead.has_decision_maker_access, lead.customer_commitment
            if (
                lead.qualification_status == "drop"
                or (advanced and cold)
                or (advanced and not access and not commitment)
            ):
                lead.risk_level = "high"
            elif lead.qualification_status != "pursue" or cold or (advanced and not (access and commitment)):
                lead.risk_level = "medium"
            else:
                lead.risk_level = "low"

    # ------------------------------------------------------------
    # BUSINESS
    # ------------------------------------------------------------

    @api.model
    def _indicators_is_interaction(self, message):
        """Whether ``message`` is one that ``_interaction_counts`` counts."""
        if message.message_type in ("email", "email_outgoing") or message.mail_activity_type_id:
            return True
        return message.message_type == "comment" and message.subtype_id == self.env.ref("mail.mt_comment")

    def _interaction_counts(self):
        """``Counter({lead id: interactions})`` over the window, in two grouped queries.

        Interactions: emails received or sent and messages sent from the chatter
        (not internal notes), activities marked done, and meetings held in the
        window or booked since.
        """
        counts = Counter()
        ids = [lead_id for lead_id in self.ids if isinstance(lead_id, int)]
        if not ids:
            return counts
        since = fields.Datetime.now() - timedelta(days=self._RELATIONSHIP_WINDOW_DAYS)
        comment = self.env["ir.model.data"]._xmlid_to_res_id("mail.mt_comment")
        # sudo: the indicator counts every interaction, whoever reads the lead.
        messages = (
            self.env["mail.message"]
            .sudo()
            ._read_group(
                [
                    ("model", "=", "crm.lead"),
                    ("res_id", "in", ids),
                    ("date", ">=", since),
                    "|",
                    "|",
                    ("message_type", "in", ("email", "email_outgoing")),
                    "&",
                    ("message_type", "=", "comment"),
                    ("subtype_id", "=", comment),
                    ("mail_activity_type_id", "!=", False),
                ],
                ["res_id"],
                ["__count"],
            )
        )
        counts.update(dict(messages))
        meetings = (
            self.env["calendar.event"]
            .sudo()
            ._read_group(
                [("opportunity_id", "in", ids), ("start", ">=", since)],
                ["opportunity_id"],
                ["__count"],
            )
        )
        counts.update({lead.id: count for lead, count in meetings})
        return counts

    def _indicators_refresh(self):
        """Recompute the time-dependent indicators of these leads now."""
        leads = self.filtered(lambda lead: isinstance(lead.id, int))
        if not leads:
            return
        fnames = ("interaction_count", "relationship_status", "risk_level")
        for fname in fnames:
            self.env.add_to_compute(self._fields[fname], leads)
        leads._recompute_recordset(fnames)

    @api.model
    def _cron_refresh_indicators(self):
        """Daily: interactions age out of the window, so relationships cool down."""
        self.search([("type", "=", "opportunity"), ("won_status", "=", "pending")])._indicators_refresh()
