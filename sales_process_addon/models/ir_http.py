from odoo import models


class IrHttp(models.AbstractModel):
    _inherit = "ir.http"

    def session_info(self):
        """The rep's sales process (team's, else company's): the pipeline opens on it."""
        info = super().session_info()
        user = self.env.user
        if user._is_internal():
            team = user.sale_team_id
            ptype = team.pipeline_type_id or self.env.company.default_pipeline_type_id
            info["sales_process_default_pipeline_type_id"] = ptype.id or False
        return info
