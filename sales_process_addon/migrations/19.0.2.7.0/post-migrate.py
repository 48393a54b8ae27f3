from odoo.tools import SQL


def migrate(cr, version):
    """The stage history follows the opportunity's company, as its other records do.

    Until this version each row kept the company of its move: a deal moved to
    another company left its earlier history there, readable by that
    company's users and hidden from the deal's own.
    """
    cr.execute(
        SQL(
            """
            UPDATE crm_lead_stage_history history
            SET company_id = lead.company_id
            FROM crm_lead lead
            WHERE lead.id = history.lead_id AND history.company_id IS DISTINCT FROM lead.company_id
            """
        )
    )
