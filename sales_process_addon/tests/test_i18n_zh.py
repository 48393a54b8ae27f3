import ast
import csv
import re
from pathlib import Path

import polib

from odoo.tests import HttpCase, TransactionCase, new_test_user, tagged
from odoo.tools.translate import TranslationModuleReader

from ..tools import join_list, parenthesized
from .common import SalesProcessCase, modules_installed_with_the_addon
from .common_gate import StageGateCase

I18N = Path(__file__).parent.parent / "i18n"
LANGS = ("zh_CN", "zh_TW")
HAN = "\u3000-\u303f\u4e00-\u9fff\uff00-\uffef"
# What is not Chinese prose: placeholders, markup, entities, code.
NOT_PROSE = re.compile(r"%\([a-z_][a-z0-9_]*\)[sdf]|%[sd]|<[^>]*>|&[a-z]+;|\$\{[^}]*\}|'[^']*' % object\.\w+")
PLACEHOLDER = r"(?:%\([a-z_][a-z0-9_]*\)[sdf]|%[sd])"


def _catalog(lang):
    return [entry for entry in polib.pofile(str(I18N / f"{lang}.po")) if not entry.obsolete]


@tagged("post_install", "-at_install")
class TestChineseCatalogs(TransactionCase):
    """The zh_CN and zh_TW catalogs are complete, well punctuated and follow the glossary."""

    def test_every_term_translated(self):
        template = {entry.msgid for entry in polib.pofile(str(I18N / "sales_process_addon.pot"))} - {""}
        for lang in LANGS:
            translated = {entry.msgid for entry in _catalog(lang) if entry.msgstr}
            with self.subTest(lang=lang):
                self.assertFalse(sorted(template - translated)[:10], f"untranslated in {lang}")

    def test_full_width_punctuation_and_no_stray_spaces(self):
        for lang in LANGS:
            problems = []
            for entry in _catalog(lang):
                text = entry.msgstr
                if not re.search(f"[{HAN}]", text):
                    continue
                prose = NOT_PROSE.sub("\x00", text)
                if re.search(
                    f"[{HAN}][^{HAN}\\s]*[;():,!?]|[;():,!?][^{HAN}\\s]*[{HAN}]", prose.replace("\x00", "")
                ):
                    problems.append(("half-width punctuation", text))
                # A bare line break between sentences is wanted in plain text (a prefilled reason).
                if re.search(f"[{HAN}](?!\\n[{HAN}])\\s+[{HAN}]", text):
                    problems.append(("space inside Chinese", text))
                if re.search(f"[{HAN}] +{PLACEHOLDER}|{PLACEHOLDER} +[{HAN}]", text):
                    problems.append(("space around a placeholder", text))
            with self.subTest(lang=lang):
                self.assertFalse(problems[:10])

    def test_placeholders_and_markup_kept(self):
        """A translation keeps the placeholders, tags and QWeb attributes of its source."""

        def skeleton(text):
            return (
                sorted(re.findall(PLACEHOLDER + r"|\{\w+\}", text)),
                sorted(re.findall(r"</?([a-zA-Z][\w.-]*)", text)),
                sorted(re.findall(r'\b(?:t-[\w-]+|name|invisible)="[^"]*"', text)),
            )

        for lang in LANGS:
            problems = [
                entry.msgid for entry in _catalog(lang) if skeleton(entry.msgid) != skeleton(entry.msgstr)
            ]
            with self.subTest(lang=lang):
                self.assertFalse(problems[:10])

    def test_glossary_terms(self):
        with (I18N / "glossary.csv").open(encoding="utf-8") as glossary:
            rows = list(csv.DictReader(glossary))
        self.assertGreaterEqual(len(rows), 15)
        for lang in LANGS:
            catalog = _catalog(lang)
            problems = []
            for row in rows:
                term = re.compile(rf"\b{re.escape(row['en'])}(?:s|es)?\b", re.IGNORECASE)
                excluded = re.compile(row["not_in"], re.IGNORECASE) if row["not_in"] else None
                for entry in catalog:
                    source = NOT_PROSE.sub(" ", entry.msgid)
                    if not term.search(source) or (excluded and excluded.search(source)):
                        continue
                    if row[lang] not in entry.msgstr:
                        problems.append((row["en"], row[lang], entry.msgid, entry.msgstr))
            with self.subTest(lang=lang):
                self.assertFalse(problems[:10])

    def test_retired_terms(self):
        """Pipeline is 渠道 as in Odoo's own menus; a coach is never an informant."""
        retired = {"zh_CN": ("管道", "线人"), "zh_TW": ("管道", "線人")}
        for lang in LANGS:
            found = [e.msgstr for e in _catalog(lang) if any(word in e.msgstr for word in retired[lang])]
            with self.subTest(lang=lang):
                self.assertFalse(found)

    def test_one_source_per_meaning(self):
        """Sources shared by two meanings once got one translation for both."""
        by_source = {entry.msgid: entry.msgstr for entry in _catalog("zh_CN")}
        self.assertNotEqual(by_source["Met in Person"], by_source["Milestone met"])
        self.assertNotEqual(by_source["Calendar Event"], by_source["Meeting"])


