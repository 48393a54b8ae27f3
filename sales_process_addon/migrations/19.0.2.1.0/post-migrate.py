from odoo import SUPERUSER_ID, Command, api

from odoo.addons.sales_process_addon.hooks import _set_standard_funnel_states


def migrate(cr, version):
    """Databases installed before 19.0.2.1.0: the Standard pipeline's stages get funnel states.

    A fresh install sets them in the post-init hook; the stages a company
    already gave a funnel state keep it. On a demo database, the Chinese demo
    rep this version adds gets her language: an update loads new demo records
    but skips the demo's function calls, the language installation among them.
    """
    env = api.Environment(cr, SUPERUSER_ID, {})
    _set_standard_funnel_states(env)
    rep = env.ref("sales_process_addon.user_rep_zh", raise_if_not_found=False)
    if rep and rep.lang and not env["res.lang"]._get_code(rep.lang):
        language = env["res.lang"].with_context(active_test=False).search([("code", "=", rep.lang)])
        env["base.language.install"].create({"lang_ids": [Command.set(language.ids)]}).lang_install()
