"""Many reps and managers at once: plain CRM against CRM with the addon, with Locust.

Builds (on first use) two databases of the same size, each with demo data:

- ``spa_load_addon``: ``crm`` + ``sales_process_addon``, filled by the report
  benchmark's generator (``bench_reports.fill``) with ``--leads``
  opportunities (200,000 by default) over 10 teams and 50 salespersons,
  spread over the shipped sales processes, 5 stage history rows per
  opportunity (1,000,000 for 200,000), one stage exception per 10;
- ``spa_load_plain``: ``crm``, filled with as many opportunities, about 55%
  open, 25% won, 20% lost, in pipelines of the same shape: each process of
  the addon's database becomes a plain CRM pipeline (a team's stages) of the
  same columns, and each salesperson's opportunities are in the pipeline of
  the process holding most of his in the addon's database. A rep's kanban
  then has as many columns, and reads as many cards, on both sides: what
  differs is the addon's work, not the number of stages. (Built after the
  addon's, which it mirrors.)

Both get the same 200 customers (each opportunity one of their contacts) and
the salespersons a password. A database already filled is reused (the addon
is updated first); drop it to build it again.

Then, one server at a time, each in the production settings of
``bench_rpc.py`` (``--workers`` HTTP workers, 2 by default; proxy mode,
limits, no cron worker, the addon's setting *Stage Tasks in the Background*
off; with ``--stage-tasks-in-background``, which turns it on, one cron worker
for that job only), it runs
``benchmarks/locustfile.py`` with Locust (in its own venv, see
``benchmarks/requirements.txt``): ``--users`` simulated users, of which
``--managers`` managers, each pausing up to ``--think`` seconds between two
clicks, a warm-up, then ``--run-time`` seconds measured. The managers read
the addon's reports, or on plain CRM as many of Odoo's own (forecast, won and
lost, activities), so that both servers carry a manager's load; each as its
menu opens it (the addon's history reports and Odoo's activities: the last 12
months); for the
same reason plain CRM's reps record what the addon's record as evidence and
a qualification answer: the meeting as a note, the answer in the
opportunity's description (``--plain-reps-record-nothing``: they skip both,
as in the first runs). It prints, side by side, each action's requests per second, median and p95
latency, the errors, and the moves the stage gate refused (expected: the
rep's evidence does not always meet the milestones), apart from the errors.
Last, it checks the addon database's stage history with the invariants of
``tests/test_production.py``: each opportunity's history is a chain from its
creation to its stage, no move is recorded twice, no exception used twice.

    python3 -m venv .local/locust-venv && .local/locust-venv/bin/pip install -r benchmarks/requirements.txt
    PYTHONPATH=$HOME/.local/src/odoo-19.0 .venv/bin/python benchmarks/load_test.py \\
        -c .local/odoo.conf --odoo-bin $HOME/.local/src/odoo-19.0/odoo-bin
"""

import argparse
import datetime
import itertools
import json
import os
import re
import statistics
import subprocess
import sys
import time
from pathlib import Path
from urllib.parse import unquote

import bench_reports
import bench_rpc

import odoo
from odoo.fields import Command
from odoo.modules.registry import Registry
from odoo.tools import SQL, config

REPO_ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO_ROOT / "tests"))
from test_production import INVARIANTS_SQL  # noqa: E402

