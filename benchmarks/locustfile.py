"""The load test's simulated users, and Locust run as a library on one server.

Run by ``benchmarks/load_test.py`` in Locust's own venv (see
``benchmarks/requirements.txt``), once per server: it reads a JSON file that
``load_test.py`` wrote (the database, the users' logins, the views' field
specifications, each process's stage sequence, the milestones), runs the users
for a warm-up and then a fixed time, and writes each action's figures to a
JSON file.

Users talk to Odoo as the web client does: a session from
``/web/session/authenticate``, then ``/web/dataset/call_kw``.

- *Rep* (a salesperson, own opportunities only), one visit after another:
  opens the pipeline kanban (``web_read_group`` by stage with the kanban's
  fields, then the next page of the busiest column with ``web_search_read``),
  opens one of its open opportunities (``web_read`` with the form's fields),
  records evidence for the required milestones of its stage and answers a
  question of the form's qualification list, saved with the form (addon; on
  plain CRM the rep records the same: the meeting as a note in the chatter,
  the answer in the opportunity's description, saved from the form), moves
  it to the next stage of its process (a refusal by the stage gate is counted
  as *move refused*, apart from errors), and logs a note.
- *Manager* (the admin): the pipeline analysis (``web_read_group`` of the
  opportunities by stage and by salesperson), and on the addon the funnel,
  stage conversion and time-in-stage reports, and approves a pending stage
  exception (each manager from its own share of them).
"""

import argparse
import itertools
import json
import random
from urllib.parse import quote

import gevent
from locust import HttpUser, events, task
from locust.env import Environment

# Filled by main() before the users start.
CONFIG = {}
# What a rep records after a meeting: as evidence and a qualification answer with the addon,
# as a note and in the opportunity's description on plain CRM (unless --plain-reps-record-nothing).
MEETING_SUMMARY = "Meeting with the customer: the need and the next step are confirmed."
QUALIFICATION_NOTE = "Confirmed by the customer's buyer."


class RpcError(Exception):
    def __init__(self, name, message):
        super().__init__(message)
        self.name = name


class OdooUser(HttpUser):
    abstract = True

    def wait_time(self):
        """Between two visits (a rep) or two reports (a manager)."""
        return random.uniform(CONFIG["think"] / 2, 2 * CONFIG["think"])

    logins = None  # an iterator over this class's logins, set in main()

    def on_start(self):
        login = next(self.logins)
        self.uid = self.rpc(
            "/web/session/authenticate",
            {"db": CONFIG["db"], "login": login["login"], "password": login["password"]},
            "login",
        )["uid"]
        self.odoo_context = {"lang": "en_US", "tz": "UTC", "uid": self.uid}
        # The rep's pipeline: his opportunities; with the addon, of one sales process, as the
        # web client opens the pipeline on the rep's process (see load_test.side_config).
        self.pipeline_domain = [["type", "=", "opportunity"], ["user_id", "=", self.uid]]
        if login.get("pipeline_type_id"):
            self.pipeline_domain.append(["pipeline_type_id", "=", login["pipeline_type_id"]])

    def rpc(self, path, params, name, refusal=None):
        """POST a JSON-RPC call; return its result, or raise ``RpcError`` (counted as a failure).

        ``refusal`` (a function of the error) tells an expected refusal: it is
        then timed under ``name + " refused"`` as a success.
        """
        payload = {"jsonrpc": "2.0", "method": "call", "id": 1, "params": params}
        with self.client.post(path, json=payload, name=name, catch_response=True) as response:
            try:
                answer = response.json()
            except ValueError:
                response.failure(f"HTTP {response.status_code}: not JSON")
                raise RpcError("http", response.text[:200]) from None
            error = answer.get("error")
            if not error:
                response.success()
                return answer["result"]
            data = error.get("data") or {}
            err = RpcError(data.get("name", "?"), data.get("message") or error.get("message"))
            if refusal and refusal(err):
                response.request_meta["name"] = f"{name} refused"
                response.success()
            else:
                response.failure(f"{err.name}: {str(err)[:160]}")
            raise err

    def call(self, model, method, args, kwargs=None, name=None, refusal=None):
        params = {
            "model": model,
            "method": method,
            "args": args,
            "kwargs": {"context": self.odoo_context, **(kwargs or {})},
        }
        name = name or method
        # The action after the method in the path (Odoo ignores it): the server's log tells the actions apart.
        path = f"/web/dataset/call_kw/{model}/{method}/{quote(name, safe='')}"
        return self.rpc(path, params, name, refusal)


def many2one_id(value):
    """The id of a many2one as ``web_read`` ((id, name) or {"id": ...}) gives it."""
    if isinstance(value, dict):
        return value.get("id")
    if isinstance(value, list):
        return value[0]
    return value or False


def gate_refusal(err):
    return err.name == "odoo.exceptions.ValidationError" and "refused" in str(err)


