import base64
import binascii
from contextlib import closing

from markupsafe import Markup

from odoo import _, api, fields, models
from odoo.exceptions import UserError
from odoo.tools import format_list


class CrmPipelineTypeImport(models.TransientModel):
    """Import a sales process exported from another database: preview first, then create it."""

    _name = "crm.pipeline.type.import"
    _description = "Import a Sales Process"

    file = fields.Binary("Process File", required=True, attachment=False)
    filename = fields.Char()
    state = fields.Selection([("upload", "Upload"), ("preview", "Preview")], default="upload", required=True)
    preview = fields.Html(readonly=True, sanitize=False)  # built with Markup, every value escaped
    can_import = fields.Boolean(readonly=True)

    @api.onchange("file")
    def _onchange_file(self):
        """A new file needs a new preview."""
        self.state = "upload"
        self.preview = False
        self.can_import = False

    # ------------------------------------------------------------
    # ACTIONS
    # ------------------------------------------------------------

    def action_preview(self):
        """Read the file and show what importing it creates, reuses and what to check."""
        self.ensure_one()
        data = self._read_file()
        plan = self.env["crm.pipeline.type"]._transfer_plan(data)
        problems, error = self._dry_run(data, plan)
        self.write(
            {
                "state": "preview",
                "preview": self._preview_html(data, plan, problems, error),
                "can_import": not error,
            }
        )
        return {
            "type": "ir.actions.act_window",
            "res_model": self._name,
            "res_id": self.id,
            "view_mode": "form",
            "target": "new",
            "name": _("Import a Sales Process"),
        }

    def action_import(self):
        """Create the file's processes in the current company and open them."""
        self.ensure_one()
        Type = self.env["crm.pipeline.type"]
        data = self._read_file()
        ptypes = Type._transfer_import(data, Type._transfer_plan(data))
        action = {
            "type": "ir.actions.act_window",
            "res_model": "crm.pipeline.type",
            "name": _("Imported Sales Processes"),
            "target": "current",
        }
        if len(ptypes) == 1:
            return action | {"res_id": ptypes.id, "view_mode": "form", "views": [(False, "form")]}
        return action | {
            "domain": [("id", "in", ptypes.ids)],
            "view_mode": "list,form",
            "views": [(False, "list"), (False, "form")],
        }

    # ------------------------------------------------------------
    # BUSINESS
    # ------------------------------------------------------------

    def _read_file(self):
        if not self.file:
            raise UserError(_("Choose the sales process file to import."))
        try:
            raw = base64.b64decode(self.file, validate=True)
        except binascii.Error as error:
            raise UserError(_("The uploaded file could not be read; upload it again.")) from error
        return self.env["crm.pipeline.type"]._transfer_parse(raw)

    def _dry_run(self, data, plan):
        """Import the file and roll it back: (the new processes' design problems, the import's error or False)."""
        # The savepoint is always rolled back: the preview creates nothing.
        with closing(self.env.cr.savepoint()):
            try:
                ptypes = self.env["crm.pipeline.type"]._transfer_create(data, plan)
                ptypes.flush_recordset()
                problems = [
                    f"{ptype.name}: {problem}"
                    for ptype in ptypes
                    for problem in ptype._designer_problem_list()
                ]
            except UserError as error:
                return [], error.args[0]
        return problems, False

    def _preview_html(self, data, plan, problems, error):
        """The preview, in the user's language: the file's texts in it when the file has them,
        the records reused from this database by their names in it."""
        label = self.env["crm.pipeline.type"]._transfer_label

        def name_of(record, text):
            return record.with_env(self.env).display_name if record else label(text)

        def items(title, names):
            if not names:
                return Markup()
            return Markup("<li><b>%s</b> %s</li>") % (title, format_list(self.env, sorted(set(names))))

        parts = []
        for process, pplan in zip(data["processes"], plan["processes"], strict=True):
            stages = process["stages"]
            tasks = [task for stage in stages for task in (stage["task_plan"] or {}).get("tasks", [])]
            parts.append(
                Markup("<h4 class='mb-1'>%s</h4><p class='mb-2'>%s</p>")
                % (
                    pplan["label"],
                    _(
                        "%(stages)s stages, %(milestones)s milestones, %(plans)s task plans with %(tasks)s tasks.",
                        stages=len(stages),
                        milestones=sum(len(stage["milestones"]) for stage in stages),
                        plans=sum(1 for stage in stages if stage["task_plan"]),
                        tasks=len(tasks),
                    ),
                )
            )
        reused, created = {}, {}
        for funnel in data["funnel_states"]:
            record = plan["funnel_states"][funnel.get("xml_id") or funnel["name"]["en_US"]]
            (reused if record else created).setdefault(_("Funnel states:"), []).append(
                name_of(record, funnel["name"])
            )
        for kind in data["evidence_kinds"]:
            record = plan["evidence_kinds"][kind["code"]]
            (reused if record else created).setdefault(_("Evidence kinds:"), []).append(
                name_of(record, kind["name"])
            )
        for process, pplan in zip(data["processes"], plan["processes"], strict=True):
            if process["buying_process"]:
                record = pplan["buying_process"][0]
                (reused if record else created).setdefault(_("Buying processes:"), []).append(
                    name_of(record, process["buying_process"]["name"])
                )
        reused[_("Activity types:")] = [
            name_of(activity_type, None) for activity_type in plan["activity_types"].values()
        ]
        created[_("Sales processes:")] = [pplan["label"] for pplan in plan["processes"]]
        for title, groups in ((_("Reused from this database"), reused), (_("Created"), created)):
            if any(groups.values()):
                parts.append(
                    Markup("<h5 class='mt-3'>%s</h5><ul class='mb-0'>%s</ul>")
                    % (title, Markup().join(items(label, names) for label, names in groups.items()))
                )
        notes = plan["warnings"]
        if notes:
            parts.append(
                Markup("<h5 class='mt-3'>%s</h5><ul class='mb-0'>%s</ul>")
                % (_("Good to know"), Markup().join(Markup("<li>%s</li>") % note for note in notes))
            )
        if error:
            parts.append(
                Markup("<div class='alert alert-danger mt-3 mb-0' role='alert'><b>%s</b> %s</div>")
                % (_("This file cannot be imported:"), error)
            )
        elif problems:
            parts.append(
                Markup(
                    "<div class='alert alert-warning mt-3 mb-0' role='alert'><b>%s</b><ul class='mb-0'>%s</ul></div>"
                )
                % (
                    _("Check after the import:"),
                    Markup().join(Markup("<li>%s</li>") % problem for problem in problems),
                )
            )
        return Markup().join(parts)