FILLED_PARAM = "load_test.filled_leads"
# Set on plain CRM's database once its pipelines mirror the addon's processes (see fill_plain).
MIRRORED_PARAM = "load_test.pipelines_mirror_processes"
# Set once the addon's open opportunities have their process's qualification questions.
QUESTIONS_PARAM = "load_test.qualification_questions"
# Set once the opportunities' customers are spread by a hash of their id (see spread_customers).
CUSTOMERS_PARAM = "load_test.customers_spread_by_hash"
QUESTIONS_BATCH = 5000
REP_PASSWORD = "bench"
CUSTOMERS = 200
REPORTS = ("Funnel", "Conversion", "Time in stage")
# Plain CRM's managers read Odoo's own analyses instead, as many calls per visit: the forecast,
# won and lost per salesperson, the activities. Without them plain CRM's server would idle while
# the addon's serves its reports, and the shared actions would not be compared under the same load.
OPPORTUNITIES = [["type", "=", "opportunity"]]
# Each report is read as its menu opens it: Odoo's activities analysis and the addon's history
# reports (conversion, time in stage) open on the last 12 months (their default filter).
LAST_12_MONTHS = [["date", ">=", "-1y"]]
HISTORY_REPORTS = ("Conversion", "Time in stage")
PLAIN_REPORTS = [
    ["forecast", "crm.lead", [*OPPORTUNITIES, ["won_status", "=", "pending"]],
     ["date_deadline:month", "stage_id"], ["prorated_revenue:sum", "expected_revenue:sum", "__count"]],
    ["won and lost", "crm.lead", OPPORTUNITIES, ["user_id", "won_status"], ["expected_revenue:sum", "__count"]],
    ["activities", "crm.activity.report", LAST_12_MONTHS, ["date:month", "user_id"], ["__count"]],
]  # fmt: skip
# Odoo's access log line of a call: its path (model/method/action, see locustfile.OdooUser.call),
# the method, then queries, SQL time and the rest of the time (s).
CALL_LOG = re.compile(
    r"^(\S+ \S+),\d+ .*\"POST /web/dataset/call_kw/(.+?)#(\S+) HTTP/[\d.]+\" 200 - (\d+) ([\d.]+) ([\d.]+)$"
)
SHARED = ("kanban", "kanban: next cards", "form", "move", "note", "pipeline analysis")
ORDER = (
    *SHARED,
    "move refused",
    "evidence",
    "qualification: load",
    "form: reload",
    "qualification: answer",
)


# ----------------------------------------------------------------------------
# Databases
# ----------------------------------------------------------------------------


def main_process_of_reps(cr):
    """``{rep login: id of the sales process holding most of his opportunities}``.

    The web client opens a rep's pipeline on his team's process; the generator
    spreads each rep's opportunities over the processes, so the one holding
    most of them stands for it.
    """
    cr.execute(
        SQL(
            """
            SELECT DISTINCT ON (lead.user_id) rep.login, lead.pipeline_type_id
            FROM crm_lead lead
            JOIN res_users rep ON rep.id = lead.user_id
            WHERE lead.type = 'opportunity' AND lead.active AND rep.login LIKE 'bench_rep_%%'
            GROUP BY lead.user_id, rep.login, lead.pipeline_type_id
            ORDER BY lead.user_id, count(*) DESC
            """
        )
    )
    return dict(cr.fetchall())


def pipeline_shapes(addon_db):
    """What plain CRM's database mirrors of the addon's: ``({process id: [(column name, won)]},
    {rep login: process id})``. A process's columns are its stages holding opportunities, in
    their order: those a rep's kanban shows."""
    with Registry(addon_db).cursor() as cr:
        cr.execute(
            SQL(
                """
                SELECT stage.pipeline_type_id, stage.name->>'en_US', stage.is_won
                FROM crm_stage stage
                WHERE stage.pipeline_type_id IS NOT NULL AND EXISTS (
                    SELECT 1 FROM crm_lead lead
                    WHERE lead.stage_id = stage.id AND lead.active AND lead.type = 'opportunity')
                ORDER BY stage.pipeline_type_id, stage.sequence, stage.id
                """
            )
        )
        columns = {}
        for process_id, name, won in cr.fetchall():
            columns.setdefault(process_id, []).append((name, won))
        return columns, main_process_of_reps(cr)


