"""Install the addon on a CRM database as companies really have them (issue 11).

Odoo accepts a team's stage that sorts after the won stage, and several
companies; installing the addon there must work and keep what existed.
"""

from __future__ import annotations

import os

import pytest

ADDON = "sales_process_addon"


@pytest.fixture
def crm_db(odoo_env):
    """A fresh database with only crm installed (no demo data), dropped afterwards.

    Named with the scratch prefix, so scripts/test.sh drops it if a run is interrupted.
    """
    name = f"{odoo_env.test_db}_scratch_{os.getpid()}_crm"

    def drop():
        odoo_env.drop_db(name)

    drop()
    install(odoo_env, name, "crm")
    try:
        yield name
    finally:
        drop()


def install(odoo_env, db: str, modules: str) -> str:
    """``odoo-bin -i modules --stop-after-init``; return its log (warnings and errors)."""
    return odoo_env.run_odoo("-d", db, "-i", modules, "--log-level", "warn")


def error_lines(log: str) -> list[str]:
    return [line for line in log.splitlines() if " ERROR " in line or " CRITICAL " in line]


def test_install_with_team_stage_after_won_and_two_companies(crm_db, odoo_env, odoo_shell):
    before = odoo_shell.json(
        crm_db,
        """
        Stage = env["crm.stage"]
        won = Stage.search([("is_won", "=", True)], limit=1)
        second = env["res.company"].create({"name": "Second company"})
        team = env["crm.team"].create({"name": "After-sales", "company_id": second.id})
        late = Stage.create({"name": "Installed", "sequence": won.sequence + 10, "team_ids": [team.id]})
        lead = env["crm.lead"].create({
            "name": "Delivered machine", "type": "opportunity", "team_id": team.id,
            "company_id": second.id, "stage_id": late.id,
        })
        env.cr.commit()
        result = {"late": late.id, "lead": lead.id, "companies": env["res.company"].search([]).ids,
                  "stages": Stage.search([]).ids}
        """,
    )
    log = install(odoo_env, crm_db, ADDON)
    assert not error_lines(log), "the install logged errors:\n" + "\n".join(error_lines(log))

    after = odoo_shell.json(
        crm_db,
        f"""
        standard = env.ref("{ADDON}.pipeline_type_standard")
        lead = env["crm.lead"].browse({before["lead"]})
        companies = env["res.company"].browse({before["companies"]})
        stages = env["crm.stage"].browse({before["stages"]})
        late = env["crm.stage"].browse({before["late"]})
        column = env["crm.stage"].with_company(companies[-1]).create({{"name": "Added after install"}})
        result = {{
            "state": env["ir.module.module"].search([("name", "=", "{ADDON}")]).state,
            "stage_processes": sorted(set(stages.pipeline_type_id.mapped("code"))),
            "company_defaults": [company.default_pipeline_type_id.code for company in companies],
            "lead": [lead.stage_id.id, lead.pipeline_type_id.code],
            "late_team_ids": late.team_ids.ids,
            "new_column_process": column.pipeline_type_id.code,
        }}
        """,
    )
    assert after["state"] == "installed"
    assert after["stage_processes"] == ["standard"], "every existing stage joins the Standard pipeline"
    assert after["company_defaults"] == ["standard", "standard"], "each company gets a default process"
    assert after["lead"] == [before["late"], "standard"], "the opportunity stays in its team's stage"
    assert after["late_team_ids"], "the stage keeps its team"
    assert after["new_column_process"] == "standard"
