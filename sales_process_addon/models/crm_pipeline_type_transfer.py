import json
from urllib.parse import urlencode

from odoo import Command, _, api, models
from odoo.exceptions import AccessError, UserError
from odoo.fields import Domain

# The file format. Bump VERSION when a reader of the previous version would
# misread a file of the new one (a key renamed or its meaning changed).
TRANSFER_FORMAT = "sales_process_addon.process"
TRANSFER_VERSION = 1

# What each object of the file holds: key -> kind. "text": translations
# {lang: value} with en_US; "ref": {"xml_id", "name"} naming a record defined
# elsewhere in the file or in the database; "sel:<model>.<field>": one of the
# field's values; "percent": a number from 0 to 100; a trailing "?" allows null.
TRANSFER_SCHEMA = {
    "file": {
        "format": "str",
        "version": "int",
        "funnel_states": "list:funnel_state",
        "evidence_kinds": "list:evidence_kind",
        "processes": "list:process",
    },
    "funnel_state": {
        "xml_id": "str?",
        "name": "text",
        "sequence": "int",
        "color": "int",
        "indicators": "text?",
        "guidance": "text?",
    },
    "evidence_kind": {
        "xml_id": "str?",
        "code": "str",
        "name": "text",
        "sequence": "int",
        "description": "text?",
    },
    "process": {
        "code": "str",
        "name": "text",
        "description": "text?",
        "usage_guidance": "text?",
        "gate_mode": "sel:crm.pipeline.type.gate_mode",
        "allow_backward": "bool",
        "cancel_tasks_on_exit": "bool",
        "probability_mode": "sel:crm.pipeline.type.probability_mode",
        "color": "int",
        "buying_process": "buying_process?",
        "stages": "list:stage",
    },
    "buying_process": {
        "xml_id": "str?",
        "name": "text",
        "description": "text?",
        "stages": "list:buying_stage",
    },
    "buying_stage": {"xml_id": "str?", "name": "text", "sequence": "int", "description": "text?"},
    "ref": {"xml_id": "str?", "name": "str"},
    "stage": {
        "name": "text",
        "sequence": "int",
        "is_won": "bool",
        "fold": "bool",
        "default_probability": "percent",
        "requirements": "str?",
        "milestone_criteria": "text?",
        "rotting_threshold_days": "int",
        "escalation_days": "int",
        "color": "int",
        "buying_stage": "ref?",
        "funnel_state": "ref?",
        "playbook": "text?",
        "milestones": "list:milestone",
        "task_plan": "task_plan?",
    },
    "milestone": {
        "name": "text",
        "description": "text?",
        "sequence": "int",
        "required": "bool",
        "customer_led": "bool",
        "needs_verification": "bool",
        "fact": "sel:crm.stage.milestone.fact?",
        "evidence_kinds": "list:str",
        "proof_key": "str?",
    },
    "task_plan": {"name": "text", "tasks": "list:task"},
    "task": {
        "sequence": "int",
        "activity_type": "ref",
        "summary": "text?",
        "note": "text?",
        "delay_count": "int",
        "delay_unit": "sel:mail.activity.plan.template.delay_unit",
        "delay_from": "sel:mail.activity.plan.template.delay_from",
        "responsible_type": "sel:mail.activity.plan.template.responsible_type",
        "responsible": "str?",
    },
}


