"""What a rep waits for, over JSON-RPC: plain CRM against CRM with the addon.

Two databases built in the same run (``crm`` with demo data, and ``crm`` +
``sales_process_addon`` with demo data), each served by its own ``odoo-bin``
in the production mode of ``scripts/run.sh`` (2 HTTP workers, proxy mode,
limits, its PostgreSQL session settings; no cron workers, so that no job runs
during the measures). A client logged in as the admin (a sales manager) then
times, in interleaved rounds (plain, addon, addon, plain, ...), each call as
the web client sends it (``/web/dataset/call_kw`` in the admin's session, with
its user context):

- *kanban*: the pipeline's ``web_read_group`` by stage with up to 80 cards per
  column, read with the fields of the kanban view as ``get_views`` returns it;
  with the addon, of the process of the measured opportunities, as the web
  client opens the pipeline on the rep's process (plain CRM: all opportunities);
- *form*: ``web_read`` of one opportunity with the fields of the form view
  (sub-lists read with their list's fields, fields always invisible read
  without their names or lines, as the web client does);
- *one drag*: ``write`` of the next stage on one opportunity whose milestones
  of its stage are evidenced (with the addon: an enforced process, so the gate
  judges it, the history records it and the next stage's tasks are scheduled);
- *drop on the kanban*: the same move as the kanban saves it, ``web_save``
  with the card's fields read back (plain CRM and, for a move the gate allows,
  the addon send only this request);
- *batch*: 300 such opportunities moved in one ``write``.

The opportunities moved are made, untimed, in each round. Prints the median of
the rounds per measure and the ratio addon / plain.

``--form-parts`` also times, on the addon's side, the form's ``web_read``
without what the addon adds to it: without its lists (the notebook pages'
one2many fields), without its other fields (the panels: checklist, buying
center, badges...), and without both, each against plain CRM's form. It shows
what of the addon's form content a ratio would have to leave out of the read.
Two more leave out only the display-only panels (``DISPLAY_ONLY``: what a
second request could load after the form, as Odoo loads the chatter), alone
and with the lists; the other fields stay in any form read: the process is
edited there, and the statusbar, the banners and the indicators' groups hang
on the rest.

``--external-rpc`` times the same calls over Odoo's external API
(``/jsonrpc``, as the runs before 19.0.2.6.3 did). Odoo runs those outside of
any web request: what the addon leaves for after a request's response (the
wake-up of the stage tasks' scheduled action) stays in the call there.

By default the addon's moves schedule their stage tasks themselves (the
setting *Stage Tasks in the Background* off, as on a server without cron
workers). ``--stage-tasks-in-background`` measures the addon with that
setting on, its default on a server that runs scheduled actions (its moves
queue the stage tasks): its server then runs one cron worker for that job
only (the other scheduled actions are archived during the run), and each
measure waits, untimed, until the worker has scheduled the queued tasks, so
that it starts on an idle server as the others do. The setting gets its
former value back at the end.

    PYTHONPATH=$HOME/.local/src/odoo-19.0 .venv/bin/python benchmarks/bench_rpc.py \\
        -c .local/odoo.conf --odoo-bin $HOME/.local/src/odoo-19.0/odoo-bin
"""

import argparse
import http.client
import itertools
import json
import os
import signal
import socket
import statistics
import subprocess
import sys
import time
from pathlib import Path

from lxml import etree

ADMIN = (2, "admin")
ADMIN_LOGIN = "admin"
# A second sales manager: who records evidence may not verify it.
VERIFIER = {"name": "Benchmark verifier", "login": "bench_verifier", "password": "bench_verifier"}
BATCH = 300
KANBAN_LIMIT = 80
ADDON_TYPE = "sales_process_addon.pipeline_type_t4"
# The production settings of scripts/run.sh (the HTTP and cron workers: ``Server``'s).
PRODUCTION_ARGS = [
    "--proxy-mode", "--limit-time-cpu", "600", "--limit-time-real", "1200", "--db_maxconn", "16",
]  # fmt: skip
# The PostgreSQL session settings scripts/common.sh gives its servers (PGOPTIONS; see the README's
# "Production"): both servers of a comparison plan their queries for data in RAM or on SSD.
PRODUCTION_PG_OPTIONS = "-c random_page_cost=1.1"
BACKGROUND = "sales_process_addon.stage_tasks_in_background"
BACKGROUND_CRON = "sales_process_addon.ir_cron_schedule_stage_tasks"