class Rep(OdooUser):
    @task
    def visit(self):
        try:
            lead = self.open_pipeline()
            if not lead:
                return
            self.think()
            form = self.call(
                "crm.lead", "web_read", [[lead]], {"specification": CONFIG["form_spec"]}, name="form"
            )[0]
            stage = many2one_id(form["stage_id"])
            if CONFIG["addon"]:
                self.think()
                self.record_evidence(form, stage)
                self.think()
                self.answer_question(form)
            elif CONFIG["plain_records"]:
                self.think()
                self.record_meeting_as_note(lead)
                self.think()
                self.answer_in_description(form)
            self.think()
            self.move(form, stage)
            self.think()
            self.call(
                "crm.lead",
                "message_post",
                [[lead]],
                {"body": "Called the customer: next meeting agreed.", "subtype_xmlid": "mail.mt_note"},
                name="note",
            )
        except RpcError:
            pass  # counted by rpc(); the rep goes on with another visit

    def think(self):
        """A rep reads the screen before the next click."""
        gevent.sleep(random.uniform(CONFIG["think"] / 5, CONFIG["think"]))

    def open_pipeline(self):
        """The rep's kanban (as the web client loads it); return one open opportunity of it."""
        domain = self.pipeline_domain
        result = self.call(
            "crm.lead",
            "web_read_group",
            [domain, ["stage_id"], ["expected_revenue:sum", "__count"]],
            {
                "auto_unfold": True,
                "unfold_read_specification": CONFIG["kanban_spec"],
                "unfold_read_default_limit": 80,
            },
            name="kanban",
        )
        won = set(CONFIG["won_stages"])
        open_groups = [
            group
            for group in result["groups"]
            if group.get("stage_id") and many2one_id(group["stage_id"]) not in won and group["__count"]
        ]
        if not open_groups:
            return False
        # Scrolling: the next cards of the busiest open column.
        busiest = max(open_groups, key=lambda group: group["__count"])
        page = self.call(
            "crm.lead",
            "web_search_read",
            [[*domain, ["stage_id", "=", many2one_id(busiest["stage_id"])]]],
            {"specification": CONFIG["kanban_spec"], "offset": 80, "limit": 40},
            name="kanban: next cards",
        )
        cards = [record["id"] for record in page["records"]]
        cards += [record["id"] for group in open_groups for record in group.get("__records", [])]
        return random.choice(cards) if cards else False

    def next_stage(self, form, stage):
        if not CONFIG["addon"]:
            return CONFIG["next_stage"].get(str(stage), False)
        key = f"{many2one_id(form['pipeline_type_id'])}-{many2one_id(form['team_id'])}"
        sequence = CONFIG["sequences"].get(key, [])
        if stage not in sequence or stage == sequence[-1]:
            return False
        return sequence[sequence.index(stage) + 1]

    def record_evidence(self, form, stage):
        """Proof for each required milestone of the opportunity's stage, in one save."""
        partner = many2one_id(form.get("partner_id"))
        vals_list = [
            {
                "lead_id": form["id"],
                "milestone_id": milestone_id,
                "kind_id": kind_id,
                "summary": MEETING_SUMMARY,
                **({"customer_partner_id": partner} if customer_led else {"internal_user_id": self.uid}),
            }
            for milestone_id, kind_id, customer_led in CONFIG["milestones"].get(str(stage), [])
        ]
        if vals_list:
            self.call("crm.lead.evidence", "create", [vals_list], name="evidence")

    def record_meeting_as_note(self, lead):
        """Plain CRM: what the addon's rep records as evidence, a plain CRM rep logs in the chatter."""
        self.call(
            "crm.lead",
            "message_post",
            [[lead]],
            {"body": MEETING_SUMMARY, "subtype_xmlid": "mail.mt_note"},
            name="evidence",
        )

    def answer_in_description(self, form):
        """Plain CRM: what the addon's rep answers as a qualification question, a plain CRM rep
        writes in the opportunity's notes (its description), saved from the form as the web
        client saves it (the form's fields read back)."""
        self.call(
            "crm.lead",
            "web_save",
            [[form["id"]], {"description": f"<p>Budget: yes. {QUALIFICATION_NOTE}</p>"}],
            {"specification": CONFIG["form_spec"]},
            name="qualification: answer",
        )

    def answer_question(self, form):
        """Answer one open question of the form's qualification list, saved with the form as the
        web client saves it (the form's fields read back). An opportunity without questions
        gets its process's from the form's *Load Questions* button first (the web client then
        reads the form again)."""
        if not form["qualification_ids"]:
            self.call(
                "crm.lead", "action_load_qualification_questions", [[form["id"]]], name="qualification: load"
            )
            form = self.call(
                "crm.lead",
                "web_read",
                [[form["id"]]],
                {"specification": CONFIG["form_spec"]},
                name="form: reload",
            )[0]
        line = next((line for line in form["qualification_ids"] if line["answer"] == "unknown"), None)
        if line:
            self.call(
                "crm.lead",
                "web_save",
                [
                    [form["id"]],
                    {"qualification_ids": [[1, line["id"], {"answer": "yes", "notes": QUALIFICATION_NOTE}]]},
                ],
                {"specification": CONFIG["form_spec"]},
                name="qualification: answer",
            )

    def move(self, form, stage):
        target = self.next_stage(form, stage)
        if target:
            self.call(
                "crm.lead",
                "web_save",
                [[form["id"]], {"stage_id": target}],
                {"specification": {"stage_id": {"fields": {"display_name": {}}}}},
                name="move",
                refusal=gate_refusal if CONFIG["addon"] else None,
            )


