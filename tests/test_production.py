"""The production command (``scripts/run.sh --workers 2``) under concurrent reps.

Starts the README's production command on a scratch copy of the test
database: two HTTP worker processes, two cron workers, proxy mode, limits.
Several JSON-RPC clients (threads released together by a barrier) then move
the same lead and different leads at once, and two of them race to use one
approved exception. The addon's daily jobs are made due at start, so the cron
workers run them while the reps work.

Afterwards, in the database:

* every lead's stage history is a chain: its first row is its creation, each
  row starts where the previous one ended, the last one ends at its stage;
* no move is recorded twice, no exception is used twice;
* the stage reports follow the history: no row of it is left pending, every
  stage entered has its report entry, every stage left its report stay;
* PostgreSQL did serialise concurrent moves of one lead (the server log shows
  Odoo retrying a transaction after a serialisation failure), and every call
  still answered without error. The first round holds the lead's row until
  both workers wait for it, so the two transactions overlap on every run,
  however fast one move is;
* each daily job ran once, without error, although two cron workers run.

The first scenario has the stage tasks scheduled by the moves themselves
(the setting off); a second one in the background (the addon's default): the moves
queue them, the two cron workers schedule them, and each lead ends with its
stage's tasks once; the rep who moved is shown them live (what his web
client polls for his open chatters carries each lead's activities). A third
checks that a move made in the web client wakes the cron workers once its
response is sent, so that its tasks follow within seconds.
"""

from __future__ import annotations

import http.cookiejar
import json
import re
import subprocess
import threading
import time
import urllib.request
from pathlib import Path

import psycopg2
import pytest
import websocket
from conftest import REPO_ROOT, OdooServer, RpcError, _free_port, spawn_server

ADMIN = (2, "admin")
DEMO = (5, "demo")
CRONS = (
    "sales_process_addon.ir_cron_alert_stale_opportunities",
    "sales_process_addon.ir_cron_refresh_opportunity_indicators",
    "sales_process_addon.ir_cron_expire_stage_exceptions",
)
RETRY_MARK = "tries left, try again in"
LOG_RECORD = re.compile(r"\n(?=\d{4}-\d\d-\d\d \d\d:\d\d:\d\d,\d+ \d+ [A-Z]+ )")

# The invariants of the stage history, one count of offending rows each.
INVARIANTS_SQL = """
WITH h AS (
    SELECT h.*, row_number() OVER w AS n, lag(to_stage_id) OVER w AS prev_to
    FROM crm_lead_stage_history h
    WINDOW w AS (PARTITION BY lead_id ORDER BY id)
)
SELECT 'first row is not a creation', count(*) FROM h WHERE n = 1 AND event <> 'create'
UNION ALL
SELECT 'row not starting where the previous one ended', count(*)
FROM h WHERE n > 1 AND from_stage_id IS DISTINCT FROM prev_to
UNION ALL
SELECT 'last row not ending at the lead''s stage', count(*)
FROM (
    SELECT DISTINCT ON (lead_id) lead_id, to_stage_id
    FROM crm_lead_stage_history ORDER BY lead_id, id DESC
) last JOIN crm_lead lead ON lead.id = last.lead_id
WHERE lead.stage_id IS DISTINCT FROM last.to_stage_id
UNION ALL
SELECT 'one move recorded twice', count(*) FROM (
    SELECT 1 FROM crm_lead_stage_history
    GROUP BY lead_id, event, from_stage_id, to_stage_id, date HAVING count(*) > 1
) dup
UNION ALL
SELECT 'exception used twice', count(*) FROM (
    SELECT 1 FROM crm_lead_stage_history WHERE exception_id IS NOT NULL
    GROUP BY exception_id HAVING count(*) > 1
) twice
UNION ALL
SELECT 'report rows still pending', count(*) FROM crm_lead_stage_history WHERE reports_pending
UNION ALL
SELECT 'stage entered without its report entry', count(*)
FROM crm_lead_stage_history h
WHERE h.to_stage_id IS NOT NULL AND h.from_stage_id IS DISTINCT FROM h.to_stage_id
  AND NOT EXISTS (
      SELECT 1 FROM crm_lead_stage_entry e WHERE e.lead_id = h.lead_id AND e.stage_id = h.to_stage_id
  )
UNION ALL
SELECT 'stage left without its report stay', count(*)
FROM crm_lead_stage_history h
WHERE h.from_stage_id IS NOT NULL AND h.event IN ('forward', 'backward', 'won', 'type_switch')
  AND NOT EXISTS (SELECT 1 FROM crm_lead_stage_stay s WHERE s.history_id = h.id);
"""