def fill_plain(env, leads, shapes):
    """``leads`` opportunities in pipelines mirroring the addon's processes (``pipeline_shapes``),
    set-based (the shape of the addon's generator)."""
    columns, process_of = shapes
    users, teams = bench_reports.create_people(env)
    per_team = bench_reports.SALESPERSONS // bench_reports.TEAMS
    # A pipeline of plain CRM is a team's stages. Odoo's own stages get a team of their own, so
    # that they are not shown on every rep's kanban, as no other process's stage is with the addon.
    Stage, Team = env["crm.stage"], env["crm.team"]
    Stage.search([]).write({"team_ids": [Command.set(Team.create({"name": "CRM's own stages"}).ids)]})
    pipelines = {}
    for process_id, process_columns in columns.items():
        team = Team.create({"name": f"Pipeline of process {process_id}"})
        pipelines[process_id] = Stage.create(
            [
                {
                    "name": name,
                    "is_won": won,
                    "sequence": 100 * process_id + index,
                    "team_ids": [Command.set(team.ids)],
                }
                for index, (name, won) in enumerate(process_columns)
            ]
        )
    # Per salesperson, his pipeline's open stages (a slice of one array: they differ in length)
    # and its won stage.
    open_stages, first_open, open_count, won_stage = [], [], [], []
    for user in users:
        stages = pipelines[process_of[user.login]]
        first_open.append(len(open_stages) + 1)
        open_count.append(len(stages.filtered(lambda stage: not stage.is_won)))
        open_stages += stages.filtered(lambda stage: not stage.is_won).ids
        won_stage.append((stages.filtered("is_won")[:1] or stages[-1:]).id)
    env.cr.execute(SQL("SELECT setseed(0.42)"))
    env.cr.execute(
        SQL(
            """
            INSERT INTO crm_lead (
                name, type, active, user_id, team_id, company_id, stage_id, won_status, probability,
                expected_revenue, prorated_revenue, create_date, write_date, date_open,
                date_last_stage_update, date_closed, priority, create_uid, write_uid)
            SELECT 'Bench opportunity ' || b.g, 'opportunity', o.status != 'lost',
                   (%(users)s::int[])[1 + b.g %% %(nb_users)s], (%(teams)s::int[])[1 + b.g %% %(nb_users)s],
                   %(company)s,
                   CASE WHEN o.status = 'won' THEN (%(won)s::int[])[1 + b.g %% %(nb_users)s]
                        ELSE (%(open)s::int[])[(%(first_open)s::int[])[1 + b.g %% %(nb_users)s]
                             + floor(b.r_pos * (%(open_count)s::int[])[1 + b.g %% %(nb_users)s])::int]
                   END,
                   o.status, o.prob, b.revenue, round(b.revenue * o.prob / 100, 2),
                   b.created, b.created, b.created, b.created + interval '10 days',
                   CASE WHEN o.status != 'pending' THEN b.created + interval '20 days' END,
                   '0', %(uid)s, %(uid)s
            FROM (
                SELECT g, random() AS r_outcome, random() AS r_pos,
                       round((1000 + random() * 99000)::numeric, 2) AS revenue,
                       now() - interval '1 day' * (300 + random() * 430) AS created
                FROM generate_series(1, %(leads)s) g
            ) b
            CROSS JOIN LATERAL (
                SELECT CASE WHEN b.r_outcome < 0.25 THEN 'won' WHEN b.r_outcome < 0.45 THEN 'lost'
                            ELSE 'pending' END AS status,
                       CASE WHEN b.r_outcome < 0.25 THEN 100 WHEN b.r_outcome < 0.45 THEN 0
                            ELSE 50 END AS prob
            ) o
            """,
            users=users.ids,
            teams=[teams[index // per_team].id for index in range(len(users))],
            nb_users=len(users),
            company=env.company.id,
            won=won_stage,
            open=open_stages,
            first_open=first_open,
            open_count=open_count,
            uid=env.uid,
            leads=leads,
        )
    )


def fill_addon(env, leads):
    """The report benchmark's generator, at ``leads`` opportunities."""
    bench_reports.LEADS = leads
    bench_reports.HISTORY = 5 * leads
    bench_reports.EXCEPTIONS = leads // 10
    bench_reports.fill(env)


def fill_questions(env):
    """Give the open opportunities their process's qualification questions, as the addon's
    ``create`` does (the generator writes the opportunities in SQL): a rep then answers one
    from the form's list, not after loading them with the form's button."""
    print("qualification questions for the open opportunities...", flush=True)
    start = time.perf_counter()
    env.cr.execute(
        SQL(
            "SELECT id FROM crm_lead WHERE type = 'opportunity' AND active AND won_status = 'pending' "
            "AND pipeline_type_id IS NOT NULL ORDER BY id"
        )
    )
    lead_ids = [row[0] for row in env.cr.fetchall()]
    Lead = env["crm.lead"].with_context(tracking_disable=True, mail_notrack=True)
    for start_at in range(0, len(lead_ids), QUESTIONS_BATCH):
        Lead.browse(lead_ids[start_at : start_at + QUESTIONS_BATCH])._qualification_fill()
        env.flush_all()
        env.invalidate_all()
    env["ir.config_parameter"].set_param(QUESTIONS_PARAM, "1")
    env.cr.commit()
    print(f"  {len(lead_ids):,} opportunities in {time.perf_counter() - start:.0f} s", flush=True)


def spread_customers(env):
    """Give each generated opportunity one of the customers' contacts, by a hash of its id.

    Not by its id modulo the number of customers: plain CRM's generator gives a rep every 20th
    id, so its cards would show a handful of customers, and its kanban would read and name far
    fewer of them than the addon's, whose ids follow another order.
    """
    env.cr.execute(
        SQL(
            "SELECT contact.id FROM res_partner contact JOIN res_partner company ON company.id = contact.parent_id "
            "WHERE company.name LIKE 'Load customer %%' ORDER BY contact.id"
        )
    )
    contacts = [row[0] for row in env.cr.fetchall()]
    env.cr.execute(
        SQL(
            "UPDATE crm_lead SET partner_id = (%s::int[])[1 + mod(hashint4(id)::bigint + 2147483648, %s)] "
            "WHERE name LIKE 'Bench opportunity %%'",
            contacts,
            len(contacts),
        )
    )
    env["ir.config_parameter"].set_param(CUSTOMERS_PARAM, "1")


def ensure_filled(db, leads, shapes=None):
    """Fill ``db``: with the addon's generator, or with plain CRM's mirroring ``shapes``."""
    with Registry(db).cursor() as cr:
        env = odoo.api.Environment(cr, odoo.SUPERUSER_ID, {})
        filled = env["ir.config_parameter"].get_param(FILLED_PARAM)
        if filled:
            if int(filled) != leads:
                sys.exit(
                    f"{db} holds {filled} opportunities, not {leads}: drop it (dropdb {db}) or use --leads {filled}"
                )
            if shapes and not env["ir.config_parameter"].get_param(MIRRORED_PARAM):
                sys.exit(f"{db} was filled before its pipelines mirrored the addon's processes: dropdb {db}")
            if not shapes and not env["ir.config_parameter"].get_param(QUESTIONS_PARAM):
                fill_questions(env)
            if not env["ir.config_parameter"].get_param(CUSTOMERS_PARAM):
                spread_customers(env)
                cr.commit()
                subprocess.run(["psql", "-X", "-q", "-d", db, "-c", "VACUUM ANALYZE crm_lead"], check=True)
            return
        print(f"filling {db} with {leads:,} opportunities...", flush=True)
        start = time.perf_counter()
        if shapes:
            fill_plain(env, leads, shapes)
            env["ir.config_parameter"].set_param(MIRRORED_PARAM, "1")
        else:
            fill_addon(env, leads)
            fill_questions(env)
        # Customers: each opportunity one of 200 companies' contacts (evidence needs one).
        companies = env["res.partner"].create(
            [{"name": f"Load customer {i:03d}", "is_company": True} for i in range(CUSTOMERS)]
        )
        env["res.partner"].create(
            [{"name": f"Buyer {i:03d}", "parent_id": company.id} for i, company in enumerate(companies)]
        )
        spread_customers(env)
        env["res.users"].search([("login", "=like", "bench_rep_%")]).write({"password": REP_PASSWORD})
        env["ir.config_parameter"].set_param(FILLED_PARAM, str(leads))
        cr.commit()
        print(f"filled {db} in {time.perf_counter() - start:.0f} s", flush=True)
    tables = "crm_lead, res_partner"
    if not shapes:
        tables += (
            ", crm_lead_stage_history, crm_lead_stage_entry, crm_stage_exception, crm_lead_qualification"
        )
    subprocess.run(["psql", "-X", "-q", "-d", db, "-c", f"VACUUM ANALYZE {tables}"], check=True)


def database_counts(db):
    with Registry(db).cursor() as cr:
        cr.execute(SQL("SELECT to_regclass('crm_lead_stage_history') IS NOT NULL"))
        history = cr.fetchone()[0]
        cr.execute(SQL("SELECT count(*) FROM crm_lead WHERE type = 'opportunity'"))
        counts = {"opportunities": cr.fetchone()[0]}
        if history:
            cr.execute(SQL("SELECT count(*) FROM crm_lead_stage_history"))
            counts["history rows"] = cr.fetchone()[0]
    return counts


# ----------------------------------------------------------------------------
# What the simulated users need to know
# ----------------------------------------------------------------------------


class AsUser:
    """``bench_rpc.Server.kw`` as another user, for ``bench_rpc.view_specs``."""

    def __init__(self, server, uid, password):
        self.server, self.uid, self.password = server, uid, password

    def kw(self, model, method, args, kwargs=None):
        return self.server.call(
            "object", "execute_kw", self.server.db, self.uid, self.password, model, method, args, kwargs or {}
        )


def side_config(db, with_addon):
    """The users' logins and each process's stages and milestones, read from the database."""
    with Registry(db).cursor() as cr:
        env = odoo.api.Environment(cr, odoo.SUPERUSER_ID, {})
        reps = env["res.users"].search([("login", "=like", "bench_rep_%")], order="login")
        stages = env["crm.stage"].search([])
        config_ = {
            "db": db,
            "addon": with_addon,
            "reps": [{"login": login, "password": REP_PASSWORD} for login in reps.mapped("login")],
            "rep_uid": reps[0].id,
            "managers": [{"login": "admin", "password": "admin"}],
            "won_stages": stages.filtered("is_won").ids,
        }
        if not with_addon:
            config_["reports"] = PLAIN_REPORTS
            # A move goes to the next column of the opportunity's pipeline (its team's stages).
            config_["next_stage"] = {
                str(stage.id): following.id
                for team in env["crm.team"].search([])
                for stage, following in itertools.pairwise(
                    stages.filtered(lambda stage, team=team: team in stage.team_ids).sorted(
                        lambda stage: (stage.sequence, stage.id)
                    )
                )
            }
            return config_
        process_of = main_process_of_reps(cr)
        for login in config_["reps"]:
            login["pipeline_type_id"] = process_of.get(login["login"], False)
        Lead = env["crm.lead"]
        teams = env["crm.team"].search([]).ids
        config_["sequences"] = {
            f"{ptype}-{team}": Lead._stage_gate_sequence(ptype, team)
            for ptype in env["crm.pipeline.type"].search([]).ids
            for team in teams
        }
        meeting = env.ref("sales_process_addon.evidence_kind_meeting")
        milestones = {}
        for milestone in env["crm.stage.milestone"].search([("required", "=", True)]):
            milestones.setdefault(str(milestone.stage_id.id), []).append(
                [milestone.id, (milestone.evidence_kind_ids[:1] or meeting).id, milestone.customer_led]
            )
        config_["milestones"] = milestones
        config_["pending_exceptions"] = (
            env["crm.stage.exception"]
            .search([("state", "=", "pending"), ("requested_by_id", "!=", env.ref("base.user_admin").id)])
            .ids
        )
        reports = {}
        for label, model, domain, groupby, aggregates in bench_reports.CASES:
            if label in REPORTS and isinstance(groupby, list):
                if label in HISTORY_REPORTS:
                    domain = [*domain, *LAST_12_MONTHS]
                reports.setdefault(label, [label.lower(), model, domain, groupby, aggregates])
        config_["reports"] = list(reports.values())
        return config_


# ----------------------------------------------------------------------------
# Runs
# ----------------------------------------------------------------------------


def run_side(args, name, db, port, with_addon):
    config_ = side_config(db, with_addon)
    background = with_addon and args.stage_tasks_in_background
    server = bench_rpc.Server(
        args.odoo_bin, args.config, db, port, args.log_dir, workers=args.workers, cron_workers=int(background)
    )
    put_off = None
    try:
        if with_addon:
            put_off = bench_rpc.stage_tasks_in_background(server, background)
        rep = AsUser(server, config_["rep_uid"], REP_PASSWORD)
        config_["kanban_spec"], config_["form_spec"] = bench_rpc.view_specs(rep)
        config_path = Path(args.log_dir) / f"load-{name}-config.json"
        out_path = Path(args.log_dir) / f"load-{name}-figures.json"
        config_path.write_text(json.dumps(config_))
        measured_from = datetime.datetime.now() + datetime.timedelta(seconds=args.warmup)
        load = os.getloadavg()[0]
        print(
            f"{name}: {args.users} users for {args.warmup:.0f} + {args.run_time:.0f} s (load {load:.1f})...",
            flush=True,
        )
        with open(Path(args.log_dir) / f"load-{name}-locust.log", "wb") as log:
            subprocess.run(
                [
                    args.locust_python,
                    str(REPO_ROOT / "benchmarks/locustfile.py"),
                    *("--config", str(config_path), "--host", f"http://127.0.0.1:{port}"),
                    *("--users", str(args.users), "--managers", str(args.managers)),
                    *("--warmup", str(args.warmup), "--run-time", str(args.run_time)),
                    *("--think", str(args.think), "--out", str(out_path)),
                    *(["--plain-reps-record-nothing"] if args.plain_reps_record_nothing else []),
                ],
                stdout=log,
                stderr=subprocess.STDOUT,
                check=True,
                timeout=args.warmup + args.run_time + 600,
            )
        if background:
            figures_queue = wait_for_stage_tasks(server)
    finally:
        if put_off is not None:
            bench_rpc.restore_after_background(server, put_off)
        server.stop()
    figures = json.loads(out_path.read_text())
    if background:
        figures["queue"] = figures_queue
    figures["server"] = server_times(server.log_path, measured_from)
    return figures


def server_times(log_path, since):
    """Per action and ``model.method``: calls, median queries, SQL s and other s, then the median
    and the p95 of the whole time (SQL + other) in the server (Odoo's log). A move the stage gate
    refuses counts with the moves: the server's log does not tell them apart.

    The client's latency adds the time a request waits for a free worker; the server's time does
    not (it still shares the CPU with the other workers, PostgreSQL and Locust)."""
    calls = {}
    for line in Path(log_path).read_text(errors="replace").splitlines():
        match = CALL_LOG.match(line)
        if match and datetime.datetime.fromisoformat(match[1]) >= since:
            action = unquote(match[2]).split("/", 2)[2:]
            key = f"{action[0]} ({match[3]})" if action else match[3]
            calls.setdefault(key, []).append((int(match[4]), float(match[5]), float(match[6])))
    return {
        key: [
            len(rows),
            *(statistics.median(row[i] for row in rows) for i in range(3)),
            statistics.median(row[1] + row[2] for row in rows),
            percentile_95([row[1] + row[2] for row in rows]),
        ]
        for key, rows in calls.items()
    }


def percentile_95(values):
    """The 95th percentile of ``values``, as Locust reports it: the value 95% of them do not pass."""
    ordered = sorted(values)
    return ordered[max(0, -(-len(ordered) * 95 // 100) - 1)]


def wait_for_stage_tasks(server, timeout=300):
    """``(moves queued at the end of the run, seconds the cron worker took to work them)``."""
    start = time.monotonic()
    left = queued = server.kw("crm.lead.stage.task.job", "search_count", [[]])
    while left and time.monotonic() - start < timeout:
        time.sleep(0.5)
        left = server.kw("crm.lead.stage.task.job", "search_count", [[]])
    if left:
        raise RuntimeError(
            f"{left} moves still queued {timeout} s after the run: is the cron worker running?"
        )
    return queued, time.monotonic() - start


def check_history(db):
    """Offending rows per invariant of ``tests/test_production.py`` (all 0 when sound)."""
    with Registry(db).cursor() as cr:
        cr.execute(SQL(INVARIANTS_SQL))
        return cr.fetchall()


def print_table(figures, counts, args):
    plain, addon = figures["plain"]["actions"], figures["addon"]["actions"]
    print(
        f"\n{args.users} simulated users ({args.managers} managers), {args.run_time:.0f} s measured "
        f"after {args.warmup:.0f} s of warm-up, pauses up to {args.think:g} s between clicks, "
        f"one server at a time, {args.workers} HTTP workers; plain CRM's reps "
        + ("record nothing" if args.plain_reps_record_nothing else "record the meeting and the answer")
    )
    for side in ("plain", "addon"):
        print(f"  {side}: " + ", ".join(f"{count:,} {what}" for what, count in counts[side].items()))
    print(
        "\n| action | plain req/s | plain median | plain p95 | addon req/s | addon median | addon p95 "
        "| p95 addon/plain |\n|---|---|---|---|---|---|---|---|"
    )
    names = [name for name in ORDER if name in plain or name in addon]
    names += sorted(name for name in {*plain, *addon} if name not in ORDER)

    def cells(row):
        if not row:
            return ["", "", ""]
        return [f"{row['rps']:.2f}", f"{row['median_ms']:.0f} ms", f"{row['p95_ms']:.0f} ms"]

    for name in names:
        ratio = ""
        if name in SHARED and name in plain and name in addon and plain[name]["p95_ms"]:
            ratio = f"{addon[name]['p95_ms'] / plain[name]['p95_ms']:.2f}x"
        print(f"| {name} | " + " | ".join([*cells(plain.get(name)), *cells(addon.get(name)), ratio]) + " |")
    totals = [figures[side]["total"] for side in ("plain", "addon")]
    print(f"| all requests | {totals[0]['rps']:.2f} | | | {totals[1]['rps']:.2f} | | | |")
    refused = addon.get("move refused", {}).get("requests", 0)
    moved = addon.get("move", {}).get("requests", 0)
    print(
        f"\nerrors: plain {totals[0]['failures']} of {totals[0]['requests']} requests, "
        f"addon {totals[1]['failures']} of {totals[1]['requests']}; "
        f"moves refused by the stage gate (expected, not errors): {refused} of {refused + moved}"
    )
    for side in ("plain", "addon"):
        if figures[side]["client_exceptions"]:
            print(f"  {side}: {figures[side]['client_exceptions']} exceptions in the locustfile, see its log")
        for error in sorted(figures[side]["errors"], key=lambda e: -e["count"])[:5]:
            print(f"  {side} {error['name']} x{error['count']}: {error['error'][:200]}")


def print_server_times(figures):
    plain, addon = figures["plain"]["server"], figures["addon"]["server"]
    print(
        "\nWhere the time goes, in the server (Odoo's log, measured period; medians per call, then "
        "the p95 of the whole time in the server, without the wait for a worker; the moves include "
        "those the gate refused; last, the ratios addon / plain of that whole time's median and p95):\n"
        "| action (call) | plain calls | plain queries | plain SQL | plain other | plain p95 | addon calls "
        "| addon queries | addon SQL | addon other | addon p95 | median addon/plain | p95 addon/plain |\n"
        "|---|---|---|---|---|---|---|---|---|---|---|---|---|"
    )

    def cells(row):
        if not row:
            return ["", "", "", "", ""]
        return [str(row[0]), f"{row[1]:.0f}", *(f"{row[i] * 1000:.0f} ms" for i in (2, 3, 5))]

    for key in sorted({*plain, *addon}):
        ratios = ["", ""]
        if key.split(" (")[0] in SHARED and key in plain and key in addon:
            ratios = [f"{addon[key][i] / plain[key][i]:.2f}x" for i in (4, 5)]
        print(f"| {key} | " + " | ".join([*cells(plain.get(key)), *cells(addon.get(key)), *ratios]) + " |")


def main():
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("-c", "--config", required=True, help="Odoo configuration file")
    parser.add_argument("--odoo-bin", required=True)
    parser.add_argument("--plain-db", default="spa_load_plain")
    parser.add_argument("--addon-db", default="spa_load_addon")
    parser.add_argument("--leads", type=int, default=200_000, help="opportunities per database")
    parser.add_argument("--port", type=int, default=8870, help="plain on this port, the addon on the next")
    parser.add_argument(
        "--workers", type=int, default=2, help="HTTP workers per server (Odoo's sizing rule: 2 per core + 1)"
    )
    parser.add_argument("--users", type=int, default=24)
    parser.add_argument("--managers", type=int, default=4)
    parser.add_argument("--warmup", type=float, default=20)
    parser.add_argument("--run-time", type=float, default=90, help="seconds measured per server")
    parser.add_argument(
        "--think",
        type=float,
        default=3.0,
        help="pause of a user between clicks, up to this many seconds (and 0.5-2x it between visits)",
    )
    parser.add_argument(
        "--plain-reps-record-nothing",
        action="store_true",
        help="plain CRM's reps do not record the meeting (as a note) and the qualification answer (in "
        "the description) that the addon's reps record as evidence and answer: the first runs' scenario",
    )
    parser.add_argument("--locust-python", default=str(REPO_ROOT / ".local/locust-venv/bin/python"))
    parser.add_argument("--log-dir", default=".local/logs")
    parser.add_argument(
        "--stage-tasks-in-background",
        action="store_true",
        help="the addon's setting on: its moves queue the stage tasks, for its server's one cron worker",
    )
    args = parser.parse_args()
    if not Path(args.locust_python).exists():
        sys.exit(f"no Locust venv at {args.locust_python}: see benchmarks/requirements.txt")

    config.parse_config(["-c", args.config, "--log-level=warn"])
    os.makedirs(args.log_dir, exist_ok=True)
    sides = {"plain": (args.plain_db, args.port, False), "addon": (args.addon_db, args.port + 1, True)}
    # The addon's first: plain CRM's pipelines mirror its processes.
    bench_rpc.ensure_database(args.addon_db, "crm,sales_process_addon", args.odoo_bin, args.config)
    ensure_filled(args.addon_db, args.leads)
    bench_rpc.ensure_database(args.plain_db, "crm", args.odoo_bin, args.config)
    ensure_filled(args.plain_db, args.leads, pipeline_shapes(args.addon_db))
    counts = {name: database_counts(db) for name, (db, _port, _addon) in sides.items()}
    figures = {name: run_side(args, name, *side) for name, side in sides.items()}
    print_table(figures, counts, args)
    print_server_times(figures)
    if "queue" in figures["addon"]:
        queued, seconds = figures["addon"]["queue"]
        print(f"\nstage tasks in the background: {queued} moves queued at the end, worked in {seconds:.1f} s")

    problems = check_history(args.addon_db)
    print(f"\nstage history of {args.addon_db} after the run:")
    for what, count in problems:
        print(f"  {what}: {count} {'ok' if count == 0 else 'FAIL'}")
    sys.exit(1 if any(count for _what, count in problems) else 0)


if __name__ == "__main__":
    main()