@tagged("post_install", "-at_install")
class TestTemplateInSync(TransactionCase):
    def test_pot_matches_the_code(self):
        """The committed .pot has exactly the terms Odoo's exporter finds (scripts/i18n_export.sh)."""
        reader = TranslationModuleReader(self.env.cr, modules=["sales_process_addon"])
        ours = modules_installed_with_the_addon(self.env)
        exported = {
            source
            for _module, kind, name, res_id, source, _value, _comments in reader
            if kind != "model" or self._term_module(name, res_id) in ours | {None}
        }
        committed = {entry.msgid for entry in polib.pofile(str(I18N / "sales_process_addon.pot"))} - {""}
        missing = sorted(exported - committed)
        self.assertFalse(missing, "terms missing from the .pot: run scripts/i18n_export.sh")
        if self.env["ir.module.module"]._get("sales_process_addon").demo:
            # Without demo data, the demo records' terms are not exported.
            self.assertFalse(
                sorted(committed - exported), "terms no longer in the code: run scripts/i18n_export.sh"
            )

    def test_code_terms_find_their_language(self):
        """Every ``_()`` of the code runs where Odoo finds the language: a frame with ``self``.

        Odoo's ``_`` reads the language from its caller's frame. A comprehension,
        a lambda or a nested function without ``self`` has a frame of its own:
        there the term stays in English outside a web request (the scheduler,
        a report printed by a job), or takes the request's language rather than
        the one the code set (a message in its recipient's language). At a
        module's top level, ``_`` would run once, at import.
        """
        scopes = (ast.Lambda, ast.ListComp, ast.SetComp, ast.DictComp, ast.GeneratorExp, ast.FunctionDef)

        def finds_language(scope):
            if not isinstance(scope, ast.FunctionDef):
                return False
            return any(
                (isinstance(node, ast.Name) and node.id in ("self", "context"))
                or (isinstance(node, ast.arg) and node.arg == "self")
                for node in ast.walk(scope)
            )

        def blind_calls(node, scope, path):
            for child in ast.iter_child_nodes(node):
                if isinstance(child, ast.Call) and isinstance(child.func, ast.Name) and child.func.id == "_":
                    if scope is None or not finds_language(scope):
                        yield f"{path}:{child.lineno}"
                yield from blind_calls(child, child if isinstance(child, scopes) else scope, path)

        addon = I18N.parent
        found = [
            line
            for path in sorted(addon.rglob("*.py"))
            if "tests" not in path.relative_to(addon).parts
            for line in blind_calls(ast.parse(path.read_text()), None, path.relative_to(addon))
        ]
        self.assertFalse(found, "use self.env._() there")

    def _term_module(self, name, xmlid):
        """The module that gives the addon's record ``xmlid`` the exported term ``name``.

        Other modules add terms to the addon's own records (the website's form
        label on crm.lead's model, the ratings every mail thread gets): the
        exporter finds them only beside those modules, and the .pot, exported
        where the addon is installed alone, has none of them. None for the
        fields every model has (id, display name).
        """
        model_name, field_name = name.split(",")
        record = self.env.ref(xmlid)
        if model_name == "ir.model.fields.selection":
            record = record.field_id
        if record._name == "ir.model.fields" and field_name in ("field_description", "help", "name"):
            return self.env[record.model]._fields[record.name]._module
        return self.env[model_name]._fields[field_name]._module


