"""Time the manager reports on a large database: each must answer in under 1 s.

Creates (on first use) the database ``spa_bench_reports`` with ``crm`` and
``sales_process_addon`` (no demo data) and fills it once, with set-based SQL
(``INSERT ... SELECT ... generate_series``), with:

- 200,000 opportunities spread over the shipped sales processes, 10 teams and
  50 salespersons, created over the last two years; about 55% open, 25% won,
  20% lost, each in a stage consistent with its history;
- 1,000,000 stage history rows: creation, one forward move per stage up to
  the current one (the last one "won" for won deals), "lost" for lost deals,
  and backward-then-forward moves on some opportunities up to the total;
- 20,000 stage exceptions of every kind and state.

A database already filled is reused as it is (the addon is updated first).
Then it runs ANALYZE and times, as a sales manager (record rules applied)
and as a salesperson (own opportunities only), each report's grouped read at
the group-bys its views use: ``_read_group`` for the list and graph views,
and ``formatted_read_grouping_sets`` (what the pivot view calls) for the
default pivot of each report; and the sales process dashboard's one server
call (``crm.sales.dashboard.get_dashboard_data``) for the busiest process, all
teams and all time, then one team over the last 12 months. Best of 3 runs,
in ms, PASS under 1 s.

    python benchmarks/bench_reports.py -c odoo.conf --odoo-bin path/to/odoo-bin
"""

import argparse
import datetime
import subprocess
import sys
import time

import odoo
from odoo.modules.registry import Registry
from odoo.tools import SQL, config

DB_NAME = "spa_bench_reports"
LEADS = 200_000
HISTORY = 1_000_000
EXCEPTIONS = 20_000
TEAMS = 10
SALESPERSONS = 50
LIMIT_MS = 1000
FILLED_PARAM = "sales_process_addon.bench_reports_filled"


def ensure_database(name, odoo_bin, conf):
    listing = subprocess.run(
        ["psql", "-X", "-d", "postgres", "-Atl"], capture_output=True, text=True, check=True
    )
    exists = any(line.split("|")[0] == name for line in listing.stdout.splitlines())
    if not exists:
        print(f"creating benchmark database {name}...", flush=True)
    subprocess.run(
        [
            sys.executable,
            odoo_bin,
            "-c",
            conf,
            "-d",
            name,
            "-u" if exists else "-i",
            "sales_process_addon" if exists else "crm,sales_process_addon",
            "--stop-after-init",
            "--log-level=warn",
        ],
        check=True,
    )


# ----------------------------------------------------------------------------
# Data
# ----------------------------------------------------------------------------


def create_people(env):
    """Salespersons and teams, through the ORM (few records)."""
    salesman = env.ref("sales_team.group_sale_salesman")
    users = env["res.users"].create(
        [
            {
                "name": f"Bench rep {i:02d}",
                "login": f"bench_rep_{i:02d}",
                "group_ids": [(6, 0, [salesman.id])],
            }
            for i in range(SALESPERSONS)
        ]
    )
    per_team = SALESPERSONS // TEAMS
    teams = env["crm.team"].create(
        [
            {
                "name": f"Bench team {i:02d}",
                "user_id": env.uid,
                "member_ids": [(6, 0, users[i * per_team : (i + 1) * per_team].ids)],
            }
            for i in range(TEAMS)
        ]
    )
    return users, teams