class CrmPipelineTypeTransfer(models.Model):
    """A process exported to a file and imported into another database.

    The company's consultants design a process once and roll it out
    everywhere. The file (JSON, see ``TRANSFER_SCHEMA``) holds the process,
    its stages, milestones, playbooks and task plans with their translations;
    records shared between processes (funnel states, evidence kinds, buying
    processes, activity types) are named by external id, else by name, never
    by database id. An import creates a new, guided process in the current
    company, all or nothing.
    """

    _inherit = "crm.pipeline.type"

    # ------------------------------------------------------------
    # ACTIONS
    # ------------------------------------------------------------

    def action_transfer_export(self):
        """Download the selected processes as one file."""
        self._transfer_check_access()
        return {
            "type": "ir.actions.act_url",
            "url": "/sales_process_addon/process_export?" + urlencode({"ids": ",".join(map(str, self.ids))}),
            "target": "download",
        }

    # ------------------------------------------------------------
    # EXPORT
    # ------------------------------------------------------------

    @api.model
    def _transfer_check_access(self):
        """Designs are the sales administrators' business, whatever the ACL lets users read."""
        if not self.env.user.has_group("sales_team.group_sale_manager"):
            raise AccessError(_("Only sales administrators can export or import sales processes."))

    def _transfer_export_file(self):
        """The file of these processes: (file name, UTF-8 bytes)."""
        data = self._transfer_export_data()
        name = f"sales_process_{self.code}.json" if len(self) == 1 else "sales_processes.json"
        return name, (json.dumps(data, ensure_ascii=False, indent=2) + "\n").encode()

    def _transfer_export_data(self):
        """These processes as the file's dictionary, in a stable key order."""
        self._transfer_check_access()
        stages = self.stage_ids.sorted(lambda s: (s.sequence, s.id))
        milestones = stages.milestone_ids
        kinds = milestones.evidence_kind_ids.sorted(lambda k: (k.sequence, k.id))
        funnels = stages.funnel_state_id.sorted(lambda f: (f.sequence, f.id))
        buyer_stages = self.buyer_process_id.stage_ids
        plans = stages.activity_plan_id
        tasks = plans.template_ids
        types = tasks.activity_type_id
        xml_ids = self._transfer_xml_ids(
            kinds, funnels, self.buyer_process_id, buyer_stages, stages.buyer_stage_id, types
        )
        texts = _Texts(
            self.env,
            [
                (self, ["name", "description", "usage_guidance"]),
                (stages, ["name", "milestone_criteria", "playbook"]),
                (milestones, ["name", "description"]),
                (kinds, ["name", "description"]),
                (funnels, ["name", "indicators", "guidance"]),
                (self.buyer_process_id, ["name", "description"]),
                (buyer_stages, ["name", "description"]),
                (plans, ["name"]),
                (tasks, ["summary", "note"]),
                (types, ["name"]),
            ],
        )

        def ref(record):
            if not record:
                return None
            return {"xml_id": xml_ids.get(record), "name": texts.get(record, "name")["en_US"]}

        def task_data(task):
            return {
                "sequence": task.sequence,
                # Activity types are Odoo's: the file names them, never defines them.
                "activity_type": ref(task.activity_type_id),
                "summary": texts.get(task, "summary"),
                "note": texts.get(task, "note"),
                "delay_count": task.delay_count,
                "delay_unit": task.delay_unit,
                "delay_from": task.delay_from,
                "responsible_type": task.responsible_type,
                "responsible": task.responsible_id.login if task.responsible_type == "other" else None,
            }

        def stage_data(stage):
            plan = stage.activity_plan_id
            return {
                "name": texts.get(stage, "name"),
                "sequence": stage.sequence,
                "is_won": stage.is_won,
                "fold": stage.fold,
                "default_probability": stage.default_probability,
                "requirements": stage.requirements or None,
                "milestone_criteria": texts.get(stage, "milestone_criteria"),
                "rotting_threshold_days": stage.rotting_threshold_days,
                "escalation_days": stage.escalation_days,
                "color": stage.color,
                "buying_stage": ref(stage.buyer_stage_id),
                "funnel_state": ref(stage.funnel_state_id),
                "playbook": texts.get(stage, "playbook"),
                "milestones": [
                    {
                        "name": texts.get(milestone, "name"),
                        "description": texts.get(milestone, "description"),
                        "sequence": milestone.sequence,
                        "required": milestone.required,
                        "customer_led": milestone.customer_led,
                        "needs_verification": milestone.needs_verification,
                        "fact": milestone.fact or None,
                        "evidence_kinds": milestone.evidence_kind_ids.sorted(
                            lambda k: (k.sequence, k.id)
                        ).mapped("code"),
                        "proof_key": milestone.proof_key or None,
                    }
                    for milestone in stage.milestone_ids.sorted(lambda m: (m.sequence, m.id))
                ],
                "task_plan": {
                    "name": texts.get(plan, "name"),
                    "tasks": [
                        task_data(task) for task in plan.template_ids.sorted(lambda t: (t.sequence, t.id))
                    ],
                }
                if plan
                else None,
            }

        def process_data(ptype):
            buyer = ptype.buyer_process_id
            return {
                "code": ptype.code,
                "name": texts.get(ptype, "name"),
                "description": texts.get(ptype, "description"),
                "usage_guidance": texts.get(ptype, "usage_guidance"),
                "gate_mode": ptype.gate_mode,
                "allow_backward": ptype.allow_backward,
                "cancel_tasks_on_exit": ptype.cancel_tasks_on_exit,
                "probability_mode": ptype.probability_mode,
                "color": ptype.color,
                "buying_process": {
                    "xml_id": xml_ids.get(buyer),
                    "name": texts.get(buyer, "name"),
                    "description": texts.get(buyer, "description"),
                    "stages": [
                        {
                            "xml_id": xml_ids.get(bstage),
                            "name": texts.get(bstage, "name"),
                            "sequence": bstage.sequence,
                            "description": texts.get(bstage, "description"),
                        }
                        for bstage in buyer.stage_ids
                    ],
                }
                if buyer
                else None,
                "stages": [stage_data(stage) for stage in stages if stage.pipeline_type_id == ptype],
            }

        return {
            "format": TRANSFER_FORMAT,
            "version": TRANSFER_VERSION,
            "funnel_states": [
                {
                    "xml_id": xml_ids.get(funnel),
                    "name": texts.get(funnel, "name"),
                    "sequence": funnel.sequence,
                    "color": funnel.color,
                    "indicators": texts.get(funnel, "indicators"),
                    "guidance": texts.get(funnel, "guidance"),
                }
                for funnel in funnels
            ],
            "evidence_kinds": [
                {
                    "xml_id": xml_ids.get(kind),
                    "code": kind.code,
                    "name": texts.get(kind, "name"),
                    "sequence": kind.sequence,
                    "description": texts.get(kind, "description"),
                }
                for kind in kinds
            ],
            "processes": [process_data(ptype) for ptype in self],
        }

    @api.model
    def _transfer_xml_ids(self, *recordsets):
        """{record: "module.name"} for those of the records that have an external id (one query)."""
        recordsets = [records for records in recordsets if records]
        if not recordsets:
            return {}
        # sudo: external ids are technical data a sales administrator cannot read; only those of
        # records the user has already read are returned.
        rows = (
            self.env["ir.model.data"]
            .sudo()
            .search_fetch(
                Domain.OR(
                    Domain("model", "=", records._name) & Domain("res_id", "in", records.ids)
                    for records in recordsets
                ),
                ["module", "name", "model", "res_id"],
                order="id DESC",  # the first external id given to a record wins
            )
        )
        return {self.env[row.model].browse(row.res_id): f"{row.module}.{row.name}" for row in rows}

    # ------------------------------------------------------------
    # IMPORT
    # ------------------------------------------------------------

    @api.model
    def _transfer_parse(self, raw):
        """The file's dictionary, checked against the schema; a UserError says what is wrong."""
        try:
            data = json.loads(raw.decode("utf-8-sig"))
        except UnicodeDecodeError as error:
            raise UserError(
                _("The file is not UTF-8 text: a sales process export is a JSON file.")
            ) from error
        except ValueError as error:
            raise UserError(
                _("The file is not valid JSON: %(error)s. Was it edited by hand?", error=str(error))
            ) from error
        if not isinstance(data, dict) or data.get("format") != TRANSFER_FORMAT:
            raise UserError(
                _(
                    'This is not a sales process file: its "format" is not "%(format)s".',
                    format=TRANSFER_FORMAT,
                )
            )
        if "version" not in data:
            raise UserError(_('The sales process file has no "version": it cannot be read safely.'))
        if data["version"] != TRANSFER_VERSION:
            raise UserError(
                _(
                    "This sales process file is in version %(version)s of the format; this database reads "
                    "version %(supported)s. Export the process again from a database with the same version "
                    "of the Sales Process addon.",
                    version=data.get("version"),
                    supported=TRANSFER_VERSION,
                )
            )
        self._transfer_check_value(data, "file", "")
        self._transfer_check_references(data)
        return data

    @api.model
    def _transfer_check_value(self, value, kind, path):
        """Raise a UserError naming ``path`` unless ``value`` is of ``kind`` (see TRANSFER_SCHEMA)."""
        if kind.endswith("?"):
            if value is None:
                return
            kind = kind[:-1]

        def refuse(expected):
            # self.env._: Odoo's _ finds no language in a nested function's frame.
            raise UserError(
                self.env._(
                    "The sales process file is damaged: %(path)s should be %(expected)s.",
                    path=path or self.env._("the whole file"),
                    expected=expected,
                )
            )

        if kind.startswith("list:"):
            if not isinstance(value, list):
                refuse(_("a list"))
            for index, item in enumerate(value):
                self._transfer_check_value(item, kind[5:], f"{path}[{index}]")
        elif kind.startswith("sel:"):
            model, fname = kind[4:].rsplit(".", 1)
            allowed = self.env[model]._fields[fname].get_values(self.env)
            if value not in allowed:
                refuse(_("one of %(values)s", values=", ".join(allowed)))
        elif kind == "text":
            if (
                not isinstance(value, dict)
                or not value.get("en_US")
                or not all(isinstance(text, str) for text in value.values())
            ):
                refuse(_('texts by language, with "en_US"'))
        elif kind == "str":
            if not isinstance(value, str) or not value:
                refuse(_("a text"))
        elif kind == "int":
            if not isinstance(value, int) or isinstance(value, bool):
                refuse(_("a whole number"))
        elif kind == "percent":
            if not isinstance(value, int | float) or isinstance(value, bool) or not 0 <= value <= 100:
                refuse(_("a number from 0 to 100"))
        elif kind == "bool":
            if not isinstance(value, bool):
                refuse(_("true or false"))
        else:
            if not isinstance(value, dict):
                refuse(_("an object"))
            for key, key_kind in TRANSFER_SCHEMA[kind].items():
                if key not in value and not key_kind.endswith("?"):
                    raise UserError(
                        _(
                            'The sales process file is damaged: %(path)s has no "%(key)s".',
                            path=path or _("the file"),
                            key=key,
                        )
                    )
                self._transfer_check_value(value.get(key), key_kind, f"{path}.{key}" if path else key)

    @api.model
    def _transfer_check_references(self, data):
        """Every name a stage or milestone uses is defined in the file, once."""
        funnel = _repeated(_transfer_key(funnel) for funnel in data["funnel_states"])
        if funnel:
            raise UserError(_('The sales process file defines funnel state "%(name)s" twice.', name=funnel))
        kind = _repeated(kind["code"] for kind in data["evidence_kinds"])
        if kind:
            raise UserError(_('The sales process file defines evidence kind "%(code)s" twice.', code=kind))
        funnels = {_transfer_key(funnel) for funnel in data["funnel_states"]}
        kinds = {kind["code"] for kind in data["evidence_kinds"]}
        if not data["processes"]:
            raise UserError(_("The sales process file holds no process."))
        for process in data["processes"]:
            pname = self._transfer_label(process["name"])
            if not process["stages"]:
                raise UserError(_('Sales process "%(process)s" in the file has no stages.', process=pname))
            buyer_stages = {
                _transfer_key(bstage) for bstage in (process["buying_process"] or {}).get("stages", [])
            }
            for stage in process["stages"]:
                sname = self._transfer_label(stage["name"])
                if stage["funnel_state"] and _transfer_key(stage["funnel_state"]) not in funnels:
                    raise UserError(
                        _(
                            'Sales process "%(process)s", stage "%(stage)s": funnel state "%(name)s" is not '
                            "defined in the file.",
                            process=pname,
                            stage=sname,
                            name=stage["funnel_state"]["name"],
                        )
                    )
                if stage["buying_stage"] and _transfer_key(stage["buying_stage"]) not in buyer_stages:
                    raise UserError(
                        _(
                            'Sales process "%(process)s", stage "%(stage)s": buying stage "%(name)s" is not a '
                            "step of the process's buying process in the file.",
                            process=pname,
                            stage=sname,
                            name=stage["buying_stage"]["name"],
                        )
                    )
                for milestone in stage["milestones"]:
                    for code in milestone["evidence_kinds"]:
                        if code not in kinds:
                            raise UserError(
                                _(
                                    'Sales process "%(process)s", milestone "%(milestone)s": evidence kind '
                                    '"%(code)s" is not defined in the file.',
                                    process=pname,
                                    milestone=self._transfer_label(milestone["name"]),
                                    code=code,
                                )
                            )

    @api.model
    def _transfer_plan(self, data):
        """What importing ``data`` reuses and creates, decided before anything is written.

        Shared records are found by external id, else by (English) name; evidence kinds by
        code. A buying process is reused only when all its steps the file names are found
        in it; otherwise a new one is created for the company. Activity types must exist.
        """
        self._transfer_check_access()
        company = self.env.company
        env = self.with_context(lang="en_US", active_test=False).env
        plan = {"funnel_states": {}, "evidence_kinds": {}, "activity_types": {}, "users": {}, "processes": []}

        for funnel in data["funnel_states"]:
            plan["funnel_states"][_transfer_key(funnel)] = self._transfer_find(
                "crm.funnel.state", funnel, Domain("name", "=", funnel["name"]["en_US"])
            )
        for kind in data["evidence_kinds"]:
            plan["evidence_kinds"][kind["code"]] = self._transfer_find(
                "crm.evidence.kind", kind, Domain("code", "=", kind["code"])
            )

        shared_or_ours = Domain("company_id", "in", [False, company.id])
        existing = env["crm.pipeline.type"].search_fetch(shared_or_ours, ["name", "code"])
        taken_names, taken_codes = set(existing.mapped("name")), set(existing.mapped("code"))
        for process in data["processes"]:
            suffix = _transfer_free(process["name"]["en_US"], taken_names, " (%s)")
            code = _transfer_free(process["code"], taken_codes, "_%s")
            plan["processes"].append(
                {
                    "name": process["name"]["en_US"] + suffix,
                    "code": process["code"] + code,
                    "suffix": suffix,
                    # The new name as the user reads it.
                    "label": self._transfer_label(process["name"]) + suffix,
                    "buying_process": self._transfer_plan_buying_process(process["buying_process"]),
                }
            )
            for stage in process["stages"]:
                for task in (stage["task_plan"] or {}).get("tasks", []):
                    self._transfer_plan_task(plan, process, stage, task)
        plan["warnings"] = self._transfer_plan_warnings(data, plan)
        return plan

    @api.model
    def _transfer_plan_warnings(self, data, plan):
        """What the import does differently from the file, as sentences."""
        warnings = []
        for process, pplan in zip(data["processes"], plan["processes"], strict=True):
            if pplan["suffix"]:
                warnings.append(
                    _(
                        'A sales process named "%(name)s" exists: the new one is named "%(new)s".',
                        name=self._transfer_label(process["name"]),
                        new=pplan["label"],
                    )
                )
            if process["gate_mode"] == "enforced":
                warnings.append(
                    _(
                        '"%(name)s" is enforced in the file and is imported guided: enforce it once you have '
                        "reviewed it.",
                        name=pplan["label"],
                    )
                )
        for login, user in sorted(plan["users"].items()):
            if not user:
                warnings.append(
                    _(
                        'Tasks assigned to the user "%(login)s", who does not exist here, are assigned at launch '
                        "instead.",
                        login=login,
                    )
                )
        installed = {code for code, _name in self.env["res.lang"].get_installed()}
        missing = sorted(_transfer_langs(data) - installed)
        if missing:
            warnings.append(
                _(
                    "The translations in %(langs)s are left out: install the language first to import them.",
                    langs=", ".join(missing),
                )
            )
        return warnings

    @api.model
    def _transfer_label(self, text):
        """A text of the file (``{lang: value}``) in the user's language, else in English."""
        return text.get(self.env.lang) or text["en_US"]

    @api.model
    def _transfer_plan_buying_process(self, buyer):
        """(buying process to reuse or none, {step key: its step}) for the file's buying process."""
        if not buyer:
            return self.env["crm.buyer.process"], {}
        env = self.with_context(lang="en_US").env
        candidates = env["crm.buyer.process"].search(
            Domain("company_id", "in", [False, self.env.company.id])
            & Domain("name", "=", buyer["name"]["en_US"])
        )
        by_xml_id = _transfer_ref(env["crm.buyer.process"], buyer["xml_id"])
        if by_xml_id.company_id in (self.env.company, self.env["res.company"]):
            candidates = by_xml_id | candidates
        for candidate in candidates:
            steps = {}
            for bstage in buyer["stages"]:
                step = _transfer_ref(env["crm.buyer.stage"], bstage["xml_id"])
                if step not in candidate.stage_ids:
                    step = candidate.stage_ids.filtered(
                        lambda s, name=bstage["name"]["en_US"]: s.name == name
                    )[:1]
                if not step:
                    break
                steps[_transfer_key(bstage)] = step
            else:
                return candidate, steps
        return self.env["crm.buyer.process"], {}

    @api.model
    def _transfer_plan_task(self, plan, process, stage, task):
        """Find the task's activity type (refused when unknown) and its default user (dropped when unknown)."""
        key = _transfer_key(task["activity_type"])
        if key not in plan["activity_types"]:
            env = self.with_context(lang="en_US").env
            activity_type = _transfer_ref(env["mail.activity.type"], task["activity_type"]["xml_id"])
            if not activity_type:
                activity_type = env["mail.activity.type"].search(
                    Domain("name", "=", task["activity_type"]["name"])
                    & Domain("res_model", "in", [False, "crm.lead"]),
                    limit=1,
                )
            if not activity_type:
                raise UserError(
                    _(
                        'Sales process "%(process)s", stage "%(stage)s": the activity type "%(type)s" of a '
                        "task does not exist in this database. Create it (Settings > Discuss > Activity "
                        "Types), then import the file again.",
                        process=self._transfer_label(process["name"]),
                        stage=self._transfer_label(stage["name"]),
                        type=task["activity_type"]["name"],
                    )
                )
            plan["activity_types"][key] = activity_type
        login = task["responsible_type"] == "other" and task["responsible"]
        if login and login not in plan["users"]:
            plan["users"][login] = self.env["res.users"].search([("login", "=", login)], limit=1)

    @api.model
    def _transfer_find(self, model, entry, domain):
        """The record ``entry`` of the file names in this database, by external id else ``domain``."""
        Model = self.env[model].with_context(lang="en_US", active_test=False)
        return _transfer_ref(Model, entry["xml_id"]) or Model.search(domain, limit=1)

    @api.model
    def _transfer_import(self, data, plan):
        """Create the file's processes as new guided processes of the current company.

        Runs in a savepoint: an error anywhere leaves nothing behind, even for a caller
        that catches it.
        """
        self._transfer_check_access()
        with self.env.cr.savepoint():
            return self._transfer_create(data, plan)

    @api.model
    def _transfer_create(self, data, plan):
        """Create what ``plan`` decided, batch by batch (no savepoint: see ``_transfer_import``)."""
        company = self.env.company
        env = self.with_context(lang="en_US").env
        texts = _Translator(env)
        processes = data["processes"]

        funnels = dict(plan["funnel_states"])
        missing = [funnel for funnel in data["funnel_states"] if not funnels[_transfer_key(funnel)]]
        created = env["crm.funnel.state"].create(
            [
                texts.vals(
                    funnel,
                    ["name", "indicators", "guidance"],
                    sequence=funnel["sequence"],
                    color=funnel["color"],
                )
                for funnel in missing
            ]
        )
        funnels.update(
            zip([_transfer_key(funnel) for funnel in texts.bind(created, missing)], created, strict=True)
        )

        kinds = dict(plan["evidence_kinds"])
        missing = [kind for kind in data["evidence_kinds"] if not kinds[kind["code"]]]
        created = env["crm.evidence.kind"].create(
            [
                texts.vals(kind, ["name", "description"], code=kind["code"], sequence=kind["sequence"])
                for kind in missing
            ]
        )
        kinds.update(zip([kind["code"] for kind in texts.bind(created, missing)], created, strict=True))

        # Buying processes the company lacks are created for it, with their steps, once per file.
        buyers = [pplan["buying_process"] for pplan in plan["processes"]]
        missing = {}
        for process, (buyer, _steps) in zip(processes, buyers, strict=True):
            if not buyer and process["buying_process"]:
                missing.setdefault(_transfer_key(process["buying_process"]), process["buying_process"])
        created = env["crm.buyer.process"].create(
            [texts.vals(buyer, ["name", "description"], company_id=company.id) for buyer in missing.values()]
        )
        texts.bind(created, missing)
        step_defs = [
            (buyer, step)
            for buyer, bdef in zip(created, missing.values(), strict=True)
            for step in bdef["stages"]
        ]
        steps = env["crm.buyer.stage"].create(
            [
                texts.vals(
                    step, ["name", "description"], buyer_process_id=buyer.id, sequence=step["sequence"]
                )
                for buyer, step in step_defs
            ]
        )
        texts.bind(steps, step_defs)
        step_maps = {buyer: {} for buyer in created}
        for (buyer, step_def), step in zip(step_defs, steps, strict=True):
            step_maps[buyer][_transfer_key(step_def)] = step
        created_by_key = dict(zip(missing, created, strict=True))
        for index, (process, (buyer, _steps)) in enumerate(zip(processes, buyers, strict=True)):
            if not buyer and process["buying_process"]:
                buyer = created_by_key[_transfer_key(process["buying_process"])]
                buyers[index] = (buyer, step_maps[buyer])

        # The processes: new, the company's, guided until an administrator enforces them.
        ptypes = env["crm.pipeline.type"].create(
            [
                texts.vals(
                    process,
                    ["name", "description", "usage_guidance"],
                    name_suffix=pplan["suffix"],
                    code=pplan["code"],
                    company_id=company.id,
                    gate_mode="guided",
                    allow_backward=process["allow_backward"],
                    cancel_tasks_on_exit=process["cancel_tasks_on_exit"],
                    probability_mode=process["probability_mode"],
                    color=process["color"],
                    buyer_process_id=buyer.id,
                )
                for process, pplan, (buyer, _steps) in zip(processes, plan["processes"], buyers, strict=True)
            ]
        )
        texts.bind(ptypes, processes)

        stage_defs = [
            (ptype, step_map, stage)
            for ptype, process, (_buyer, step_map) in zip(ptypes, processes, buyers, strict=True)
            for stage in process["stages"]
        ]
        planned = [stage for _ptype, _map, stage in stage_defs if stage["task_plan"]]
        task_plans = env["mail.activity.plan"].create(
            [
                texts.vals(stage["task_plan"], ["name"], res_model="crm.lead", company_id=company.id)
                for stage in planned
            ]
        )
        texts.bind(task_plans, planned)
        plan_of = {id(stage): task_plan for stage, task_plan in zip(planned, task_plans, strict=True)}
        task_defs = [(plan_of[id(stage)], task) for stage in planned for task in stage["task_plan"]["tasks"]]
        tasks = env["mail.activity.plan.template"].create(
            [self._transfer_task_vals(task_plan, task, plan, texts) for task_plan, task in task_defs]
        )
        texts.bind(tasks, task_defs)

        stages = env["crm.stage"].create(
            [
                texts.vals(
                    stage,
                    ["name", "milestone_criteria", "playbook"],
                    pipeline_type_id=ptype.id,
                    sequence=stage["sequence"],
                    is_won=stage["is_won"],
                    fold=stage["fold"],
                    default_probability=stage["default_probability"],
                    requirements=stage["requirements"] or False,
                    rotting_threshold_days=stage["rotting_threshold_days"],
                    escalation_days=stage["escalation_days"],
                    color=stage["color"],
                    buyer_stage_id=stage["buying_stage"]
                    and step_map[_transfer_key(stage["buying_stage"])].id,
                    funnel_state_id=stage["funnel_state"]
                    and funnels[_transfer_key(stage["funnel_state"])].id,
                    activity_plan_id=plan_of[id(stage)].id if id(stage) in plan_of else False,
                    # Shared by the process: a stage is never tied to the exporting database's teams.
                    team_ids=[Command.clear()],
                )
                for ptype, step_map, stage in stage_defs
            ]
        )
        texts.bind(stages, stage_defs)

        milestone_defs = [
            (stage, milestone)
            for stage, (_ptype, _map, stage_def) in zip(stages, stage_defs, strict=True)
            for milestone in stage_def["milestones"]
        ]
        milestones = env["crm.stage.milestone"].create(
            [
                texts.vals(
                    milestone,
                    ["name", "description"],
                    stage_id=stage.id,
                    sequence=milestone["sequence"],
                    required=milestone["required"],
                    customer_led=milestone["customer_led"],
                    needs_verification=milestone["needs_verification"],
                    fact=milestone["fact"] or False,
                    proof_key=milestone["proof_key"] or False,
                    evidence_kind_ids=[Command.set([kinds[code].id for code in milestone["evidence_kinds"]])],
                )
                for stage, milestone in milestone_defs
            ]
        )
        texts.bind(milestones, milestone_defs)
        texts.apply()
        return ptypes

    @api.model
    def _transfer_task_vals(self, task_plan, task, plan, texts):
        """A task of the file as values of a plan template; a default user unknown here is asked at launch."""
        user = plan["users"].get(task["responsible"]) if task["responsible_type"] == "other" else False
        return texts.vals(
            task,
            ["summary", "note"],
            plan_id=task_plan.id,
            sequence=task["sequence"],
            activity_type_id=plan["activity_types"][_transfer_key(task["activity_type"])].id,
            delay_count=task["delay_count"],
            delay_unit=task["delay_unit"],
            delay_from=task["delay_from"],
            responsible_type="on_demand"
            if task["responsible_type"] == "other" and not user
            else task["responsible_type"],
            responsible_id=user.id if user else False,
        )


