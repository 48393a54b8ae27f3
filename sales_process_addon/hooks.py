from odoo.tools import SQL

from .report.crm_sales_report_mixin import MEDIAN_AGGREGATE


def post_init_hook(env):
    """Put what existed before the install into the standard sales process.

    Stages created before the install (Odoo's default ones, or a company's own)
    join the "Standard pipeline" process, and every lead follows its stage.
    """
    standard = env.ref("sales_process_addon.pipeline_type_standard")
    env["crm.stage"].with_context(active_test=False).search([("pipeline_type_id", "=", False)]).write(
        {"pipeline_type_id": standard.id}
    )
    env["res.company"].search([("default_pipeline_type_id", "=", False)]).write(
        {"default_pipeline_type_id": standard.id}
    )
    leads = env["crm.lead"].with_context(active_test=False).search([("pipeline_type_id", "=", False)])
    for stage, stage_leads in leads.grouped("stage_id").items():
        stage_leads.write({"pipeline_type_id": stage.pipeline_type_id.id or standard.id})


def uninstall_hook(env):
    """Drop the median aggregate the reports created (see crm_sales_report_mixin)."""
    env.cr.execute(
        SQL(
            "DROP AGGREGATE IF EXISTS %s(float8); DROP FUNCTION IF EXISTS %s(float8[])",
            SQL.identifier(MEDIAN_AGGREGATE),
            SQL.identifier(f"{MEDIAN_AGGREGATE}_final"),
        )
    )