@tagged("post_install", "-at_install")
class TestListsPerLanguage(TransactionCase):
    def test_join_list(self):
        items = ["Email", "Meeting", "Document"]
        self.assertEqual(join_list(self.env, items, lang_code="en_US"), "Email, Meeting, Document")
        self.assertEqual(join_list(self.env, items, lang_code="zh_CN"), "Email、Meeting、Document")
        self.assertEqual(join_list(self.env, items, "clause", lang_code="zh_TW"), "Email；Meeting；Document")
        self.assertEqual(join_list(self.env, items, "clause", lang_code="en_US"), "Email; Meeting; Document")
        self.assertEqual(join_list(self.env, ["a", "b"], "sentence", lang_code="zh_CN"), "a，b")

    def test_parenthesized(self):
        self.assertEqual("Clearance" + parenthesized(self.env, "optional", "en_US"), "Clearance (optional)")
        self.assertEqual("技术通关" + parenthesized(self.env, "可选", "zh_CN"), "技术通关（可选）")
        self.assertEqual(parenthesized(self.env, "可選", "zh_TW"), "（可選）")


@tagged("post_install", "-at_install")
class TestChineseStageTasks(TransactionCase):
    """Shipped plans read in Chinese; stage tasks are copied in the assignee's language."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        for lang in LANGS:
            cls.env["res.lang"]._activate_lang(lang)
        cls.env.registry.clear_cache()  # the installed languages are cached
        cls.env["ir.module.module"]._load_module_terms(["sales_process_addon"], list(LANGS), overwrite=True)

    def test_shipped_plans_in_chinese(self):
        data = self.env["ir.model.data"].search(
            [
                ("module", "=", "sales_process_addon"),
                ("model", "in", ["mail.activity.plan", "mail.activity.plan.template"]),
            ]
        )
        self.assertGreater(len(data), 50)
        for lang in LANGS:
            for xmlid in data:
                record = self.env[xmlid.model].browse(xmlid.res_id).with_context(lang=lang)
                text = record.name if xmlid.model == "mail.activity.plan" else record.summary
                with self.subTest(lang=lang, record=xmlid.name):
                    self.assertRegex(text, f"[{HAN}]")
        note = (
            self.env.ref("sales_process_addon.activity_plan_template_t3_04_d").with_context(lang="zh_TW").note
        )
        self.assertIn("合同條款", note)

    def test_stage_form_labels_in_chinese(self):
        """Odoo's CRM ships some of the stage form's texts without Chinese: the addon words them."""
        expected = {
            "zh_CN": ("颜色", "停滞判定天数", "停滞商机提醒", "所有团队共用"),
            "zh_TW": ("顏色", "停滯判定天數", "停滯商機提醒", "所有團隊共用"),
        }
        for lang, words in expected.items():
            arch = (
                self.env["crm.stage"]
                .with_context(lang=lang)
                .get_views([(self.env.ref("crm.crm_stage_form").id, "form")])["views"]["form"]["arch"]
            )
            with self.subTest(lang=lang):
                for word in words:
                    self.assertIn(word, arch)
                self.assertNotIn('string="Days to rot"', arch)

    def test_tasks_in_the_language_of_whom_does_them(self):
        growth = self.env.ref("sales_process_addon.stage_t3_04_growth")
        rep_cn = self.env["res.users"].create(
            {
                "name": "Rep CN",
                "login": "sp_rep_cn",
                "lang": "zh_CN",
                "group_ids": [(6, 0, self.env.ref("sales_team.group_sale_salesman").ids)],
            }
        )
        leader_tw = self.env["res.users"].create(
            {
                "name": "Leader TW",
                "login": "sp_leader_tw",
                "lang": "zh_TW",
                "group_ids": [(6, 0, self.env.ref("sales_team.group_sale_manager").ids)],
            }
        )
        team = self.env["crm.team"].create({"name": "Lifecycle team", "user_id": leader_tw.id})
        lead = self.env["crm.lead"].create(
            {
                "name": "Lifecycle deal",
                "type": "opportunity",
                "user_id": rep_cn.id,
                "team_id": team.id,
                "pipeline_type_id": growth.pipeline_type_id.id,
            }
        )
        tasks = lead._stage_tasks_schedule({lead.id: growth.id})
        by_summary = {task.summary: task.user_id for task in tasks}
        # The lifecycle's maturity tasks come in Growth, before the won stage.
        self.assertEqual(by_summary.get("商务谈判"), rep_cn)
        self.assertEqual(by_summary.get("促成合同签署"), rep_cn)
        self.assertEqual(by_summary.get("提交前評審標書"), leader_tw)
        self.assertIn("合同条款", tasks.filtered(lambda t: t.summary == "商务谈判").note)


@tagged("post_install", "-at_install")
class TestChineseMergeNote(SalesProcessCase):
    """A merged opportunity's history says where it came from, punctuated in the merger's language."""

    def _merge_tail(self, lang):
        head, tail = self.env["crm.lead"].create(
            [
                {
                    "name": "Head",
                    "type": "opportunity",
                    "pipeline_type_id": self.type_a.id,
                    "probability": 90,
                },
                {
                    "name": "Tail",
                    "type": "opportunity",
                    "pipeline_type_id": self.type_a.id,
                    "probability": 10,
                },
            ]
        )
        row = tail.stage_history_ids
        self.assertEqual(len(row), 1)
        # sudo: only the server writes history; the test gives the row a note to append to.
        row.sudo().note = "Imported"
        (head | tail).with_context(lang=lang).merge_opportunity()
        self.assertEqual(row.lead_id, head)
        return row, tail.id

    def test_merge_note_in_chinese(self):
        self.env["res.lang"]._activate_lang("zh_CN")
        row, tail_id = self._merge_tail("zh_CN")
        self.assertEqual(row.note, f"Imported（从Tail（#{tail_id}）合并而来）")

    def test_merge_note_in_traditional_chinese(self):
        self.env["res.lang"]._activate_lang("zh_TW")
        row, tail_id = self._merge_tail("zh_TW")
        self.assertEqual(row.note, f"Imported（從Tail（#{tail_id}）合併而來）")

    def test_merge_note_in_english(self):
        row, tail_id = self._merge_tail("en_US")
        self.assertEqual(row.note, f"Imported (Merged from Tail (#{tail_id}))")


@tagged("post_install", "-at_install")
class TestDemoTasksInTheirLanguage(TransactionCase):
    def _rep_speaking(self, lang, login):
        """A salesperson in ``lang``, the addon's translations in it loaded."""
        self.env["res.lang"]._activate_lang(lang)
        self.env["ir.module.module"]._load_module_terms(["sales_process_addon"], [lang])
        return new_test_user(self.env, login, "sales_team.group_sale_salesman", lang=lang)

    def test_demo_rep_sees_chinese_tasks(self):
        """The demo's Chinese rep gets her stage tasks in Chinese, the English-speaking admin in English."""
        if not self.env["ir.module.module"]._get("sales_process_addon").demo:
            self.skipTest("installed without demo data")
        rep = self.env.ref("sales_process_addon.user_rep_zh")
        self.assertEqual(rep.lang, "zh_CN")
        tasks = self.env["mail.activity"].search(
            [("res_model", "=", "crm.lead"), ("crm_plan_template_id", "!=", False)]
        )
        mine = tasks.filtered(lambda task: task.user_id == rep)
        self.assertGreaterEqual(len(mine), 3)
        for task in mine:
            with self.subTest(task=task.summary):
                self.assertEqual(task.summary, task.crm_plan_template_id.with_context(lang="zh_CN").summary)
                self.assertRegex(task.summary, f"[{HAN}]")
        english = tasks.filtered(lambda task: task.user_id.lang == "en_US")
        self.assertTrue(english)
        for task in english:
            self.assertEqual(task.summary, task.crm_plan_template_id.with_context(lang="en_US").summary)

    def test_tasks_given_at_once_told_in_the_assignees_language(self):
        """Two deals entering a stage for a zh_CN rep: one message, in Chinese, lists their tasks."""
        rep = self._rep_speaking("zh_CN", "sp_rep_cn_tasks")
        stage = self.env.ref("sales_process_addon.stage_t4_01_qualify")
        leads = self.env["crm.lead"].create(
            [
                {
                    "name": f"Batch deal {number}",
                    "type": "opportunity",
                    "user_id": rep.id,
                    "stage_id": stage.id,
                }
                for number in (1, 2)
            ]
        )
        tasks = self.env["mail.activity"].search(
            [("res_id", "in", leads.ids), ("crm_plan_template_id", "!=", False)]
        )
        self.assertEqual(tasks.user_id, rep)
        message = self.env["mail.message"].search(
            [
                ("partner_ids", "in", rep.partner_id.ids),
                ("model", "=", False),
                ("subject", "like", "分派给您的任务"),
            ]
        )
        self.assertEqual(message.subject, f"分派给您的任务：{len(tasks)}项")
        self.assertIn("将以下商机转入新阶段，为您安排了这些任务：", message.body)
        for task in tasks:
            self.assertIn(f"{task.summary}，到期日", message.body)

    def test_install_time_tasks_take_their_assignees_language(self):
        """Tasks copied before the translations were loaded are copied again in the assignee's language."""
        rep = self._rep_speaking("zh_TW", "sp_rep_tw")
        stage = self.env.ref("sales_process_addon.stage_t4_01_qualify")
        lead = self.env["crm.lead"].create(
            {"name": "Install-time deal", "type": "opportunity", "user_id": rep.id, "stage_id": stage.id}
        )
        tasks = lead.activity_ids.filtered("crm_plan_template_id")
        self.assertTrue(tasks)
        # As at install: the English texts, the translations not loaded yet.
        for task in tasks:
            task.summary = task.crm_plan_template_id.with_context(lang="en_US").summary
        self.assertNotRegex(tasks[0].summary, f"[{HAN}]")
        tasks._crm_stage_tasks_localize()
        for task in tasks:
            self.assertEqual(task.summary, task.crm_plan_template_id.with_context(lang="zh_TW").summary)
            self.assertRegex(task.summary, f"[{HAN}]")


