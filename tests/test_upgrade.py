"""Upgrade a database that used the first release (19.0.1.1.0) to this version.

Companies that tried the first release have its data: moves recorded by its
gate, evidence, exceptions approved, used, rejected or still pending, lost and
restored deals, buying centers and answers. The upgrade must keep all of it,
run the migrations, log no error or warning, and leave data that this
version's gate and forms work on. The first release is taken from this
repository's history (``git archive``), so the test needs a full clone.
"""

from __future__ import annotations

import io
import subprocess
import tarfile
from pathlib import Path

import pytest
from conftest import REPO_ROOT
from test_install_real_crm import error_lines
from test_production import INVARIANTS_SQL

ADDON = "sales_process_addon"
FIRST_RELEASE = "cc5b3214f0b1634b1a9d606283f5a0c047165105"  # 19.0.1.1.0, the end of the first round

# Run by the first release's code. Per process: a deal moved two stages with the evidence
# of each stage; a deal moved past a stage with an approved exception; a deal with a
# rejected and a pending exception; a deal lost and restored, with an approved exception
# not used yet; another deal lost. The demo salesman works his deals, the administrator
# verifies and decides, then configures.
FIRST_RELEASE_USAGE = """
rep = env.ref("base.user_demo")
admin = env.ref("base.user_admin")
customer = env.ref("base.res_partner_2")
Lead = env["crm.lead"].with_user(rep)
Exception = env["crm.stage.exception"]


any_kind = env["crm.evidence.kind"].search([], limit=1)


def prove(lead, stage):
    for milestone in stage.milestone_ids:
        values = {
            "lead_id": lead.id,
            "milestone_id": milestone.id,
            "kind_id": (milestone.evidence_kind_ids or any_kind)[:1].id,
            "summary": "Proof of " + milestone.name,
        }
        if milestone.customer_led:
            values["customer_partner_id"] = customer.id
        else:
            values["internal_user_id"] = rep.id
        evidence = env["crm.lead.evidence"].with_user(rep).create(values)
        if milestone.needs_verification:
            evidence.with_user(admin).action_verify()


def new_deal(process, label):
    return Lead.create({
        "name": "First release " + process.code + " " + label,
        "type": "opportunity",
        "pipeline_type_id": process.id,
        "partner_id": customer.id,
        "user_id": rep.id,
        "expected_revenue": 10000,
    })


deals = {}
for process in env["crm.pipeline.type"].search([("code", "!=", False)]):
    stages = process.stage_ids.filtered(lambda stage: not stage.is_won).sorted("sequence")
    if len(stages) < 5:
        continue
    moved = new_deal(process, "moved")
    for stage in stages[1:3]:
        prove(moved, moved.stage_id)
        moved.write({"stage_id": stage.id})
    role = env["crm.stakeholder.role"].search([], limit=1)
    env["crm.lead.stakeholder"].with_user(rep).create(
        {"lead_id": moved.id, "partner_id": env.ref("base.res_partner_address_1").id, "role_id": role.id}
    )
    moved.qualification_ids[:1].write({"answer": "yes", "notes": "Budget approved"})

    skipped = new_deal(process, "skipped")
    approved = Exception.with_user(rep).create({
        "lead_id": skipped.id, "from_stage_id": stages[0].id, "to_stage_id": stages[2].id,
        "reason": "The customer asked to go straight to the design",
    })
    approved.with_user(admin).action_approve()
    skipped.write({"stage_id": stages[2].id})
    rejected = Exception.with_user(rep).create({
        "lead_id": skipped.id, "from_stage_id": stages[2].id, "to_stage_id": stages[3].id, "reason": "In a hurry",
    })
    rejected.with_user(admin).action_reject()
    pending = Exception.with_user(rep).create({
        "lead_id": skipped.id, "from_stage_id": stages[2].id, "to_stage_id": stages[3].id,
        "reason": "The customer's board meets tomorrow",
    })

    restored = new_deal(process, "restored")
    restored.action_set_lost()
    restored.action_unarchive()
    unused = Exception.with_user(rep).create({
        "lead_id": restored.id, "from_stage_id": stages[0].id, "to_stage_id": stages[2].id,
        "reason": "Approved, not used yet",
    })
    unused.with_user(admin).action_approve()
    lost = new_deal(process, "lost")
    lost.action_set_lost()
    deals[process.code] = {
        "moved": moved.id, "skipped": skipped.id, "restored": restored.id, "lost": lost.id,
        "approved": approved.id, "rejected": rejected.id, "pending": pending.id, "unused": unused.id,
        "stages": stages.ids,
    }
# The company's own configuration: a stage renamed, a milestone of its own, a default probability.
stage = env.ref("%(addon)s.pipeline_type_t1").stage_ids.sorted("sequence")[4]
stage.write({"name": "Our own evaluation", "default_probability": 42.0})
own_milestone = env["crm.stage.milestone"].create(
    {"name": "Our own milestone", "stage_id": stage.id, "required": False}
)
env.cr.commit()
result = {
    "configured": [stage.id, own_milestone.id],
    "deals": deals,
    "version": env["ir.module.module"].search([("name", "=", "%(addon)s")]).latest_version,
    "ids": {model: env[model].with_context(active_test=False).search([]).ids for model in %(counted)r},
}
"""

