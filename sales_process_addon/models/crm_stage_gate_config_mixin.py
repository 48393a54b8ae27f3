from odoo import api, models

# Key in the transaction's post-commit data: the cache is cleared once more after its commit.
CLEAR_AFTER_COMMIT = "sales_process_addon.gate_config_clear_cache"


class CrmStageGateConfigMixin(models.AbstractModel):
    """Records the stage gate reads through its registry cache (processes, stages, milestones).

    Any change to them clears the cache (in every worker, through Odoo's cache
    signalling) at once and again once committed (another thread of the same
    server may have filled it meanwhile from the data before the change), so
    the gate never judges with an outdated structure, and
    recomputes the leads' stored fields computed from it where it changed them
    (``crm.lead._stage_gate_structure_readers``).
    """

    _name = "crm.stage.gate.config.mixin"
    _description = "Stage Gate Configuration"

    @api.model_create_multi
    def create(self, vals_list):
        before = self.env["crm.lead"]._stage_gate_structure_readers()
        records = super().create(vals_list)
        self._gate_config_changed(before)
        return records

    def write(self, vals):
        before = self.env["crm.lead"]._stage_gate_structure_readers()
        result = super().write(vals)
        self._gate_config_changed(before)
        return result

    def unlink(self):
        before = self.env["crm.lead"]._stage_gate_structure_readers()
        result = super().unlink()
        self._gate_config_changed(before)
        return result

    def _gate_config_changed(self, before):
        """``before``: the leads' readers of the structure before the change."""
        registry, postcommit = self.env.registry, self.env.cr.postcommit
        registry.clear_cache()
        if not postcommit.data.get(CLEAR_AFTER_COMMIT):
            postcommit.data[CLEAR_AFTER_COMMIT] = True
            postcommit.add(registry.clear_cache)
        self.env["crm.lead"]._stage_gate_structure_changed(before)