# Run in odoo-bin shell on the scratch database before the server starts:
# six opportunities of an enforced process (three the demo rep's, three the
# admin's), the required milestones of each stage, one approved exception to
# skip a stage, the addon's daily jobs due now, and its stage tasks at once
# ("False") or in the background ("True").
SETUP = """
from odoo import fields
env["ir.config_parameter"].set_param("sales_process_addon.stage_tasks_in_background", %(background)r)
ptype = env["crm.pipeline.type"].search([("gate_mode", "=", "enforced")], limit=1)
team = env.ref("sales_team.team_sales_department")
sequence = env["crm.lead"]._stage_gate_sequence(ptype.id, team.id)
won = [sid for sid in sequence if env["crm.stage"].browse(sid).is_won]
stages = [sid for sid in sequence if sid not in won]
users = [env.ref("base.user_demo")] * 3 + [env.ref("base.user_admin")] * 3
contact = env["res.partner"].create({"name": "Concurrency test contact"})
# A second sales manager verifies the evidence the first one records (four eyes).
env["res.users"].create({
    "name": "Concurrency test verifier", "login": "concurrency_verifier", "password": "concurrency_verifier",
    "group_ids": [(6, 0, env.ref("sales_team.group_sale_manager").ids)],
})
leads = env["crm.lead"].create([
    {"name": f"Concurrency test {i}", "type": "opportunity", "pipeline_type_id": ptype.id,
     "team_id": team.id, "user_id": user.id, "stage_id": stages[0], "partner_id": contact.id}
    for i, user in enumerate(users)
])
meeting = env.ref("sales_process_addon.evidence_kind_meeting")
milestones = {
    sid: [(m.id, (m.evidence_kind_ids[:1] or meeting).id)
          for m in env["crm.stage"].browse(sid).milestone_ids.filtered("required")]
    for sid in stages
}
exception = env["crm.stage.exception"].create({
    "lead_id": leads[5].id, "to_stage_id": stages[2], "reason": "Concurrency test: skip a stage",
})
exception.with_user(env.ref("base.user_admin")).action_approve("Approved for the test")
crons = env["ir.cron"].browse([env.ref(xmlid).id for xmlid in %(crons)r])
crons.write({"nextcall": fields.Datetime.now(), "active": True})
env.cr.commit()
result = {"leads": leads.ids, "stages": stages, "exception": exception.id, "crons": crons.ids,
          "milestones": {str(sid): ms for sid, ms in milestones.items()}, "contact": contact.id}
"""


def _start_production_server(odoo_env, db: str, log_path: Path) -> OdooServer:
    """``scripts/run.sh --workers 2 --no-update`` on ``db``, as the README says."""
    port, gevent_port = _free_port(), _free_port()
    env = dict(
        odoo_env.pg_env,
        SPA_DB=db,
        SPA_HTTP_PORT=str(port),
        SPA_GEVENT_PORT=str(gevent_port),
        SPA_CRON_WORKERS="2",
    )
    command = [str(REPO_ROOT / "scripts/run.sh"), "--workers", "2", "--no-update"]
    server = spawn_server(command, db, port, log_path, env, cwd=REPO_ROOT)
    server.gevent_port = gevent_port
    return server


def _sql(odoo_env, db: str, query: str) -> list[str]:
    """Rows of ``query`` (fixed text, no parameters) on ``db``, as ``a|b`` lines."""
    out = odoo_env.pg("psql", "-X", "-q", "-At", "-v", "ON_ERROR_STOP=1", "-d", db, stdin=query)
    return [line for line in out.splitlines() if line]


