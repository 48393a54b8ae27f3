from odoo import SUPERUSER_ID, api
from odoo.tools import SQL


def migrate(cr, version):
    """The report rows follow the opportunity's company, and a team's stage order.

    Until this version the stays (time in stage, stage exit) kept the company
    of the move that ended them: a deal moved to another company left them
    behind. And the stage entries (stage conversion) took the next stage over
    all the stages of the process, also those of other teams.
    """
    env = api.Environment(cr, SUPERUSER_ID, {})
    cr.execute(
        SQL(
            """
            UPDATE crm_lead_stage_stay stay
            SET company_id = lead.company_id
            FROM crm_lead lead
            WHERE lead.id = stay.lead_id AND stay.company_id IS DISTINCT FROM lead.company_id
            """
        )
    )
    # Only a process with stages of some teams has entries to judge again.
    cr.execute(
        SQL(
            """
            SELECT 1 FROM crm_stage stage
            JOIN crm_stage_crm_team_rel rel ON rel.crm_stage_id = stage.id
            WHERE stage.pipeline_type_id IS NOT NULL
            LIMIT 1
            """
        )
    )
    if cr.fetchone():
        env["crm.lead.stage.entry"]._rebuild()
