from odoo import fields
from odoo.exceptions import AccessError, UserError, ValidationError
from odoo.tests import Form, tagged

from .common_gate import StageGateCase


@tagged("post_install", "-at_install")
class TestUiHelpers(StageGateCase):
    """What the browser shows: move check, evidence defaults, one source of truth, banner."""

    # ---- stage_move_check (the fallback until the gate's own method lands) ----

    def test_move_check_missing_then_allowed(self):
        lead = self._lead()
        check = lead.stage_move_check([self.a2.id])[self.a2.id]
        self.assertFalse(check["allowed"])
        self.assertEqual(check["reason"], "missing")
        self.assertEqual({m["name"] for m in check["missing"]}, {"Summary confirmed", "Internal approval"})
        summary = next(m for m in check["missing"] if m["name"] == "Summary confirmed")
        self.assertTrue(summary["customer_led"])
        self.assertEqual(
            set(summary["evidence_kind_ids"]), set((self.kind_email | self.kind_confirmation).ids)
        )
        self._prove_a1(lead)
        self.assertTrue(lead.stage_move_check([self.a2.id])[self.a2.id]["allowed"])

    def test_move_check_skip_names_next_stage(self):
        lead = self._lead()
        self._prove_a1(lead)
        check = lead.stage_move_check([self.a3.id])[self.a3.id]
        self.assertFalse(check["allowed"])
        self.assertEqual(check["reason"], "skip")
        self.assertEqual(check["next_stage"]["id"], self.a2.id)
        self.assertFalse(check["missing"], "a skip explains the next stage, not evidence")

    def test_move_check_guided_process_allows(self):
        self.type_a.gate_mode = "guided"
        check = self._lead().stage_move_check([self.a3.id])[self.a3.id]
        self.assertTrue(check["allowed"])
        self.assertTrue(check["guided"])

    def test_won_target_is_odoo_team_aware_choice(self):
        """The Won button's stage: a won stage the lead's team sees, not the first one of the process."""
        other_team = self.env["crm.team"].create({"name": "Other team"})
        team_won = self.env["crm.stage"].create(
            {
                "name": "A2 won (other team)",
                "sequence": 2,
                "pipeline_type_id": self.type_a.id,
                "is_won": True,
                "team_ids": [other_team.id],
            }
        )
        lead = self._lead()
        won = lead.stage_won_target()
        self.assertEqual((won["id"], won["name"]), (self.a3.id, self.a3.display_name))
        self.assertEqual(won["check"], lead.stage_move_check([self.a3.id])[self.a3.id])
        self.assertFalse(won["check"]["allowed"], "the gate's answer comes with the stage: A1 to A3 skips A2")
        self.assertEqual(lead.with_user(self.rep).stage_won_target()["id"], self.a3.id)
        lead.sudo().team_id = other_team
        self.assertEqual(lead.stage_won_target()["id"], team_won.id)

    def test_won_target_none_when_won_or_no_won_stage(self):
        lead = self._lead()
        (self.a3 | self.a4).is_won = False
        self.assertFalse(lead.stage_won_target(), "the process has no won stage")
        self.a4.is_won = True
        self.assertFalse(self._lead(stage=self.a4).stage_won_target(), "already in the last won stage")

    def test_gate_mode_tells_the_client_when_to_ask(self):
        lead = self._lead()
        self.assertEqual(lead.pipeline_gate_mode, "enforced")
        self.type_a.gate_mode = "guided"
        self.assertEqual(lead.pipeline_gate_mode, "guided")

    def test_gate_mode_of_leads_of_several_processes(self):
        """Read together, leads of different processes each show their own process's mode."""
        self.type_a.gate_mode = "guided"
        guided, other_guided = self._lead(), self._lead()
        enforced = self._lead(stage=self.bx, pipeline_type_id=self.type_b.id)
        leads = self.env["crm.lead"].browse((guided | enforced | other_guided).ids)
        self.env.invalidate_all()
        leads.mapped("pipeline_type_id")  # the cards' own rows, read by the kanban anyway
        leads._stage_gate_structure()  # the registry cache, filled once for every request
        with self.assertQueryCount(0):  # no process record read
            self.assertEqual(leads.mapped("pipeline_gate_mode"), ["guided", "enforced", "guided"])
        self.assertEqual(
            leads.search([("id", "in", leads.ids), ("pipeline_gate_mode", "=", "guided")]),
            guided | other_guided,
        )
        self.assertEqual(
            leads.search([("id", "in", leads.ids), ("pipeline_gate_mode", "!=", "guided")]), enforced
        )

    def test_unreachable_stages(self):
        lead = self._lead()
        self.assertEqual(lead.stage_unreachable_ids, self.a3 | self.a4)
        self.type_a.allow_backward = False
        self._prove_a1(lead)
        lead.stage_id = self.a2
        self.assertEqual(lead.stage_unreachable_ids, self.a1 | self.a4)
        self.type_a.gate_mode = "guided"
        lead.invalidate_recordset(["stage_unreachable_ids"])
        self.assertFalse(lead.stage_unreachable_ids)

    # ---- evidence defaults and validation ----

    def test_evidence_defaults_from_milestone(self):
        lead = self._lead()
        self.customer.child_ids.filtered(lambda p: p != self.contact).unlink()
        evidence = self.env["crm.lead.evidence"].create(
            {
                "lead_id": lead.id,
                "milestone_id": self.m_summary.id,
                "summary": "Reply",
                "kind_id": self.kind_email.id,
            }
        )
        self.assertEqual(evidence.customer_partner_id, self.contact, "the customer's only contact")
        contract_lead = self._lead(stage=self.a3)
        evidence = self.env["crm.lead.evidence"].create(
            {"lead_id": contract_lead.id, "milestone_id": self.m_contract.id, "summary": "Signed"}
        )
        self.assertEqual(evidence.kind_id, self.kind_document, "the milestone's only accepted kind")

    def test_evidence_contact_not_guessed(self):
        """Two contacts at the customer: the rep picks one, and is told so."""
        self.env["res.partner"].create({"name": "Second buyer", "parent_id": self.customer.id})
        with self.assertRefused(ValidationError, "must be proven by the customer"):
            self.env["crm.lead.evidence"].create(
                {
                    "lead_id": self._lead().id,
                    "milestone_id": self.m_summary.id,
                    "kind_id": self.kind_email.id,
                    "summary": "Reply",
                }
            )

    def test_evidence_problems_reported_at_once(self):
        lead = self._lead()
        with self.assertRaises(ValidationError) as catcher:
            self.env["crm.lead.evidence"].create(
                {
                    "lead_id": lead.id,
                    "milestone_id": self.m_approval.id,
                    "kind_id": self.kind_meeting.id,
                    "summary": " ",
                    "date": fields.Date.add(fields.Date.today(), days=3),
                }
            )
        message = str(catcher.exception)
        self.assertIn("summary", message)
        self.assertIn("say who produced it", message)
        self.assertIn("in the future", message)
        self.assertFalse(lead.evidence_ids)

    # ---- one source of truth ----

    def test_evidence_proves_decision_maker_and_coach(self):
        dm, coach = self.env["crm.stage.milestone"].create(
            [
                {"name": "DM met", "stage_id": self.a1.id, "fact": "decision_maker_met", "required": False},
                {"name": "Coach", "stage_id": self.a1.id, "fact": "coach_secured", "required": False},
            ]
        )
        lead = self._lead()
        self.assertFalse(lead.has_decision_maker_access)
        self.assertIn("No coach", lead.buying_center_warnings)
        self.assertIn("No decision maker identified", lead.buying_center_warnings)
        self._evidence(lead, dm, kind_id=self.kind_meeting.id)
        self._evidence(lead, coach, kind_id=self.kind_meeting.id)
        self.assertTrue(lead.has_decision_maker_access)
        self.assertFalse(lead.buying_center_warnings)
        # So does the form while the rep edits the buying center, before saving.
        with Form(lead.with_user(self.rep)) as form:
            with form.stakeholder_ids.new() as line:
                line.partner_id = self.contact
                line.role_id = self.env.ref("sales_process_addon.stakeholder_role_user")
            self.assertTrue(form.has_decision_maker_access)
            self.assertNotIn("No decision maker", form.buying_center_warnings)
            self.assertNotIn("No coach", form.buying_center_warnings)

    def test_checklist_says_which_fact_would_meet_a_missing_milestone(self):
        facts = ("coach_secured", "decision_maker_met", "qualified_pursue", False)
        milestones = self.env["crm.stage.milestone"].create(
            [
                {"name": f"By {fact}", "stage_id": self.a1.id, "fact": fact, "required": False}
                for fact in facts
            ]
        )
        lead = self._lead()
        hints = {line["id"]: line["fact"] for line in lead.milestone_checklist}
        self.assertIn("Coach role", hints[milestones[0].id])
        self.assertIn("Decision maker", hints[milestones[1].id])
        self.assertIn("qualification question", hints[milestones[2].id])
        self.assertFalse(hints[milestones[3].id], "a milestone no fact meets has no hint")

    def test_customer_evidence_is_an_interaction(self):
        lead = self._lead()
        self.assertEqual(lead.relationship_status, "cold")
        self._evidence(lead, self.m_summary)
        self.assertEqual(lead.interaction_count, 1)
        self.assertEqual(lead.relationship_status, "warm")

    def test_risk_reasons_explain_level(self):
        lead = self._lead(stage=self.a2)
        self.assertEqual(lead.risk_level, "high")
        self.assertIn("Cold relationship", lead.risk_reasons)
        self.assertIn("Neither the decision maker reached nor a customer commitment", lead.risk_reasons)
        lead.action_set_lost()
        lead.invalidate_recordset(["risk_reasons"])
        self.assertFalse(lead.risk_reasons)

    # ---- exit criteria and the exception banner ----

    def test_exit_criteria_from_milestones(self):
        self.m_summary.description = "The buyer replied to our written summary."
        lead = self._lead()
        self.assertIn("Summary confirmed", lead.stage_exit_criteria)
        self.assertIn("The buyer replied", lead.stage_exit_criteria)
        self.env["crm.stage.milestone"].create({"name": "Fourth milestone", "stage_id": self.a1.id})
        lead.invalidate_recordset(["stage_exit_criteria"])
        self.assertIn(
            "Fourth milestone", lead.stage_exit_criteria, "one source: a new milestone shows at once"
        )

    def test_playbook_shown_as_the_stage_saved_it(self):
        """The opportunity shows the stage's playbook as sanitized when the stage was saved:
        a script an admin pastes never reaches the form, and the form does not sanitize again."""
        self.a1.playbook = '<p>Ask <b>who signs</b>.</p><script>alert("x")</script>'
        lead = self._lead()
        self.assertIn("<b>who signs</b>", lead.stage_playbook)
        self.assertNotIn("script", lead.stage_playbook)
        self.assertEqual(lead.stage_playbook, self.a1.playbook)
        self.assertFalse(lead._fields["stage_playbook"].sanitize, "sanitized once, on the stage")

    def test_banner_and_move_with_exception(self):
        lead = self._lead()
        with self.assertRefused(UserError, "no approved exception"):
            lead.action_move_with_exception()
        exception = (
            self.env["crm.stage.exception"]
            .with_user(self.rep)
            .create(
                {
                    "lead_id": lead.id,
                    "from_stage_id": self.a1.id,
                    "to_stage_id": self.a3.id,
                    "reason": "Framework contract",
                }
            )
        )
        self.assertEqual(lead.stage_exception_banner_state, "pending")
        self.assertEqual(lead.stage_exception_banner_target_id, self.a3)
        exception.with_user(self.manager).action_approve()
        self.assertEqual(lead.stage_exception_banner_state, "approved")
        self.assertNotIn(self.a3, lead.stage_unreachable_ids, "the approved exception opens its target")
        lead.with_user(self.rep).action_move_with_exception()
        self.assertEqual(lead.stage_id, self.a3)
        self.assertEqual(exception.state, "used")
        self.assertFalse(lead.stage_exception_banner_state)

    def test_rep_default_process(self):
        """The pipeline opens on the rep's team's process, else the company's."""
        Lead = self.env["crm.lead"].with_user(self.rep)
        self.env.company.default_pipeline_type_id = self.type_b
        self.assertEqual(Lead._pipeline_type_of_user(), self.type_b)
        self.team.member_ids = self.rep
        self.rep.invalidate_recordset(["sale_team_id"])
        self.assertEqual(Lead._pipeline_type_of_user(), self.type_a)

    def test_evidence_milestone_suggestion(self):
        """Use as Evidence suggests the first missing customer-led milestone a message can prove."""
        lead = self._lead()
        self.assertEqual(
            lead.evidence_milestone_suggestion(),
            {"milestone_id": self.m_summary.id, "kind_id": self.kind_email.id},
        )
        self._evidence(lead, self.m_summary)
        suggestion = lead.evidence_milestone_suggestion()
        self.assertEqual(suggestion["milestone_id"], self.m_approval.id, "else the first missing")
        self._evidence(lead, self.m_approval)
        self.assertFalse(lead.evidence_milestone_suggestion()["milestone_id"])
        contract_lead = self._lead(stage=self.a3)
        self.assertEqual(
            contract_lead.evidence_milestone_suggestion(),
            {"milestone_id": self.m_contract.id, "kind_id": self.kind_document.id},
            "the milestone's only accepted kind when it does not take an email",
        )

    def _exception(self, lead, to_stage, approve=False):
        """An exception the rep requests for ``lead`` from its stage to ``to_stage``, approved or pending."""
        exception = (
            self.env["crm.stage.exception"]
            .with_user(self.rep)
            .create({"lead_id": lead.id, "to_stage_id": to_stage.id, "reason": "Framework contract"})
        )
        if approve:
            exception.with_user(self.manager).action_approve()
        return exception

    def test_banner_prefers_the_approved_exception(self):
        """A pending request beside an approved one: the banner shows the one the rep may use,
        and the move check lets its target through."""
        lead = self._lead()
        self._exception(lead, self.a3, approve=True)
        self._exception(lead, self.a4)  # requested later: listed first
        self.assertEqual(lead.stage_exception_banner_state, "approved")
        self.assertEqual(lead.stage_exception_banner_target_id, self.a3)
        check = lead.stage_move_check([self.a3.id, self.a4.id])
        self.assertTrue(check[self.a3.id]["allowed"], "the approved exception opens A3")
        self.assertEqual(check[self.a3.id]["exception"]["state"], "approved")
        self.assertFalse(check[self.a4.id]["allowed"], "a pending request opens nothing")
        self.assertEqual(check[self.a4.id]["exception"]["state"], "pending")

    def test_pending_exception_moves_nothing(self):
        lead = self._lead()
        self._exception(lead, self.a3)
        self.assertEqual(lead.stage_exception_banner_state, "pending")
        with self.assertRefused(UserError, "no approved exception"):
            lead.with_user(self.rep).action_move_with_exception()
        self.assertEqual(lead.stage_id, self.a1)

    def test_exception_of_a_stage_left_applies_no_more(self):
        """An approved exception is for a move from its stage: once the lead has left that stage
        the regular way, neither the banner nor the move check offer it any more."""
        lead = self._lead()
        self._exception(lead, self.a4, approve=True)
        self._prove_a1(lead)
        lead.stage_id = self.a2
        self.assertFalse(lead.stage_exception_banner_id)
        self.assertFalse(lead.stage_exception_banner_state)
        self.assertIn(self.a4, lead.stage_unreachable_ids, "A2 to A4 skips A3")
        check = lead.stage_move_check([self.a4.id])[self.a4.id]
        self.assertFalse(check["allowed"])
        self.assertFalse(check["exception"])

    def test_move_check_leaves_out_the_current_stage(self):
        lead = self._lead()
        self.assertEqual(set(lead.stage_move_check([self.a1.id, self.a2.id])), {self.a2.id})

    def test_won_target_between_won_stages(self):
        """As Odoo's Won button: from a won stage, the next won stage, not the current one;
        from the last one, none (not an earlier won stage)."""
        won = self._lead(stage=self.a3).stage_won_target()
        self.assertEqual(won["id"], self.a4.id)
        self.assertFalse(self._lead(stage=self.a4).stage_won_target(), "already in the last won stage")

    def test_ui_helpers_refused_to_whom_may_not_read_the_lead(self):
        lead = self._lead()
        for method, args in (("stage_move_check", ([self.a2.id],)), ("evidence_milestone_suggestion", ())):
            with self.subTest(method=method), self.assertRaises(AccessError):
                getattr(lead.with_user(self.other_rep), method)(*args)

    def test_suggestion_is_a_customer_milestone_an_email_proves(self):
        """Before it in order: one of ours, and a customer's one proven by a document only."""
        self.m_summary.sequence = 100
        self.env["crm.stage.milestone"].create(
            {
                "name": "NDA signed",
                "stage_id": self.a1.id,
                "sequence": 50,
                "customer_led": True,
                "evidence_kind_ids": [(6, 0, self.kind_document.ids)],
            }
        )
        self.assertEqual(
            self._lead().evidence_milestone_suggestion(),
            {"milestone_id": self.m_summary.id, "kind_id": self.kind_email.id},
        )

    def test_evidence_awaiting_verification(self):
        """Evidence recorded, not verified yet: the move dialog says the milestone awaits a manager,
        and Use as Evidence suggests the next missing milestone."""
        lead = self._lead(stage=self.a2)
        self._evidence(lead, self.m_clearance)
        check = lead.stage_move_check([self.a3.id])[self.a3.id]
        self.assertEqual(
            {m["id"]: m["awaiting_verification"] for m in check["missing"]},
            {self.m_clearance.id: True, self.m_contract.id: False},
        )
        self.assertEqual(
            lead.evidence_milestone_suggestion()["milestone_id"],
            self.m_contract.id,
            "the clearance awaits a manager: the next missing milestone",
        )

    def test_suggestion_no_kind_among_several(self):
        """A milestone accepting several kinds, none an email: the rep picks the kind."""
        self.m_contract.evidence_kind_ids = self.kind_document | self.kind_meeting
        self.assertEqual(
            self._lead(stage=self.a3).evidence_milestone_suggestion(),
            {"milestone_id": self.m_contract.id, "kind_id": False},
        )

    def test_exit_criteria_leave_out_archived_milestones(self):
        lead = self._lead()
        self.m_approval.active = False
        lead.invalidate_recordset(["stage_exit_criteria"])
        self.assertIn("Summary confirmed", lead.stage_exit_criteria)
        self.assertNotIn("Internal approval", lead.stage_exit_criteria)

    def test_risk_reasons_leave_out_unknown_codes(self):
        """A code no longer given (stored by an earlier version) is left out, not an error."""
        lead = self._lead(stage=self.a2)
        lead.risk_reason_codes = "cold,retired_code"
        self.assertEqual(lead.risk_reasons, "Cold relationship: no interaction in 30 days")

    def test_no_stage_out_of_reach_before_a_stage(self):
        """An opportunity of a process not in a stage yet (as while a form is filled in): nothing out of reach."""
        lead = self.env["crm.lead"].new(
            {"name": "New deal", "type": "opportunity", "pipeline_type_id": self.type_a.id}
        )
        lead.stage_id = False
        self.assertFalse(lead.stage_unreachable_ids)
