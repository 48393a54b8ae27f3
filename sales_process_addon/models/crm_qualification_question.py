from odoo import api, fields, models, tools


class CrmQualificationQuestion(models.Model):
    """A question that qualifies an opportunity: is it worth our time and resources?

    Each opportunity gets the questions of its sales process (questions without
    processes apply to all). The answers give its qualification status.
    """

    _name = "crm.qualification.question"
    _description = "Qualification Question"
    _order = "sequence, id"

    name = fields.Char("Question", required=True, translate=True)
    guidance = fields.Text(
        translate=True,
        help="What a good answer looks like and where to find it; shown to the rep next to the question.",
    )
    sequence = fields.Integer(default=10)
    active = fields.Boolean(default=True)
    deal_breaker = fields.Boolean(
        help="A 'No' to this question drops the opportunity (qualification status: Drop), "
        "e.g. no funding allocated.",
    )
    pipeline_type_ids = fields.Many2many(
        "crm.pipeline.type",
        string="Sales Processes",
        help="Processes whose opportunities are asked this question; empty means all processes.",
    )

    @api.model_create_multi
    def create(self, vals_list):
        questions = super().create(vals_list)
        self.env.registry.clear_cache()  # _question_ids_for_pipeline_type
        return questions

    def write(self, vals):
        result = super().write(vals)
        self.env.registry.clear_cache()  # _question_ids_for_pipeline_type
        return result

    def unlink(self):
        result = super().unlink()
        self.env.registry.clear_cache()  # _question_ids_for_pipeline_type
        return result

    @api.model
    def _for_pipeline_types(self, pipeline_types):
        """``{process: its active questions}``, questions without processes included.

        Asked for each new opportunity: cached, so that creating one costs no
        query for its questions.
        """
        return {
            ptype: self.browse(self._question_ids_for_pipeline_type(ptype.id)) for ptype in pipeline_types
        }

    @api.model
    @tools.ormcache("pipeline_type_id")
    def _question_ids_for_pipeline_type(self, pipeline_type_id):
        # sudo: the cache is shared by all users; questions have no record rules,
        # so every user who may read them gets the same list.
        domain = [("pipeline_type_ids", "=", False)]
        if pipeline_type_id:
            domain = ["|", *domain, ("pipeline_type_ids", "in", [pipeline_type_id])]
        return tuple(self.sudo().search(domain).ids)