@tagged("post_install", "-at_install")
class TestStaleAlertsInTheirLanguage(TransactionCase):
    def test_alert_in_the_language_of_whom_it_is_for(self):
        """The daily job runs as its own user; each alert reads in its salesperson's language."""
        for lang in LANGS:
            self.env["res.lang"]._activate_lang(lang)
        self.env["ir.module.module"]._load_module_terms(["sales_process_addon"], list(LANGS))
        stage = self.env.ref("sales_process_addon.stage_t4_01_qualify")
        leads = self.env["crm.lead"]
        for lang in ("zh_CN", "zh_TW", "en_US"):
            rep = new_test_user(
                self.env, f"sp_stale_{lang.lower()}", "sales_team.group_sale_salesman", lang=lang
            )
            leads |= self.env["crm.lead"].create(
                {"name": f"Idle {lang}", "type": "opportunity", "user_id": rep.id, "stage_id": stage.id}
            )
        last = self.env["mail.message"].search([], order="id desc", limit=1).id
        alerts = leads.with_context(lang="en_US")._stage_alerts_raise()
        summaries = {alert.user_id.lang: alert.summary for alert in alerts}
        days = leads[0].rotting_days
        self.assertEqual(summaries["zh_CN"], f"商机停滞：已在资格确认停留{days}天")
        self.assertEqual(
            summaries["zh_TW"], f"商機停滯：已在{stage.with_context(lang='zh_TW').name}停留{days}天"
        )
        self.assertEqual(
            summaries["en_US"], f"Stale opportunity: {days} days in {stage.with_context(lang='en_US').name}"
        )
        # Each one's message of the run, in their language too.
        messages = {
            alert.user_id.lang: self.env["mail.message"].search(
                [
                    ("id", ">", last),
                    ("partner_ids", "in", alert.user_id.partner_id.ids),
                    ("model", "=", False),
                ]
            )
            for alert in alerts
        }
        self.assertEqual(messages["zh_CN"].subject, "停滞商机：1个")
        self.assertIn("您的以下商机停滞时间已超过阶段允许的天数：", messages["zh_CN"].body)
        self.assertIn(f"已在资格确认停留{days}天", messages["zh_CN"].body)
        self.assertEqual(messages["zh_TW"].subject, "停滯商機：1個")
        self.assertIn("每則提醒也是您活動中的一項待辦", messages["zh_TW"].body)
        self.assertEqual(messages["en_US"].subject, "Idle opportunities: 1")