COUNTED = [
    "crm.lead",
    "crm.lead.stage.history",
    "crm.lead.evidence",
    "crm.stage.exception",
    "crm.lead.stakeholder",
    "crm.lead.qualification",
]

# Run by this version's code after the upgrade.
AFTER_UPGRADE = """
from odoo.exceptions import ValidationError
from odoo.tools import SQL

deals = %(deals)r
rep = env.ref("base.user_demo")
admin = env.ref("base.user_admin")
result = {
    "version": env["ir.module.module"].search([("name", "=", "%(addon)s")]).latest_version,
    "ids": {model: env[model].with_context(active_test=False).search([]).ids for model in %(counted)r},
}

# Every stored field this addon computes holds what this version computes from the data.
stale = {}
for model_name in ("crm.lead", "crm.lead.evidence", "crm.stage.exception", "crm.lead.stakeholder",
                   "crm.lead.qualification", "crm.lead.stage.history"):
    Model = env[model_name].with_context(active_test=False)
    records = Model.search([])
    computed = [
        field for field in Model._fields.values()
        if field.store and field.compute and not field.related and field._module == "%(addon)s"
    ]
    stored = {field.name: {record.id: record[field.name] for record in records} for field in computed}
    for field in computed:
        env.add_to_compute(field, records)
    records.flush_model()
    env.invalidate_all()
    for field in computed:
        differing = [record.id for record in records if record[field.name] != stored[field.name][record.id]]
        if differing:
            stale[f"{model_name}.{field.name}"] = differing[:5]
result["stale"] = stale

# Every stored selection of the addon holds one of this version's values.
unknown = {}
for Model in env.registry.values():
    if Model._abstract or Model._transient or not Model._auto:
        continue
    for field in Model._fields.values():
        if field.type == "selection" and field.store and field._module == "%(addon)s":
            allowed = {value for value, _label in field._description_selection(env)}
            env.cr.execute(SQL("SELECT DISTINCT %%s FROM %%s", SQL.identifier(field.name), SQL.identifier(Model._table)))
            values = {row[0] for row in env.cr.fetchall()} - {None} - allowed
            if values:
                unknown[f"{Model._name}.{field.name}"] = sorted(values)
result["unknown_selections"] = unknown

# The salesman's form of an upgraded deal, every field of the view.
view = env["crm.lead"].with_user(rep).get_views([(False, "form")])
form_fields = view["models"]["crm.lead"]["fields"]
moved = {code: env["crm.lead"].with_user(rep).browse(ids["moved"]) for code, ids in deals.items()}
for lead in moved.values():
    lead.web_read({name: {} for name in form_fields})
result["form_fields"] = len(form_fields)

# The daily expiry job runs on the first release's approved exceptions (before the moves below).
env["crm.stage.exception"]._cron_expire()
result["unused"] = {
    code: [exception.state, (exception.valid_until - exception.decision_date).days]
    for code, ids in deals.items()
    for exception in [env["crm.stage.exception"].browse(ids["unused"])]
}

# The gate judges upgraded deals: a skip is refused, the pending exception is decided and used.
refused, decided = {}, {}
for code, ids in deals.items():
    lead = moved[code]
    try:
        with env.cr.savepoint():
            lead.write({"stage_id": ids["stages"][4]})
    except ValidationError as error:
        refused[code] = str(error).splitlines()[0]
    pending = env["crm.stage.exception"].browse(ids["pending"])
    pending.with_user(admin).action_approve()
    skipped = env["crm.lead"].with_user(rep).browse(ids["skipped"])
    skipped.write({"stage_id": ids["stages"][3]})
    decided[code] = {
        "pending": pending.state,
        "approved": env["crm.stage.exception"].browse(ids["approved"]).state,
        "rejected": env["crm.stage.exception"].browse(ids["rejected"]).state,
        "skipped_stage": skipped.stage_id.id,
        "restored": env["crm.lead"].browse(ids["restored"]).active,
        "lost": env["crm.lead"].with_context(active_test=False).browse(ids["lost"]).active,
    }
env.flush_all()
stage_id, milestone_id = %(configured)r
stage, milestone = env["crm.stage"].browse(stage_id), env["crm.stage.milestone"].browse(milestone_id)
result["configured"] = [stage.name, stage.default_probability, milestone.name, milestone.stage_id.id]
result["refused"] = refused
result["decided"] = decided
env.cr.execute(SQL(%(invariants)r))
result["invariants"] = dict(env.cr.fetchall())
env.cr.rollback()

# The other daily jobs run on the upgraded data (the indicators' job commits its batches).
env["crm.lead"]._cron_alert_stale_opportunities()
env["crm.lead"]._cron_schedule_stage_tasks()
env["crm.lead"]._cron_refresh_indicators()
result["daily_jobs"] = "done"
"""


