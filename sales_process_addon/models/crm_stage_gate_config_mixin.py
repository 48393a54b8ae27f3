from odoo import api, models


class CrmStageGateConfigMixin(models.AbstractModel):
    """Records the stage gate reads through its registry cache (processes, stages, milestones).

    Any change to them clears the cache (in every worker, through Odoo's cache
    signalling), so the gate never judges with an outdated structure.
    """

    _name = "crm.stage.gate.config.mixin"
    _description = "Stage Gate Configuration"

    @api.model_create_multi
    def create(self, vals_list):
        records = super().create(vals_list)
        self.env.registry.clear_cache()
        return records

    def write(self, vals):
        result = super().write(vals)
        self.env.registry.clear_cache()
        return result

    def unlink(self):
        result = super().unlink()
        self.env.registry.clear_cache()
        return result
