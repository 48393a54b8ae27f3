from odoo import models


class IrCron(models.Model):
    """The stage tasks go to the background only while their scheduled action is active."""

    _inherit = "ir.cron"

    def write(self, vals):
        if "active" not in vals or self._stage_tasks_scheduler() not in self:
            return super().write(vals)
        if not vals["active"]:
            self.env["crm.lead"]._stage_tasks_work_queue_now()
        result = super().write(vals)
        # Moves read whether the scheduler is active from the registry cache, in every worker.
        self.env.registry.clear_cache()
        return result

    def unlink(self):
        if self._stage_tasks_scheduler() not in self:
            return super().unlink()
        self.env["crm.lead"]._stage_tasks_work_queue_now()
        result = super().unlink()
        self.env.registry.clear_cache()
        return result

    def _stage_tasks_scheduler(self):
        """The scheduled action that works the stage tasks' queue (empty if deleted)."""
        return self.env.ref(self.env["crm.lead"]._SCHEDULER, raise_if_not_found=False) or self.browse()