@pytest.fixture
def first_release(tmp_path):
    """The first release's addon, extracted from this repository's history."""
    shallow = subprocess.run(
        ["git", "-C", str(REPO_ROOT), "rev-parse", "--is-shallow-repository"],
        capture_output=True,
        text=True,
        check=False,
    )
    if shallow.returncode != 0 or shallow.stdout.strip() == "true":
        pytest.skip("needs a full git clone of the project: the first release comes from its history")
    archive = subprocess.run(
        ["git", "-C", str(REPO_ROOT), "archive", "--format=tar", FIRST_RELEASE, ADDON],
        capture_output=True,
        check=True,
    )
    with tarfile.open(fileobj=io.BytesIO(archive.stdout)) as tar:
        tar.extractall(tmp_path, filter="data")
    return tmp_path


@pytest.fixture
def upgrade_db(odoo_env):
    """An empty database named with the scratch prefix (scripts/test.sh drops leftovers)."""
    name = f"{odoo_env.test_db}_scratch_upgrade"
    odoo_env.drop_db(name)
    try:
        yield name
    finally:
        odoo_env.drop_db(name)


def test_upgrade_from_the_first_release(first_release, upgrade_db, odoo_env, odoo_shell):
    odoo_src = Path(odoo_env.odoo_bin).parent
    old_path = ("--addons-path", f"{odoo_src / 'addons'},{odoo_src / 'odoo' / 'addons'},{first_release}")
    odoo_env.run_odoo("-d", upgrade_db, *old_path, "-i", ADDON, "--with-demo", "--log-level", "warn")
    before = odoo_shell.json(
        upgrade_db, FIRST_RELEASE_USAGE % {"addon": ADDON, "counted": COUNTED}, args=old_path
    )
    assert before["version"] == "19.0.1.1.0"
    assert set(before["deals"]) == {"industrial_project", "direct_sale"}, (
        "the processes of five stages or more"
    )

    log = odoo_env.run_odoo("-d", upgrade_db, "-u", ADDON)
    problems = [line for line in log.splitlines() if " WARNING " in line] + error_lines(log)
    assert not problems, "the upgrade logged:\n" + "\n".join(problems)
    for version in ("19.0.2.1.0", "19.0.2.4.0", "19.0.2.6.8"):
        assert f"Running migration [{version}>]" in log

    after = odoo_shell.json(
        upgrade_db,
        AFTER_UPGRADE
        % {
            "deals": before["deals"],
            "configured": before["configured"],
            "addon": ADDON,
            "counted": COUNTED,
            "invariants": INVARIANTS_SQL,
        },
    )
    manifest = (REPO_ROOT / ADDON / "__manifest__.py").read_text()
    assert f'"version": "{after["version"]}"' in manifest
    for model, ids in before["ids"].items():
        assert set(ids) <= set(after["ids"][model]), f"the upgrade lost records of {model}"
    assert after["stale"] == {}, "stored fields left as the first release computed them"
    assert after["unknown_selections"] == {}, "values this version does not know"
    stage_id, _milestone_id = before["configured"]
    assert after["configured"] == ["Our own evaluation", 42.0, "Our own milestone", stage_id], (
        "the company's configuration is kept"
    )
    assert after["form_fields"] > 50
    assert set(after["refused"]) == set(before["deals"]), "a skip from an upgraded deal is refused"
    assert all(message.startswith("Stage change refused") for message in after["refused"].values())
    for code, ids in before["deals"].items():
        assert after["decided"][code] == {
            "pending": "used",
            "approved": "used",
            "rejected": "rejected",
            "skipped_stage": ids["stages"][3],
            "restored": True,
            "lost": False,
        }, code
    assert after["unused"] == {code: ["approved", 14] for code in before["deals"]}, (
        "an exception approved by the first release is valid for 14 days from its decision"
    )
    assert set(after["invariants"].values()) == {0}, after["invariants"]
    assert after["daily_jobs"] == "done"
