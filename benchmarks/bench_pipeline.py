"""Cost of the sales-process checks against plain Odoo CRM, measured in one run.

Two databases built from the same Odoo source: one with ``crm`` only, one with
``crm`` and ``sales_process_addon`` (created on first use, without demo data).
In each, inside a transaction that is rolled back:

- create 1,000 opportunities in one ``create`` call;
- move those 1,000 to the next stage in one ``write`` call. With the addon,
  each lead first gets evidence for every required milestone of its stage
  (untimed), so the timed move runs the full gate and writes the history;
- with the addon only: the same move into a stage whose activity plan has
  three tasks, against the same move without a plan.

Each of create and move is timed twice: the ORM call with its flush, and the
whole transaction, i.e. with the work Odoo does when the transaction commits
(the chatter tracking of the changed fields; only the COMMIT itself is left
out, since every round is rolled back). A save from the UI or an RPC call
always does both.

The stages used have their activity plans removed, so that the creation and
the plain move schedule no tasks (plans are measured on their own).

Prints the median wall time of several rounds, the query count, and the ratio
addon / plain. Run it with ``scripts/bench.sh`` (sets up the environment).
"""

import argparse
import statistics
import subprocess
import sys
import time

import odoo
from odoo import fields
from odoo.modules.registry import Registry
from odoo.tools import config

LEADS = 1000


def ensure_database(name, modules, odoo_bin, conf):
    """Create the database with ``modules``, or bring the addon in it up to date."""
    listing = subprocess.run(
        ["psql", "-X", "-d", "postgres", "-Atl"], capture_output=True, text=True, check=True
    )
    exists = any(line.split("|")[0] == name for line in listing.stdout.splitlines())
    if exists and "sales_process_addon" not in modules:
        return
    if not exists:
        print(f"creating benchmark database {name} ({modules})...", flush=True)
    command = [sys.executable, odoo_bin, "-c", conf, "-d", name, "--stop-after-init", "--log-level=warn"]
    command += ["-u", "sales_process_addon"] if exists else ["-i", modules]
    subprocess.run(command, check=True)


def prove_milestones(env, leads, stage):
    """Evidence for every required milestone of ``stage``, for every lead."""
    contact = leads.partner_id  # created with the leads, on both sides
    vals_list = []
    for milestone in stage.milestone_ids.filtered("required"):
        kind = milestone.evidence_kind_ids[:1] or env.ref("sales_process_addon.evidence_kind_meeting")
        vals_list += [
            {
                "lead_id": lead.id,
                "milestone_id": milestone.id,
                "kind_id": kind.id,
                "summary": "Benchmark proof",
                "customer_partner_id": contact.id,
                "internal_user_id": env.uid,
            }
            for lead in leads
        ]
    evidence = env["crm.lead.evidence"].create(vals_list)
    # Milestones a manager must verify: verified here, as another manager would.
    evidence.filtered("needs_verification").write(
        {"verified_by_id": env.ref("base.user_admin").id, "verified_date": fields.Datetime.now()}
    )
    env.flush_all()


def attach_plan(env, stage):
    """Give ``stage`` a plan of three tasks (inside the rolled-back transaction)."""
    stage.activity_plan_id = env["mail.activity.plan"].create(
        {
            "name": "Benchmark plan",
            "res_model": "crm.lead",
            "template_ids": [
                (
                    0,
                    0,
                    {
                        "activity_type_id": env.ref(xmlid).id,
                        "summary": f"Task {xmlid}",
                        "responsible_type": "crm_salesperson",
                    },
                )
                for xmlid in (
                    "mail.mail_activity_data_call",
                    "mail.mail_activity_data_todo",
                    "mail.mail_activity_data_meeting",
                )
            ],
        }
    )


def schedule_like_odoo(env, leads):
    """Odoo's own batch API for the same three tasks: the baseline for stage plans."""
    for xmlid in (
        "mail.mail_activity_data_call",
        "mail.mail_activity_data_todo",
        "mail.mail_activity_data_meeting",
    ):
        leads.activity_schedule(xmlid, summary=f"Task {xmlid}", user_id=env.uid)


