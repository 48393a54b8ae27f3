from odoo.tools import SQL

from .report.crm_sales_report_mixin import MEDIAN_AGGREGATE


def post_init_hook(env):
    """Put what existed before the install into the standard sales process.

    Stages created before the install (Odoo's default ones, or a company's own)
    join the "Standard pipeline" process, and every lead follows its stage.
    """
    standard = env.ref("sales_process_addon.pipeline_type_standard")
    existing = env["crm.stage"].with_context(active_test=False).search([("pipeline_type_id", "=", False)])
    _order_shipped_stages_after(env, existing)
    existing.write({"pipeline_type_id": standard.id})
    env["res.company"].search([("default_pipeline_type_id", "=", False)]).write(
        {"default_pipeline_type_id": standard.id}
    )
    leads = env["crm.lead"].with_context(active_test=False).search([("pipeline_type_id", "=", False)])
    for stage, stage_leads in leads.grouped("stage_id").items():
        stage_leads.write({"pipeline_type_id": stage.pipeline_type_id.id or standard.id})
    _set_standard_funnel_states(env)
    # The stage tasks of the demo opportunities, now that the translations are loaded.
    env["mail.activity"].search(
        [("res_model", "=", "crm.lead"), ("crm_plan_template_id", "!=", False)]
    )._crm_stage_tasks_localize()


def _order_shipped_stages_after(env, existing):
    """The shipped processes' stages come after the stages that existed before, in the stage order.

    So what Odoo and its users pick as "the first stage" or "the first won
    stage" of the whole pipeline stays one of the company's own. The relative
    order within each shipped process is kept.
    """
    if not existing:
        return
    offset = max(existing.mapped("sequence"))
    shipped = env["crm.stage"].search([("pipeline_type_id", "!=", False)])
    # One UPDATE shifting them all: stage by stage, a process would pass through
    # orders its constraint refuses (a stage after its won stage).
    shipped.flush_recordset(["sequence"])
    env.cr.execute(
        SQL("UPDATE crm_stage SET sequence = sequence + %s WHERE id = ANY(%s)", offset, shipped.ids)
    )
    shipped.invalidate_recordset(["sequence"])
    env.registry.clear_cache()


def _set_standard_funnel_states(env):
    """Give the Standard pipeline's stages a funnel state, so funnel reports have no "None" band.

    Only stages without one, in stage order: the first open stage is Search,
    the last one (of three or more) Best state, those between In funnel; won
    stages are Best state.
    """
    standard = env.ref("sales_process_addon.pipeline_type_standard")
    stages = (
        env["crm.stage"]
        .with_context(active_test=False)
        .search(
            [("pipeline_type_id", "=", standard.id), ("funnel_state_id", "=", False)], order="sequence, id"
        )
    )
    search = env.ref("sales_process_addon.funnel_state_search")
    in_funnel = env.ref("sales_process_addon.funnel_state_in_funnel")
    best = env.ref("sales_process_addon.funnel_state_best")
    open_stages = stages.filtered(lambda stage: not stage.is_won)
    states = dict.fromkeys(open_stages, in_funnel)
    if open_stages:
        states[open_stages[0]] = search
    if len(open_stages) >= 3:
        states[open_stages[-1]] = best
    states.update(dict.fromkeys(stages - open_stages, best))
    for state in (search, in_funnel, best):
        env["crm.stage"].union(*(stage for stage, value in states.items() if value == state)).write(
            {"funnel_state_id": state.id}
        )


def uninstall_hook(env):
    """Clear what would block the removal of the addon's data, drop the median aggregate.

    Odoo deletes the addon's records (questions, processes, stages) before it
    drops the addon's tables and columns. Answers to the questions, the stages
    and opportunities that existed before the install, and the opportunities in
    the addon's stages still point to those records then, through foreign keys
    that refuse the delete: each refusal would be logged as an ERROR. The
    answers and those columns go away with the addon; the stages holding
    opportunities stay.
    """
    env.flush_all()
    # The addon's stages that hold the company's opportunities (not its demo ones, deleted with
    # it) stay, as the company's own: the deals keep their stage, and Odoo no longer tries to
    # delete those stages with the addon's data.
    env.cr.execute(
        SQL(
            """
            DELETE FROM ir_model_data data
             WHERE data.module = %(addon)s AND data.model = 'crm.stage'
               AND EXISTS (
                   SELECT FROM crm_lead lead
                    WHERE lead.stage_id = data.res_id
                      AND NOT EXISTS (
                          SELECT FROM ir_model_data own
                           WHERE own.module = %(addon)s AND own.model = 'crm.lead' AND own.res_id = lead.id
                      )
               )
            """,
            addon="sales_process_addon",
        )
    )
    env.cr.execute(SQL("DELETE FROM crm_lead_qualification"))
    for table in ("crm_stage", "crm_lead"):
        env.cr.execute(
            SQL(
                "UPDATE %s SET pipeline_type_id = NULL WHERE pipeline_type_id IS NOT NULL",
                SQL.identifier(table),
            )
        )
    # The funnel states and buyer stages given to the stages that existed before.
    env.cr.execute(
        SQL(
            "UPDATE crm_stage SET funnel_state_id = NULL, buyer_stage_id = NULL "
            "WHERE funnel_state_id IS NOT NULL OR buyer_stage_id IS NOT NULL"
        )
    )
    env.invalidate_all()
    env.cr.execute(
        SQL(
            "DROP AGGREGATE IF EXISTS %s(float8); DROP FUNCTION IF EXISTS %s(float8[])",
            SQL.identifier(MEDIAN_AGGREGATE),
            SQL.identifier(f"{MEDIAN_AGGREGATE}_final"),
        )
    )