def stage_tasks_in_background(server, background):
    """Set the addon's setting on ``server``; when on, its cron worker runs that job only.

    The other scheduled actions (daily jobs, Odoo's mail queue) are archived
    until ``restore_after_background`` (given what this returns, with the
    setting's former value): the plain server runs none, and they would take
    the CPU from the requests measured.
    """
    former = server.kw("ir.config_parameter", "get_param", [BACKGROUND])
    server.kw("ir.config_parameter", "set_param", [BACKGROUND, str(background)])
    if not background:
        return former, []
    ours = server.kw("ir.model.data", "check_object_reference", BACKGROUND_CRON.split("."))[1]
    others = server.kw("ir.cron", "search", [[("active", "=", True), ("id", "!=", ours)]])
    server.kw("ir.cron", "write", [others, {"active": False}])
    return former, others


def restore_after_background(server, put_off):
    """Undo ``stage_tasks_in_background``, given what it returned.

    The setting gets its former value again (none: the default), so that the
    database is left as it was, and the scheduled actions come back.
    """
    former, cron_ids = put_off
    server.kw("ir.config_parameter", "set_param", [BACKGROUND, former or False])
    if cron_ids:
        server.kw("ir.cron", "write", [cron_ids, {"active": True}])


def start_servers(args, background, servers):
    """Start plain CRM's server on ``args.port`` and the addon's on the next port, appended to
    ``servers`` as they start (the caller stops them); set the addon's setting (see
    ``stage_tasks_in_background``, whose answer this returns)."""
    servers.append(Server(args.odoo_bin, args.config, args.plain_db, args.port, args.log_dir))
    servers.append(
        Server(
            args.odoo_bin,
            args.config,
            args.addon_db,
            args.port + 1,
            args.log_dir,
            cron_workers=int(background),
        )
    )
    return stage_tasks_in_background(servers[1], background)


def database_exists(name):
    listing = subprocess.run(
        ["psql", "-X", "-d", "postgres", "-Atl"], capture_output=True, text=True, check=True
    )
    return any(line.split("|")[0] == name for line in listing.stdout.splitlines())


def ensure_database(name, modules, odoo_bin, conf):
    """The database with ``modules`` and demo data; an existing one gets the addon updated (its
    tables follow the code measured)."""
    command = [sys.executable, odoo_bin, "-c", conf, "-d", name]
    if not database_exists(name):
        print(f"creating {name} ({modules}, demo data)...", flush=True)
        command += ["-i", modules, "--with-demo"]
    elif "sales_process_addon" in modules.split(","):
        print(f"updating the addon on {name}...", flush=True)
        command += ["-u", "sales_process_addon"]
    else:
        return
    subprocess.run([*command, "--stop-after-init", "--log-level=warn"], check=True)


class Server:
    """``odoo-bin`` in production mode on one database, and a JSON-RPC client of it."""

    def __init__(self, odoo_bin, conf, db, port, log_dir, workers=2, cron_workers=0):
        self.db, self.port = db, port
        self.log_path = Path(log_dir) / f"bench-rpc-{db}.log"
        with socket.socket() as probe:
            if probe.connect_ex(("127.0.0.1", port)) == 0:
                raise RuntimeError(f"port {port} is taken (a server left running?): the figures would be its")
        command = [
            sys.executable, odoo_bin, "-c", conf, "-d", db, "--db-filter", f"^{db}$",
            "--http-interface", "127.0.0.1", "--http-port", str(port), "--gevent-port", str(port + 10),
            "--workers", str(workers), "--max-cron-threads", str(cron_workers), *PRODUCTION_ARGS,
        ]  # fmt: skip
        pg_options = " ".join(filter(None, [PRODUCTION_PG_OPTIONS, os.environ.get("PGOPTIONS")]))
        with open(self.log_path, "wb") as log:
            self.process = subprocess.Popen(
                command,
                env={**os.environ, "PGOPTIONS": pg_options},
                stdout=log,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                start_new_session=True,
            )
        self.ids = itertools.count(1)
        self.conn = self.web_session = None
        deadline = time.monotonic() + 180
        while True:
            try:
                self.call("common", "version")
                break
            except OSError:
                if self.process.poll() is not None or time.monotonic() > deadline:
                    self.stop()
                    raise RuntimeError(f"odoo-bin on {db} did not start, see {self.log_path}") from None
                time.sleep(1)

    def post(self, path, params, headers=None):
        """The JSON-RPC ``call`` of ``path`` with ``params``: ``(result, response headers)``."""
        if self.conn is None:
            self.conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=600)
        payload = {"jsonrpc": "2.0", "method": "call", "id": next(self.ids), "params": params}
        try:
            self.conn.request(
                "POST", path, json.dumps(payload), {"Content-Type": "application/json", **(headers or {})}
            )
            response = self.conn.getresponse()
            answer = json.loads(response.read())
        except (OSError, http.client.HTTPException):
            self.conn.close()
            self.conn = None
            raise
        if answer.get("error"):
            error = answer["error"]
            raise RuntimeError((error.get("data") or {}).get("message") or error.get("message"))
        return answer["result"], response

    def call(self, service, method, *args):
        """Odoo's external API (``/jsonrpc``)."""
        return self.post("/jsonrpc", {"service": service, "method": method, "args": list(args)})[0]

    def kw(self, model, method, args, kwargs=None, user=ADMIN):
        return self.call("object", "execute_kw", self.db, *user, model, method, args, kwargs or {})

    def web(self, model, method, args, kwargs=None):
        """``model.method`` as the web client calls it: ``/web/dataset/call_kw`` in the admin's
        session, with the session's user context (logged in at the first call)."""
        if self.web_session is None:
            login = {"db": self.db, "login": ADMIN_LOGIN, "password": ADMIN[1]}
            info, response = self.post("/web/session/authenticate", login)
            cookie = response.getheader("Set-Cookie").split(";")[0]
            company = info["user_companies"]["current_company"]
            self.web_session = (
                {"Cookie": cookie},
                {**info["user_context"], "allowed_company_ids": [company]},
            )
        headers, context = self.web_session
        params = {
            "model": model,
            "method": method,
            "args": args,
            "kwargs": {"context": context, **(kwargs or {})},
        }
        return self.post(f"/web/dataset/call_kw/{model}/{method}", params, headers)[0]

    def stop(self):
        if self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(60)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait()


