from markupsafe import Markup

from odoo import _, api, fields, models


class CrmPipelineTypeDesigner(models.Model):
    """The administrator's process designer: problems shown early, a shipped process duplicated."""

    _inherit = "crm.pipeline.type"

    designer_problems = fields.Html(
        "Design Problems",
        compute="_compute_designer_problems",
        sanitize=False,  # built with Markup, every value escaped
        help="What would bite the reps: a won stage that is not last, a stage without milestones in "
        "an enforced process, a milestone that accepts no kind of evidence.",
    )

    @api.depends(
        "gate_mode",
        "stage_ids.is_won",
        "stage_ids.sequence",
        "stage_ids.milestone_ids",
        "stage_ids.milestone_ids.evidence_kind_ids",
    )
    def _compute_designer_problems(self):
        for ptype in self:
            problems = ptype._designer_problem_list()
            ptype.designer_problems = (
                Markup("<ul class='mb-0'>%s</ul>")
                % Markup("").join(Markup("<li>%s</li>") % p for p in problems)
                if problems
                else False
            )

    def _designer_problem_list(self):
        """The problems of this process's design, as sentences."""
        self.ensure_one()
        stages = self.stage_ids
        problems = []
        won = stages.filtered("is_won")
        if stages and not won:
            problems.append(_("No won stage: opportunities of this process can never be won."))
        for stage in won:
            if stages.filtered(
                lambda s, stage=stage: not s.is_won and (s.sequence, s.id) > (stage.sequence, stage.id)
            ):
                problems.append(_('The won stage "%(stage)s" is not last.', stage=stage.name))
        if self.gate_mode == "enforced":
            for stage in (stages - won).filtered(lambda s: not s.milestone_ids):
                problems.append(
                    _(
                        'Stage "%(stage)s" has no milestones: in an enforced process, nothing proves '
                        "that an opportunity may leave it.",
                        stage=stage.name,
                    )
                )
        for milestone in stages.milestone_ids.filtered(lambda m: not m.fact and m.customer_led):
            if not milestone.evidence_kind_ids:
                problems.append(
                    _(
                        'Milestone "%(milestone)s" (%(stage)s) accepts any kind of evidence: say which '
                        "kinds prove it.",
                        milestone=milestone.name,
                        stage=milestone.stage_id.name,
                    )
                )
        return problems

    def action_duplicate_process(self):
        """Copy this process, its stages and their milestones, as the start of the company's own."""
        self.ensure_one()
        copy = self.copy()
        return {
            "type": "ir.actions.act_window",
            "res_model": "crm.pipeline.type",
            "res_id": copy.id,
            "view_mode": "form",
            "target": "current",
        }

    def copy_data(self, default=None):
        """A copy takes a free code (the code is unique per company) and comes right after its original."""
        default = dict(default or {})
        vals_list = super().copy_data(default)
        taken = None
        for ptype, vals in zip(self, vals_list, strict=True):
            if vals is None:
                continue
            if "code" not in default:
                if taken is None:
                    taken = set(self.with_context(active_test=False).search([]).mapped("code"))
                vals["code"] = ptype._designer_free_code(taken)
                taken.add(vals["code"])
            if "sequence" not in default:
                vals["sequence"] = ptype.sequence + 1
        return vals_list

    def copy(self, default=None):
        """Odoo's Duplicate and *Duplicate as Our Own* alike: the process with its stages, their
        milestones and task plans, every translated text in every language (Odoo copies the translations of the
        fields not given in ``default``), the process named as a copy in each of them."""
        copies = super().copy(default)
        for ptype, copy in zip(self, copies, strict=True):
            if not default or "name" not in default:
                ptype._designer_name_copy(copy)
            # The copy's task plans are its own: adapting them leaves the original's tasks alone.
            plans = {}
            for stage in ptype.stage_ids:
                plan = stage.activity_plan_id
                if plan and plan not in plans:
                    plans[plan] = plan.copy()
                new_stage = stage.copy(
                    {"pipeline_type_id": copy.id, "activity_plan_id": plans[plan].id if plan else False}
                )
                for milestone in stage.milestone_ids:
                    milestone.copy({"stage_id": new_stage.id})
        return copies

    def _designer_name_copy(self, copy):
        """Name ``copy`` after this process in each language of their names, with "(copy)" in that
        language (the copy was created with the name in the user's language)."""
        field = self._fields["name"]
        installed = {code for code, _name in self.env["res.lang"].get_installed()} | {"en_US"}
        langs = set(field._get_stored_translations(self) or ()) | set(
            field._get_stored_translations(copy) or ()
        )
        copy.update_field_translations(
            "name",
            {
                lang: self.with_context(lang=lang).env._(
                    "%(name)s (copy)", name=self.with_context(lang=lang).name
                )
                for lang in langs & installed
            },
        )

    def _designer_free_code(self, taken=None):
        """A code for a copy of this process that no other process uses (nor any of ``taken``)."""
        if taken is None:
            taken = set(self.with_context(active_test=False).search([]).mapped("code"))
        number = 1
        while f"{self.code}_copy{number}" in taken:
            number += 1
        return f"{self.code}_copy{number}"