def _together(calls) -> list:
    """Run the calls in threads released at once; return each one's result or exception."""
    barrier = threading.Barrier(len(calls))
    results: list = [None] * len(calls)

    def run(index, call):
        barrier.wait()
        try:
            results[index] = call()
        except Exception as err:  # noqa: BLE001 - reported by the test
            results[index] = err

    threads = [threading.Thread(target=run, args=(i, call)) for i, call in enumerate(calls)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(120)
    return results


@pytest.fixture
def production_server(odoo_env, odoo_shell, scratch_db, tmp_path):
    data = odoo_shell.json(scratch_db, SETUP % {"crons": CRONS, "background": "False"})
    server = _start_production_server(odoo_env, scratch_db, tmp_path / "odoo-production.log")
    try:
        yield server, data
    finally:
        server.stop()


def _pg_connect(odoo_env, db: str):
    """A psycopg2 connection to ``db`` with the server's PostgreSQL settings."""
    pg_env = odoo_env.pg_env
    params = {"host": "PGHOST", "port": "PGPORT", "user": "PGUSER", "password": "PGPASSWORD"}
    return psycopg2.connect(dbname=db, **{key: pg_env[var] for key, var in params.items() if pg_env.get(var)})


def _together_on_held_row(odoo_env, db: str, lead_id: int, calls, waiters: int = 2) -> list:
    """Run ``calls`` together while the lead's row is locked, until ``waiters`` workers wait on it.

    Each worker's transaction has taken its snapshot by then, so once the
    lock is released the two moves of the lead are truly concurrent: one
    commits, PostgreSQL refuses the other's update and Odoo retries it.
    The lock only holds the row: it changes nothing.
    """
    holder, watcher = _pg_connect(odoo_env, db), _pg_connect(odoo_env, db)
    watcher.autocommit = True
    released = threading.Event()

    def release_when_waited_on():
        deadline = time.monotonic() + 60
        with watcher.cursor() as cr:
            while time.monotonic() < deadline:
                cr.execute(
                    "SELECT count(*) FROM pg_stat_activity WHERE datname = %s AND wait_event_type = 'Lock'",
                    [db],
                )
                if cr.fetchone()[0] >= waiters:
                    break
                time.sleep(0.05)
        holder.commit()
        released.set()

    try:
        with holder.cursor() as cr:
            cr.execute("SELECT id FROM crm_lead WHERE id = %s FOR UPDATE", [lead_id])
        releaser = threading.Thread(target=release_when_waited_on)
        releaser.start()
        results = _together(calls)
        releaser.join(90)
        assert released.is_set(), "the lead's row was never released"
        return results
    finally:
        holder.close()
        watcher.close()


def _prove(server, data, lead_ids, stage_id):
    """A manager records (and verifies) the evidence of every required milestone of ``stage_id``."""
    vals_list = [
        {
            "lead_id": lead_id,
            "milestone_id": milestone_id,
            "kind_id": kind_id,
            "summary": "Concurrency test proof",
            "customer_partner_id": data["contact"],
            "internal_user_id": ADMIN[0],
        }
        for lead_id in lead_ids
        for milestone_id, kind_id in data["milestones"][str(stage_id)]
    ]
    if vals_list:
        ids = server.execute_kw(*ADMIN, "crm.lead.evidence", "create", [vals_list])
        uid = server.jsonrpc("common", "login", server.db, "concurrency_verifier", "concurrency_verifier")
        server.execute_kw(uid, "concurrency_verifier", "crm.lead.evidence", "action_verify", [ids])


def _assert_websocket_answers(server, timeout=60):
    """The gevent process accepts a websocket on ``/websocket`` (live chatter, notifications).

    It is the process that patches the standard library with gevent at start:
    with a setuptools whose ``pkg_resources`` cannot load gevent's plugins, it
    dies there and the web client never gets its notifications.
    """
    url = f"ws://127.0.0.1:{server.gevent_port}/websocket"
    deadline = time.monotonic() + timeout
    while True:
        try:
            socket = websocket.create_connection(
                url, origin=f"http://127.0.0.1:{server.gevent_port}", timeout=10
            )
        except (OSError, websocket.WebSocketException) as err:
            if time.monotonic() > deadline:
                raise AssertionError(
                    f"{url} does not accept a websocket ({err}):\n{server.log_tail()}"
                ) from err
            time.sleep(1)
            continue
        connected = socket.connected
        socket.close()
        assert connected, f"{url} closed the websocket at once:\n{server.log_tail()}"
        return


def _web_session(server, login, password):
    """A JSON caller logged in as ``login`` through the web client's session cookie."""
    opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(http.cookiejar.CookieJar()))

    def call(path, params):
        payload = {"jsonrpc": "2.0", "method": "call", "params": params, "id": 1}
        request = urllib.request.Request(
            server.url + path, data=json.dumps(payload).encode(), headers={"Content-Type": "application/json"}
        )
        with opener.open(request, timeout=60) as response:
            answer = json.load(response)
        assert not answer.get("error"), answer["error"]
        return answer["result"]

    call("/web/session/authenticate", {"db": server.db, "login": login, "password": password})
    return call