# ----------------------------------------------------------------------------
# What the web client reads: field specifications from the views' archs
# ----------------------------------------------------------------------------


def own_field_nodes(node):
    """The field nodes under ``node``; those of a field's sub-view are the sub-view's own."""
    for child in node:
        if not isinstance(child.tag, str):
            continue  # a comment
        if child.tag == "field":
            yield child
        else:
            yield from own_field_nodes(child)


def specification(node, model, models):
    """``web_read`` specification of the fields under ``node`` (not those of sub-views).

    As the web client builds it: a relational field reads its name, or the
    fields of its sub-list; one always invisible reads its value only.
    """
    fields_info = models[model]["fields"]
    spec = {}
    for field_node in own_field_nodes(node):
        name = field_node.get("name")
        info = fields_info.get(name)
        if info is None:
            continue
        invisible = {field_node.get("invisible"), field_node.get("column_invisible")} & {"1", "True"}
        if info["type"] in ("many2one", "many2many", "one2many") and not invisible:
            subviews = [child for child in field_node if child.tag in ("list", "kanban")]
            if subviews and info["type"] != "many2one":
                sub = specification(subviews[0], info["relation"], models)
                spec[name] = {"fields": sub or {"display_name": {}}, "limit": 40}
            else:
                spec[name] = {"fields": {"display_name": {}}}
        else:
            spec[name] = {}
    return spec


def view_specs(server):
    views = server.kw("crm.lead", "get_views", [], {"views": [[False, "kanban"], [False, "form"]]})
    models = views["models"]
    kanban = etree.fromstring(views["views"]["kanban"]["arch"])
    form = etree.fromstring(views["views"]["form"]["arch"])
    return specification(kanban, "crm.lead", models), specification(form, "crm.lead", models)


# ----------------------------------------------------------------------------
# One side: plain CRM or the addon
# ----------------------------------------------------------------------------


