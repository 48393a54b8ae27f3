from odoo import models


class IrHttp(models.AbstractModel):
    _inherit = "ir.http"

    def session_info(self):
        """The rep's sales process (team's, else company's): the pipeline opens on it."""
        info = super().session_info()
        if self.env.user._is_internal():
            ptype = self.env["crm.lead"]._pipeline_type_of_user()
            info["sales_process_default_pipeline_type_id"] = ptype.id or False
        return info
