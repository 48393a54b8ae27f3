import re
from datetime import datetime, timedelta

from odoo import Command, fields, sql_db
from odoo.exceptions import AccessError, UserError, ValidationError
from odoo.tests import Form, tagged

from .common_gate import StageGateCase


@tagged("post_install", "-at_install")
class TestGateIntegrity(StageGateCase):
    """The gate judges the stored stage state, whatever is written (issue: gate integrity)."""

    def _history(self, lead):
        return self.env["crm.lead.stage.history"].search([("lead_id", "=", lead.id)], order="id")

    # --- 1. no stage, no process: not states a user can put a lead into

    def test_stage_cannot_be_emptied(self):
        lead = self._lead()
        for vals in (
            {"stage_id": False},
            {"pipeline_type_id": False, "stage_id": False},
            {"pipeline_type_id": False},
        ):
            with self.subTest(vals=vals), self.assertRaises(UserError):
                lead.with_user(self.rep).write(vals)
        self.assertEqual((lead.stage_id, lead.pipeline_type_id), (self.a1, self.type_a))

    def test_lead_created_without_a_process_gets_the_default_one(self):
        """An explicit False (an empty import cell, an RPC client) is no process: the team's, as
        for a lead created without it; it starts in the first stage as any new lead."""
        Lead = self.env["crm.lead"].with_user(self.rep)
        values = {"name": "No process given", "type": "opportunity", "team_id": self.team.id}
        lead = Lead.create({**values, "pipeline_type_id": False})
        self.assertEqual((lead.pipeline_type_id, lead.stage_id), (self.type_a, self.a1))
        with self.assertRefused(ValidationError, 'would start in "A2"'):
            Lead.create({**values, "pipeline_type_id": False, "stage_id": self.a2.id})
        with self.assertRefused(ValidationError, 'would start in "A3"'):
            Lead.create({**values, "pipeline_type_id": False, "stage_id": self.a3.id})

    def test_lead_without_a_process_joins_one_in_its_first_stage(self):
        """A lead of no process (stored before the install, or by SQL) joins one as a new lead
        starts: a salesman in the first stage, a sales manager further along (noted)."""
        lead = self._lead(name="Legacy deal", team_id=self.team.id)
        self.env.cr.execute(
            "UPDATE crm_lead SET pipeline_type_id = NULL, stage_id = NULL WHERE id = %s", [lead.id]
        )
        lead.invalidate_recordset()
        for vals in (
            {"pipeline_type_id": self.type_a.id, "stage_id": self.a3.id},
            {"team_id": self.team.id, "stage_id": self.a2.id},  # the team's process
        ):
            with self.subTest(vals=vals), self.assertRefused(ValidationError, "would join its sales process"):
                lead.with_user(self.rep).write(vals)
        self.assertEqual(
            (lead.pipeline_type_id.id, lead.stage_id.id, lead.won_status), (False, False, "pending")
        )
        lead.with_user(self.manager).write({"pipeline_type_id": self.type_a.id, "stage_id": self.a2.id})
        self.assertEqual(lead.stage_id, self.a2)
        self.assertEqual(
            self._history(lead)[-1].note,
            "Existing opportunity joined the sales process in a later stage, by a sales manager.",
        )

    def test_stage_value_must_be_an_id(self):
        lead = self._lead()
        for value, shown in (
            ("abc", "abc"),
            ([self.a2.id], f"[{self.a2.id}]"),
            ({"id": self.a2.id}, f"{{'id': {self.a2.id}}}"),
            ("2", "2"),
            (999999999, "999999999"),
        ):
            with (
                self.subTest(value=value),
                self.assertRefused(
                    ValidationError, f'"{re.escape(shown)}" is not the id of an existing record'
                ),
            ):
                lead.with_user(self.rep).write({"stage_id": value})
        self.assertEqual(lead.stage_id, self.a1)

    def test_switch_never_wins(self):
        """Two writes (empty, then the other process's won stage) and a direct write are refused."""
        lead = self._lead()
        with self.assertRefused(ValidationError, "never wins a deal"):
            lead.with_user(self.rep).write({"pipeline_type_id": self.type_b.id, "stage_id": self.bwon.id})
        self.assertEqual(lead.won_status, "pending")

    def test_switch_maps_short_of_won_and_of_unproven_stages(self):
        lead = self._lead()
        self._prove_a1(lead)
        lead.with_user(self.rep).stage_id = self.a2
        # A2 (in funnel, evaluation) maps to B2 by buyer stage; B2 is not reached without proving BX:
        # BX has no required milestones, so B2 is allowed.
        lead.with_user(self.rep).pipeline_type_id = self.type_b
        self.assertEqual(lead.stage_id, self.b2)
        self.assertEqual(lead.won_status, "pending")
        self.assertEqual(self._history(lead)[-1].event, "type_switch")
        # A stage whose buyer stage only the other process's won stage shares maps short of it.
        self.bwon.buyer_stage_id = self.buyer_decision
        negotiation = self.env["crm.stage"].create(
            {
                "name": "Negotiation",
                "sequence": 2,
                "pipeline_type_id": self.type_a.id,
                "buyer_stage_id": self.buyer_decision.id,
                "funnel_state_id": self.funnel_in.id,
            }
        )
        closing = self._lead(negotiation, name="Closing")
        closing.with_user(self.rep).pipeline_type_id = self.type_b
        self.assertEqual((closing.stage_id, closing.won_status), (self.b2, "pending"))  # same funnel state
        # The buyer stage comes before the funnel state.
        review = negotiation.copy(
            {"name": "Review", "buyer_stage_id": self.buyer_eval.id, "funnel_state_id": self.funnel_search.id}
        )
        reviewed = self._lead(review, name="Reviewed")
        reviewed.with_user(self.rep).pipeline_type_id = self.type_b
        self.assertEqual(reviewed.stage_id, self.b2, "B2 shares its buyer stage, BX only its funnel state")

    def test_switch_into_enforced_process_lands_no_further_than_proof(self):
        blocker = self.env["crm.stage.milestone"].create(
            {"name": "BX proof", "stage_id": self.bx.id, "customer_led": False}
        )
        lead = self._lead()
        self._prove_a1(lead)
        lead.stage_id = self.a2
        lead.with_user(self.rep).pipeline_type_id = self.type_b
        self.assertEqual(lead.stage_id, self.bx, "BX's milestone is unproven: the switch stops there")
        with self.assertRefused(ValidationError, "milestones of its earlier stages are not proven"):
            lead.with_user(self.rep).write({"pipeline_type_id": self.type_a.id})  # back to A: fine
            lead.with_user(self.rep).write({"pipeline_type_id": self.type_b.id, "stage_id": self.b2.id})
        self.assertTrue(blocker)

    def test_switch_in_the_form_lands_where_the_proof_allows(self):
        """The form places a switched deal as the server does: what it proved follows it
        (BX's milestone shares its proof key with A1's summary)."""
        self.m_summary.proof_key = "test_summary"
        self.env["crm.stage.milestone"].create(
            {"name": "BX proof", "stage_id": self.bx.id, "customer_led": True, "proof_key": "test_summary"}
        )
        lead = self._lead()
        self._prove_a1(lead)
        lead.stage_id = self.a2
        with Form(lead.with_user(self.rep)) as form:
            form.pipeline_type_id = self.type_b
            self.assertEqual(form.stage_id, self.b2)
        self.assertEqual(lead.stage_id, self.b2)

    def test_lost_deal_keeps_its_process(self):
        """As the form shows it (read-only): restored first, it may switch."""
        lead = self._lead()
        lead.with_user(self.rep).action_set_lost()
        with self.assertRefused(
            ValidationError, "a lost deal keeps the sales process and the stage it was lost in"
        ):
            lead.with_user(self.rep).pipeline_type_id = self.type_b
        self.assertEqual(
            (lead.pipeline_type_id, lead.stage_id, lead.won_status), (self.type_a, self.a1, "lost")
        )
        with self.assertRefused(ValidationError, "Restore it first"):
            lead.with_user(self.rep).write({"active": True, "pipeline_type_id": self.type_b.id})
        lead.with_user(self.rep).action_unarchive()
        lead.with_user(self.rep).pipeline_type_id = self.type_b
        self.assertEqual(
            (lead.pipeline_type_id, lead.stage_id, lead.won_status), (self.type_b, self.bx, "pending")
        )

    def test_won_deal_keeps_its_process(self):
        lead = self._lead(stage=self.a3)  # created as manager (superuser) in the won stage
        self.assertEqual(lead.won_status, "won")
        with self.assertRefused(ValidationError, "a won deal keeps its sales process"):
            lead.with_user(self.rep).pipeline_type_id = self.type_b
        self.assertEqual((lead.pipeline_type_id, lead.won_status), (self.type_a, "won"))

    # --- 3. derived fields

    def test_derived_fields_not_writable(self):
        lead = self._lead()
        for vals in (
            {"won_status": "won"},
            {"date_last_stage_update": "2000-01-01 00:00:00"},
            {"funnel_state_id": self.funnel_best.id},
            # The addon's other derived statuses: what a rep could otherwise forge over RPC.
            {"risk_level": "low"},
            {"relationship_status": "active"},
            {"qualification_status": "pursue"},
            {"evidence_probability": 99.0},
            {"customer_commitment": True},
        ):
            with self.subTest(vals=vals), self.assertRefused(UserError, "cannot be written"):
                lead.with_user(self.rep).write(vals)
        self.assertEqual(lead.won_status, "pending")
        lead.with_user(self.rep).write(
            {"name": "Renamed", "expected_revenue": 1000}
        )  # plain fields stay writable
        self.assertEqual(lead.name, "Renamed")
        with self.assertRefused(UserError, "cannot be written"):
            self.env["crm.lead"].with_user(self.rep).create(
                {
                    "name": "Forged",
                    "type": "opportunity",
                    "pipeline_type_id": self.type_a.id,
                    "won_status": "won",
                }
            )

    def test_batch_stage_write_keeps_entry_date_of_leads_already_there(self):
        start = datetime(2026, 3, 2, 9, 0)
        with self.at(start):
            staying, moving = self._lead(), self._lead(stage=self.a2)
        with self.at(start + timedelta(days=3)):
            (staying | moving).write({"stage_id": self.a1.id})
        self.assertEqual(staying.date_last_stage_update, start)
        self.assertEqual(moving.date_last_stage_update, start + timedelta(days=3))

    # --- 4. exceptions: four eyes, fixed move, expiry

    def _request(self, lead, stage, user=None):
        return (
            self.env["crm.stage.exception"]
            .with_user(user or self.rep)
            .create(
                {
                    "lead_id": lead.id,
                    "to_stage_id": stage.id,
                    "reason": "Customer <b>signed</b> a framework deal",
                }
            )
        )

    def test_exception_move_is_fixed_and_only_requester_edits(self):
        lead = self._lead()
        own = self._lead(name="Manager's own deal", user_id=self.manager.id)
        exception = self._request(lead, self.a2)
        for vals in ({"lead_id": own.id}, {"to_stage_id": self.a3.id}, {"from_stage_id": self.a2.id}):
            with self.subTest(vals=vals), self.assertRaises(UserError):
                exception.with_user(self.manager).write(vals)
        with self.assertRefused(AccessError, "Only the person who requested"):
            exception.with_user(self.manager).write({"reason": "Edited by someone else"})
        exception.with_user(self.rep).write({"reason": "Better reason"})
        with self.assertRefused(AccessError, "another sales manager must decide"):
            self._request(own, self.a2, user=self.manager).with_user(self.manager).action_approve()

    def test_exception_needs_a_stage_to_start_from(self):
        self.type_a.gate_mode = "guided"  # only a guided process lets a lead have no stage
        lead = self._lead()
        lead.stage_id = False
        with self.assertRefused(ValidationError, "put it in a stage first"):
            self._request(lead, self.a2)

    def test_exception_reason_escaped_in_approver_activity(self):
        exception = self._request(self._lead(), self.a2)
        note = str(exception.activity_ids.note)
        self.assertNotIn("<b>", note)
        self.assertIn("&lt;b&gt;", note)

    def test_rejection_needs_comment_and_requester_is_told(self):
        lead = self._lead()
        exception = self._request(lead, self.a2)
        with self.assertRefused(UserError, "Say why you reject"):
            exception.with_user(self.manager).action_reject()
        exception.with_user(self.manager).action_reject("No evidence of the budget")
        self.assertEqual(exception.decision_comment, "No evidence of the budget")
        last = lead.message_ids[0]
        self.assertIn("rejected", last.body)
        self.assertIn(self.rep.partner_id, last.partner_ids)

    def test_approved_exception_expires(self):
        start = datetime(2026, 3, 2, 9, 0)
        with self.at(start):
            lead = self._lead()  # in A1 since before the approval: only the validity date refuses
            exception = self._request(lead, self.a2)
            exception.with_user(self.manager).action_approve("Fine")
        with self.at(start + timedelta(days=15)), self.assertRefused(ValidationError, "missing milestones"):
            lead.with_user(self.rep).stage_id = self.a2
        with self.at(start + timedelta(days=15)):
            self.env["crm.stage.exception"]._cron_expire()
        self.assertEqual(exception.state, "expired")

    def test_approved_exception_only_from_its_stage(self):
        start = datetime(2026, 3, 2, 9, 0)
        with self.at(start):
            lead = self._lead()
            exception = self._request(lead, self.a3)  # skip A2 and win
            exception.with_user(self.manager).action_approve("Signed early")
            self._prove_a1(lead)
        with self.at(start + timedelta(hours=1)):
            lead.with_user(self.rep).stage_id = self.a2
        with self.at(start + timedelta(hours=2)):
            lead.with_user(self.rep).stage_id = self.a1  # back in A1: the exception was for A1 -> A3 before
        with self.at(start + timedelta(hours=3)), self.assertRefused(ValidationError, "cannot jump"):
            lead.with_user(self.rep).stage_id = self.a3
        self.env["crm.stage.exception"]._cron_expire()
        self.assertEqual(exception.state, "expired")

    def test_exception_approved_after_the_lead_moved_on(self):
        """An exception opens its own move only: approved after the lead left its from-stage,
        it does not open the same target from the stage the lead is in now."""
        start = datetime(2026, 3, 2, 9, 0)
        with self.at(start):
            lead = self._lead()
            exception = self._request(lead, self.a3)  # A1 -> A3, skipping A2
            self._prove_a1(lead)
        with self.at(start + timedelta(hours=1)):
            lead.with_user(self.rep).stage_id = self.a2
        with self.at(start + timedelta(hours=2)):
            exception.with_user(self.manager).action_approve("Signed early")
        with self.at(start + timedelta(hours=3)), self.assertRefused(ValidationError, "missing milestones"):
            lead.with_user(self.rep).stage_id = self.a3
        self.assertEqual((lead.stage_id, exception.state), (self.a2, "approved"))

    def test_exception_used_once_and_logged(self):
        lead = self._lead()
        exception = self._request(lead, self.a3)
        exception.with_user(self.manager).action_approve("Signed early")
        lead.with_user(self.rep).stage_id = self.a3
        self.assertEqual((exception.state, lead.won_status), ("used", "won"))
        row = self._history(lead)[-1]
        self.assertEqual((row.event, row.exception_id, row.proof), ("won", exception, "exception"))
        self.assertIn("used", lead.message_ids[0].body)

    # --- 5. stage changes through other fields

    def test_team_change_is_judged_and_recorded(self):
        team_stage = self.env["crm.stage"].create(
            {
                "name": "A0 team intake",
                "sequence": 0,
                "pipeline_type_id": self.type_a.id,
                "team_ids": [(6, 0, self.team.ids)],
            }
        )
        lead = self._lead(team_id=self.team.id, stage=team_stage)
        other_team = self.env["crm.team"].create({"name": "Other team"})
        lead.with_user(self.manager).team_id = other_team  # Odoo resets the stage to the new team's first
        self.assertEqual(lead.stage_id, self.a1)
        row = self._history(lead)[-1]
        self.assertEqual((row.from_stage_id, row.to_stage_id), (team_stage, self.a1))

    def test_team_stages_are_the_team_sequence(self):
        other_team = self.env["crm.team"].create({"name": "Other team"})
        other_step = self.env["crm.stage"].create(
            {
                "name": "Other team's step",
                "sequence": 1,
                "pipeline_type_id": self.type_a.id,
                "team_ids": [(6, 0, other_team.ids)],
            }
        )
        lead = self._lead(team_id=self.team.id)
        self._prove_a1(lead)
        lead.with_user(self.rep).stage_id = self.a2  # the other team's stage is not in its way
        self.assertEqual(lead.stage_id, self.a2)
        theirs = self._lead(team_id=other_team.id)
        self._prove_a1(theirs)
        with self.assertRefused(ValidationError, 'the next one is "Other team\'s step"'):
            theirs.with_user(self.rep).stage_id = self.a2  # in theirs, it is
        theirs.with_user(self.rep).stage_id = other_step
        theirs.with_user(self.rep).stage_id = self.a2
        self.assertEqual(theirs.stage_id, self.a2)

    # --- lost from anywhere, restore brings back the stage's tasks

    def test_lost_from_anywhere_and_restore(self):
        lead = self._lead()
        lead.with_user(self.rep).action_set_lost()
        self.assertEqual(lead.won_status, "lost")
        lead.with_user(self.rep).action_unarchive()
        self.assertEqual(lead.won_status, "pending")
        self.assertEqual(self._history(lead).mapped("event"), ["create", "lost", "restore"])

    def test_lost_deal_stays_in_the_stage_it_was_lost_in(self):
        """Lost or restored in the same change as a move: refused in an enforced process, and in a
        guided one recorded as the loss or the restore it is (a move alone would hide it)."""
        lead = self._lead()
        self._prove_a1(lead)
        lead.with_user(self.rep).stage_id = self.a2
        lead.with_user(self.rep).action_set_lost()
        for vals in ({"stage_id": self.a1.id}, {"stage_id": self.a1.id, "active": True}):
            with (
                self.subTest(vals=vals),
                self.assertRefused(ValidationError, "while it is lost, or as it is lost"),
            ):
                lead.with_user(self.manager).write(vals)
        lead.with_user(self.rep).action_unarchive()
        with self.assertRefused(ValidationError, "a deal is lost in the stage it stands in"):
            lead.with_user(self.manager).write({"stage_id": self.a1.id, "active": False, "probability": 0})
        self.assertEqual((lead.stage_id, lead.won_status), (self.a2, "pending"))
        self.assertEqual(self._history(lead).mapped("event"), ["create", "forward", "lost", "restore"])
        self.type_a.gate_mode = "guided"
        lead.with_user(self.rep).write({"stage_id": self.a1.id, "active": False, "probability": 0})
        lead.with_user(self.rep).write({"stage_id": self.a2.id, "active": True})
        rows = self._history(lead)[-2:]
        self.assertEqual(
            [(row.event, row.from_stage_id, row.to_stage_id) for row in rows],
            [("lost", self.a2, self.a1), ("restore", self.a1, self.a2)],
        )

    def test_a_stage_moved_by_a_compute_is_dated(self):
        """A process switch moves the stage without writing it: its entry date follows all the same,
        so the time in the new stage counts from the switch, and an exception approved for a move
        from the old stage is not reused after switching away and back."""
        with self.at(datetime(2026, 3, 2, 9, 0)):
            lead = self._lead()
            exception = self._request(lead, self.a3)
            exception.with_user(self.manager).action_approve()
        with self.at(datetime(2026, 3, 5, 9, 0)):
            lead.with_user(self.rep).pipeline_type_id = self.type_b
            self.assertEqual(lead.date_last_stage_update, datetime(2026, 3, 5, 9, 0))
        with self.at(datetime(2026, 3, 5, 10, 0)):
            lead.with_user(self.rep).pipeline_type_id = self.type_a
            self.assertEqual(lead.stage_id, self.a1)
            self.assertEqual(self._history(lead)[-1].days_in_previous_stage, 0.04, "an hour in B's stage")
            with self.assertRaises(ValidationError):
                lead.with_user(self.rep).stage_id = self.a3
        self.assertEqual(exception.state, "approved", "not used: the lead left its stage since")

    def test_stage_of_the_audit_trail_stays(self):
        """Deleting a stage would delete the exceptions of moves into or out of it, and blank the
        history's stage: a stage the gate let deals through with proof stays."""
        self.type_a.allow_backward = True
        lead = self._lead()
        self._prove_a1(lead)
        lead.with_user(self.rep).stage_id = self.a2
        lead.with_user(self.rep).stage_id = self.a1
        self.assertFalse(
            self.env["crm.lead"].with_context(active_test=False).search([("stage_id", "=", self.a2.id)])
        )
        with self.assertRefused(UserError, 'The stage "A2" is part of the audit trail'):
            self.a2.unlink()
        self.assertTrue(self.a2.exists())
        spare = self.env["crm.pipeline.type"].create(
            {"name": "Spare", "code": "spare", "gate_mode": "enforced"}
        )
        unused = self.env["crm.stage"].create({"name": "Unused", "pipeline_type_id": spare.id})
        unused.unlink()
        self.assertFalse(unused.exists())

    def test_structure_read_before_a_change_is_dropped_at_its_commit(self):
        """Another thread of the server, in a transaction that does not see the change yet, may
        fill the gate's cache meanwhile: the commit clears it once more."""
        self.m_optional.required = True
        self.env.registry.clear_cache()  # as the change did, before reading the structure again
        with sql_db.db_connect(self.env.cr.dbname).cursor() as other:  # the change is not committed there
            self.env(cr=other)["crm.lead"]._stage_gate_structure()
        self.assertNotIn(
            self.a1.id, self.env["crm.lead"]._stage_gate_structure()["stages"], "filled meanwhile"
        )
        with self.enter_registry_test_mode():
            self.env.cr.postcommit.run()  # what the commit runs after it
        required = self.env["crm.lead"]._stage_gate_structure()["stages"][self.a1.id]["required"]
        self.assertIn(self.m_optional.id, required)

    def test_stage_with_deals_stays_in_its_process(self):
        """Its deals would sit in a stage of another process than theirs: refused in every mode."""
        self.type_b.gate_mode = "guided"
        lead = self._lead(stage=self.bx, pipeline_type_id=self.type_b.id)
        with self.assertRefused(UserError, 'Stage "BX" holds 1 opportunities: it can only move'):
            self.bx.pipeline_type_id = self.type_a
        self.assertEqual((lead.stage_id.pipeline_type_id, lead.pipeline_type_id), (self.type_b, self.type_b))
        lead.with_user(self.rep).stage_id = self.b2
        self.bx.with_user(self.manager).write({"pipeline_type_id": self.type_a.id, "sequence": 0})
        self.assertEqual(self.bx.pipeline_type_id, self.type_a)

    def test_process_enforced_once_each_deal_has_a_stage(self):
        """A guided process allows a deal without a stage; an enforced one does not."""
        self.type_b.gate_mode = "guided"
        lead = self._lead(stage=self.bx, pipeline_type_id=self.type_b.id)
        lead.with_user(self.rep).stage_id = False
        with self.assertRefused(
            ValidationError, '1 opportunities of the sales process "Process B" have no stage'
        ):
            self.type_b.gate_mode = "enforced"
        lead.with_user(self.rep).stage_id = self.bx
        self.type_b.gate_mode = "enforced"
        self.assertEqual(self.type_b.gate_mode, "enforced")

    def test_no_entry_into_another_team_s_stage(self):
        """A lead's stages are the shared ones and its team's: another team's is no step of its."""
        other_team, a1x = self._other_team_stage()
        lead = self._lead(team_id=self.team.id)
        self._prove_a1(lead)
        with self.assertRefused(ValidationError, "that stage is one of other sales teams"):
            lead.with_user(self.manager).stage_id = a1x
        self.assertEqual(lead.stage_id, self.a1)
        theirs = self._lead(name="Other team's deal", team_id=other_team.id)
        self._prove_a1(theirs)
        theirs.with_user(self.manager).stage_id = a1x
        self.assertEqual(theirs.stage_id, a1x)

    def test_merge_of_deals_of_two_processes_keeps_their_exceptions(self):
        """The merged deal's exceptions move to the kept one, as history; a request for a move of
        the other process can never be used there: it expires."""
        head = self._lead(name="Kept deal")
        self._prove_a1(head)
        head.stage_id = self.a2
        tail = self._lead(name="Merged deal", pipeline_type_id=self.type_b.id, stage_id=self.bx.id)
        self.type_b.allow_backward = False
        tail.with_user(self.rep).stage_id = self.b2
        used = self._request(tail, self.bx)
        used.with_user(self.manager).action_approve()
        tail.with_user(self.rep).stage_id = self.bx  # back: through the exception
        pending = self._request(tail, self.bwon)
        head.probability = 80  # the deal Odoo keeps
        merged = (head | tail).with_user(self.manager).merge_opportunity()
        self.assertEqual(merged, head)
        self.assertEqual((used | pending).lead_id, head)
        self.assertEqual((used.state, pending.state), ("used", "expired"))

    def test_merge_into_another_team_stays_in_the_process(self):
        """Odoo resets a merged deal's stage to the new team's first stage, of any process: within
        the deal's own process instead, so the merge is not refused."""
        other_team, a1x = self._other_team_stage()
        head = self._lead(a1x, name="Kept deal", team_id=other_team.id)
        tail = self._lead(name="Merged deal", team_id=other_team.id)
        head.probability = 80
        merged = (head | tail).with_user(self.manager).merge_opportunity(team_id=self.team.id)
        self.assertEqual(merged, head)
        self.assertEqual(
            (head.team_id, head.pipeline_type_id, head.stage_id), (self.team, self.type_a, self.a1)
        )
        self.assertEqual(self._history(head)[-1].to_stage_id, self.a1)

    def test_evidence_saved_with_the_move_proves_the_stage_left(self):
        """One save (the form's, or an RPC client's) with the last evidence of a stage and the move out
        of it is judged as the two saves in a row: the lines first, then the move."""

        def line(milestone, **values):
            vals = {
                "milestone_id": milestone.id,
                "kind_id": (milestone.evidence_kind_ids[:1] or self.kind_meeting).id,
                "summary": f"Proof of {milestone.name}",
                "date": fields.Date.today(),
                **values,
            }
            return Command.create(vals)

        summary = line(self.m_summary, customer_partner_id=self.contact.id)
        approval = line(self.m_approval, internal_user_id=self.rep.id)
        clearance = line(self.m_clearance, customer_partner_id=self.contact.id)
        lead = self._lead()
        with self.assertRefused(ValidationError, "missing milestones: Internal approval"):
            lead.with_user(self.rep).write({"evidence_ids": [summary, clearance], "stage_id": self.a2.id})
        self.assertEqual((lead.stage_id, lead.evidence_ids), (self.a1, self.env["crm.lead.evidence"]))
        with self.assertRefused(ValidationError, 'milestone "Technical clearance" belongs to stage "A2"'):
            lead.with_user(self.rep).write({"evidence_ids": [clearance]})
        paid = line(self.m_paid, customer_partner_id=self.contact.id)
        with self.assertRefused(ValidationError, 'belongs to stage "A4".*the opportunity is in stage "A1"'):
            # A4's proof with a move to A2: neither the stage left nor the one entered (nor the won
            # stage right after it); refused, the deal stays in A1, as the message says.
            lead.with_user(self.rep).write({"evidence_ids": [paid], "stage_id": self.a2.id})
        lead.with_user(self.rep).write(
            {"evidence_ids": [summary, approval, clearance], "stage_id": self.a2.id}
        )
        self.assertEqual(lead.stage_id, self.a2)
        self.assertEqual(len(lead.evidence_ids), 3)
        self.assertEqual(self._history(lead)[-1].evidence_ids.milestone_id, self.m_summary | self.m_approval)

    def test_import_row_with_the_evidence_of_the_stage_it_leaves(self):
        """An import updating a deal's stage with the evidence of the stage it leaves, in the same
        rows (one ``load``): judged as the evidence first, then the move."""
        lead = self._lead()
        fields_ = [
            ".id",
            "stage_id/.id",
            "evidence_ids/milestone_id/.id",
            "evidence_ids/kind_id/.id",
            "evidence_ids/summary",
            "evidence_ids/customer_partner_id/.id",
            "evidence_ids/internal_user_id/.id",
        ]
        rows = [
            [
                str(lead.id),
                str(self.a2.id),
                str(self.m_summary.id),
                str(self.kind_email.id),
                "Summary confirmed by email",
                str(self.contact.id),
                "",
            ],
            ["", "", str(self.m_approval.id), str(self.kind_meeting.id), "Approved", "", str(self.rep.id)],
        ]
        result = self.env["crm.lead"].with_user(self.rep).load(fields_, rows)
        self.assertFalse([m for m in result["messages"] if m["type"] == "error"], result["messages"])
        self.assertEqual(lead.stage_id, self.a2)
        self.assertEqual(self._history(lead)[-1].evidence_ids.milestone_id, self.m_summary | self.m_approval)

    def test_server_flags_are_no_context_keys(self):
        """What the server tells itself during a save (the stages before a move saved with lines,
        a lead being created, a merge) cannot come from a client's context."""
        lead = self._lead()
        flags = {
            "sales_process_stages_before": {lead.id: self.a2.id},
            "sales_process_creating_leads": True,
            "sales_process_merge": True,
        }
        with self.assertRefused(ValidationError, 'belongs to stage "A2"'):
            self.env["crm.lead.evidence"].with_user(self.rep).with_context(**flags).create(
                {
                    "lead_id": lead.id,
                    "milestone_id": self.m_clearance.id,
                    "kind_id": self.kind_meeting.id,
                    "summary": "Clearance ahead of time",
                    "customer_partner_id": self.contact.id,
                }
            )
        signal = (
            self.env["crm.lead.signal"]
            .with_user(self.rep)
            .with_context(**flags)
            .create({"lead_id": lead.id, "category": "people", "description": "Sponsor leaves"})
        )
        self.assertTrue(signal.followup_activity_id, "followed up as any signal")

    def test_stage_kept_for_the_teams_of_its_deals(self):
        """An enforced stage cannot be kept from the team of a deal in it: the deal would sit outside
        its team's sequence, and the stage Odoo resets it to on a new salesperson is a move back."""
        other_team, _a1x = self._other_team_stage()
        lead = self._lead(team_id=self.team.id)
        with self.assertRefused(
            UserError, '1 opportunities of other sales teams than Other team are in stage "A1"'
        ):
            self.a1.team_ids = other_team
        self.assertFalse(self.a1.team_ids)
        self.a1.team_ids = other_team | self.team
        self.assertEqual(lead.stage_id, self.a1)

    def test_won_deal_is_not_lost_directly(self):
        """Odoo refuses to lose a deal in a won stage: it is moved back first (where the process allows)."""
        lead = self._lead(stage=self.a3)
        with self.assertRefused(ValidationError, "cannot be lost"):
            lead.with_user(self.rep).action_set_lost()
        lead.with_user(self.manager).stage_id = self.a2
        lead.with_user(self.manager).action_set_lost()
        self.assertEqual(self._history(lead).mapped("event")[-2:], ["backward", "lost"])

    def test_proven_opportunity_cannot_be_deleted(self):
        lead = self._lead()
        self._prove_a1(lead)
        unproven = self._lead(name="Typo")
        unproven.with_user(self.manager).unlink()  # nothing proven yet: a mistake can be deleted
        lead.with_user(self.rep).stage_id = self.a2
        with self.assertRefused(UserError, "audit trail"):
            lead.with_user(self.manager).unlink()
        self.assertTrue(lead.exists())

    def test_guided_process_moves_freely_and_records_proof(self):
        self.type_a.gate_mode = "guided"
        lead = self._lead()
        lead.with_user(self.rep).stage_id = self.a3
        self.assertEqual(lead.won_status, "won")
        row = self._history(lead)[-1]
        self.assertEqual((row.event, row.proof), ("won", "unproven"))

    def test_stage_order_ignores_language(self):
        """Equal sequences: the gate orders by id, whatever the translated names."""
        self.a2.sequence = 1  # same as A1
        self.env["res.lang"]._activate_lang("zh_CN")
        self.a1.with_context(lang="zh_CN").name = "乙"
        self.a2.with_context(lang="zh_CN").name = "甲"
        for lang in ("en_US", "zh_CN"):
            with self.subTest(lang=lang):
                lead = self._lead().with_context(lang=lang)
                sequence = lead._stage_gate_sequence(self.type_a.id, False)
                self.assertEqual(sequence[:2], [self.a1.id, self.a2.id])
                stages = (
                    self.env["crm.stage"]
                    .with_context(lang=lang)
                    .search([("pipeline_type_id", "=", self.type_a.id)])
                )
                self.assertEqual(stages[:2], self.a1 | self.a2)