@tagged("post_install", "-at_install")
class TestChineseUi(HttpCase):
    """A rep working in zh_CN or zh_TW, in Chromium: the opportunity form and its tasks, the dashboard."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        for lang in LANGS:
            cls.env["res.lang"]._activate_lang(lang)
        cls.env.registry.clear_cache()
        # What Settings > Languages loads for a user's screens: Odoo's own terms and the addon's.
        cls.env["ir.module.module"]._load_module_terms(
            ["base", "web", "mail", "sales_team", "crm", "sales_process_addon"], list(LANGS), overwrite=True
        )
        cls.process = cls.env.ref("sales_process_addon.pipeline_type_t1")
        cls.env.company.default_pipeline_type_id = cls.process
        # Guided, so that deals can leave a stage: the dashboard then shows its exit table.
        cls.process.gate_mode = "guided"

    def _rep_with_deal(self, lang):
        rep = new_test_user(
            self.env, f"sp_ui_{lang.lower()}", "sales_team.group_sale_manager", lang=lang, name=f"Rep {lang}"
        )
        team = self.env["crm.team"].create(
            {"name": f"Team {lang}", "user_id": rep.id, "pipeline_type_id": self.process.id}
        )
        lead = self.env["crm.lead"].create(
            {"name": f"Deal {lang}", "type": "opportunity", "user_id": rep.id, "team_id": team.id}
        )
        self.assertEqual(lead.stage_id, self.env.ref("sales_process_addon.stage_t1_01_initiation"))
        moved, lost = lead.copy({"name": "Moved on"}), lead.copy({"name": "Lost early"})
        moved.stage_id = self.env.ref("sales_process_addon.stage_t1_02_contact")
        lost.action_set_lost()
        return rep, lead

    def _check_ui(self, lang):
        rep, lead = self._rep_with_deal(lang)
        tasks = lead.activity_ids.filtered("crm_plan_template_id")
        self.assertEqual(len(tasks), 3)
        self.start_tour(f"/odoo/crm/{lead.id}", f"sales_process_{lang}_form_tour", login=rep.login)
        self.start_tour(
            "/odoo/action-sales_process_addon.crm_sales_dashboard_action",
            f"sales_process_{lang}_dashboard_tour",
            login=rep.login,
        )

    def test_simplified_chinese(self):
        self._check_ui("zh_CN")

    def test_traditional_chinese(self):
        self._check_ui("zh_TW")


@tagged("post_install", "-at_install")
class TestSignalsInOneLanguage(TransactionCase):
    def test_signal_text_in_one_language_without_a_request(self):
        """Outside a request (a script, demo data) no language is set: the buying center's
        signal reads in English throughout, not a Chinese sentence around English labels
        (Odoo's plain ``_()`` falls back to the user's language, the labels do not)."""
        self.env["res.lang"]._activate_lang("zh_CN")
        self.env["ir.module.module"]._load_module_terms(["sales_process_addon"], ["zh_CN"])
        self.env.user.lang = "zh_CN"
        customer = self.env["res.partner"].create({"name": "Signal Co", "is_company": True})
        buyer = self.env["res.partner"].create({"name": "Li Ming", "parent_id": customer.id})
        role = self.env.ref("sales_process_addon.stakeholder_role_decision_maker")
        texts = {}
        for lang in (None, "zh_CN"):
            context = {key: value for key, value in self.env.context.items() if key != "lang"}
            env = self.env(context=dict(context, lang=lang) if lang else context)
            self.assertEqual(env.lang, lang)
            lead = env["crm.lead"].create(
                {"name": "Signal deal", "type": "opportunity", "partner_id": customer.id}
            )
            env["crm.lead.stakeholder"].create(
                {"lead_id": lead.id, "partner_id": buyer.id, "role_id": role.id}
            )
            texts[lang] = lead.signal_ids.description
        self.assertEqual(
            texts[None],
            f"Li Ming joined the buying center as {role.with_context(lang='en_US').name} (Neutral, Medium influence).",
        )
        self.assertEqual(
            texts["zh_CN"],
            f"Li Ming以{role.with_context(lang='zh_CN').name}身份加入采购中心（中立，影响力中）。",
        )

    def test_process_switch_logged_in_one_language_without_a_request(self):
        """A process switched by a script: the chatter line is English, names and sentence."""
        self.env["res.lang"]._activate_lang("zh_CN")
        self.env["ir.module.module"]._load_module_terms(["sales_process_addon"], ["zh_CN"])
        self.env.user.lang = "zh_CN"
        context = {key: value for key, value in self.env.context.items() if key != "lang"}
        env = self.env(context=context)
        lead = env["crm.lead"].create(
            {
                "name": "Switched by a script",
                "type": "opportunity",
                "pipeline_type_id": self.env.ref("sales_process_addon.pipeline_type_t4").id,
            }
        )
        lead.pipeline_type_id = self.env.ref("sales_process_addon.pipeline_type_t1")
        body = str(lead.message_ids[0].body)
        self.assertIn("Sales process changed from", body)
        self.assertNotRegex(body, f"[{HAN}]")


@tagged("post_install", "-at_install")
class TestExpiryLogInOneLanguage(StageGateCase):
    def test_expiry_logged_in_the_scheduled_action_user_s_language(self):
        """The expiry job runs without a language: its log is in its user's, stage names too."""
        self.env["res.lang"]._activate_lang("zh_CN")
        self.env["ir.module.module"]._load_module_terms(["sales_process_addon"], ["zh_CN"])
        self.a1.with_context(lang="zh_CN").name = "需求确认"
        self.a2.with_context(lang="zh_CN").name = "方案设计"
        lead = self._lead()
        exception = (
            self.env["crm.stage.exception"]
            .with_user(self.rep)
            .create({"lead_id": lead.id, "to_stage_id": self.a2.id, "reason": "Framework deal"})
        )
        exception.with_user(self.manager).action_approve("Fine")
        self._prove_a1(lead)
        lead.with_user(self.rep).stage_id = self.a2  # proved: the exception is left unused
        self.env.user.lang = "zh_CN"
        context = {key: value for key, value in self.env.context.items() if key != "lang"}
        self.env(context=context)["crm.stage.exception"]._cron_expire()
        self.assertEqual(exception.state, "expired")
        self.assertEqual(lead.message_ids[0].body, "<p>阶段例外未使用已过期：需求确认 → 方案设计。</p>")