def _chatter_activities(notifications):
    """``{lead id: activity ids}`` of each lead's last live chatter update in ``notifications``."""
    shown = {}
    for notification in notifications:
        message = notification["message"]
        if message["type"] != "mail.record/insert":
            continue
        for thread in message["payload"].get("mail.thread", []):
            if thread.get("model") == "crm.lead" and "activities" in thread:
                shown[thread["id"]] = sorted(thread["activities"])
    return shown


def _move(server, user, lead_id, stage_id):
    return lambda: server.execute_kw(*user, "crm.lead", "write", [[lead_id], {"stage_id": stage_id}])


def test_concurrent_moves_on_two_workers(odoo_env, production_server):
    server, data = production_server
    leads, stages = data["leads"], data["stages"]
    log = server.log_path.read_text(errors="replace")
    assert "production mode: 2 workers, 2 cron workers" in log, log[-2000:]
    # Two worker processes (and the cron and gevent ones) under the master.
    children = subprocess.run(
        ["pgrep", "-P", str(server.process.pid)], capture_output=True, text=True, check=False
    ).stdout.split()
    assert len(children) >= 3, f"expected HTTP, cron and gevent workers, got {children}"
    _assert_websocket_answers(server)

    # A refused move is answered with the gate's message by a worker; nothing is saved.
    with pytest.raises(RpcError, match="stages are passed one at a time"):
        server.execute_kw(*DEMO, "crm.lead", "write", [[leads[0]], {"stage_id": stages[2]}])

    errors = []
    steps = min(3, len(stages) - 1)
    for step in range(1, steps + 1):
        target = stages[step]
        _prove(server, data, leads[:5], stages[step - 1])
        calls = [
            # The same move of one lead, by its rep and by a manager, four times at once.
            _move(server, DEMO, leads[0], target),
            _move(server, DEMO, leads[0], target),
            _move(server, ADMIN, leads[0], target),
            _move(server, ADMIN, leads[0], target),
            # Different leads moved at the same time.
            _move(server, DEMO, leads[1], target),
            _move(server, DEMO, leads[2], target),
            _move(server, ADMIN, leads[3], target),
            _move(server, ADMIN, leads[4], target),
        ]
        if step == 2:
            # Two managers race to use the one exception that lets lead 6 skip a stage.
            calls += [_move(server, ADMIN, leads[5], target), _move(server, ADMIN, leads[5], target)]
        if step == 1:
            results = _together_on_held_row(odoo_env, server.db, leads[0], calls)
        else:
            results = _together(calls)
        errors += [(step, result) for result in results if isinstance(result, Exception)]
    assert not errors, f"calls failed: {errors}"

    # Each lead is where the last round put it; the exception was used, once.
    read = server.execute_kw(*ADMIN, "crm.lead", "read", [leads, ["stage_id"]])
    assert {row["id"]: row["stage_id"][0] for row in read} == {
        **dict.fromkeys(leads[:5], stages[steps]),
        leads[5]: stages[2],
    }
    exception = server.execute_kw(*ADMIN, "crm.stage.exception", "read", [[data["exception"]], ["state"]])
    assert exception[0]["state"] == "used"

    # The daily jobs were due at start: wait until the cron workers ran each of them.
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        crons = server.execute_kw(*ADMIN, "ir.cron", "read", [data["crons"], ["lastcall", "failure_count"]])
        if all(cron["lastcall"] for cron in crons):
            break
        time.sleep(2)
    assert all(cron["lastcall"] for cron in crons), f"daily jobs not run by the cron workers: {crons}"
    assert not any(cron["failure_count"] for cron in crons), crons
    server.stop()

    log = server.log_path.read_text(errors="replace")
    assert RETRY_MARK in log, "no concurrent move was serialised and retried: the scenario did not race"
    # Odoo logs the failed statement of each retried transaction as an ERROR; nothing else may be one.
    errors = [
        record
        for record in LOG_RECORD.split(log)
        if " ERROR " in record.split("\n", 1)[0] and "could not serialize access" not in record
    ]
    assert not errors, errors
    for cron_id in data["crons"]:
        runs = [line for line in log.splitlines() if f"({cron_id}) starting" in line]
        assert len(runs) == 1, f"daily job {cron_id} ran {len(runs)} times"

    rows = _sql(odoo_env, server.db, INVARIANTS_SQL)
    assert len(rows) == 8 and all(row.endswith("|0") for row in rows), rows
    history = _sql(
        odoo_env,
        server.db,
        "SELECT lead_id, count(*) FROM crm_lead_stage_history "
        f"WHERE lead_id IN ({','.join(map(str, leads))}) GROUP BY lead_id ORDER BY lead_id",
    )
    # Creation plus one row per step; the exception's lead: creation, then one skip.
    assert history == [f"{lead}|{1 + steps}" for lead in leads[:5]] + [f"{leads[5]}|2"]


