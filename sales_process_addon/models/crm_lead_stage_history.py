from odoo import api, fields, models
from odoo.tools import SQL


class CrmLeadStageHistory(models.Model):
    """One stage change of an opportunity, written by the server only.

    Kept apart from mail tracking so that reports (conversion, time in stage,
    cycle length) read one narrow, indexed table.
    """

    _name = "crm.lead.stage.history"
    _description = "Opportunity Stage History"
    _order = "date desc, id desc"
    _log_access = False

    lead_id = fields.Many2one("crm.lead", "Opportunity", required=True, index=True, ondelete="cascade")
    event = fields.Selection(
        [
            ("create", "Created"),
            ("forward", "Forward"),
            ("backward", "Backward"),
            ("won", "Won"),
            ("lost", "Lost"),
            ("restore", "Restored"),
            ("reopen", "Reopened"),
            ("type_switch", "Sales process switch"),
        ],
        required=True,
        index=True,
    )
    date = fields.Datetime(required=True, default=fields.Datetime.now, index=True)
    user_id = fields.Many2one("res.users", "Changed by", default=lambda self: self.env.user)
    salesperson_id = fields.Many2one("res.users", index=True)
    team_id = fields.Many2one("crm.team", "Sales Team", index=True)
    # The opportunity's, as for every record of it: visible to whom the opportunity is. Kept equal
    # to it with the report rows' facts (crm.lead.stage.stay._sync_lead_facts), in one query for
    # the opportunities of a transaction, not one per opportunity as a related field would be.
    company_id = fields.Many2one("res.company", index=True)
    pipeline_type_id = fields.Many2one("crm.pipeline.type", "Sales Process", index=True)
    from_pipeline_type_id = fields.Many2one("crm.pipeline.type", "From Sales Process")
    from_stage_id = fields.Many2one("crm.stage", index=True)
    to_stage_id = fields.Many2one("crm.stage", index=True)
    from_buyer_stage_id = fields.Many2one("crm.buyer.stage")
    to_buyer_stage_id = fields.Many2one("crm.buyer.stage")
    from_funnel_state_id = fields.Many2one("crm.funnel.state")
    to_funnel_state_id = fields.Many2one("crm.funnel.state")
    days_in_previous_stage = fields.Float("Days in Previous Stage", digits=(16, 2), aggregator="avg")
    exception_id = fields.Many2one("crm.stage.exception", "Exception Used", index="btree_not_null")
    proof = fields.Selection(
        [
            ("evidence", "Milestones proven"),
            ("exception", "Approved exception"),
            ("unproven", "Milestones unproven (guided)"),
            ("free", "Nothing to prove"),
        ],
        index=True,
        help="How a move forward (or a process switch through an exception) passed the gate: every "
        "required milestone proven, an approved exception, or, in a guided process, with milestones "
        "left unproven.",
    )
    evidence_ids = fields.Many2many(
        "crm.lead.evidence",
        "crm_lead_stage_history_evidence_rel",
        "history_id",
        "evidence_id",
        string="Evidence Used",
        context={"active_test": False},  # withdrawn evidence stays in the audit trail
        help="The evidence that met the required milestones of the stage left, when the move was made.",
    )
    note = fields.Char()
    facts_used = fields.Text(
        help="Milestones of the stage left that facts of the opportunity met, and which facts, "
        "e.g. a coach in the buying center.",
    )
    reports_pending = fields.Boolean(
        readonly=True,
        help="The stage reports' rows of this change (its stage entry, the stay it ends) are still "
        "to be written: the scheduled action that follows moves in the background writes them.",
    )

    _lead_date_idx = models.Index("(lead_id, date)")
    _type_stage_date_idx = models.Index("(pipeline_type_id, to_stage_id, date)")
    _reports_pending_idx = models.Index("(lead_id) WHERE reports_pending")

    @api.model
    def _record(self, rows, reports_later=False):
        """Write stage changes, and the evidence each used, in one query; return the new history rows.

        Each row (see ``crm.lead.stage.gate._stage_history_record``) gives the
        lead as the gate judged it: the event, where it came from and since
        when, the stage it is in, its process, team, salesperson and company,
        what opened the gate. The buyer stages and funnel states are read from
        the stages. Written in SQL rather than through ``create``: a batch move
        of thousands of leads would otherwise spend most of its time here; and
        without reading the lead back, so nothing of it is flushed early.

        ``reports_later``: the rows are marked ``reports_pending``, their
        report rows left to the scheduled action (see ``crm.lead.stage.tasks``).
        """
        if not rows:
            return self
        lead_ids = [row["lead_id"] for row in rows]
        self.env["crm.stage"].flush_model(["buyer_stage_id", "funnel_state_id"])
        now = self.env.cr.now()
        self.env.cr.execute(
            SQL(
                """
                WITH inserted AS (
                    INSERT INTO crm_lead_stage_history (
                        lead_id, event, date, user_id, salesperson_id, team_id, company_id,
                        pipeline_type_id, from_pipeline_type_id, from_stage_id, to_stage_id,
                        from_buyer_stage_id, to_buyer_stage_id, from_funnel_state_id, to_funnel_state_id,
                        days_in_previous_stage, exception_id, proof, note, facts_used, reports_pending
                    )
                    SELECT change.lead_id, change.event, %(now)s, %(uid)s,
                           change.salesperson_id, change.team_id, change.company_id, change.pipeline_type_id,
                           change.from_pipeline_type_id, change.from_stage_id, change.to_stage_id,
                           from_stage.buyer_stage_id, to_stage.buyer_stage_id,
                           from_stage.funnel_state_id, to_stage.funnel_state_id,
                           COALESCE(ROUND(CAST(EXTRACT(EPOCH FROM %(now)s - change.entered) AS numeric) / 86400, 2), 0),
                           change.exception_id, change.proof, change.note, change.facts_used,
                           %(reports_later)s
                    FROM unnest(
                        %(lead_ids)s::int4[], %(events)s::varchar[], %(from_types)s::int4[],
                        %(from_stages)s::int4[], %(to_stages)s::int4[], %(entered)s::timestamp[],
                        %(exceptions)s::int4[], %(proofs)s::varchar[], %(notes)s::varchar[], %(facts)s::text[],
                        %(salespeople)s::int4[], %(teams)s::int4[], %(companies)s::int4[], %(types)s::int4[]
                    ) WITH ORDINALITY AS change(
                        lead_id, event, from_pipeline_type_id, from_stage_id, to_stage_id, entered,
                        exception_id, proof, note, facts_used, salesperson_id, team_id, company_id,
                        pipeline_type_id, position
                    )
                    LEFT JOIN crm_stage from_stage ON from_stage.id = change.from_stage_id
                    LEFT JOIN crm_stage to_stage ON to_stage.id = change.to_stage_id
                    ORDER BY change.position
                    RETURNING id, lead_id
                ),
                evidence AS (
                    INSERT INTO crm_lead_stage_history_evidence_rel (history_id, evidence_id)
                    SELECT inserted.id, used.evidence_id
                    FROM unnest(%(evidence_leads)s::int4[], %(evidence_ids)s::int4[]) AS used(lead_id, evidence_id)
                    JOIN inserted ON inserted.lead_id = used.lead_id
                )
                SELECT id, lead_id FROM inserted
                """,
                now=now,
                uid=self.env.uid,
                reports_later=reports_later,
                lead_ids=lead_ids,
                events=[row["event"] for row in rows],
                from_types=[row["from_pipeline_type_id"] for row in rows],
                from_stages=[row["from_stage_id"] for row in rows],
                to_stages=[row["to_stage_id"] for row in rows],
                entered=[row["entered"] for row in rows],
                exceptions=[row["exception_id"] for row in rows],
                proofs=[row.get("proof") for row in rows],
                notes=[row["note"] for row in rows],
                facts=[row["facts_used"] for row in rows],
                salespeople=[row["salesperson_id"] for row in rows],
                teams=[row["team_id"] for row in rows],
                companies=[row["company_id"] for row in rows],
                types=[row["pipeline_type_id"] for row in rows],
                evidence_leads=[
                    row["lead_id"] for row in rows for _evidence in row.get("evidence_ids") or ()
                ],
                evidence_ids=[evidence_id for row in rows for evidence_id in row.get("evidence_ids") or ()],
            )
        )
        history_of_lead = {lead_id: history_id for history_id, lead_id in self.env.cr.fetchall()}
        history_ids = list(history_of_lead.values())
        history = self.browse(sorted(history_ids))
        self.env["crm.lead"].browse(lead_ids).invalidate_recordset(["stage_history_ids"])
        return history