@tagged("post_install", "-at_install")
class TestExceptionMessagesInTheirReadersLanguage(StageGateCase):
    def test_decision_in_the_requester_s_language_to_do_in_the_approver_s(self):
        """A Chinese rep's request, decided by an English manager: the decision addressed to the rep
        is in Chinese, stage names too; the manager's to-do is in English; the request records the
        milestones it waives, in the rep's language."""
        self.env["res.lang"]._activate_lang("zh_CN")
        self.env["ir.module.module"]._load_module_terms(["sales_process_addon"], ["zh_CN"])
        self.a1.with_context(lang="zh_CN").name = "需求确认"
        self.a2.with_context(lang="zh_CN").name = "方案设计"
        self.m_summary.with_context(lang="zh_CN").name = "纪要已确认"
        self.m_approval.with_context(lang="zh_CN").name = "内部批准"
        self.rep.lang = "zh_CN"
        self.manager.lang = "en_US"
        lead = self._lead(team_id=self.team.id)
        self.team.user_id = self.manager
        exception = (
            self.env["crm.stage.exception"]
            .with_user(self.rep)
            .with_context(lang="zh_CN")
            .create({"lead_id": lead.id, "to_stage_id": self.a2.id, "reason": "框架协议已签"})
        )
        request = lead.message_ids[0].body
        self.assertIn("纪要已确认", request)
        self.assertIn("内部批准", request)
        self.assertIn("框架协议已签", request)
        self.assertEqual(exception.activity_ids.user_id, self.manager)
        self.assertEqual(exception.activity_ids.summary, "Approve or reject a stage exception")
        exception.with_user(self.manager).with_context(lang="en_US").action_approve("Fine")
        decision = lead.message_ids[0]
        self.assertIn(self.rep.partner_id, decision.partner_ids)
        self.assertIn("需求确认 → 方案设计", decision.body)
        self.assertRegex(decision.body, f"^<p>[{HAN}]")