class Manager(OdooUser):
    fixed_count = 1  # set from the command line in main()
    exception_slices = None  # an iterator over the managers' shares of pending exceptions

    def on_start(self):
        super().on_start()
        self.pending = list(next(self.exception_slices))

    @task(2)
    def pipeline_analysis(self):
        for groupby in (["stage_id"], ["user_id"]):
            try:
                self.call(
                    "crm.lead",
                    "web_read_group",
                    [[["type", "=", "opportunity"]], groupby, ["expected_revenue:sum", "__count"]],
                    name="pipeline analysis",
                )
            except RpcError:
                return

    @task(3)
    def reports(self):
        for label, model, domain, groupby, aggregates in CONFIG["reports"]:
            try:
                self.call(model, "web_read_group", [domain, groupby, aggregates], name=f"report: {label}")
            except RpcError:
                return

    @task(1)
    def approve_exception(self):
        if not CONFIG["addon"] or not self.pending:
            return
        try:
            self.call(
                "crm.stage.exception",
                "action_approve",
                [[self.pending.pop()], "Approved: the customer's timing justifies it."],
                name="approve exception",
            )
        except RpcError:
            pass


def main():
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--config", required=True, help="JSON written by load_test.py")
    parser.add_argument("--host", required=True)
    parser.add_argument("--users", type=int, default=24)
    parser.add_argument("--managers", type=int, default=4)
    parser.add_argument("--warmup", type=float, default=20, help="seconds before the measure starts")
    parser.add_argument("--run-time", type=float, default=90, help="seconds measured")
    parser.add_argument(
        "--think", type=float, default=3.0, help="a user's pause between clicks: up to this many seconds"
    )
    parser.add_argument("--out", required=True, help="JSON file of the figures")
    parser.add_argument(
        "--plain-reps-record-nothing",
        action="store_true",
        help="plain CRM's reps skip recording the meeting and the answer (the earlier runs' scenario)",
    )
    args = parser.parse_args()

    with open(args.config) as file:
        CONFIG.update(json.load(file))
    CONFIG["think"] = args.think
    CONFIG["plain_records"] = not args.plain_reps_record_nothing
    Rep.logins = itertools.cycle(CONFIG["reps"])
    Manager.logins = itertools.cycle(CONFIG["managers"])
    Manager.fixed_count = args.managers
    pending = CONFIG.get("pending_exceptions", [])
    Manager.exception_slices = iter([pending[i :: args.managers] for i in range(args.managers)])

    env = Environment(user_classes=[Rep, Manager], host=args.host, events=events)
    runner = env.create_local_runner()
    runner.start(args.users, spawn_rate=max(1, args.users / 5))
    gevent.sleep(args.warmup)
    env.stats.reset_all()
    gevent.sleep(args.run_time)
    runner.stop()
    runner.quit()

    actions = {}
    for entry in env.stats.entries.values():
        if not entry.num_requests:
            continue  # e.g. the logins, all done during the warm-up
        actions[entry.name] = {
            "requests": entry.num_requests,
            "failures": entry.num_failures,
            "rps": entry.num_requests / args.run_time,
            "median_ms": entry.get_response_time_percentile(0.5),
            "p95_ms": entry.get_response_time_percentile(0.95),
        }
    errors = [
        {"name": error.name, "error": str(error.error), "count": error.occurrences}
        for error in env.stats.errors.values()
    ]
    total = env.stats.total
    # Exceptions of the client code itself (not answers of the server): a bug of this file.
    client_exceptions = sum(exception["count"] for exception in runner.exceptions.values())
    figures = {
        "actions": actions,
        "errors": errors,
        "total": {
            "requests": total.num_requests,
            "failures": total.num_failures,
            "rps": total.num_requests / args.run_time,
        },
        "client_exceptions": client_exceptions,
        "users": args.users,
        "managers": args.managers,
        "run_time": args.run_time,
    }
    with open(args.out, "w") as file:
        json.dump(figures, file, indent=1)


if __name__ == "__main__":
    main()
