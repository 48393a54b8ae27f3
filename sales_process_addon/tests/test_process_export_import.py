import base64
import copy
import json
import re

from odoo.exceptions import AccessError, UserError, ValidationError
from odoo.tests import HttpCase, TransactionCase, new_test_user, tagged

SHIPPED = (
    "sales_process_addon.pipeline_type_t1",
    "sales_process_addon.pipeline_type_t2",
    "sales_process_addon.pipeline_type_t3",
    "sales_process_addon.pipeline_type_t4",
    "sales_process_addon.pipeline_type_standard",
)
LANGS = ("zh_CN", "zh_TW")
# What an import creates: counted to prove a refused file leaves nothing behind.
CREATED_MODELS = (
    "crm.pipeline.type",
    "crm.stage",
    "crm.stage.milestone",
    "crm.buyer.process",
    "crm.buyer.stage",
    "crm.funnel.state",
    "crm.evidence.kind",
    "mail.activity.plan",
    "mail.activity.plan.template",
)


@tagged("post_install", "-at_install")
class TestProcessExportImport(TransactionCase):
    """A process exported to a file and imported again: the same design, new records, nothing shared by id."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        for lang in LANGS:
            cls.env["res.lang"]._activate_lang(lang)
        cls.env.registry.clear_cache()  # the installed languages are cached
        cls.env["ir.module.module"]._load_module_terms(["sales_process_addon"], list(LANGS), overwrite=True)
        cls.admin = new_test_user(
            cls.env,
            login="spa_process_admin",
            groups="sales_team.group_sale_manager,base.group_multi_company",
        )
        cls.rep = new_test_user(
            cls.env, login="spa_process_rep", groups="sales_team.group_sale_salesman_all_leads"
        )
        cls.industrial = cls.env.ref(SHIPPED[0])

    def _export(self, ptypes):
        return ptypes.with_user(self.admin)._transfer_export_data()

    def _wizard(self, data, company=None, also=None):
        """The import wizard of the admin in ``company`` (else the current one), ``also`` open beside it."""
        raw = data if isinstance(data, bytes) else json.dumps(data).encode()
        env = self.env(user=self.admin)
        if company or also:
            companies = (company or self.env.company) | (also or self.env["res.company"])
            env = env(context=dict(env.context, allowed_company_ids=companies.ids))
        return env["crm.pipeline.type.import"].create({"file": base64.b64encode(raw)})

    def _import(self, data, company=None, also=None):
        wizard = self._wizard(data, company, also)
        action = wizard.action_import()
        return wizard.env["crm.pipeline.type"].browse(action.get("res_id") or action["domain"][0][2])

    def _counts(self):
        return {
            model: self.env[model].with_context(active_test=False).search_count([])
            for model in CREATED_MODELS
        }

    def _assert_refused(self, data, message):
        """The file is refused with ``message``, at preview and at import, and nothing is created."""
        before = self._counts()
        wizard = self._wizard(data)
        for action in (wizard.action_preview, wizard.action_import):
            with self.subTest(action=action.__name__), self.assertRaisesRegex(UserError, message):
                action()
        self.assertEqual(self._counts(), before)

    # ------------------------------------------------------------
    # ROUND TRIP
    # ------------------------------------------------------------

    def test_file_format(self):
        name, content = self.industrial.with_user(self.admin)._transfer_export_file()
        self.assertEqual(name, "sales_process_industrial_project.json")
        text = content.decode("utf-8")
        self.assertIn("工业项目销售", text, "UTF-8 text, not escapes")
        self.assertTrue(text.startswith('{\n  "format": "sales_process_addon.process",\n  "version": 1,'))
        data = json.loads(text)
        self.assertEqual(list(data), ["format", "version", "funnel_states", "evidence_kinds", "processes"])
        self.assertEqual(content, self.industrial.with_user(self.admin)._transfer_export_file()[1], "stable")
        process = data["processes"][0]
        self.assertEqual(process["name"]["zh_TW"], self.industrial.with_context(lang="zh_TW").name)
        stage = process["stages"][0]
        self.assertEqual(stage["funnel_state"]["xml_id"], "sales_process_addon.funnel_state_search")
        self.assertEqual(stage["buying_stage"]["xml_id"], "sales_process_addon.buyer_stage_t1_01")
        self.assertEqual(
            stage["task_plan"]["tasks"][0]["activity_type"],
            {"xml_id": "mail.mail_activity_data_email", "name": "Email"},
        )
        keys = set()

        def collect(value):
            if isinstance(value, dict):
                keys.update(value)
                for item in value.values():
                    collect(item)
            elif isinstance(value, list):
                for item in value:
                    collect(item)

        collect(data)
        self.assertFalse(
            {
                key
                for key in keys
                if key == "id"
                or (key.endswith(("_id", "_ids")) and key != "xml_id")
                or "team" in key
                or "company" in key
            },
            "no database ids, teams or companies: the file is for any database",
        )

    def test_round_trip_of_each_shipped_process(self):
        for xml_id in SHIPPED:
            original = self.env.ref(xml_id)
            with self.subTest(process=original.name):
                data = self._export(original)
                imported = self._import(data)
                self.assertEqual(len(imported), 1)
                self.assertNotEqual(imported, original)
                self.assertEqual(imported.company_id, self.env.company)
                self.assertEqual(
                    imported.gate_mode, "guided", "imported guided: the administrator enforces it"
                )
                self.assertEqual(
                    imported.name, f"{original.name} (2)", "a new process beside the shipped one"
                )
                self.assertNotEqual(imported.code, original.code)
                self.assertEqual(
                    imported.buyer_process_id, original.buyer_process_id, "reused by external id"
                )
                for fname in (
                    "allow_backward",
                    "cancel_tasks_on_exit",
                    "probability_mode",
                    "description",
                    "color",
                ):
                    self.assertEqual(imported[fname], original[fname], fname)
                stages, imported_stages = original.stage_ids, imported.stage_ids
                self.assertEqual(len(imported_stages), len(stages))
                self.assertFalse(imported_stages & stages)
                self.assertFalse(imported_stages.team_ids)
                for lang in ("en_US", *LANGS):
                    self.assertEqual(
                        imported_stages.with_context(lang=lang).mapped("name"),
                        stages.with_context(lang=lang).mapped("name"),
                    )
                    self.assertEqual(
                        imported_stages.with_context(lang=lang).mapped("playbook"),
                        stages.with_context(lang=lang).mapped("playbook"),
                    )
                    self.assertEqual(
                        imported.with_context(lang=lang).name, original.with_context(lang=lang).name + " (2)"
                    )
                for field in (
                    "sequence",
                    "is_won",
                    "fold",
                    "default_probability",
                    "buyer_stage_id",
                    "funnel_state_id",
                    "rotting_threshold_days",
                    "escalation_days",
                    "color",
                    "milestone_criteria",
                ):
                    self.assertEqual(imported_stages.mapped(field), stages.mapped(field), field)
                milestones, imported_milestones = stages.milestone_ids, imported_stages.milestone_ids
                self.assertEqual(len(imported_milestones), len(milestones))
                self.assertFalse(imported_milestones & milestones)
                for field in (
                    "name",
                    "description",
                    "customer_led",
                    "needs_verification",
                    "proof_key",
                    "fact",
                    "required",
                    "sequence",
                ):
                    self.assertEqual(imported_milestones.mapped(field), milestones.mapped(field), field)
                self.assertEqual(
                    [m.evidence_kind_ids for m in imported_milestones],
                    [m.evidence_kind_ids for m in milestones],
                )
                plans, imported_plans = stages.activity_plan_id, imported_stages.activity_plan_id
                self.assertEqual(len(imported_plans), len(plans))
                self.assertFalse(imported_plans & plans, "each imported stage has its own task plan")
                tasks, imported_tasks = plans.template_ids, imported_plans.template_ids
                for field in (
                    "activity_type_id",
                    "delay_count",
                    "delay_unit",
                    "delay_from",
                    "responsible_type",
                ):
                    self.assertEqual(imported_tasks.mapped(field), tasks.mapped(field), field)
                for lang in ("en_US", *LANGS):
                    self.assertEqual(
                        imported_tasks.with_context(lang=lang).mapped("summary"),
                        tasks.with_context(lang=lang).mapped("summary"),
                    )
                    self.assertEqual(
                        imported_tasks.with_context(lang=lang).mapped("note"),
                        tasks.with_context(lang=lang).mapped("note"),
                    )
                # The imported process exports as the original did, but for what makes it new.
                again = self._export(imported)
                self.assertEqual(again["processes"][0]["stages"], data["processes"][0]["stages"])
                self.assertEqual(again["funnel_states"], data["funnel_states"])
                self.assertEqual(again["evidence_kinds"], data["evidence_kinds"])
                self.assertEqual(
                    again["processes"][0]["buying_process"], data["processes"][0]["buying_process"]
                )

    def test_the_shipped_processes_are_translated(self):
        """The round trip above compares translations that exist: they are in the file."""
        data = self._export(self.industrial)
        stage = data["processes"][0]["stages"][0]
        for lang in LANGS:
            self.assertIn(lang, stage["name"])
            self.assertIn(lang, stage["playbook"])
            self.assertIn(lang, stage["task_plan"]["tasks"][0]["summary"])

    def test_only_real_translations_are_exported(self):
        """A text is exported in the languages it is translated into, not repeated in English for the others."""
        ptype = self.env["crm.pipeline.type"].create(
            {"name": "Plain sale", "code": "plain", "gate_mode": "guided"}
        )
        stage = self.env["crm.stage"].create({"name": "Call", "pipeline_type_id": ptype.id, "is_won": True})
        stage.with_context(lang="zh_CN").name = "致电"
        process = self._export(ptype)["processes"][0]
        self.assertEqual(process["name"], {"en_US": "Plain sale"})
        self.assertEqual(process["stages"][0]["name"], {"en_US": "Call", "zh_CN": "致电"})

    def test_first_external_id_names_a_record(self):
        """A record with several external ids is named in the file by the first it was given."""
        search = self.env.ref("sales_process_addon.funnel_state_search")
        self.env["ir.model.data"].create(
            {"module": "spa_test", "name": "search_alias", "model": "crm.funnel.state", "res_id": search.id}
        )
        data = self._export(self.industrial)
        self.assertEqual(
            data["processes"][0]["stages"][0]["funnel_state"]["xml_id"],
            "sales_process_addon.funnel_state_search",
        )
        self.assertIn("sales_process_addon.funnel_state_search", [f["xml_id"] for f in data["funnel_states"]])

    def test_several_processes_in_one_file(self):
        ptypes = self.env.ref(SHIPPED[0]) | self.env.ref(SHIPPED[1])
        name, _content = ptypes.with_user(self.admin)._transfer_export_file()
        self.assertEqual(name, "sales_processes.json")
        imported = self._import(self._export(ptypes))
        self.assertEqual(len(imported), 2)
        self.assertEqual(imported.mapped("stage_count"), ptypes.mapped("stage_count"))

    def test_import_into_another_company_creates_what_is_missing(self):
        company = self.env["res.company"].create({"name": "Subsidiary"})
        self.admin.write({"company_ids": [(4, company.id)]})
        data = self._export(self.industrial)
        # Designed elsewhere: a buying process, a funnel state and an evidence kind unknown here.
        data["processes"][0]["buying_process"]["xml_id"] = None
        data["processes"][0]["buying_process"]["name"] = {"en_US": "Tender procedure", "zh_CN": "招标流程"}
        for step in data["processes"][0]["buying_process"]["stages"]:
            step["xml_id"] = None
        for stage in data["processes"][0]["stages"]:
            stage["buying_stage"]["xml_id"] = None
        data["funnel_states"].append(
            {
                "xml_id": None,
                "name": {"en_US": "Committed", "zh_CN": "已承诺"},
                "sequence": 40,
                "color": 1,
                "indicators": None,
                "guidance": {"en_US": "Protect the deal."},
            }
        )
        data["evidence_kinds"].append(
            {
                "xml_id": None,
                "code": "site_visit",
                "name": {"en_US": "Site visit"},
                "sequence": 60,
                "description": None,
            }
        )
        last = data["processes"][0]["stages"][-1]
        last["funnel_state"] = {"xml_id": None, "name": "Committed"}
        last["milestones"][0]["evidence_kinds"].append("site_visit")

        preview = self._wizard(data, company)
        preview.action_preview()
        self.assertTrue(preview.can_import)
        self.assertIn("Tender procedure", preview.preview)
        self.assertIn("Created", preview.preview)

        imported = self._import(data, company)
        self.assertEqual(imported.company_id, company)
        self.assertEqual(imported.name, "Industrial project sale (2)", "the shipped process is shared")
        self.assertEqual(imported.code, "industrial_project_2")
        buyer = imported.buyer_process_id
        self.assertNotEqual(buyer, self.industrial.buyer_process_id)
        self.assertEqual(buyer.company_id, company)
        self.assertEqual(buyer.with_context(lang="zh_CN").name, "招标流程")
        self.assertEqual(imported.stage_ids.buyer_stage_id, buyer.stage_ids)
        self.assertEqual(
            buyer.stage_ids.mapped("name"), self.industrial.buyer_process_id.stage_ids.mapped("name")
        )
        committed = imported.stage_ids[-1].funnel_state_id
        self.assertEqual(committed.with_context(lang="zh_CN").name, "已承诺")
        self.assertNotIn(committed, self.industrial.stage_ids.funnel_state_id)
        self.assertEqual(
            imported.stage_ids[0].funnel_state_id, self.env.ref("sales_process_addon.funnel_state_search")
        )
        visit = self.env["crm.evidence.kind"].search([("code", "=", "site_visit")])
        self.assertIn(visit, imported.stage_ids[-1].milestone_ids[0].evidence_kind_ids)
        self.assertEqual(imported.stage_ids.activity_plan_id.company_id, company)
        # A second import in the same company reuses what the first created.
        again = self._import(data, company)
        self.assertEqual(again.name, "Industrial project sale (3)")
        self.assertEqual(again.buyer_process_id, buyer)
        self.assertEqual(again.stage_ids[-1].funnel_state_id, committed)

    def test_unknown_default_user_is_asked_at_launch(self):
        data = self._export(self.industrial)
        task = data["processes"][0]["stages"][0]["task_plan"]["tasks"][0]
        task.update({"responsible_type": "other", "responsible": "nobody@example.com"})
        wizard = self._wizard(data)
        wizard.action_preview()
        self.assertIn("nobody@example.com", wizard.preview)
        imported = self._import(data)
        self.assertEqual(imported.stage_ids[0].activity_plan_id.template_ids[0].responsible_type, "on_demand")
        task["responsible"] = self.admin.login
        imported = self._import(data)
        self.assertEqual(imported.stage_ids[0].activity_plan_id.template_ids[0].responsible_id, self.admin)

    def test_references_found_by_name_when_the_external_id_does_not_fit(self):
        """An external id of another model, or no module, falls back to the name; uninstalled languages are left out."""
        data = self._export(self.industrial)
        tasks = data["processes"][0]["stages"][0]["task_plan"]["tasks"]
        tasks[0]["activity_type"] = {"xml_id": "base.main_company", "name": "Email"}
        tasks[1]["activity_type"] = {"xml_id": "no_module_here", "name": "To-Do"}
        data["processes"][0]["stages"][0]["name"]["fr_FR"] = "Lancement du projet"
        wizard = self._wizard(data)
        wizard.action_preview()
        self.assertIn("The translations in fr_FR are left out", wizard.preview)
        imported = self._import(data)
        first = imported.stage_ids[0]
        self.assertEqual(
            first.activity_plan_id.template_ids[:2].activity_type_id,
            self.env.ref("mail.mail_activity_data_email") | self.env.ref("mail.mail_activity_data_todo"),
        )
        self.assertEqual(first.with_context(lang="zh_CN").name, "项目立项")

    def test_preview_shows_counts_reuse_and_problems(self):
        data = self._export(self.industrial)
        data["processes"][0]["stages"][1]["milestones"][0]["evidence_kinds"] = []
        data["processes"][0]["stages"][1]["milestones"][0]["customer_led"] = True
        data["processes"][0]["stages"][1]["milestones"][0]["fact"] = None
        before = self._counts()
        wizard = self._wizard(data)
        action = wizard.action_preview()
        self.assertEqual(action["res_id"], wizard.id)
        self.assertEqual(self._counts(), before, "the preview creates nothing")
        self.assertEqual(wizard.state, "preview")
        self.assertTrue(wizard.can_import)
        milestones = sum(len(stage["milestones"]) for stage in data["processes"][0]["stages"])
        self.assertIn(f"8 stages, {milestones} milestones, 8 task plans", wizard.preview)
        self.assertIn("Reused from this database", wizard.preview)
        self.assertIn("Customer procurement process", wizard.preview)
        self.assertIn("imported guided", wizard.preview)
        self.assertIn(
            "exists: the new one is named &#34;Industrial project sale (2)&#34;",
            wizard.preview,
            "the shipped process keeps its name: the preview says the new one is renamed",
        )
        self.assertIn(
            "accepts any kind of evidence", wizard.preview, "the designer's problems, before the import"
        )

    def test_preview_in_the_users_language(self):
        """A Chinese user reads the preview in Chinese: the file's texts, and the reused records' names."""
        data = self._export(self.industrial)
        data["processes"][0]["gate_mode"] = "enforced"
        data["evidence_kinds"].append(
            {
                "xml_id": None,
                "code": "site_visit",
                "name": {"en_US": "Site visit", "zh_CN": "现场考察"},
                "sequence": 60,
                "description": None,
            }
        )
        wizard = self._wizard(data).with_context(lang="zh_CN")
        wizard.action_preview()
        preview = wizard.preview
        chinese = self.industrial.with_context(lang="zh_CN")
        self.assertIn(
            f"{chinese.name} (2)", preview, "the new process's name, in the preview and its warnings"
        )
        reused_funnel = chinese.stage_ids.funnel_state_id[:1]
        self.assertIn(reused_funnel.name, preview)
        self.assertIn("现场考察", preview, "a created record: the file's Chinese text")
        self.assertIn(chinese.buyer_process_id.name, preview)
        for record in (
            self.industrial,
            self.industrial.stage_ids.funnel_state_id[:1],
            self.industrial.buyer_process_id,
        ):
            self.assertNotIn(record.with_context(lang="en_US").name, preview)
        self.assertNotIn("Site visit", preview)
        self.assertNotIn(", ", preview, "lists are joined as Chinese joins them")

    # ------------------------------------------------------------
    # REUSED OR CREATED
    # ------------------------------------------------------------

    def test_evidence_kind_reused_by_code(self):
        """An evidence kind the file names without external id is this database's kind of the same code."""
        data = self._export(self.industrial)
        kind = data["evidence_kinds"][0]
        existing = self.env["crm.evidence.kind"].search([("code", "=", kind["code"])])
        kind.update(xml_id=None, name={"en_US": "Mail from the buyer"})
        before = self._counts()["crm.evidence.kind"]
        imported = self._import(data)
        self.assertEqual(self._counts()["crm.evidence.kind"], before, "no second kind of the same code")
        self.assertIn(existing, imported.stage_ids.milestone_ids.evidence_kind_ids)

    def test_same_process_twice_in_one_file(self):
        """Two processes of one file never get the same name or code."""
        data = self._export(self.industrial)
        data["processes"].append(copy.deepcopy(data["processes"][0]))
        imported = self._import(data)
        self.assertEqual(
            imported.mapped("name"), ["Industrial project sale (2)", "Industrial project sale (3)"]
        )
        self.assertEqual(imported.mapped("code"), ["industrial_project_2", "industrial_project_3"])

    def test_names_of_another_companys_processes_are_free(self):
        """Only the shared and the current company's processes make an imported process be renamed,
        even when the other company is open beside the current one."""
        company = self.env["res.company"].create({"name": "Subsidiary"})
        self.admin.write({"company_ids": [(4, company.id)]})
        self.env["crm.pipeline.type"].create(
            {"name": "Tender sale", "code": "tender", "company_id": company.id}
        )
        data = self._export(self.industrial)
        data["processes"][0].update(name={"en_US": "Tender sale"}, code="tender")
        wizard = self._wizard(data, also=company)
        wizard.action_preview()
        self.assertNotIn("exists: the new one is named", wizard.preview)
        imported = self._import(data, also=company)
        self.assertEqual((imported.name, imported.code), ("Tender sale", "tender"))
        self.assertEqual(imported.company_id, self.env.company)

    def test_buying_process_of_another_company_is_not_reused(self):
        """A buying process of another company, named by external id or by name, is created anew for this one,
        even when the other company is open beside the current one."""
        company = self.env["res.company"].create({"name": "Subsidiary"})
        self.admin.write({"company_ids": [(4, company.id)]})
        data = self._export(self.industrial)
        buyer_def = data["processes"][0]["buying_process"]
        theirs = self.env["crm.buyer.process"].create(
            {
                "name": "Tender procedure",
                "company_id": company.id,
                "stage_ids": [
                    (0, 0, {"name": step["name"]["en_US"], "sequence": step["sequence"]})
                    for step in buyer_def["stages"]
                ],
            }
        )
        self.env["ir.model.data"].create(
            {"module": "spa_test", "name": "tender", "model": "crm.buyer.process", "res_id": theirs.id}
        )
        buyer_def.update(xml_id="spa_test.tender", name={"en_US": "Tender procedure"})
        for step in buyer_def["stages"]:
            step["xml_id"] = None
        for stage in data["processes"][0]["stages"]:
            stage["buying_stage"]["xml_id"] = None
        imported = self._import(data, also=company)
        buyer = imported.buyer_process_id
        self.assertNotEqual(buyer, theirs)
        self.assertEqual(buyer.company_id, self.env.company)
        self.assertEqual(imported.stage_ids.buyer_stage_id, buyer.stage_ids)

    def test_buying_process_lacking_a_step_is_not_reused(self):
        """A buying process is reused only when it has every step of the file; else a new one is created."""
        data = self._export(self.industrial)
        buyer_def = data["processes"][0]["buying_process"]
        buyer_def["stages"].append(
            {"xml_id": None, "name": {"en_US": "Site acceptance"}, "sequence": 99, "description": None}
        )
        wizard = self._wizard(data)
        wizard.action_preview()
        self.assertIn("Created", wizard.preview)
        imported = self._import(data)
        buyer = imported.buyer_process_id
        self.assertNotEqual(buyer, self.industrial.buyer_process_id)
        self.assertEqual(buyer.company_id, self.env.company)
        self.assertEqual(len(buyer.stage_ids), len(self.industrial.buyer_process_id.stage_ids) + 1)
        self.assertIn("Site acceptance", buyer.stage_ids.mapped("name"))

    def test_step_of_another_buying_process_is_not_used(self):
        """A step named by the external id of another buying process's step is found by name in the reused one."""
        data = self._export(self.industrial)
        step_def = data["processes"][0]["buying_process"]["stages"][0]
        old_key = step_def["xml_id"]
        step_def["xml_id"] = "sales_process_addon.buyer_stage_t2_01"
        for stage in data["processes"][0]["stages"]:
            if stage["buying_stage"]["xml_id"] == old_key:
                stage["buying_stage"]["xml_id"] = step_def["xml_id"]
        imported = self._import(data)
        self.assertEqual(imported.buyer_process_id, self.industrial.buyer_process_id)
        self.assertEqual(
            imported.stage_ids.mapped("buyer_stage_id"), self.industrial.stage_ids.mapped("buyer_stage_id")
        )

    def test_settings_the_shipped_processes_leave_empty(self):
        """Requirements, shared proofs and a task's default user go through the file too."""
        stage = self.industrial.stage_ids[0]
        stage.requirements = "Budget confirmed by the customer"
        stage.milestone_ids[0].proof_key = "signed_contract"
        stage.activity_plan_id.template_ids[0].write(
            {"responsible_type": "other", "responsible_id": self.admin.id}
        )
        imported = self._import(self._export(self.industrial))
        first = imported.stage_ids[0]
        self.assertEqual(first.requirements, "Budget confirmed by the customer")
        self.assertEqual(first.milestone_ids[0].proof_key, "signed_contract")
        task = first.activity_plan_id.template_ids[0]
        self.assertEqual((task.responsible_type, task.responsible_id), ("other", self.admin))

    def test_translation_of_other_structure_is_left_out(self):
        """A playbook translation whose paragraphs do not match the English text is left out, not fatal."""
        data = self._export(self.industrial)
        data["processes"][0]["stages"][0]["playbook"] = {
            "en_US": "<p>Call the buyer.</p><p>Visit the site.</p>",
            "zh_CN": "<p>致电并考察现场。</p>",
        }
        imported = self._import(data)
        self.assertIn("Call the buyer.", imported.stage_ids[0].with_context(lang="zh_CN").playbook)

    def test_rep_cannot_import_with_a_plan_made_by_an_admin(self):
        """The import itself is the sales administrators' business, not only its plan."""
        data = self._export(self.industrial)
        plan = self.env["crm.pipeline.type"].with_user(self.admin)._transfer_plan(data)
        before = self._counts()
        with self.assertRaisesRegex(AccessError, "Only sales administrators can export or import"):
            self.env["crm.pipeline.type"].with_user(self.rep)._transfer_import(data, plan)
        self.assertEqual(self._counts(), before)

    def test_activity_type_of_another_model_is_refused(self):
        """An activity type found by name must be one for opportunities (or any model)."""
        self.env["mail.activity.type"].create({"name": "Site survey", "res_model": "res.partner"})
        data = self._export(self.industrial)
        data["processes"][0]["stages"][0]["task_plan"]["tasks"][0]["activity_type"] = {
            "xml_id": None,
            "name": "Site survey",
        }
        self._assert_refused(data, 'the activity type "Site survey" of a task does not exist')

    # ------------------------------------------------------------
    # REFUSED
    # ------------------------------------------------------------

    def test_refused_files(self):
        good = self._export(self.industrial)

        def changed(change):
            data = copy.deepcopy(good)
            change(data)
            return data

        cases = [
            (b"\xff\xfe not text", "not UTF-8"),
            (b'{"format": "sales_process_addon.process", "version": 1,', "not valid JSON"),
            (b"[1, 2]", "not a sales process file"),
            (changed(lambda d: d.update(format="other")), "not a sales process file"),
            (
                changed(lambda d: d.update(version=2)),
                "version 2 of the format; this database reads version 1",
            ),
            (changed(lambda d: d.pop("version")), 'has no "version"'),
            (changed(lambda d: d["processes"][0].pop("stages")), r'processes\[0\] has no "stages"'),
            (changed(lambda d: d.update(processes=[])), "holds no process"),
            (
                changed(lambda d: d["processes"][0]["stages"][2].update(sequence="ten")),
                r"processes\[0\]\.stages\[2\]\.sequence should be a whole number",
            ),
            (
                changed(lambda d: d["processes"][0]["stages"][2].update(default_probability=150)),
                r"default_probability should be a number from 0 to 100",
            ),
            (
                changed(lambda d: d["processes"][0].update(gate_mode="strict")),
                r"processes\[0\]\.gate_mode should be one of guided, enforced",
            ),
            (
                changed(
                    lambda d: d["processes"][0]["stages"][0].update(name={"en_US": "", "zh_CN": "项目立项"})
                ),
                r'stages\[0\]\.name should be texts by language, with "en_US"',
            ),
            (
                changed(lambda d: d["processes"][0]["stages"][0].update(name={"zh_CN": "项目立项"})),
                r'stages\[0\]\.name should be texts by language, with "en_US"',
            ),
            (
                changed(
                    lambda d: d["processes"][0]["stages"][0]["milestones"][0]["evidence_kinds"].append("fax")
                ),
                'evidence kind "fax" is not defined in the file',
            ),
            (
                changed(
                    lambda d: d["processes"][0]["stages"][0].update(
                        funnel_state={"xml_id": None, "name": "Hot"}
                    )
                ),
                'funnel state "Hot" is not defined in the file',
            ),
            (
                changed(lambda d: d["evidence_kinds"].append({**d["evidence_kinds"][0], "xml_id": None})),
                f'defines evidence kind "{good["evidence_kinds"][0]["code"]}" twice',
            ),
            (
                changed(lambda d: d["funnel_states"].append(dict(d["funnel_states"][0]))),
                re.escape(f'defines funnel state "{good["funnel_states"][0]["xml_id"]}" twice'),
            ),
            (
                changed(
                    lambda d: d["processes"][0]["stages"][3]["task_plan"]["tasks"][0].update(
                        activity_type={"xml_id": "carrier.pigeon", "name": "Carrier pigeon"}
                    )
                ),
                'stage "Demonstration & references": the activity type "Carrier pigeon" of a task does not exist',
            ),
            (
                changed(lambda d: d["processes"][0].update(code="")),
                r"processes\[0\]\.code should be a text",
            ),
            (
                changed(lambda d: d["processes"][0]["stages"][2].update(default_probability=-5)),
                r"default_probability should be a number from 0 to 100",
            ),
            (
                changed(lambda d: d["processes"].__setitem__(0, ["Industrial project sale"])),
                r"processes\[0\] should be an object",
            ),
            (
                changed(lambda d: d["processes"][0].update(stages=[])),
                'Sales process "Industrial project sale" in the file has no stages',
            ),
            (
                changed(
                    lambda d: d["processes"][0]["stages"][0].update(
                        buying_stage={"xml_id": None, "name": "Site acceptance"}
                    )
                ),
                'buying stage "Site acceptance" is not a step of the process\'s buying process',
            ),
            (
                changed(
                    lambda d: d["processes"][0]["stages"][0].update(
                        name={"en_US": "Project launch", "zh_CN": 7}
                    )
                ),
                r'stages\[0\]\.name should be texts by language, with "en_US"',
            ),
            (
                changed(lambda d: d["processes"][0]["stages"][2].update(sequence=True)),
                r"processes\[0\]\.stages\[2\]\.sequence should be a whole number",
            ),
            (
                changed(lambda d: d["processes"][0]["stages"][0].update(fold=1)),
                r"processes\[0\]\.stages\[0\]\.fold should be true or false",
            ),
            (
                changed(lambda d: d["processes"][0]["stages"][0].update(milestones={})),
                r"processes\[0\]\.stages\[0\]\.milestones should be a list",
            ),
        ]
        for data, message in cases:
            with self.subTest(message=message):
                self._assert_refused(data, message)

    def test_refused_in_the_users_language(self):
        """A damaged file is refused in the language of the user who imports it."""
        data = self._export(self.industrial)
        data["processes"][0]["stages"][2]["sequence"] = "ten"
        wizard = self._wizard(data).with_context(lang="zh_CN")
        with self.assertRaisesRegex(
            UserError, r"^销售流程文件已损坏：processes\[0\]\.stages\[2\]\.sequence应为整数。$"
        ):
            wizard.action_preview()

    def test_damaged_upload_is_refused(self):
        """An upload that is not clean base64 is refused as unreadable, not decoded by skipping what is not base64."""
        encoded = base64.b64encode(json.dumps(self._export(self.industrial)).encode())
        before = self._counts()
        wizard = self.env(user=self.admin)["crm.pipeline.type.import"].create(
            {"file": encoded[:100] + b"*" + encoded[100:]}
        )
        for action in (wizard.action_preview, wizard.action_import):
            with self.subTest(action=action.__name__), self.assertRaisesRegex(UserError, "could not be read"):
                action()
        self.assertEqual(self._counts(), before)

    def test_no_file_chosen(self):
        """Previewing or importing without a file asks for one."""
        wizard = self.env(user=self.admin)["crm.pipeline.type.import"].new({})
        for action in (wizard.action_preview, wizard.action_import):
            with (
                self.subTest(action=action.__name__),
                self.assertRaisesRegex(UserError, "Choose the sales process file to import"),
            ):
                action()

    def test_error_while_creating_leaves_nothing(self):
        """A record refused halfway (the last stage's alert days) undoes the whole import, even if caught."""
        data = self._export(self.industrial)
        data["processes"][0]["stages"][-1].update(rotting_threshold_days=10, escalation_days=3)
        wizard = self._wizard(data)
        wizard.action_preview()
        self.assertFalse(wizard.can_import)
        self.assertIn("the manager is alerted after 3 days", wizard.preview)
        before = self._counts()
        Type = self.env["crm.pipeline.type"].with_user(self.admin)
        # Not assertRaises: its own savepoint would hide what the import leaves behind.
        error = None
        try:
            Type._transfer_import(data, Type._transfer_plan(data))
        except ValidationError as caught:
            error = caught
        self.assertIn("the manager is alerted after 3 days", str(error))
        self.assertEqual(self._counts(), before)

    def test_rep_can_neither_export_nor_import(self):
        industrial = self.industrial.with_user(self.rep)
        self.assertTrue(industrial.stage_ids, "a rep reads the process")
        for method in (industrial.action_transfer_export, industrial._transfer_export_data):
            with self.subTest(method=method.__name__), self.assertRaises(AccessError):
                method()
        data = self._export(self.industrial)
        with self.assertRaises(AccessError):
            self.env["crm.pipeline.type.import"].with_user(self.rep).create(
                {"file": base64.b64encode(json.dumps(data).encode())}
            )
        with self.assertRaises(AccessError):
            industrial._transfer_plan(data)

    def test_export_query_count(self):
        """Exporting reads each model once, whatever the number of stages, milestones and tasks."""
        industrial = self.industrial.with_user(self.admin)
        industrial._transfer_export_data()  # warm the access rules and languages caches
        self.env.invalidate_all()
        with self.assertQueryCount(24):
            industrial._transfer_export_data()
        both = industrial | self.env.ref(SHIPPED[1]).with_user(self.admin)
        both._transfer_export_data()
        self.env.invalidate_all()
        with self.assertQueryCount(24):
            both._transfer_export_data()


