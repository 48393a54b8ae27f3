from odoo import SUPERUSER_ID, api


def migrate(cr, version):
    """Databases installed before 19.0.2.4.0 keep scheduling their stage tasks within the moves.

    Until this version an absent setting meant "at once"; it now means "in the
    background". A database that never turned the setting on had its tasks
    scheduled at once: it keeps that, until an administrator chooses otherwise
    in Settings.
    """
    env = api.Environment(cr, SUPERUSER_ID, {})
    parameters = env["ir.config_parameter"]
    key = env["crm.lead"]._BACKGROUND_PARAM
    if not parameters.get_param(key):
        parameters.set_param(key, "False")
