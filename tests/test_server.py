"""Integration tests against real odoo-bin processes (see conftest.py).

The test database was installed by scripts/test.sh with
``-i sales_process_addon --with-demo``, so ``admin`` / ``admin`` logs in and
CRM's demo leads exist.
"""

from __future__ import annotations

from test_install_real_crm import error_lines, install
from test_production import INVARIANTS_SQL

ADDON = "sales_process_addon"
# After a second install: the opportunities without a process, every opportunity's stage, and
# the history's invariants (offending rows per invariant).
REINSTALLED = """
from odoo.tools import SQL

leads = env["crm.lead"].search([("type", "=", "opportunity")])
env.cr.execute(SQL(%(invariants)r))
invariants = dict(env.cr.fetchall())
result = {
    "without_process": leads.filtered(lambda lead: not lead.pipeline_type_id).mapped("name"),
    "stages": sorted(leads.mapped(lambda lead: [lead.id, lead.stage_id.id])),
    "invariants": invariants,
}
"""
SEED_PROCESS_CODES = {
    "industrial_project",
    "direct_sale",
    "relationship_lifecycle",
    "transactional",
}


class TestServerOnTestDb:
    """One odoo-bin server on the test database, shared by these tests."""

    def test_login_page_answers(self, test_db_server):
        status, body = test_db_server.get("/web/login")
        assert status == 200
        assert 'name="login"' in body

    def test_jsonrpc_login_as_admin(self, test_db_server):
        uid = test_db_server.jsonrpc("common", "login", test_db_server.db, "admin", "admin")
        assert isinstance(uid, int) and uid > 0

    def test_jsonrpc_wrong_password_is_refused(self, test_db_server):
        uid = test_db_server.jsonrpc("common", "login", test_db_server.db, "admin", "not-admin")
        assert not uid

    def test_demo_leads_are_readable(self, test_db_server):
        uid = test_db_server.jsonrpc("common", "login", test_db_server.db, "admin", "admin")
        count = test_db_server.execute_kw(uid, "admin", "crm.lead", "search_count", [[]])
        assert count > 0, "no crm.lead records: demo data did not load"

    def test_seed_processes_are_served(self, test_db_server):
        uid = test_db_server.jsonrpc("common", "login", test_db_server.db, "admin", "admin")
        records = test_db_server.execute_kw(
            uid, "admin", "crm.pipeline.type", "search_read", [[]], {"fields": ["code"]}
        )
        assert records, "no crm.pipeline.type records"
        assert all("code" in record for record in records)
        codes = {record["code"] for record in records}
        missing = SEED_PROCESS_CODES - codes
        assert not missing, f"seed processes missing: {sorted(missing)} (found {sorted(codes)})"


def test_uninstall_keeps_crm_usable(scratch_db, odoo_env, odoo_shell, start_odoo_server):
    """On a scratch copy: uninstall the addon, then CRM still works (shell and web); installed
    again, the addon takes the deals back."""
    # The company's own deal, in a stage of a shipped process (the demo deals go with the addon).
    before = odoo_shell.json(
        scratch_db,
        f"""
        process = env.ref("{ADDON}.pipeline_type_t1")
        deal = env["crm.lead"].create(
            {{"name": "Our own project deal", "type": "opportunity", "pipeline_type_id": process.id}}
        )
        env.cr.commit()
        result = {{
            "state": env["ir.module.module"].search([("name", "=", "{ADDON}")]).state,
            "deal": [deal.id, deal.stage_id.id, deal.stage_id.name],
        }}
        """,
    )
    assert before["state"] == "installed"

    odoo_shell(
        scratch_db,
        f"""
        module = env["ir.module.module"].search([("name", "=", "{ADDON}")])
        module.button_immediate_uninstall()
        env.cr.commit()
        """,
    )
    errors = [line for line in odoo_shell.last_log.splitlines() if " ERROR " in line or " CRITICAL " in line]
    assert not errors, "the uninstall logged errors:\n" + "\n".join(errors)

    after = odoo_shell.json(
        scratch_db,
        f"""
        modules = env["ir.module.module"].search([("name", "in", ["{ADDON}", "crm"])])
        leads = env["crm.lead"].search_read([], ["name", "type", "stage_id"])
        env.cr.execute("SELECT proname FROM pg_proc WHERE proname LIKE 'sales_process_%%'")
        result = {{
            "modules": {{module.name: module.state for module in modules}},
            "leads": leads,
            "functions": [row[0] for row in env.cr.fetchall()],
        }}
        """,
    )
    assert after["modules"] == {ADDON: "uninstalled", "crm": "installed"}
    assert after["functions"] == [], "the reports' median aggregate is left behind"
    leads = after["leads"]
    assert leads, "no crm.lead records readable after the uninstall"
    opportunities = [lead for lead in leads if lead["type"] == "opportunity"]
    assert opportunities, "no opportunities left after the uninstall"
    stageless = [lead["name"] for lead in opportunities if not lead["stage_id"]]
    assert not stageless, f"opportunities without a stage after the uninstall: {stageless}"
    deal_id, stage_id, stage_name = before["deal"]
    assert [[lead["id"], *lead["stage_id"]] for lead in opportunities if lead["id"] == deal_id] == [
        [deal_id, stage_id, stage_name]
    ], "the company's deal keeps its stage"

    # The web server still starts on the database and serves CRM's leads.
    server = start_odoo_server(scratch_db)
    status, _body = server.get("/web/login")
    assert status == 200
    uid = server.jsonrpc("common", "login", scratch_db, "admin", "admin")
    served = server.execute_kw(
        uid,
        "admin",
        "crm.lead",
        "search_read",
        [[("type", "=", "opportunity")]],
        {"fields": ["stage_id"]},
    )
    assert len(served) == len(opportunities)
    assert all(lead["stage_id"] for lead in served)
    server.stop()

    # Installed again: every opportunity in a process, its history starting at its stage.
    log = install(odoo_env, scratch_db, ADDON)
    assert not error_lines(log), "the second install logged errors:\n" + "\n".join(error_lines(log))
    again = odoo_shell.json(scratch_db, REINSTALLED % {"invariants": INVARIANTS_SQL})
    assert again["without_process"] == []
    stages = dict(again["stages"])  # demo data adds deals of its own again
    assert {lead["id"]: stages.get(lead["id"]) for lead in opportunities} == {
        lead["id"]: lead["stage_id"][0] for lead in opportunities
    }, "the second install must not move a deal"
    assert set(again["invariants"].values()) == {0}, again["invariants"]
