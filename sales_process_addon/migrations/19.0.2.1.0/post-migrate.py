from odoo import SUPERUSER_ID, api

from odoo.addons.sales_process_addon.hooks import _set_standard_funnel_states


def migrate(cr, version):
    """Databases installed before 19.0.2.1.0: the Standard pipeline's stages get funnel states.

    A fresh install sets them in the post-init hook; the stages a company
    already gave a funnel state keep it.
    """
    _set_standard_funnel_states(api.Environment(cr, SUPERUSER_ID, {}))
