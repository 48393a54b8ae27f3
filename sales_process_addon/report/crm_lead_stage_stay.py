from odoo import api, fields, models
from odoo.tools import SQL

from .crm_lead import PENDING_FACTS

# How a stay in a stage ended, for the stays and the time in stage report.
STAY_ENDS = [
    ("forward", "Forward"),
    ("backward", "Backward"),
    ("won", "Won"),
    ("lost", "Lost"),
    ("type_switch", "Sales process switch"),
]

# How a stage was left, for the stays and the exit report.
EXIT_BASES = [
    ("exception", "Approved exception"),
    ("customer_evidence", "Customer-led evidence"),
    ("own_evidence", "Our own evidence only"),
    ("no_evidence", "No evidence recorded"),
]


class CrmLeadStageStay(models.Model):
    """Each ended stay of an opportunity in a stage, with how it ended.

    Kept up to date by the stage history (``crm.lead.stage.history._record``),
    read by the time in stage and the stage exit reports. A stay ends when the
    opportunity moves forward, backward, is won, switches sales process, or is
    lost; a loss undone by a restore does not end the stay (the restore deletes
    it, the stay then ends with a later move).

    Why a table: those reports read every ended stay (800,000 on the
    benchmark database of 1,000,000 history rows). From the history they had
    to filter the whole history, look for later restores, group the evidence
    used per move, and join the opportunities for the salesperson, team and
    outcome: 1 to 1.5 s per grouped read. Here one narrow row per stay, the
    days as float8 (the median sorts them), the exit basis judged once, and
    the opportunity's salesperson, team, company, status, type (and cycle
    length, for the won ones) copied on the row: ``_sync_lead_facts`` and the history
    writer keep them equal to the opportunity's.
    """

    _name = "crm.lead.stage.stay"
    _description = "Opportunity Stage Stay"
    _log_access = False
    _order = "date desc, id desc"
    _rec_name = "lead_id"

    lead_id = fields.Many2one("crm.lead", "Opportunity", required=True, ondelete="cascade", readonly=True)
    history_id = fields.Many2one(
        "crm.lead.stage.history", "Ended by", required=True, ondelete="cascade", readonly=True
    )
    # Indexed: the reports open on the last 12 months (a quarter of a two-year history).
    date = fields.Datetime("Left on", required=True, index=True, readonly=True)
    event = fields.Selection(
        STAY_ENDS,
        "Left by",
        required=True,
        readonly=True,
    )
    pipeline_type_id = fields.Many2one("crm.pipeline.type", "Sales Process", readonly=True)
    stage_id = fields.Many2one("crm.stage", required=True, ondelete="cascade", readonly=True)
    buyer_stage_id = fields.Many2one("crm.buyer.stage", readonly=True)
    funnel_state_id = fields.Many2one("crm.funnel.state", readonly=True)
    company_id = fields.Many2one("res.company", readonly=True)
    days = fields.Float("Days in Stage", readonly=True)
    exception_id = fields.Many2one("crm.stage.exception", "Exception Used", readonly=True)
    exit_basis = fields.Selection(
        EXIT_BASES,
        "Left With",
        readonly=True,
    )
    # The opportunity's, now. Indexed: a salesperson's reports (record rules) and a team's dashboard.
    user_id = fields.Many2one("res.users", "Salesperson", index=True, readonly=True)
    team_id = fields.Many2one("crm.team", "Sales Team", index=True, readonly=True)
    won_status = fields.Selection(
        [("won", "Won"), ("lost", "Lost"), ("pending", "Open")], "Status", readonly=True
    )
    lead_type = fields.Selection([("lead", "Lead"), ("opportunity", "Opportunity")], readonly=True)
    cycle_days = fields.Float("Cycle Length (days)", readonly=True)

    _history_uniq = models.UniqueIndex("(history_id)")
    _lead_idx = models.Index("(lead_id)")

    @api.model
    def _cycle_days_sql(self, alias):
        """Days from creation to signature of a won opportunity, else NULL."""
        return SQL(
            "CASE WHEN %(lead)s.won_status = 'won' "
            "THEN EXTRACT(EPOCH FROM %(lead)s.date_closed - %(lead)s.create_date) / 86400.0 END",
            lead=SQL.identifier(alias),
        )

    @api.model
    def _ending_condition(self, alias):
        """History rows that end a stay (a loss may be undone later: see ``_record_history``)."""
        return SQL(
            "%(from)s IS NOT NULL AND %(event)s IN ('forward', 'backward', 'won', 'lost', 'type_switch')",
            event=SQL.identifier(alias, "event"),
            **{"from": SQL.identifier(alias, "from_stage_id")},
        )

    @api.model
    def _insert_sql(self, history_condition):
        """INSERT the stays ended by the history rows meeting ``history_condition`` (alias
        ``history``), the opportunity's facts read from the relation ``facts`` (see ``_facts_sql``)."""
        return SQL(
            """
            INSERT INTO crm_lead_stage_stay (
                lead_id, history_id, date, event, pipeline_type_id, stage_id, buyer_stage_id,
                funnel_state_id, company_id, days, exception_id, exit_basis,
                user_id, team_id, won_status, lead_type, cycle_days)
            SELECT history.lead_id, history.id, history.date, history.event,
                   COALESCE(history.from_pipeline_type_id, history.pipeline_type_id),
                   history.from_stage_id, history.from_buyer_stage_id, history.from_funnel_state_id,
                   facts.company_id, history.days_in_previous_stage::float8, history.exception_id,
                   CASE
                       WHEN history.event NOT IN ('forward', 'won') THEN NULL
                       WHEN history.exception_id IS NOT NULL THEN 'exception'
                       WHEN evidence.customer THEN 'customer_evidence'
                       WHEN evidence.customer IS NOT NULL THEN 'own_evidence'
                       ELSE 'no_evidence'
                   END,
                   facts.user_id, facts.team_id, facts.won_status, facts.lead_type, facts.cycle_days
            FROM crm_lead_stage_history history
            JOIN facts ON facts.lead_id = history.lead_id
            LEFT JOIN LATERAL (
                SELECT bool_or(COALESCE(used.customer_led, FALSE)) AS customer
                FROM crm_lead_stage_history_evidence_rel rel
                JOIN crm_lead_evidence used ON used.id = rel.evidence_id
                WHERE rel.history_id = history.id
            ) evidence ON TRUE
            WHERE %s AND %s
            ON CONFLICT (history_id) DO NOTHING
            """,
            self._ending_condition("history"),
            history_condition,
        )

    @api.model
    def _record_history(self, history, facts):
        """Record the stays the new history rows ``history`` end, in one query.

        ``facts``: ``{lead id: {column: value}}``, the opportunities' facts now
        (see ``_lead_facts``). The stays and stage entries the
        opportunities had before get them too; a restore deletes the stays its
        loss ended (the stay goes on). A loss restored within the same batch
        ends no stay.
        """
        if not history:
            return
        lead_ids = list(facts)
        self.env.cr.execute(
            SQL(
                """
                WITH facts AS (%(facts)s),
                restore AS (
                    SELECT history.lead_id, MAX(history.id) AS id
                    FROM crm_lead_stage_history history
                    WHERE history.id IN %(ids)s AND history.event = 'restore'
                    GROUP BY history.lead_id
                ),
                undone AS (
                    DELETE FROM crm_lead_stage_stay stay
                    USING restore
                    WHERE stay.lead_id = restore.lead_id AND stay.event = 'lost' AND stay.history_id < restore.id
                    RETURNING stay.id
                ),
                inserted AS (%(insert)s RETURNING id),
                stays AS (%(stays)s)
                %(entries)s
                """,
                facts=self._facts_sql(lead_ids, facts),
                stays=self._facts_update_sql(SQL("stay.id NOT IN (SELECT id FROM undone)")),
                entries=self.env["crm.lead.stage.entry"]._facts_update_sql(),
                ids=tuple(history.ids),
                insert=self._insert_sql(
                    SQL(
                        """
                        history.id IN %(ids)s
                        AND NOT (history.event = 'lost' AND EXISTS (
                            SELECT 1 FROM restore WHERE restore.lead_id = history.lead_id AND restore.id > history.id
                        ))
                        """,
                        ids=tuple(history.ids),
                    )
                ),
            )
        )
        self.invalidate_model()
        self.env["crm.lead.stage.entry"].invalidate_model()

    @api.model
    def _facts_update_sql(self, condition):
        """UPDATE the stays (meeting ``condition``) whose opportunity's facts (relation ``facts``) changed."""
        return SQL(
            """
            UPDATE crm_lead_stage_stay stay
            SET user_id = facts.user_id, team_id = facts.team_id, company_id = facts.company_id,
                won_status = facts.won_status, lead_type = facts.lead_type, cycle_days = facts.cycle_days
            FROM facts
            WHERE stay.lead_id = facts.lead_id AND %s
              AND (stay.user_id, stay.team_id, stay.company_id, stay.won_status, stay.lead_type, stay.cycle_days)
                  IS DISTINCT FROM
                  (facts.user_id, facts.team_id, facts.company_id, facts.won_status, facts.lead_type,
                   facts.cycle_days)
            RETURNING stay.id
            """,
            condition,
        )

    @api.model
    def _sync_pending_facts(self):
        """Sync the rows of the opportunities written since the last sync (see ``crm.lead.write``)."""
        lead_ids = self.env.cr.precommit.data.pop(PENDING_FACTS, None)
        if lead_ids:
            # sudo: the report rows are derived by the server from the opportunities.
            leads = self.env["crm.lead"].sudo().with_context(active_test=False).browse(lead_ids).exists()
            self.sudo()._sync_lead_facts(leads)

    @api.model
    def _sync_lead_facts(self, leads):
        """Give the stays and stage entries of ``leads`` their facts of now, and their stage history
        its company, in one query."""
        facts = self._lead_facts(leads)
        History = self.env["crm.lead.stage.history"]
        History.flush_model(["company_id"])
        self.env.cr.execute(
            SQL(
                """
                WITH facts AS (%s), stays AS (%s), history AS (
                    UPDATE crm_lead_stage_history history SET company_id = facts.company_id
                    FROM facts
                    WHERE history.lead_id = facts.lead_id AND history.company_id IS DISTINCT FROM facts.company_id
                )
                %s
                """,
                self._facts_sql(list(facts), facts),
                self._facts_update_sql(SQL("TRUE")),
                self.env["crm.lead.stage.entry"]._facts_update_sql(),
            )
        )
        self.invalidate_model()
        self.env["crm.lead.stage.entry"].invalidate_model()
        History.invalidate_model(["company_id"])

    @api.model
    def _facts_sql(self, lead_ids, facts):
        """The facts of ``lead_ids`` as a relation (alias ``facts``)."""
        return SQL(
            """
            SELECT * FROM unnest(
                %s::int4[], %s::int4[], %s::int4[], %s::varchar[], %s::varchar[], %s::int4[], %s::float8[]
            ) AS facts(lead_id, user_id, team_id, won_status, lead_type, company_id, cycle_days)
            """,
            lead_ids,
            *(
                [facts[lead_id][column] for lead_id in lead_ids]
                for column in ("user_id", "team_id", "won_status", "lead_type", "company_id", "cycle_days")
            ),
        )

    @api.model
    def _lead_facts(self, leads):
        """``{lead id: facts}`` as the ORM sees the opportunities now (its cache: no flush)."""
        facts = {}
        for lead in leads:
            won = lead.won_status == "won" and lead.date_closed and lead.create_date
            facts[lead.id] = {
                "user_id": lead.user_id.id or None,
                "team_id": lead.team_id.id or None,
                "won_status": lead.won_status or None,
                "lead_type": lead.type or None,
                "company_id": lead.company_id.id or None,
                "cycle_days": (lead.date_closed - lead.create_date).total_seconds() / 86400.0
                if won
                else None,
            }
        return facts

    @api.model
    def _rebuild(self):
        """Recompute all stays from the stage history and the opportunities."""
        self.env["crm.lead.stage.history"].flush_model()
        self.env["crm.lead"].flush_model(
            ["user_id", "team_id", "company_id", "won_status", "type", "date_closed"]
        )
        self.env.cr.execute(SQL("DELETE FROM crm_lead_stage_stay"))
        self.env.cr.execute(
            SQL(
                """
                WITH facts AS (
                    SELECT lead.id AS lead_id, lead.user_id, lead.team_id, lead.company_id, lead.won_status,
                           lead.type AS lead_type, %(cycle)s AS cycle_days
                    FROM crm_lead lead
                ),
                restore AS (
                    SELECT history.lead_id, MAX(history.id) AS id
                    FROM crm_lead_stage_history history
                    WHERE history.event = 'restore'
                    GROUP BY history.lead_id
                )
                %(insert)s
                """,
                cycle=self._cycle_days_sql("lead"),
                insert=self._insert_sql(
                    SQL(
                        """
                        NOT (history.event = 'lost' AND EXISTS (
                            SELECT 1 FROM restore WHERE restore.lead_id = history.lead_id AND restore.id > history.id
                        ))
                        """
                    )
                ),
            )
        )
        self.invalidate_model()

    def init(self):
        # Opportunities moved before this table existed: fill it once from their history.
        self.env.cr.execute(SQL("SELECT 1 FROM crm_lead_stage_stay LIMIT 1"))
        if not self.env.cr.fetchone():
            self.env.cr.execute(SQL("SELECT 1 FROM crm_lead_stage_history LIMIT 1"))
            if self.env.cr.fetchone():
                self._rebuild()
