from collections import Counter, defaultdict
from datetime import timedelta

from psycopg2.errors import SerializationFailure

from odoo import api, fields, models
from odoo.fields import Domain
from odoo.tools import SQL


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
    # The daily refresh: opportunities per committed batch, and where a run is.
    _REFRESH_BATCH = 1000
    # Times a batch is tried again after a rep changed one of its opportunities meanwhile.
    _REFRESH_RETRIES = 5
    _REFRESH_POSITION_KEY = "sales_process_addon.indicators_refresh_position"

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

    @api.depends(
        "stakeholder_ids.role_id.code",
        "stakeholder_ids.met",
        "evidence_ids.is_valid",
        "evidence_ids.milestone_id.fact",
    )
    def _compute_has_decision_maker_access(self):
        """A decision maker met in the buying center, or evidence proving a "decision maker met" milestone."""
        proven = self._facts_proven_by_evidence()
        for lead in self:
            lead.has_decision_maker_access = "decision_maker_met" in proven[lead.id] or any(
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
        """See the help of ``risk_level`` for the rule; ``_risk_assessment`` applies it.

        The reasons are stored with the level, as codes (``risk_reasons`` says
        them in the reader's language): the kanban's tooltip costs no query.
        """
        first_state = self.env["crm.funnel.state"].browse(self._stage_gate_structure()["first_funnel_state"])
        for lead in self:
            level, reasons = lead._risk_assessment(first_state)
            lead.risk_level = level
            lead.risk_reason_codes = ",".join(reasons) or False

    @api.model
    def _risk_basis(self):
        """``{first funnel state id: True}``: the state in which a deal is not yet "advanced"
        (see ``_stage_gate_structure_readers``)."""
        first_state = self._stage_gate_structure()["first_funnel_state"]
        return {first_state: True} if first_state else {}

    def _risk_assessment(self, first_state):
        """``(risk level, [reason codes])`` of this lead; ``first_state``: the first funnel state.

        The codes are those of ``_risk_reason_labels``.
        """
        if self.type != "opportunity" or not self.active or self.won_status != "pending":
            return False, []
        advanced = bool(self.funnel_state_id) and self.funnel_state_id != first_state
        cold = self.relationship_status == "cold"
        access, commitment = self.has_decision_maker_access, self.customer_commitment
        high, medium = [], []
        if self.qualification_status == "drop":
            high.append("qualification_drop")
        elif self.qualification_status != "pursue":
            medium.append("qualification_not_pursue")
        if cold:
            (high if advanced else medium).append("cold")
        if advanced and not access and not commitment:
            high.append("no_access_no_commitment")
        elif advanced and not access:
            medium.append("no_access")
        elif advanced and not commitment:
            medium.append("no_commitment")
        if high:
            return "high", high + medium
        if medium:
            return "medium", medium
        return "low", []

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
        (not internal notes), activities marked done, meetings held in the
        window or booked since, and customer-led evidence dated in the window.
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
        evidence = (
            self.env["crm.lead.evidence"]
            .sudo()
            ._read_group(
                [("lead_id", "in", ids), ("customer_led", "=", True), ("date", ">=", since.date())],
                ["lead_id"],
                ["__count"],
            )
        )
        counts.update({lead.id: count for lead, count in evidence})
        return counts

    def _facts_proven_by_evidence(self):
        """``{lead id: set of fact codes}`` proven by valid evidence of milestones met by those facts.

        One source of truth: evidence of a "decision maker met" milestone proves
        the decision maker was reached, as the buying center would.
        """
        found = defaultdict(set)
        # Leads without evidence prove nothing: no query for them.
        saved = self.filtered(lambda lead: lead.id and lead.evidence_ids)
        if saved:
            # sudo: what is proven must not depend on who reads the lead.
            groups = (
                self.env["crm.lead.evidence"]
                .sudo()
                ._read_group(
                    [
                        ("lead_id", "in", saved.ids),
                        ("is_valid", "=", True),
                        ("milestone_id.fact", "!=", False),
                    ],
                    ["lead_id", "milestone_id"],
                )
            )
            for lead, milestone in groups:
                found[lead.id].add(milestone.fact)
        # A lead being edited in a form: its evidence lines in memory, as they will be saved.
        for lead in self.filtered(lambda lead: not lead.id):
            found[lead.id].update(
                evidence.milestone_id.fact
                for evidence in lead.evidence_ids.sudo()
                if evidence.is_valid and evidence.milestone_id.fact
            )
        return found

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
    def _cron_refresh_indicators(self, batch_size=_REFRESH_BATCH):
        """Daily: interactions age out of the window, so relationships cool down.

        Open opportunities are refreshed in batches of ``batch_size``, by id, each
        committed with the cron's progress. The run's position (day and last id
        done) is kept in a system parameter, locked while a batch runs: a second
        worker waits and goes on after the first one, a run cut by the time limit
        resumes where it stopped, and users cannot write it. A batch that meets
        a concurrent change of one of its opportunities (a rep moving it) is
        rolled back and tried again in a new transaction, which sees the change.
        """
        today = fields.Date.today().isoformat()
        open_opportunities = Domain("type", "=", "opportunity") & Domain("won_status", "=", "pending")
        remaining = None  # counted once per run, for the progress shown on the cron
        conflicts = 0
        while True:
            day, last_id = self._indicators_refresh_position(lock=True)
            if day != today:
                last_id = 0
            todo = open_opportunities & Domain("id", ">", last_id)
            if remaining is None:
                remaining = self.search_count(todo)
            leads = self.search(todo, order="id", limit=batch_size)
            try:
                leads._indicators_refresh()
                self.env.flush_all()
            except SerializationFailure:
                conflicts += 1
                if conflicts > self._REFRESH_RETRIES:
                    raise
                self.env.cr.rollback()  # ends the snapshot (and the position's lock)
                continue
            conflicts = 0
            remaining = max(remaining - len(leads), 0) if len(leads) == batch_size else 0
            self._indicators_refresh_set_position(today, leads[-1:].id or last_id)
            time_left = self.env["ir.cron"]._commit_progress(len(leads), remaining=remaining)
            self.env.invalidate_all()  # memory stays bounded by one batch
            if not remaining or not time_left:
                return

    @api.model
    def _indicators_refresh_position(self, lock=False):
        """``(day, last lead id)`` of the daily refresh; ``lock``: until the transaction ends."""
        self.env["ir.config_parameter"].flush_model()
        query = SQL(
            "SELECT value FROM ir_config_parameter WHERE key = %s%s",
            self._REFRESH_POSITION_KEY,
            SQL(" FOR UPDATE") if lock else SQL(),
        )
        self.env.cr.execute(query)
        row = self.env.cr.fetchone()
        if not row and lock:
            # sudo: the position is the job's own state, not the user's.
            self.env["ir.config_parameter"].sudo().set_param(self._REFRESH_POSITION_KEY, ":0")
            return self._indicators_refresh_position(lock=True)
        day, _sep, last_id = (row[0] if row else ":0").partition(":")
        return day, int(last_id or 0)

    @api.model
    def _indicators_refresh_set_position(self, day, last_id):
        """Store the position in the row locked by ``_indicators_refresh_position``.

        In SQL: nothing reads it through the cached ``get_param``, and a write
        through the ORM would clear the registry's caches at every batch.
        """
        self.env.cr.execute(
            SQL(
                "UPDATE ir_config_parameter SET value = %s WHERE key = %s",
                f"{day}:{last_id}",
                self._REFRESH_POSITION_KEY,
            )
        )