def fill(env):
    cr = env.cr
    users, teams = create_people(env)
    per_team = SALESPERSONS // TEAMS
    types = env["crm.pipeline.type"].search([]).filtered(lambda t: t.stage_ids.filtered("is_won"))
    stage_rows, type_rows = [], []
    for type_idx, ptype in enumerate(types):
        stages = list(ptype.stage_ids)
        won_pos = next(pos for pos, stage in enumerate(stages) if stage.is_won)
        type_rows.append(SQL("(%s, %s, %s)", type_idx, ptype.id, won_pos))
        stage_rows += [
            SQL(
                "(%s, %s, %s, %s, %s)",
                type_idx,
                pos,
                stage.id,
                stage.buyer_stage_id.id or None,
                stage.funnel_state_id.id or None,
            )
            for pos, stage in enumerate(stages)
        ]
    user_rows = [
        SQL("(%s, %s, %s)", idx, user.id, teams[idx // per_team].id) for idx, user in enumerate(users)
    ]
    cr.execute(SQL("SELECT setseed(0.42)"))
    cr.execute(
        SQL(
            """
            CREATE TEMP TABLE bench_type (type_idx int, type_id int, won_pos int) ON COMMIT DROP;
            INSERT INTO bench_type VALUES %s;
            CREATE TEMP TABLE bench_stage (type_idx int, pos int, stage_id int, buyer_stage_id int,
                                           funnel_state_id int) ON COMMIT DROP;
            INSERT INTO bench_stage VALUES %s;
            CREATE TEMP TABLE bench_user (user_idx int, user_id int, team_id int) ON COMMIT DROP;
            INSERT INTO bench_user VALUES %s;
            """,
            SQL(", ").join(type_rows),
            SQL(", ").join(stage_rows),
            SQL(", ").join(user_rows),
        )
    )
    # The plan of each opportunity: process, outcome, stage reached, owner, dates.
    cr.execute(
        SQL(
            """
            CREATE TEMP TABLE bench_plan ON COMMIT DROP AS
            SELECT nextval('crm_lead_id_seq')::int AS lead_id, base.g, base.type_idx, t.type_id,
                   outcome.status,
                   CASE WHEN outcome.status = 'won' THEN t.won_pos
                        ELSE floor(base.r_pos * t.won_pos)::int END AS pos,
                   u.user_id, u.team_id,
                   now() - interval '1 day' * (300 + base.r_age * 430) AS create_date,
                   round((1000 + base.r_rev * 99000)::numeric, 2) AS revenue
            FROM (
                SELECT g, g %% %(types)s AS type_idx, g %% %(users)s AS user_idx,
                       random() AS r_outcome, random() AS r_pos, random() AS r_age, random() AS r_rev
                FROM generate_series(1, %(leads)s) g
            ) base
            JOIN bench_type t ON t.type_idx = base.type_idx
            JOIN bench_user u ON u.user_idx = base.user_idx
            CROSS JOIN LATERAL (
                SELECT CASE WHEN base.r_outcome < 0.25 THEN 'won'
                            WHEN base.r_outcome < 0.45 THEN 'lost'
                            ELSE 'pending' END AS status
            ) outcome
            """,
            types=len(types),
            users=SALESPERSONS,
            leads=LEADS,
        )
    )
    # Stage moves: creation (k = 0), then one forward move per stage up to pos.
    cr.execute(
        SQL(
            """
            CREATE TEMP TABLE bench_move ON COMMIT DROP AS
            SELECT p.lead_id, k, p.type_idx,
                   CASE WHEN k = 0 THEN 0 ELSE round((1 + random() * 29)::numeric, 2) END AS days
            FROM bench_plan p, generate_series(0, p.pos) k
            """
        )
    )
    cr.execute(SQL("ANALYZE bench_plan; ANALYZE bench_move"))
    cr.execute(SQL("SELECT count(*) FROM bench_move"))
    natural = cr.fetchone()[0]
    cr.execute(SQL("SELECT count(*) FROM bench_plan WHERE status = 'lost'"))
    natural += cr.fetchone()[0]
    extra = HISTORY - natural
    bounces, restores = divmod(extra, 2)
    print(
        f"history: {natural} natural rows, {bounces} backward/forward pairs, {restores} restore", flush=True
    )
    cr.execute(
        SQL(
            """
            CREATE TEMP TABLE bench_row ON COMMIT DROP AS
            WITH dated AS (
                SELECT m.lead_id, m.k, m.type_idx, m.days,
                       p.create_date + interval '1 day' * SUM(m.days) OVER (
                           PARTITION BY m.lead_id ORDER BY m.k) AS date
                FROM bench_move m JOIN bench_plan p ON p.lead_id = m.lead_id
            )
            -- creation and forward moves
            SELECT d.lead_id, d.date, d.days, d.k AS seq,
                   CASE WHEN d.k = 0 THEN 'create'
                        WHEN d.k = t.won_pos THEN 'won' ELSE 'forward' END AS event,
                   CASE WHEN d.k = 0 THEN NULL ELSE d.k - 1 END AS from_pos, d.k AS to_pos
            FROM dated d JOIN bench_type t ON t.type_idx = d.type_idx
            UNION ALL
            -- lost deals: lost where they stand
            SELECT p.lead_id, last.date + interval '1 day' * (3 + p.g %% 20), 3 + p.g %% 20, 1000,
                   'lost', p.pos, p.pos
            FROM bench_plan p
            JOIN (SELECT lead_id, MAX(date) AS date FROM dated GROUP BY lead_id) last
                ON last.lead_id = p.lead_id
            WHERE p.status = 'lost'
            """
        )
    )
    # Top up to the total: open opportunities past their first stage step back and forward
    # again, several times each if needed (pair n of each opportunity n * 10 days later).
    cr.execute(
        SQL(
            """
            INSERT INTO bench_row
            SELECT b.lead_id,
                   b.last_date + interval '1 day' * (b.n * 10 + step * 3 + 2 + b.g %% 5),
                   CASE WHEN step = 1 THEN 3 WHEN b.n = 0 THEN 2 + b.g %% 5 ELSE 7 END,
                   500 + b.n * 2 + step, CASE WHEN step = 0 THEN 'backward' ELSE 'forward' END,
                   CASE WHEN step = 0 THEN b.pos ELSE b.pos - 1 END,
                   CASE WHEN step = 0 THEN b.pos - 1 ELSE b.pos END
            FROM (
                SELECT p.lead_id, p.g, p.pos, last.date AS last_date, n
                FROM bench_plan p
                JOIN (SELECT lead_id, MAX(date) AS date FROM bench_row GROUP BY lead_id) last
                    ON last.lead_id = p.lead_id
                CROSS JOIN generate_series(0, 9) n
                WHERE p.status = 'pending' AND p.pos >= 1
                ORDER BY n, p.lead_id
                LIMIT %(bounces)s
            ) b, generate_series(0, 1) step
            """,
            bounces=bounces,
        )
    )
    cr.execute(SQL("ANALYZE bench_row"))
    if restores:
        # One lost deal restored: a single row, and the deal is open again.
        cr.execute(
            SQL(
                """
                WITH target AS (SELECT lead_id FROM bench_plan WHERE status = 'lost' ORDER BY lead_id LIMIT 1)
                UPDATE bench_plan SET status = 'pending' FROM target WHERE bench_plan.lead_id = target.lead_id;
                INSERT INTO bench_row
                SELECT r.lead_id, r.date + interval '1 day', 0, 2000, 'restore', r.to_pos, r.to_pos
                FROM bench_row r JOIN bench_plan p ON p.lead_id = r.lead_id
                WHERE r.event = 'lost' AND p.status = 'pending'
                """
            )
        )
    cr.execute(
        SQL(
            """
            INSERT INTO crm_lead (
                id, name, type, active, user_id, team_id, company_id, pipeline_type_id, stage_id,
                buyer_stage_id, funnel_state_id, won_status, probability, expected_revenue,
                prorated_revenue, create_date, write_date, date_open, date_last_stage_update,
                date_closed, priority, create_uid, write_uid)
            SELECT p.lead_id, 'Bench opportunity ' || p.g, 'opportunity', p.status != 'lost',
                   p.user_id, p.team_id, %(company)s, p.type_id, s.stage_id,
                   s.buyer_stage_id, s.funnel_state_id, p.status, prob.value, p.revenue,
                   round(p.revenue * prob.value / 100, 2), p.create_date, p.create_date, p.create_date,
                   last.stage_date, last.closed_date, '0', %(uid)s, %(uid)s
            FROM bench_plan p
            JOIN bench_stage s ON s.type_idx = p.type_idx AND s.pos = p.pos
            CROSS JOIN LATERAL (
                SELECT CASE p.status WHEN 'won' THEN 100 WHEN 'lost' THEN 0 ELSE 50 END AS value
            ) prob
            JOIN (
                SELECT lead_id,
                       MAX(date) FILTER (WHERE event NOT IN ('lost', 'restore')) AS stage_date,
                       MAX(date) FILTER (WHERE event IN ('won', 'lost')) AS closed_date
                FROM bench_row GROUP BY lead_id
            ) last ON last.lead_id = p.lead_id
            ORDER BY p.lead_id
            """,
            company=env.company.id,
            uid=env.uid,
        )
    )
    if restores:
        cr.execute(
            SQL(
                """
                UPDATE crm_lead SET date_closed = NULL
                WHERE id IN (SELECT lead_id FROM bench_row WHERE event = 'restore')
                """
            )
        )
    cr.execute(
        SQL(
            """
            INSERT INTO crm_lead_stage_history (
                lead_id, event, date, user_id, salesperson_id, team_id, company_id, pipeline_type_id,
                from_pipeline_type_id, from_stage_id, to_stage_id, from_buyer_stage_id,
                to_buyer_stage_id, from_funnel_state_id, to_funnel_state_id, days_in_previous_stage)
            SELECT r.lead_id, r.event, r.date, p.user_id, p.user_id, p.team_id, %(company)s, p.type_id,
                   CASE WHEN r.event = 'create' THEN NULL ELSE p.type_id END,
                   src.stage_id, dst.stage_id, src.buyer_stage_id, dst.buyer_stage_id,
                   src.funnel_state_id, dst.funnel_state_id, r.days
            FROM bench_row r
            JOIN bench_plan p ON p.lead_id = r.lead_id
            LEFT JOIN bench_stage src ON src.type_idx = p.type_idx AND src.pos = r.from_pos
            JOIN bench_stage dst ON dst.type_idx = p.type_idx AND dst.pos = r.to_pos
            ORDER BY r.date, r.lead_id, r.seq
            """,
            company=env.company.id,
        )
    )
    # Exceptions, on opportunities past their first stage.
    managers = env.ref("sales_team.group_sale_manager").all_user_ids.filtered(lambda u: not u.share)
    cr.execute(
        SQL(
            """
            INSERT INTO crm_stage_exception (
                lead_id, from_stage_id, to_stage_id, kind, reason, state, requested_by_id,
                approver_id, decision_date, company_id, team_id, create_date, write_date,
                create_uid, write_uid)
            SELECT p.lead_id, src.stage_id, dst.stage_id,
                   (ARRAY['missing_evidence', 'skip', 'backward'])[1 + p.g %% 3],
                   'Benchmark exception',
                   (ARRAY['pending', 'approved', 'rejected', 'used'])[1 + (p.g / 3) %% 4],
                   p.user_id,
                   CASE WHEN (p.g / 3) %% 4 != 0 THEN (%(managers)s::int[])[1 + p.g %% %(nb_managers)s] END,
                   CASE WHEN (p.g / 3) %% 4 != 0 THEN p.create_date + interval '2 days' END,
                   %(company)s, p.team_id, p.create_date + interval '1 day', p.create_date, %(uid)s, %(uid)s
            FROM bench_plan p
            JOIN bench_stage src ON src.type_idx = p.type_idx AND src.pos = p.pos - 1
            JOIN bench_stage dst ON dst.type_idx = p.type_idx AND dst.pos = p.pos
            WHERE p.pos >= 1
            ORDER BY p.g
            LIMIT %(exceptions)s
            """,
            managers=managers.ids,
            nb_managers=len(managers),
            company=env.company.id,
            uid=env.uid,
            exceptions=EXCEPTIONS,
        )
    )
    # The history was written in SQL: derive the stage entries and stays of the reports from it.
    start = time.perf_counter()
    env["crm.lead.stage.entry"]._rebuild()
    env["crm.lead.stage.stay"]._rebuild()
    print(
        f"stage entries and stays rebuilt from the history in {time.perf_counter() - start:.1f} s", flush=True
    )
    env["ir.config_parameter"].set_param(FILLED_PARAM, "1")


def ensure_filled(db_name):
    registry = Registry(db_name)
    with registry.cursor() as cr:
        env = odoo.api.Environment(cr, odoo.SUPERUSER_ID, {})
        if env["ir.config_parameter"].get_param(FILLED_PARAM):
            print("benchmark data already there", flush=True)
        else:
            print(
                f"filling: {LEADS} opportunities, {HISTORY} history rows, {EXCEPTIONS} exceptions...",
                flush=True,
            )
            start = time.perf_counter()
            fill(env)
            cr.commit()
            print(f"filled in {time.perf_counter() - start:.1f} s", flush=True)
        for table in (
            "crm_lead",
            "crm_lead_stage_history",
            "crm_lead_stage_entry",
            "crm_lead_stage_stay",
            "crm_stage_exception",
        ):
            cr.execute(SQL("SELECT count(*) FROM %s", SQL.identifier(table)))
            print(f"  {table}: {cr.fetchone()[0]:,} rows")
    # VACUUM cannot run in a transaction: psql, autocommit.
    tables = "crm_lead, crm_lead_stage_history, crm_lead_stage_entry, crm_lead_stage_stay, crm_stage_exception, crm_stage"
    subprocess.run(["psql", "-X", "-q", "-d", db_name, "-c", f"VACUUM ANALYZE {tables}"], check=True)


# ----------------------------------------------------------------------------
# Timing
# ----------------------------------------------------------------------------

FUNNEL_MEASURES = ["__count", "expected_revenue:sum"]
CONVERSION_MEASURES = ["__count", "reached_next_count:sum", "reached_next_rate:avg", "won_rate:avg"]
DURATION_MEASURES = ["__count", "days:avg", "days_median:median"]
EFFICIENCY_MEASURES = ["__count", "win_rate:avg", "deal_size:avg", "cycle_days:avg"]
CYCLE_MEASURES = ["__count", "cycle_days:avg", "cycle_days_median:median"]
EXCEPTION_MEASURES = ["__count"]
OPEN = [("won_status", "=", "pending")]

# (report, model, domain, group-bys, aggregates); a list of group-bys is one grouped read,
# a tuple of lists is the pivot's grouping sets.
CASES = [
    ("Funnel", "crm.sales.funnel.report", OPEN, ["funnel_state_id"], FUNNEL_MEASURES),
    ("Funnel", "crm.sales.funnel.report", OPEN, ["stage_id"], FUNNEL_MEASURES),
    ("Funnel", "crm.sales.funnel.report", OPEN, ["buyer_stage_id"], FUNNEL_MEASURES),
    ("Funnel", "crm.sales.funnel.report", OPEN, ["pipeline_type_id"], FUNNEL_MEASURES),
    ("Funnel", "crm.sales.funnel.report", OPEN, ["team_id"], FUNNEL_MEASURES),
    ("Funnel", "crm.sales.funnel.report", OPEN, ["user_id"], FUNNEL_MEASURES),
    ("Funnel", "crm.sales.funnel.report", OPEN, ["create_date:month"], FUNNEL_MEASURES),
    (
        "Funnel",
        "crm.sales.funnel.report",
        OPEN,
        (["funnel_state_id", "pipeline_type_id"], ["funnel_state_id"], ["pipeline_type_id"], []),
        [*FUNNEL_MEASURES, "currency_id:array_agg_distinct", "expected_revenue:sum_currency"],
    ),
    ("Conversion", "crm.stage.conversion.report", [], ["pipeline_type_id", "stage_id"], CONVERSION_MEASURES),
    ("Conversion", "crm.stage.conversion.report", [], ["team_id"], CONVERSION_MEASURES),
    ("Conversion", "crm.stage.conversion.report", [], ["date:month"], CONVERSION_MEASURES),
    (
        "Conversion",
        "crm.stage.conversion.report",
        [],
        (["pipeline_type_id", "stage_id"], ["pipeline_type_id"], []),
        CONVERSION_MEASURES,
    ),
    # List grouped by stage (the default view: average and median per stage), graph by stage.
    ("Time in stage", "crm.stage.duration.report", [], ["stage_id"], DURATION_MEASURES),
    ("Time in stage", "crm.stage.duration.report", [], ["pipeline_type_id"], DURATION_MEASURES),
    ("Time in stage", "crm.stage.duration.report", [], ["team_id"], DURATION_MEASURES),
    ("Time in stage", "crm.stage.duration.report", [], ["user_id"], DURATION_MEASURES),
    ("Time in stage", "crm.stage.duration.report", [], ["date:month"], DURATION_MEASURES),
    # Pivot: count and average by default, the median a click away in the measures.
    ("Time in stage", "crm.stage.duration.report", [], (["stage_id"], []), ["__count", "days:avg"]),
    (
        "Time in stage",
        "crm.stage.duration.report",
        [],
        (["pipeline_type_id", "stage_id"], ["pipeline_type_id"], []),
        ["__count", "days:avg"],
    ),
    ("Efficiency", "crm.sales.efficiency.report", [], ["team_id"], EFFICIENCY_MEASURES),
    ("Efficiency", "crm.sales.efficiency.report", [], ["user_id"], EFFICIENCY_MEASURES),
    ("Efficiency", "crm.sales.efficiency.report", [], ["pipeline_type_id"], EFFICIENCY_MEASURES),
    ("Efficiency", "crm.sales.efficiency.report", [], ["date_closed:month"], EFFICIENCY_MEASURES),
    (
        "Efficiency",
        "crm.sales.efficiency.report",
        [],
        (["team_id", "date_closed:quarter"], ["team_id"], ["date_closed:quarter"], []),
        [*EFFICIENCY_MEASURES, "currency_id:array_agg_distinct", "deal_size:sum_currency"],
    ),
    ("Cycle length", "crm.sales.efficiency.report", [], ["won_status"], CYCLE_MEASURES),
    (
        "Cycle length",
        "crm.sales.efficiency.report",
        [],
        (["won_status", "pipeline_type_id"], ["won_status"], ["pipeline_type_id"], []),
        CYCLE_MEASURES,
    ),
    ("Exceptions", "crm.stage.exception", [], ["kind"], EXCEPTION_MEASURES),
    ("Exceptions", "crm.stage.exception", [], ["state"], EXCEPTION_MEASURES),
    ("Exceptions", "crm.stage.exception", [], ["requested_by_id"], EXCEPTION_MEASURES),
    ("Exceptions", "crm.stage.exception", [], ["approver_id"], EXCEPTION_MEASURES),
    ("Exceptions", "crm.stage.exception", [], ["team_id"], EXCEPTION_MEASURES),
    ("Exceptions", "crm.stage.exception", [], ["create_date:month"], EXCEPTION_MEASURES),
    (
        "Exceptions",
        "crm.stage.exception",
        [],
        (["kind", "state"], ["kind"], ["state"], []),
        EXCEPTION_MEASURES,
    ),
    (
        "Exit/wins",
        "crm.stage.exit.report",
        [],
        ["stage_id", "exit_basis"],
        ["__count", "won_rate:avg", "cycle_days:avg"],
    ),
    (
        "Exit/wins",
        "crm.stage.exit.report",
        [],
        (
            ["pipeline_type_id", "stage_id", "exit_basis"],
            ["pipeline_type_id", "stage_id"],
            ["exit_basis"],
            [],
        ),
        ["__count", "won_rate:avg", "cycle_days:avg"],
    ),
    ("Divergence", "crm.buyer.divergence.report", [], ["user_id"], ["__count", "expected_revenue:sum"]),
]


def best_of(env, model, domain, groupby, aggregates, runs):
    Model = env[model]
    timings, groups = [], 0
    for _run in range(runs):
        env.invalidate_all()
        start = time.perf_counter()
        if isinstance(groupby, tuple):
            result = Model.formatted_read_grouping_sets(domain, list(groupby), aggregates)
            groups = sum(len(rows) for rows in result)
        else:
            groups = len(Model._read_group(domain, groupby, aggregates))
        timings.append((time.perf_counter() - start) * 1000)
    return min(timings), groups


def best_of_dashboard(env, kwargs, runs):
    """Best time of the dashboard's one server call, and its number of stages."""
    timings, stages = [], 0
    for _run in range(runs):
        env.invalidate_all()
        start = time.perf_counter()
        stages = len(env["crm.sales.dashboard"].get_dashboard_data(**kwargs)["stages"])
        timings.append((time.perf_counter() - start) * 1000)
    return min(timings), stages


def dashboard_cases(env):
    """``[(label, kwargs)]``: the busiest process, all teams and all time, then one team over 12 months."""
    env.cr.execute(
        SQL(
            "SELECT pipeline_type_id, team_id FROM crm_lead WHERE team_id IS NOT NULL"
            " GROUP BY pipeline_type_id, team_id ORDER BY count(*) DESC LIMIT 1"
        )
    )
    process_id, team_id = env.cr.fetchone()
    year_ago = (datetime.date.today() - datetime.timedelta(days=365)).isoformat()
    return [
        ("dashboard: busiest process, all time", {"pipeline_type_id": process_id}),
        (
            "dashboard: one team, last 12 months",
            {"pipeline_type_id": process_id, "team_id": team_id, "date_from": year_ago},
        ),
    ]


def measure(db_name, runs):
    registry = Registry(db_name)
    with registry.cursor() as cr:
        env = odoo.api.Environment(cr, odoo.SUPERUSER_ID, {})
        manager = env.ref("base.user_admin")
        rep = env["res.users"].search([("login", "=", "bench_rep_00")])
        # Warm up the caches (registry, rules, PostgreSQL buffers) once per report.
        for model in {case[1] for case in CASES}:
            env[model].with_user(manager)._read_group([], [], ["__count"])
        rows = []
        for report, model, domain, groupby, aggregates in CASES:
            as_manager = best_of(env(user=manager), model, domain, groupby, aggregates, runs)
            as_rep = best_of(env(user=rep), model, domain, groupby, aggregates, runs)
            rows.append((report, groupby, aggregates, as_manager, as_rep))
        for label, kwargs in dashboard_cases(env):
            as_manager = best_of_dashboard(env(user=manager), kwargs, runs)
            as_rep = best_of_dashboard(env(user=rep), kwargs, runs)
            rows.append(("Dashboard", label, [], as_manager, as_rep))
        cr.rollback()
    return rows


def describe(groupby):
    if isinstance(groupby, str):
        return groupby
    if isinstance(groupby, tuple):
        return "pivot: " + " x ".join(
            ", ".join(spec) for spec in groupby if len(spec) == max(map(len, groupby))
        )
    return ", ".join(groupby)


def main():
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("-c", "--config", required=True, help="Odoo configuration file")
    parser.add_argument("--odoo-bin", required=True)
    parser.add_argument("--db", default=DB_NAME)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--skip-update", action="store_true", help="do not update the addon first")
    args = parser.parse_args()

    if not args.skip_update:
        ensure_database(args.db, args.odoo_bin, args.config)
    config.parse_config(["-c", args.config, "--log-level=warn"])
    ensure_filled(args.db)
    rows = measure(args.db, args.runs)

    print(f"\nGrouped reads, best of {args.runs} runs (ms); limit {LIMIT_MS} ms")
    header = f"{'report':<14}{'group by':<52}{'groups':>7}{'manager':>10}{'rep':>9}  result"
    print(header)
    print("-" * len(header))
    failed = 0
    for report, groupby, _aggregates, (manager_ms, groups), (rep_ms, _rep_groups) in rows:
        ok = max(manager_ms, rep_ms) < LIMIT_MS
        failed += not ok
        print(
            f"{report:<14}{describe(groupby):<52}{groups:>7}{manager_ms:>10.1f}{rep_ms:>9.1f}  "
            f"{'PASS' if ok else 'FAIL'}"
        )
    print(f"\n{len(rows) - failed}/{len(rows)} under {LIMIT_MS} ms")
    sys.exit(1 if failed else 0)


if __name__ == "__main__":
    main()