class Side:
    def __init__(self, name, server, with_addon, background=False):
        self.name, self.server, self.with_addon, self.background = name, server, with_addon, background
        self.external_rpc = False
        self.kanban_spec, self.form_spec = view_specs(server)
        self.times = {key: [] for key in ("kanban", "form", "drag", "drop", "batch")}
        self.form_parts = {}
        if with_addon:
            ptype = server.kw("ir.model.data", "check_object_reference", ADDON_TYPE.split("."))[1]
            stages = server.kw(
                "crm.stage", "search", [[("pipeline_type_id", "=", ptype)]], {"order": "sequence, id"}
            )
            self.extra = {"pipeline_type_id": ptype}
            # The web client opens the pipeline on the rep's process (static/src/pipeline).
            self.kanban_domain = [("type", "=", "opportunity"), ("pipeline_type_id", "=", ptype)]
        else:
            stages = [
                server.kw("ir.model.data", "check_object_reference", ["crm", xmlid])[1]
                for xmlid in ("stage_lead1", "stage_lead2")
            ]
            self.extra = {}
            self.kanban_domain = [("type", "=", "opportunity")]
        self.first, self.second = stages[:2]
        self.team = server.kw(
            "ir.model.data", "check_object_reference", ["sales_team", "team_sales_department"]
        )[1]
        self.milestones = []
        if with_addon:
            self.milestones = server.kw(
                "crm.stage.milestone",
                "search_read",
                [[("stage_id", "=", self.first), ("required", "=", True)]],
                {"fields": ["evidence_kind_ids"]},
            )
            self.meeting = server.kw(
                "ir.model.data", "check_object_reference", ["sales_process_addon", "evidence_kind_meeting"]
            )[1]
            verifier = server.kw("res.users", "search", [[("login", "=", VERIFIER["login"])]])
            if not verifier:
                group = server.kw(
                    "ir.model.data", "check_object_reference", ["sales_team", "group_sale_manager"]
                )
                verifier = [
                    server.kw("res.users", "create", [{**VERIFIER, "group_ids": [(6, 0, [group[1]])]}])
                ]
            self.verifier = (verifier[0], VERIFIER["password"])
        self.new_customer()
        self.form_lead = self.make_leads(1)[0]
        # The leads the rounds move have another customer: plain CRM's form counts the opportunity's
        # duplicates (same customer), which would otherwise grow by hundreds each round on both sides.
        self.new_customer()

    def new_customer(self):
        """The customer of the opportunities made next; customer-led evidence comes from its contact."""
        self.customer = self.server.kw(
            "res.partner", "create", [{"name": "Benchmark customer", "is_company": True}]
        )
        if self.with_addon:
            self.contact = self.server.kw(
                "res.partner", "create", [{"name": "Benchmark customer contact", "parent_id": self.customer}]
            )

    def split_form(self, plain_spec):
        """Time the form also without the fields plain CRM's form does not read (see --form-parts)."""
        added = [name for name in self.form_spec if name not in plain_spec]
        lists = {name for name in added if "limit" in self.form_spec[name]}

        def without(names):
            return {name: spec for name, spec in self.form_spec.items() if name not in names}

        self.form_parts = {
            "form without lists": without(lists),
            "form without panels": without(set(added) - lists),
            "form without both": without(set(added)),
            "form without display-only panels": without(DISPLAY_ONLY),
            "form without lists, display-only panels": without(lists | DISPLAY_ONLY),
        }
        self.times.update({key: [] for key in self.form_parts})

    def make_leads(self, count):
        """``count`` opportunities in the first stage, their milestones evidenced (untimed)."""
        vals = {
            "type": "opportunity",
            "team_id": self.team,
            "stage_id": self.first,
            "user_id": ADMIN[0],
            "partner_id": self.customer,
        }
        ids = self.server.kw(
            "crm.lead", "create", [[{"name": f"Bench {i}", **vals, **self.extra} for i in range(count)]]
        )
        if self.milestones:
            evidence = [
                {
                    "lead_id": lead_id,
                    "milestone_id": milestone["id"],
                    "kind_id": (milestone["evidence_kind_ids"] or [self.meeting])[0],
                    "summary": "Benchmark proof",
                    "customer_partner_id": self.contact,
                    "internal_user_id": ADMIN[0],
                }
                for lead_id in ids
                for milestone in self.milestones
            ]
            evidence_ids = self.server.kw("crm.lead.evidence", "create", [evidence])
            self.server.kw("crm.lead.evidence", "action_verify", [evidence_ids], user=self.verifier)
        return ids

    def timed(self, key, operation):
        self.settle()
        start = time.perf_counter()
        operation()
        self.times[key].append(time.perf_counter() - start)

    def settle(self):
        """With the stage tasks in the background, wait until the cron worker has scheduled the
        queued ones (untimed): each measure starts, as the others, on a server with nothing to do."""
        deadline = time.monotonic() + 120
        while self.background and self.server.kw("crm.lead.stage.task.job", "search_count", [[]]):
            if time.monotonic() > deadline:
                raise RuntimeError(
                    "the stage tasks queue was not worked within 2 minutes: is the cron running?"
                )
            time.sleep(0.05)

    def round(self):
        # What the web client sends, unless --external-rpc.
        kw = self.server.kw if self.external_rpc else self.server.web
        self.timed(
            "kanban",
            lambda: kw(
                "crm.lead",
                "web_read_group",
                [self.kanban_domain, ["stage_id"], ["expected_revenue:sum", "__count"]],
                {
                    "auto_unfold": True,
                    "unfold_read_specification": self.kanban_spec,
                    "unfold_read_default_limit": KANBAN_LIMIT,
                },
            ),
        )
        self.timed("form", lambda: kw("crm.lead", "web_read", [[self.form_lead], self.form_spec]))
        for key, spec in self.form_parts.items():
            self.timed(key, lambda spec=spec: kw("crm.lead", "web_read", [[self.form_lead], spec]))
        drag = self.make_leads(1)
        self.timed("drag", lambda: kw("crm.lead", "write", [drag, {"stage_id": self.second}]))
        drop = self.make_leads(1)
        self.timed(
            "drop",
            lambda: kw(
                "crm.lead", "web_save", [drop, {"stage_id": self.second}], {"specification": self.kanban_spec}
            ),
        )
        batch = self.make_leads(BATCH)
        self.timed("batch", lambda: kw("crm.lead", "write", [batch, {"stage_id": self.second}]))


