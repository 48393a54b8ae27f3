import logging

from odoo import api, models
from odoo.http import request

_logger = logging.getLogger(__name__)

# Where a request keeps the work to run once its response is sent (see ``_after_response``).
AFTER_RESPONSE = "sales_process_addon.after_response"


class IrHttp(models.AbstractModel):
    _inherit = "ir.http"

    def session_info(self):
        """The rep's sales process (team's, else company's): the pipeline opens on it."""
        info = super().session_info()
        if self.env.user._is_internal():
            ptype = self.env["crm.lead"]._pipeline_type_of_user()
            info["sales_process_default_pipeline_type_id"] = ptype.id or False
        return info

    @api.model
    def _after_response(self, key, func):
        """Run ``func()`` once the response to the request being served is sent, once per ``key``;
        False when no request of this database is being served (the caller then runs it itself).

        For the server's own work that the user need not wait for. By then the request's
        transactions are committed (a request that failed sends no response of this kind, and
        runs nothing): ``func`` opens its own cursor if it needs one.
        """
        if not request or request.db != self.env.cr.dbname:
            return False
        request.httprequest.environ.setdefault(AFTER_RESPONSE, {}).setdefault(key, func)
        return True

    @classmethod
    def _post_dispatch(cls, response):
        result = super()._post_dispatch(response)
        # Read when the response is closed, after it is sent: a retried transaction's calls count once.
        environ = request.httprequest.environ
        if environ.get(AFTER_RESPONSE):
            response.call_on_close(lambda: cls._run_after_response(environ.pop(AFTER_RESPONSE, {})))
        return result

    @classmethod
    def _run_after_response(cls, pending):
        for key, func in pending.items():
            try:
                func()
            except Exception:  # the response is sent: nothing is left to tell but the log
                _logger.exception("%s, after the response to a request, failed", key)