def _transfer_ref(model, xml_id):
    """The record of ``model`` (a recordset) with external id ``xml_id`` here, else an empty recordset.

    Unlike ``env.ref``, an external id of another model, an unknown module or no module at all
    finds nothing rather than failing: the file comes from elsewhere.
    """
    if not xml_id:
        return model.browse()
    res_model, res_id = model.env["ir.model.data"]._xmlid_to_res_model_res_id(xml_id)
    return model.browse(res_id if res_model == model._name else ()).exists()


def _transfer_free(value, taken, separator):
    """The suffix making ``value`` free among ``taken``: "" if it is, else the first free number's.

    The free value is added to ``taken``.
    """
    suffix, number = "", 1
    while value + suffix in taken:
        number += 1
        suffix = separator % number
    taken.add(value + suffix)
    return suffix


def _transfer_langs(value):
    """The languages of the texts in ``value``, a part of the file."""
    if isinstance(value, list):
        return set().union(*map(_transfer_langs, value))
    if isinstance(value, dict):
        if "en_US" in value:
            return set(value)
        return set().union(*map(_transfer_langs, value.values()))
    return set()


def _repeated(keys):
    """The first key given more than once, else None."""
    seen = set()
    for key in keys:
        if key in seen:
            return key
        seen.add(key)
    return None