# The addon's form fields no other field or attribute of the form depends on: the milestone
# checklist, the stage guide, the buying center's summary, the divergence badge (see --form-parts).
DISPLAY_ONLY = {
    "milestone_checklist",
    "stage_exit_criteria",
    "funnel_state_guidance",
    "funnel_state_indicators",
    "stage_playbook",
    "buying_center_summary",
    "buying_center_warnings",
    "buyer_divergence",
    "buyer_divergence_reason",
}

LABELS = {
    "kanban": f"pipeline kanban: grouped read + {KANBAN_LIMIT} cards per column",
    "form": "opening an opportunity: web_read, form fields",
    "drag": "one drag: write of the next stage",
    "drop": "the same drop as the kanban saves it: web_save, card fields",
    "batch": f"{BATCH} evidenced leads moved in one call",
}


def main():
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("-c", "--config", required=True, help="Odoo configuration file")
    parser.add_argument("--odoo-bin", required=True)
    parser.add_argument("--plain-db", default="spa_bench_rpc_plain")
    parser.add_argument("--addon-db", default="spa_bench_rpc_addon")
    parser.add_argument("--port", type=int, default=8671, help="plain on this port, the addon on the next")
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--log-dir", default=".local/logs")
    parser.add_argument(
        "--stage-tasks-in-background", action="store_true", help="the addon's setting on (see above)"
    )
    parser.add_argument(
        "--form-parts", action="store_true", help="the addon's form without its lists, panels (see above)"
    )
    parser.add_argument(
        "--external-rpc",
        action="store_true",
        help="time the calls over Odoo's external API, /jsonrpc (see above), not the web client's route",
    )
    args = parser.parse_args()
    background = args.stage_tasks_in_background

    ensure_database(args.plain_db, "crm", args.odoo_bin, args.config)
    ensure_database(args.addon_db, "crm,sales_process_addon", args.odoo_bin, args.config)
    os.makedirs(args.log_dir, exist_ok=True)
    servers, put_off = [], None
    try:
        put_off = start_servers(args, background, servers)
        sides = [Side("plain", servers[0], False), Side("addon", servers[1], True, background)]
        if args.form_parts:
            sides[1].split_form(sides[0].form_spec)
        for side in sides:
            side.external_rpc = args.external_rpc
        for side in sides:  # warm up: registry, caches, PostgreSQL buffers
            side.round()
            side.times = {key: [] for key in side.times}
        for number in range(args.rounds):
            for side in sides if number % 2 == 0 else reversed(sides):
                side.round()
            print(f"round {number + 1}/{args.rounds} done", flush=True)
    finally:
        if put_off is not None:
            restore_after_background(servers[1], put_off)
        for server in servers:
            server.stop()

    plain, addon = ({key: statistics.median(values) for key, values in side.times.items()} for side in sides)
    route = "/jsonrpc" if args.external_rpc else "/web/dataset/call_kw"
    print(f"\n{route} as the admin, 2 workers per server, median of {args.rounds} interleaved rounds")
    if background:
        print("The addon with its stage tasks in the background (1 cron worker)")
    print("| what the rep waits for | plain | with addon | ratio |\n|---|---|---|---|")
    for key, label in LABELS.items():
        print(
            f"| {label} | {plain[key] * 1000:.0f} ms | {addon[key] * 1000:.0f} ms | {addon[key] / plain[key]:.2f}x |"
        )
    if sides[1].form_parts:
        print("\nThe addon's form read without what it adds, against plain CRM's form")
        print("| the addon's form | fields | plain | with addon | ratio |\n|---|---|---|---|---|")
        parts = {"form": sides[1].form_spec, **sides[1].form_parts}
        for key, spec in parts.items():
            print(
                f"| {key} | {len(spec)} | {plain['form'] * 1000:.0f} ms | {addon[key] * 1000:.0f} ms "
                f"| {addon[key] / plain['form']:.2f}x |"
            )


if __name__ == "__main__":
    main()
