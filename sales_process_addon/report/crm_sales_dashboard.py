from odoo import api, fields, models
from odoo.fields import Domain
from odoo.tools import SQL


class CrmSalesDashboard(models.AbstractModel):
    """Figures of the sales process dashboard, read in one call.

    For one sales process, optionally one team and a period: the funnel of
    the open opportunities (now, the period does not apply), the stage to
    stage conversion of the stages entered in the period, the time in stage of
    the stays that ended in the period (median, 75th and 90th percentiles,
    against the stage's days to rot), the exceptions requested in the
    period per stage and kind, and the win rate and cycle length of the deals
    per stage left and how they left it (evidence or exception). With a team,
    the stages are the team's (see ``get_dashboard_data``). Everything is read from the report models with
    the user's rights (record rules apply), a few grouped queries in all; each
    block gives the model and domain of the records behind its figures, for
    the drill-down.
    """

    _name = "crm.sales.dashboard"
    _description = "Sales Process Dashboard"

    @api.model
    def _dashboard_domains(self, process, team, date_from, date_to):
        """``{block: (model, domain)}``: the records behind each block, before the stage is chosen."""
        team_domain = Domain("team_id", "=", team.id) if team else Domain.TRUE

        def period(field):
            domain = Domain.TRUE
            if date_from:
                domain &= Domain(
                    field, ">=", fields.Datetime.to_string(fields.Datetime.to_datetime(date_from))
                )
            if date_to:
                domain &= Domain(field, "<", fields.Datetime.to_string(fields.Datetime.to_datetime(date_to)))
            return domain

        process_domain = Domain("pipeline_type_id", "=", process.id)
        return {
            "funnel": (
                "crm.lead",
                Domain("type", "=", "opportunity")
                & process_domain
                & team_domain
                & Domain("won_status", "=", "pending"),
            ),
            "conversion": ("crm.stage.conversion.report", process_domain & team_domain & period("date")),
            "duration": ("crm.stage.duration.report", process_domain & team_domain & period("date")),
            "exits": ("crm.stage.exit.report", process_domain & team_domain & period("date")),
            "exceptions": (
                "crm.stage.exception",
                # The process of the stage left: the deal may have switched process since.
                Domain("from_stage_id.pipeline_type_id", "=", process.id)
                & (Domain("lead_id.team_id", "=", team.id) if team else Domain.TRUE)
                & period("create_date"),
            ),
        }

    @api.model
    def _duration_percentiles(self, domain):
        """``{stage id: (count, median, p75, p90)}`` of the days in stage, one query."""
        Report = self.env["crm.stage.duration.report"]
        query = Report._search(domain)
        days = Report._field_to_sql(query.table, "days", query)
        stage = Report._field_to_sql(query.table, "stage_id", query)
        self.env.cr.execute(
            SQL(
                """
                SELECT %(stage)s, COUNT(*),
                       percentile_cont(ARRAY[0.5, 0.75, 0.9]) WITHIN GROUP (ORDER BY %(days)s)
                FROM %(from)s
                WHERE %(where)s AND %(days)s IS NOT NULL
                GROUP BY %(stage)s
                """,
                stage=stage,
                days=days,
                **{"from": query.from_clause, "where": query.where_clause or SQL("TRUE")},
            )
        )
        return {stage_id: (count, *quantiles) for stage_id, count, quantiles in self.env.cr.fetchall()}

    @api.model
    def get_dashboard_data(self, pipeline_type_id=False, team_id=False, date_from=False, date_to=False):
        """All the dashboard's figures for a sales process, a team, a period.

        The process defaults to the user's, as the pipeline opens on it: their
        sales team's, else the company's.

        ``date_from`` included, ``date_to`` excluded (dates or datetimes as strings).
        """
        Process = self.env["crm.pipeline.type"]
        processes = Process.search([])
        process = (
            Process.browse(pipeline_type_id)
            if pipeline_type_id
            else self.env["crm.lead"]._pipeline_type_of_user()
        )
        process = process if process in processes else processes[:1]
        team = self.env["crm.team"].browse(team_id)
        domains = self._dashboard_domains(process, team, date_from, date_to)
        stages = self.env["crm.stage"].search([("pipeline_type_id", "=", process.id)], order="sequence, id")

        funnel_model, funnel_domain = domains["funnel"]
        funnel = {
            stage.id: (count, revenue)
            for stage, count, revenue in self.env[funnel_model]._read_group(
                funnel_domain, ["stage_id"], ["__count", "expected_revenue:sum"]
            )
        }

        entered, reached = {}, {}
        conversion_model, conversion_domain = domains["conversion"]
        for stage, count, reached_count in self.env[conversion_model]._read_group(
            conversion_domain, ["stage_id"], ["__count", "reached_next_count:sum"]
        ):
            entered[stage.id] = count
            reached[stage.id] = reached_count

        duration_model, duration_domain = domains["duration"]
        durations = self._duration_percentiles(duration_domain)
        # Lost there: the stays that ended in the period with the deal's loss (a restore undoes it).
        lost = {
            stage.id: count
            for stage, count in self.env[duration_model]._read_group(
                duration_domain & Domain("event", "=", "lost"), ["stage_id"], ["__count"]
            )
        }

        exceptions_model, exceptions_domain = domains["exceptions"]
        exceptions = self.env[exceptions_model]._read_group(
            exceptions_domain, ["from_stage_id", "kind"], ["__count"]
        )
        kinds = dict(self.env[exceptions_model]._fields["kind"]._description_selection(self.env))

        exits_model, exits_domain = domains["exits"]
        Exits = self.env[exits_model]
        bases = dict(Exits._fields["exit_basis"]._description_selection(self.env))
        exits = [
            {
                "stage_id": stage.id,
                "basis": basis,
                "basis_name": bases.get(basis, ""),
                "count": count,
                # No closed (won) deal in the group: no rate (no cycle length).
                "won_rate": None if won_rate is False else won_rate,
                "cycle_days": None if cycle_days is False else cycle_days,
            }
            for stage, basis, count, won_rate, cycle_days in Exits._read_group(
                exits_domain, ["stage_id", "exit_basis"], ["__count", "won_rate:avg", "cycle_days:avg"]
            )
        ]

        if team:
            # The team's stages in its order, as the gate moves its deals: the shared ones and its
            # own; another team's only where the team's deals went (a deal created or imported in
            # that stage with the team: a change of team moves a deal to the new team's stages).
            stages = stages.filtered(
                lambda stage: not stage.team_ids
                or team in stage.team_ids
                or stage.id in funnel
                or stage.id in entered
            )
        rows = []
        for index, stage in enumerate(stages):
            count, revenue = funnel.get(stage.id, (0, 0.0))
            # The next stage in the sequence of the team's deals (without a team chosen, of the
            # stage's own teams, or of every team): never another team's own stage.
            teams = team or stage.team_ids
            next_stage = next(
                (
                    following
                    for following in stages[index + 1 :]
                    if not following.team_ids or (teams and teams <= following.team_ids)
                ),
                None,
            )
            has_next = bool(next_stage) and not stage.is_won
            stays = durations.get(stage.id, (0, None, None, None))
            rows.append(
                {
                    "id": stage.id,
                    "name": stage.name,
                    "is_won": stage.is_won,
                    "funnel_state": {
                        "id": stage.funnel_state_id.id,
                        "name": stage.funnel_state_id.name,
                        "color": stage.funnel_state_id.color,
                    }
                    if stage.funnel_state_id
                    else False,
                    "open_count": count,
                    "open_value": revenue,
                    "entered": entered.get(stage.id, 0),
                    "reached_next": reached.get(stage.id, 0) if has_next else None,
                    "conversion_rate": (
                        100.0 * reached.get(stage.id, 0) / entered[stage.id]
                        if has_next and entered.get(stage.id)
                        else None
                    ),
                    "lost": lost.get(stage.id, 0),
                    "next_stage": {"id": next_stage.id, "name": next_stage.name} if has_next else False,
                    "stays": stays[0],
                    "days_median": stays[1],
                    "days_p75": stays[2],
                    "days_p90": stays[3],
                    "stale_days": stage.rotting_threshold_days or False,
                }
            )
        return {
            "process": {"id": process.id, "name": process.name} if process else False,
            "processes": [{"id": p.id, "name": p.name} for p in processes],
            "teams": [{"id": t.id, "name": t.name} for t in self.env["crm.team"].search([])],
            "team_id": team.id or False,
            "date_from": date_from or False,
            "date_to": date_to or False,
            "currency_id": self.env.company.currency_id.id,
            "stages": rows,
            "exceptions": [
                {"stage_id": stage.id, "kind": kind, "kind_name": kinds.get(kind, ""), "count": count}
                for stage, kind, count in exceptions
            ],
            "exit_bases": [{"key": key, "name": name} for key, name in bases.items()],
            "exits": exits,
            "drill": {
                block: {"model": model, "domain": list(domain)} for block, (model, domain) in domains.items()
            },
        }