# Each lead's open stage tasks: of other stages (must be none where the process cancels them on
# exit), of its stage, scheduled twice, and how many its stage's plan has.
STAGE_TASKS_SQL = """
SELECT lead.id,
       count(task.id) FILTER (WHERE task.crm_stage_id IS DISTINCT FROM lead.stage_id AND ptype.cancel_tasks_on_exit),
       count(task.id) FILTER (WHERE task.crm_stage_id = lead.stage_id),
       count(task.id) - count(DISTINCT (task.crm_stage_id, task.crm_plan_template_id)),
       (SELECT count(*) FROM mail_activity_plan_template template
        JOIN crm_stage stage ON stage.activity_plan_id = template.plan_id WHERE stage.id = lead.stage_id)
FROM crm_lead lead
JOIN crm_pipeline_type ptype ON ptype.id = lead.pipeline_type_id
LEFT JOIN mail_activity task
       ON task.res_model = 'crm.lead' AND task.res_id = lead.id AND task.crm_plan_template_id IS NOT NULL
      AND task.active
WHERE lead.id IN ({ids})
GROUP BY lead.id, ptype.cancel_tasks_on_exit
ORDER BY lead.id
"""


def test_stage_tasks_in_the_background_under_concurrent_moves(odoo_env, odoo_shell, scratch_db, tmp_path):
    """With the stage tasks in the background, concurrent moves queue them and the two cron
    workers schedule them: each lead ends with its stage's tasks once, and none of the stages it
    left where its process cancels them."""
    data = odoo_shell.json(scratch_db, SETUP % {"crons": (), "background": "True"})
    server = _start_production_server(odoo_env, scratch_db, tmp_path / "odoo-production.log")
    leads, stages = data["leads"][:5], data["stages"]
    bus_before = int(_sql(odoo_env, scratch_db, "SELECT COALESCE(max(id), 0) FROM bus_bus")[0])
    try:
        errors = []
        for step in range(1, min(3, len(stages) - 1) + 1):
            _prove(server, data, leads, stages[step - 1])
            calls = [_move(server, user, leads[0], stages[step]) for user in (DEMO, DEMO, ADMIN, ADMIN)]
            calls += [
                _move(server, user, lead, stages[step])
                for user, lead in zip((DEMO, DEMO, ADMIN, ADMIN), leads[1:], strict=True)
            ]
            errors += [result for result in _together(calls) if isinstance(result, Exception)]
        assert not errors, f"calls failed: {errors}"
        cron = server.execute_kw(
            *ADMIN,
            "ir.model.data",
            "check_object_reference",
            ["sales_process_addon", "ir_cron_schedule_stage_tasks"],
        )[1]
        deadline = time.monotonic() + 120
        while server.execute_kw(*ADMIN, "crm.lead.stage.task.job", "search_count", [[]]):
            assert time.monotonic() < deadline, "the cron workers did not work the queue within 2 minutes"
            time.sleep(1)
        failures = server.execute_kw(*ADMIN, "ir.cron", "read", [[cron], ["failure_count"]])[0][
            "failure_count"
        ]
        assert not failures, server.log_tail()
        # The rep's open chatters were shown the tasks (what his web client polls, as it would
        # without a websocket): for the leads he alone moved, as they are in the end.
        rep = _web_session(server, "demo", "demo")
        polled = rep(
            "/websocket/peek_notifications", {"channels": [], "last": bus_before, "is_first_poll": True}
        )
        shown = _chatter_activities(polled["notifications"])
        for lead in leads[1:3]:
            final = server.execute_kw(*DEMO, "crm.lead", "read", [[lead], ["activity_ids"]])[0][
                "activity_ids"
            ]
            assert final and shown.get(lead) == sorted(final), (lead, final, shown)
    finally:
        server.stop()
    rows = [
        row.split("|")
        for row in _sql(odoo_env, scratch_db, STAGE_TASKS_SQL.format(ids=",".join(map(str, leads))))
    ]
    assert len(rows) == len(leads)
    for lead, other_stages, current, duplicates, planned in rows:
        assert (other_stages, current, duplicates) == ("0", planned, "0"), (lead, rows)
    assert any(planned != "0" for *_rest, planned in rows), "the scenario's stages schedule no task"
    invariants = _sql(odoo_env, scratch_db, INVARIANTS_SQL)
    assert all(row.endswith("|0") for row in invariants), invariants