def _transfer_key(entry):
    """How the file names a shared record: its external id, else its English name."""
    name = entry["name"]
    return entry.get("xml_id") or (name["en_US"] if isinstance(name, dict) else name)


class _Texts:
    """The translated fields of records in every installed language, read in a few queries."""

    def __init__(self, env, groups):
        self.langs = sorted(
            (code for code, _name in env["res.lang"].get_installed()),
            key=lambda code: (code != "en_US", code),
        )
        self.values = {}
        for records, fnames in groups:
            if not records:
                continue
            # One query per model for every language at once. Values cached in the
            # current language only would make the fetch skip the records: drop them.
            records.flush_recordset(fnames)
            records.invalidate_recordset(fnames)
            records.with_context(prefetch_langs=True).fetch(fnames)
            for lang in self.langs:
                for record in records.with_context(lang=lang):
                    for fname in fnames:
                        self.values.setdefault((record._name, record.id, fname), {})[lang] = record[fname]

    def get(self, record, fname):
        """{lang: value}: English first, then each language whose text differs; None when empty."""
        values = self.values[record._name, record.id, fname]
        english = values.get("en_US")
        if not english:
            return None
        return {
            lang: value for lang, value in values.items() if lang == "en_US" or (value and value != english)
        }


class _Translator:
    """The other languages' texts of the records an import creates, written once they exist.

    ``vals()`` gives a record's values in English and keeps its translations;
    ``bind()`` pairs the kept translations with the records just created from
    them; ``apply()`` writes them, in the installed languages only.
    """

    def __init__(self, env):
        self.installed = {code for code, _name in env["res.lang"].get_installed()}
        self.pending = []
        self.bound = []

    def vals(self, entry, fnames, name_suffix="", **vals):
        translations = {}
        for fname in fnames:
            texts = entry[fname]
            suffix = name_suffix if fname == "name" else ""
            vals[fname] = texts["en_US"] + suffix if texts else False
            others = {
                lang: text + suffix
                for lang, text in (texts or {}).items()
                if lang != "en_US" and lang in self.installed
            }
            if others:
                translations[fname] = (texts["en_US"] + suffix, others)
        self.pending.append(translations)
        return vals

    def bind(self, records, entries):
        """Pair the records just created with the entries they were made from (returned, in order)."""
        pending, self.pending = self.pending, []
        self.bound.extend(zip(records, pending, strict=True))
        return list(entries)

    def apply(self):
        for record, translations in self.bound:
            for fname, (english, others) in translations.items():
                field = record._fields[fname]
                if callable(field.translate):
                    # Term-translated (HTML): translations are given term by term.
                    source_terms = field.get_trans_terms(english)
                    others = {
                        lang: dict(zip(source_terms, terms, strict=True))
                        for lang, terms in (
                            (lang, field.get_trans_terms(text)) for lang, text in others.items()
                        )
                        if len(terms) == len(source_terms)
                    }
                if others:
                    record.update_field_translations(fname, others)