@tagged("post_install", "-at_install")
class TestProcessExportDownload(HttpCase):
    """The export action downloads the file in the browser session of a sales administrator."""

    def test_download(self):
        admin = new_test_user(self.env, login="spa_export_admin", groups="sales_team.group_sale_manager")
        rep = new_test_user(self.env, login="spa_export_rep", groups="sales_team.group_sale_salesman")
        processes = self.env.ref(SHIPPED[0]) | self.env.ref(SHIPPED[2])
        action = self.env.ref("sales_process_addon.crm_pipeline_type_action_export")
        result = (
            action.with_user(admin)
            .with_context(active_model="crm.pipeline.type", active_ids=processes.ids)
            .run()
        )
        self.assertEqual(result["target"], "download")

        self.authenticate(admin.login, admin.login)
        response = self.url_open(result["url"])
        self.assertEqual(response.status_code, 200)
        self.assertTrue(response.headers["Content-Disposition"].startswith("attachment;"))
        self.assertIn("sales_processes.json", response.headers["Content-Disposition"])
        self.assertIn("application/json", response.headers["Content-Type"])
        data = json.loads(response.content.decode("utf-8"))
        self.assertEqual((data["format"], data["version"]), ("sales_process_addon.process", 1))
        self.assertEqual([p["code"] for p in data["processes"]], processes.mapped("code"))

        self.authenticate(rep.login, rep.login)
        response = self.url_open(result["url"])
        self.assertEqual(response.status_code, 403)
        self.assertNotIn('"format"', response.text)

    def test_import_wizard_tour(self):
        """The import dialog in the browser: upload, preview, import."""
        admin = new_test_user(self.env, login="spa_import_admin", groups="sales_team.group_sale_manager")
        self.start_tour(
            "/odoo/action-sales_process_addon.crm_pipeline_type_action",
            "sales_process_import_tour",
            login=admin.login,
        )
        imported = self.env["crm.pipeline.type"].search([("name", "=", "Industrial project sale (2)")])
        self.assertEqual(imported.gate_mode, "guided")
        self.assertEqual(len(imported.stage_ids), 8)
