from odoo import http
from odoo.http import content_disposition, request


class SalesProcessTransferController(http.Controller):
    @http.route("/sales_process_addon/process_export", type="http", auth="user", methods=["GET"])
    def process_export(self, ids="", **kwargs):
        """The file of the given sales processes, downloaded (sales administrators only)."""
        try:
            process_ids = [int(pid) for pid in ids.split(",") if pid]
        except ValueError:
            return request.not_found()
        processes = request.env["crm.pipeline.type"].browse(process_ids).exists()
        if not processes:
            return request.not_found()
        processes.check_access("read")
        name, content = processes._transfer_export_file()
        return request.make_response(
            content,
            headers=[
                ("Content-Type", "application/json; charset=utf-8"),
                ("Content-Disposition", content_disposition(name)),
            ],
        )
