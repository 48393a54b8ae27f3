from odoo import api, fields, models
from odoo.tools import SQL


class CrmLeadStageEntry(models.Model):
    """Each stage an opportunity has entered, once, and whether it went on to the next one.

    Kept up to date by the stage history (``crm.lead.stage.history._record``),
    in one set-based query per batch of history rows; read by the stage
    conversion report. Why a table: the conversion report needs, for each
    opportunity and stage, its first entry and whether it later entered the
    next stage. Computed from the history on each read, that is a grouping of
    the whole history into (opportunity, stage) pairs and a join of those
    pairs with themselves: 1.3 to 2 s for 1,000,000 history rows on the
    benchmark machine, even with an index for it, against 0.3 s from this table.

    "Reached next" is judged when the opportunity enters a stage: the next
    stage is the one following in the stage order of that moment, for the
    opportunity's team of that moment (a team's own stages are in its order,
    other teams' are not, as the stage gate reads them). Reordering
    stages later does not rewrite past conversions; ``_rebuild`` recomputes
    the whole table from the history with the current order. The next stage
    of that moment is kept too (``next_stage_id``: none for the last stage).

    The opportunity's salesperson, team, company, status and type are copied
    on the row, kept equal to the opportunity's by the history writer and
    ``crm.lead.write`` (``crm.lead.stage.stay._sync_lead_facts``): joining the
    opportunities took most of the report's time (see ``crm.lead.stage.stay``).
    """

    _name = "crm.lead.stage.entry"
    _description = "Opportunity Stage Entry"
    _log_access = False
    _order = "date, id"

    lead_id = fields.Many2one("crm.lead", "Opportunity", required=True, ondelete="cascade", readonly=True)
    stage_id = fields.Many2one("crm.stage", required=True, index=True, ondelete="cascade", readonly=True)
    # Indexed: the conversion report opens on the last 12 months.
    date = fields.Datetime("First Entered on", required=True, index=True, readonly=True)
    reached_next = fields.Boolean("Reached Next Stage", readonly=True)
    next_stage_id = fields.Many2one("crm.stage", readonly=True)
    # The opportunity's, now. Indexed: a salesperson's reports (record rules) and a team's dashboard.
    user_id = fields.Many2one("res.users", "Salesperson", index=True, readonly=True)
    team_id = fields.Many2one("crm.team", "Sales Team", index=True, readonly=True)
    company_id = fields.Many2one("res.company", readonly=True)
    won_status = fields.Selection(
        [("won", "Won"), ("lost", "Lost"), ("pending", "Open")], "Status", readonly=True
    )
    lead_type = fields.Selection([("lead", "Lead"), ("opportunity", "Opportunity")], readonly=True)

    _lead_stage_uniq = models.UniqueIndex("(lead_id, stage_id)")

    @api.model
    def _stage_order_sql(self):
        """Each stage of a sales process with the stage that follows it for a lead of each team.

        Columns ``stage_id``, ``team_id`` (NULL: a lead without team) and
        ``next_stage_id``. The order is the gate's (``_stage_gate_sequence``):
        by sequence, then creation, whatever the language, over the process's
        shared stages and the team's own; a stage of other teams is followed by
        the next one the team goes through.
        """
        team_rel = self.env["crm.stage"]._fields["team_ids"]
        return SQL(
            """
            SELECT
                stage.id AS stage_id,
                team.id AS team_id,
                (
                    SELECT next.id
                    FROM crm_stage next
                    WHERE next.pipeline_type_id = stage.pipeline_type_id
                      AND (COALESCE(next.sequence, %(last)s), next.id)
                          > (COALESCE(stage.sequence, %(last)s), stage.id)
                      AND (
                          NOT EXISTS (SELECT FROM %(rel)s rel WHERE rel.%(rel_stage)s = next.id)
                          OR EXISTS (
                              SELECT FROM %(rel)s rel WHERE rel.%(rel_stage)s = next.id AND rel.%(rel_team)s = team.id
                          )
                      )
                    ORDER BY COALESCE(next.sequence, %(last)s), next.id
                    LIMIT 1
                ) AS next_stage_id
            FROM crm_stage stage
            CROSS JOIN (SELECT id FROM crm_team UNION ALL SELECT NULL) team
            WHERE stage.pipeline_type_id IS NOT NULL
            """,
            # PostgreSQL sorts a NULL sequence after every other, as the gate's search does.
            last=2**31 - 1,
            rel=SQL.identifier(team_rel.relation),
            rel_stage=SQL.identifier(team_rel.column1),
            rel_team=SQL.identifier(team_rel.column2),
        )

    @api.model
    def _entry_condition(self, alias):
        """History rows that enter a stage: a move, not a loss or a restore."""
        return SQL(
            "%(to)s IS NOT NULL AND %(from)s IS DISTINCT FROM %(to)s",
            to=SQL.identifier(alias, "to_stage_id"),
            **{"from": SQL.identifier(alias, "from_stage_id")},
        )

    @api.model
    def _record_history(self, history, facts):
        """Record the stage entries of the new history rows ``history``, in one query.

        ``facts``: the opportunities' facts now (see ``crm.lead.stage.stay._lead_facts``).

        The entries the rows create are inserted, already marked when a later row
        of the batch enters the next stage; the entries that existed before are
        updated. (The UPDATE does not see the rows the INSERT adds: both run on
        the snapshot taken when the query starts.) One query, not two, because a
        lead assignment or merge writes the opportunities one at a time.
        """
        if not history:
            return
        history.flush_recordset(["lead_id", "from_stage_id", "to_stage_id", "date"])
        self.env.cr.execute(
            SQL(
                """
                WITH entering AS (
                    SELECT history.id, history.lead_id, history.to_stage_id AS stage_id, history.date, history.team_id
                    FROM crm_lead_stage_history history
                    WHERE history.id IN %(ids)s AND %(entry)s
                ),
                stage_order AS (%(stage_order)s),
                facts AS (%(facts)s),
                inserted AS (
                    INSERT INTO crm_lead_stage_entry (
                        lead_id, stage_id, date, reached_next, next_stage_id,
                        user_id, team_id, company_id, won_status, lead_type)
                    SELECT entered.lead_id, entered.stage_id, entered.date,
                           EXISTS (
                               SELECT 1
                               FROM entering next_entering
                               WHERE next_entering.stage_id = stage_order.next_stage_id
                                 AND next_entering.lead_id = entered.lead_id
                                 AND next_entering.date >= entered.date
                           ),
                           stage_order.next_stage_id,
                           facts.user_id, facts.team_id, facts.company_id, facts.won_status, facts.lead_type
                    FROM (
                        SELECT DISTINCT ON (lead_id, stage_id) lead_id, stage_id, date, team_id
                        FROM entering
                        ORDER BY lead_id, stage_id, date, id
                    ) entered
                    JOIN facts ON facts.lead_id = entered.lead_id
                    LEFT JOIN stage_order
                        ON stage_order.stage_id = entered.stage_id
                       AND COALESCE(stage_order.team_id, 0) = COALESCE(entered.team_id, 0)
                    ON CONFLICT (lead_id, stage_id) DO NOTHING
                )
                UPDATE crm_lead_stage_entry entry
                SET reached_next = TRUE
                FROM entering
                WHERE entry.next_stage_id = entering.stage_id
                  AND entry.lead_id = entering.lead_id
                  AND entry.date <= entering.date
                  AND NOT entry.reached_next
                """,
                ids=tuple(history.ids),
                entry=self._entry_condition("history"),
                stage_order=self._stage_order_sql(),
                facts=self.env["crm.lead.stage.stay"]._facts_sql(list(facts), facts),
            )
        )
        self.invalidate_model()

    @api.model
    def _facts_update_sql(self):
        """UPDATE the entries whose opportunity's facts (relation ``facts``) changed."""
        return SQL(
            """
            UPDATE crm_lead_stage_entry entry
            SET user_id = facts.user_id, team_id = facts.team_id, company_id = facts.company_id,
                won_status = facts.won_status, lead_type = facts.lead_type
            FROM facts
            WHERE entry.lead_id = facts.lead_id
              AND (entry.user_id, entry.team_id, entry.company_id, entry.won_status, entry.lead_type)
                  IS DISTINCT FROM
                  (facts.user_id, facts.team_id, facts.company_id, facts.won_status, facts.lead_type)
            """
        )

    @api.model
    def _rebuild(self):
        """Recompute all entries from the stage history, with the current stage order."""
        self.env["crm.lead.stage.history"].flush_model()
        self.env["crm.lead"].flush_model(["user_id", "team_id", "company_id", "won_status", "type"])
        self.env.cr.execute(SQL("DELETE FROM crm_lead_stage_entry"))
        self.env.cr.execute(
            SQL(
                """
                WITH entered AS (
                    SELECT history.lead_id, history.to_stage_id AS stage_id,
                           MIN(history.date) AS first_date, MAX(history.date) AS last_date,
                           (ARRAY_AGG(history.team_id ORDER BY history.date, history.id))[1] AS team_id
                    FROM crm_lead_stage_history history
                    WHERE %(entry)s
                    GROUP BY history.lead_id, history.to_stage_id
                )
                INSERT INTO crm_lead_stage_entry (
                    lead_id, stage_id, date, reached_next, next_stage_id,
                    user_id, team_id, company_id, won_status, lead_type)
                SELECT entered.lead_id, entered.stage_id, entered.first_date,
                       COALESCE(next_entered.last_date >= entered.first_date, FALSE),
                       stage_order.next_stage_id,
                       lead.user_id, lead.team_id, lead.company_id, lead.won_status, lead.type
                FROM entered
                JOIN crm_lead lead ON lead.id = entered.lead_id
                LEFT JOIN (%(stage_order)s) stage_order
                    ON stage_order.stage_id = entered.stage_id
                   AND COALESCE(stage_order.team_id, 0) = COALESCE(entered.team_id, 0)
                LEFT JOIN entered next_entered
                    ON next_entered.lead_id = entered.lead_id
                   AND next_entered.stage_id = stage_order.next_stage_id
                ORDER BY entered.first_date
                """,
                entry=self._entry_condition("history"),
                stage_order=self._stage_order_sql(),
            )
        )
        self.invalidate_model()

    def init(self):
        # Opportunities moved before this table existed, or before it kept the opportunities'
        # facts (19.0.2.1.0): fill it from their history.
        self.env.cr.execute(SQL("SELECT 1 FROM crm_lead_stage_entry WHERE lead_type IS NOT NULL LIMIT 1"))
        if not self.env.cr.fetchone():
            self.env.cr.execute(SQL("SELECT 1 FROM crm_lead_stage_history LIMIT 1"))
            if self.env.cr.fetchone():
                self._rebuild()