def measure(db_name, with_addon, rounds, with_plan=False, odoo_schedule=False):
    registry = Registry(db_name)
    results = {"create": [], "create_tx": [], "move": [], "move_tx": []}
    queries = {}
    with registry.cursor() as cr:
        env = odoo.api.Environment(cr, odoo.SUPERUSER_ID, {})
        if with_addon:
            ptype = env.ref("sales_process_addon.pipeline_type_t4")
            first, second = ptype.stage_ids[:2]
            extra = {"pipeline_type_id": ptype.id}
        else:
            first, second = env.ref("crm.stage_lead1"), env.ref("crm.stage_lead2")
            extra = {}
        team = env.ref("sales_team.team_sales_department")

        def timed(key, operation):
            """Run ``operation``; time it with its flush, then with the commit-time work."""
            env.invalidate_all()
            count, start = cr.sql_log_count, time.perf_counter()
            result = operation()
            env.flush_all()
            results[key].append(time.perf_counter() - start)
            queries[key] = cr.sql_log_count - count
            cr.precommit.run()
            results[f"{key}_tx"].append(time.perf_counter() - start)
            queries[f"{key}_tx"] = cr.sql_log_count - count
            return result

        for _round in range(rounds):
            if with_addon:
                # Set up in each round: every round ends with a rollback.
                first.activity_plan_id = second.activity_plan_id = False
                if with_plan:
                    attach_plan(env, second)
            # The same customer on both sides (set up in each round: every round ends with a
            # rollback): customer evidence (addon) comes from a contact of the opportunity's customer.
            extra["partner_id"] = env["res.partner"].create({"name": "Benchmark customer contact"}).id
            vals_list = [
                {
                    "name": f"Bench {i}",
                    "type": "opportunity",
                    "team_id": team.id,
                    "stage_id": first.id,
                    **extra,
                }
                for i in range(LEADS)
            ]
            leads = timed("create", lambda vals_list=vals_list: env["crm.lead"].create(vals_list))
            if with_addon:
                prove_milestones(env, leads, first)
                cr.precommit.run()

            def move(leads=leads):
                leads.write({"stage_id": second.id})
                if odoo_schedule:
                    schedule_like_odoo(env, leads)

            timed("move", move)
            cr.rollback()
    return {key: statistics.median(values) for key, values in results.items()}, queries


def main():
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("-c", "--config", required=True, help="Odoo configuration file")
    parser.add_argument("--odoo-bin", required=True)
    parser.add_argument("--plain-db", default="spa_bench_plain")
    parser.add_argument("--addon-db", default="spa_bench_addon")
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()

    ensure_database(args.plain_db, "crm", args.odoo_bin, args.config)
    ensure_database(args.addon_db, "crm,sales_process_addon", args.odoo_bin, args.config)
    config.parse_config(["-c", args.config, "--log-level=warn"])

    plain, plain_q = measure(args.plain_db, False, args.rounds)
    addon, addon_q = measure(args.addon_db, True, args.rounds)
    planned, planned_q = measure(args.addon_db, True, args.rounds, with_plan=True)
    scheduled, scheduled_q = measure(args.addon_db, True, args.rounds, odoo_schedule=True)

    print(f"\n{LEADS} opportunities, median of {args.rounds} rounds")
    print(f"{'operation':<44}{'plain CRM':>12}{'with addon':>12}{'ratio':>8}{'queries':>18}")
    labels = (
        ("create", "create (one call)"),
        ("create_tx", "create, whole transaction"),
        ("move", "move one stage (one write)"),
        ("move_tx", "move one stage, whole transaction"),
    )
    for key, label in labels:
        ratio = addon[key] / plain[key]
        print(
            f"{label:<44}{plain[key]:>11.3f}s{addon[key]:>11.3f}s{ratio:>7.2f}x"
            f"{plain_q[key]:>9} / {addon_q[key]:<7}"
        )
    ratio = planned["move"] / addon["move"]
    print(
        f"\nmove into a stage with a 3-task plan: {planned['move']:.3f}s vs {addon['move']:.3f}s without plan "
        f"({ratio:.2f}x); queries {planned_q['move']} vs {addon_q['move']} "
        f"(+{(planned_q['move'] - addon_q['move']) / LEADS:.2f} per lead)"
    )
    print(
        f"same move, then Odoo's activity_schedule for the same 3 tasks: {scheduled['move']:.3f}s, "
        f"queries {scheduled_q['move']} (+{(scheduled_q['move'] - addon_q['move']) / LEADS:.2f} per lead); "
        f"stage plan vs Odoo's scheduling: {planned['move'] / scheduled['move']:.2f}x"
    )


if __name__ == "__main__":
    main()
