from odoo import fields, models


class ResConfigSettings(models.TransientModel):
    _inherit = "res.config.settings"

    # Not named default_*: res.config.settings reserves that prefix for ir.default values.
    company_pipeline_type_id = fields.Many2one(
        related="company_id.default_pipeline_type_id",
        readonly=False,
        domain="['|', ('company_id', '=', False), ('company_id', '=', company_id)]",
    )
    stage_exception_validity_days = fields.Integer(
        related="company_id.stage_exception_validity_days",
        readonly=False,
    )
    # Not a config_parameter field: unticking one deletes its parameter, and an absent
    # parameter means the default, in the background (see crm.lead.stage.tasks).
    stage_tasks_in_background = fields.Boolean("Stage Tasks in the Background")

    def get_values(self):
        values = super().get_values()
        values["stage_tasks_in_background"] = self.env["crm.lead"]._stage_tasks_background_setting()
        return values

    def set_values(self):
        result = super().set_values()
        Lead = self.env["crm.lead"]
        if Lead._stage_tasks_background_setting() and not self.stage_tasks_in_background:
            Lead._stage_tasks_work_queue_now()  # the moves to come schedule their tasks themselves
        # sudo: a system parameter, as Odoo's own config_parameter fields write them.
        self.env["ir.config_parameter"].sudo().set_param(
            Lead._BACKGROUND_PARAM, str(self.stage_tasks_in_background)
        )
        return result