def test_web_move_wakes_the_cron_workers(odoo_env, odoo_shell, scratch_db, tmp_path):
    """A move the rep makes in the web client has its stage tasks scheduled within seconds: its
    request wakes the cron workers once its response is sent (a close hook of the response, run
    by the worker process that answered). The scheduled action is neither due nor triggered
    before the move, so nothing else would run it for a day."""
    data = odoo_shell.json(scratch_db, SETUP % {"crons": (), "background": "True"})
    server = _start_production_server(odoo_env, scratch_db, tmp_path / "odoo-production.log")
    lead, stages = data["leads"][0], data["stages"]
    try:

        def queued():
            return server.execute_kw(*ADMIN, "crm.lead.stage.task.job", "search_count", [[]])

        deadline = time.monotonic() + 120
        while queued():  # the leads' creations, queued before the server started
            assert time.monotonic() < deadline, "the cron workers did not work the queue within 2 minutes"
            time.sleep(0.5)
        cron = server.execute_kw(
            *ADMIN,
            "ir.model.data",
            "check_object_reference",
            ["sales_process_addon", "ir_cron_schedule_stage_tasks"],
        )[1]
        server.execute_kw(*ADMIN, "ir.cron", "write", [[cron], {"nextcall": "2999-01-01 00:00:00"}])
        assert not server.execute_kw(*ADMIN, "ir.cron.trigger", "search_count", [[("cron_id", "=", cron)]])
        _prove(server, data, [lead], stages[0])
        rep = _web_session(server, "demo", "demo")
        rep(
            "/web/dataset/call_kw/crm.lead/write",
            {"model": "crm.lead", "method": "write", "args": [[lead], {"stage_id": stages[1]}], "kwargs": {}},
        )
        moved = time.monotonic()
        while queued():
            assert time.monotonic() < moved + 20, (
                f"the move's tasks still wait after 20 s:\n{server.log_tail()}"
            )
            time.sleep(0.2)
    finally:
        server.stop()
    invariants = _sql(odoo_env, scratch_db, INVARIANTS_SQL)
    assert all(row.endswith("|0") for row in invariants), invariants
