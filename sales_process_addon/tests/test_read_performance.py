from lxml import etree

from odoo.tests import tagged

from .common import modules_installed_with_the_addon
from .common_opportunity import OpportunityCase


@tagged("post_install", "-at_install")
class TestReadPerformance(OpportunityCase):
    """What a rep waits for: opening an opportunity and the pipeline cost a fixed number of queries.

    The reads are those of the web client: ``web_read`` with the form view's
    fields (sub-lists with their list's fields), and the kanban's grouped read
    of the rep's process with the kanban view's fields. Pinned per user, so
    that a field added to a view or a compute that grows a query shows here.
    """

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.type_a.gate_mode = "enforced"
        # A milestone met by a fact of the buying center: the gate's proof reads it too.
        cls.m_coach = cls.env["crm.stage.milestone"].create(
            {"name": "Coach secured", "stage_id": cls.a2.id, "fact": "coach_secured", "customer_led": False}
        )

    def setUp(self):
        super().setUp()
        self.lead = self._evidenced_lead("Read deal")
        for number in range(3):
            self._evidenced_lead(f"Other deal {number}")

    def _evidenced_lead(self, name):
        """An opportunity in A2 of the enforced process A, with everything the form shows.

        Evidence (verified, awaiting verification), a buying center, answered
        qualification questions, a stage history of two moves and a pending exception.
        """
        lead = self._lead(name=name)
        self._prove_a1(lead)
        self._evidence(lead, self.m_optional)
        lead.stage_id = self.a2
        self._evidence(lead, self.m_clearance)  # awaits a manager's verification
        self._stakeholder(lead, self.wang, self.role_coach, stance="champion")
        self._stakeholder(lead, self.zhao, self.role_dm)
        lead._qualification_fill()
        self._answer(lead, {self.q_funding: "yes"})
        self.env["crm.stage.exception"].with_user(self.rep).create(
            {
                "lead_id": lead.id,
                "from_stage_id": self.a2.id,
                "to_stage_id": self.a3.id,
                "reason": "Framework deal",
            }
        )
        return lead

    # ------------------------------------------------------------
    # The web client's specification of a view's fields
    # ------------------------------------------------------------

    def _view_spec(self, view_type):
        """``web_read`` specification of the fields of the crm.lead ``view_type`` view.

        As the web client builds it: a many2one reads its name, an x2many with
        a sub-list reads that list's fields (up to 40 lines), and a field always
        invisible reads no more than its value. Without the fields of modules
        installed beside the addon (sale_crm's quotations, for one): the counts
        pinned are Odoo CRM's and the addon's.
        """
        self.modules = modules_installed_with_the_addon(self.env)
        views = self.env["crm.lead"].get_views([[False, view_type]])
        arch = etree.fromstring(views["views"][view_type]["arch"])
        return self._node_spec(arch, "crm.lead", views["models"])

    def _node_spec(self, node, model, models):
        fields_info = models[model]["fields"]
        spec = {}
        for field_node in node.iter("field"):
            if any(parent.tag == "field" for parent in field_node.iterancestors()):
                continue  # a field of a sub-list: read by that list's own specification
            name = field_node.get("name")
            info = fields_info.get(name)
            if info is None or self.env[model]._fields[name]._module not in self.modules | {None}:
                continue
            invisible = {field_node.get("invisible"), field_node.get("column_invisible")} & {"1", "True"}
            sublist = next((child for child in field_node if child.tag in ("list", "kanban")), None)
            if invisible or info["type"] not in ("many2one", "many2many", "one2many"):
                spec[name] = {}
            elif info["type"] != "many2one" and sublist is not None:
                spec[name] = {"fields": self._node_spec(sublist, info["relation"], models), "limit": 40}
            else:
                spec[name] = {"fields": {"display_name": {}}}
        return spec

    # ------------------------------------------------------------
    # Reads
    # ------------------------------------------------------------

    def _leads(self):
        """``crm.lead`` as a request of the web client sees it: an empty cache, the user's language."""
        self.env.invalidate_all()
        return self.env["crm.lead"].with_context(lang="en_US", tz="Europe/Brussels")

    def _read_form(self, lead):
        return self._leads().browse(lead.id).web_read(self.form_spec)[0]

    def _read_kanban(self):
        return self._leads().web_read_group(
            [("type", "=", "opportunity"), ("pipeline_type_id", "=", self.type_a.id)],
            ["stage_id"],
            ["expected_revenue:sum", "__count"],
            auto_unfold=True,
            unfold_read_specification=self.kanban_spec,
            unfold_read_default_limit=80,
        )

    def _warm(self, read):
        """Registry and rule caches filled, as in a worker that has served a request before."""
        read()
        read()

    def test_form_read_queries(self):
        """The form of an evidenced opportunity: a fixed number of queries, the same for admin and rep."""
        for login in ("admin", "sp_rep"):
            with self.subTest(login=login), self.with_user(login):
                self.form_spec = self._view_spec("form")
                self.assertNotIn("stage_history_ids", self.form_spec, "the history opens on demand")
                self.assertNotIn("stage_exception_ids", self.form_spec, "the exceptions open on demand")
                self.assertFalse(
                    {"milestone_progress", "milestone_missing"} & self.form_spec.keys(),
                    "the progress badge is drawn from the checklist's lines, not computed again",
                )
                self._warm(lambda: self._read_form(self.lead))
                # The lead and its tags; the ids of five sub-lists (qualification, buying center,
                # competitors, signals, evidence); the pending exceptions (banner, stages out of reach);
                # the checklist's lines, which also draw the progress badge (the milestones, the gate's
                # proof: milestones sharing a proof, buying center facts (the customer only when its
                # buying center could hold the customer's trace), evidence
                # proving or awaiting verification, in one query; the evidence shown), read with the
                # form: the web client
                # sends no second request for them; the facts proven by evidence (buying center
                # warnings); Odoo's own computed fields (duplicates, blacklists, currency, companies,
                # rotting, meetings); the names of the many2ones; the sub-lists' lines and their names.
                with self.assertQueryCount(admin=42, sp_rep=39):
                    values = self._read_form(self.lead)
                states = {line["name"]: line["state"] for line in values["milestone_checklist"]}
                self.assertEqual(states, {"Technical clearance": "awaiting", "Coach secured": "met"})
                self.assertEqual(values["stage_exception_banner_state"], "pending")
                self.assertEqual(len(values["evidence_ids"]), 4)

    def test_kanban_read_queries(self):
        """The pipeline of the rep's process: a fixed number of queries whatever the number of cards."""
        for cards in (4, 10):
            if cards == 10:
                for number in range(6):
                    self._evidenced_lead(f"More deal {number}")
            for login in ("admin", "sp_rep"):
                with self.subTest(login=login, cards=cards), self.with_user(login):
                    self.kanban_spec = self._view_spec("kanban")
                    self.assertIn(
                        "risk_reason_codes", self.kanban_spec, "the risk's tooltip is read from the row"
                    )
                    self._warm(self._read_kanban)
                    # The groups (count, stage names), one search per column, the cards and their
                    # tags, activities and names; the milestones (the records, the facts, internal facts,
                    # the evidence proving or awaiting verification in one query): none per card, and
                    # no read of the customers of cards without a buying center, nor of the process
                    # (its gate mode comes from the gate's registry cache).
                    with self.assertQueryCount(admin=22, sp_rep=20):
                        groups = self._read_kanban()
                    read = [card for group in groups["groups"] for card in group["__records"]]
                    self.assertEqual(len(read), cards)
                    self.assertEqual({card["milestone_progress"] for card in read}, {"1/2"})

    def test_history_and_exceptions_open_on_demand(self):
        """The form's buttons open the opportunity's own history and exceptions, and only those."""
        lead = self.lead.with_user(self.rep)
        history = lead.action_view_stage_history()
        self.assertEqual(history["res_model"], "crm.lead.stage.history")
        rows = self.env["crm.lead.stage.history"].with_user(self.rep).search(history["domain"])
        self.assertEqual(rows.lead_id, self.lead, "the other opportunities' rows are not listed")
        self.assertEqual(
            sorted(rows.mapped("event")), ["create", "forward"], "its creation and its move to A2"
        )
        exceptions = lead.action_view_stage_exceptions()
        self.assertEqual(exceptions["res_model"], "crm.stage.exception")
        found = self.env["crm.stage.exception"].with_user(self.rep).search(exceptions["domain"])
        self.assertEqual(found, self.lead.stage_exception_ids)
        self.assertEqual(found.to_stage_id, self.a3)
