from odoo.exceptions import ValidationError
from odoo.tests import tagged

from .common_gate import StageGateCase


@tagged("post_install", "-at_install")
class TestStageGate(StageGateCase):
    # ------------------------------------------------------------
    # Forward, one stage at a time, with evidence
    # ------------------------------------------------------------

    def test_forward_with_milestones_evidenced(self):
        lead = self._lead()
        self._prove_a1(lead)
        lead.with_user(self.rep).stage_id = self.a2
        self.assertEqual(lead.stage_id, self.a2)

    def test_forward_missing_milestones_refused(self):
        lead = self._lead(name="Acme upgrade")
        self._evidence(lead, self.m_approval)
        with self.assertRefused(
            ValidationError,
            r'"Acme upgrade" cannot leave "A1" for "A2" yet; missing milestones: Summary confirmed \(customer-led\)\.',
        ):
            lead.with_user(self.rep).stage_id = self.a2
        self.assertEqual(lead.stage_id, self.a1)

    def test_refusal_is_flagged_for_the_move_dialog(self):
        """The gate's refusal is a validation error the web client tells from any other (its
        move dialog takes the place of the error); bad input is not flagged."""
        lead = self._lead()
        with self.assertRefused(ValidationError, "Stage change refused") as refused:
            lead.with_user(self.rep).stage_id = self.a2
        self.assertEqual(refused.exception.context, {"sales_process_stage_gate_refused": True})
        with self.assertRefused(ValidationError, "is not the id of an existing record") as refused:
            lead.with_user(self.rep).stage_id = -1
        self.assertFalse(getattr(refused.exception, "context", None), "bad input, not a move refused")

    def test_optional_milestone_not_needed(self):
        lead = self._lead()
        self._prove_a1(lead)
        self.assertNotIn("Nice to have", lead.milestone_missing or "")
        lead.stage_id = self.a2
        self.assertEqual(lead.stage_id, self.a2)

    def test_skipping_refused_even_with_evidence(self):
        lead = self._lead(name="Skipper")
        self._prove_a1(lead)
        with self.assertRefused(
            ValidationError,
            '"Skipper" cannot jump from "A1" to "A3": stages are passed one at a time, the next one is "A2"',
        ):
            lead.stage_id = self.a3
        self.assertEqual(lead.stage_id, self.a1)

    def test_unverified_evidence_does_not_count(self):
        lead = self._lead(self.a2)
        evidence = self._evidence(lead, self.m_clearance)
        self._evidence(lead, self.m_contract, kind_id=self.kind_document.id)
        with self.assertRefused(
            ValidationError, r"Technical clearance \(customer-led, verified by a manager\)"
        ):
            lead.stage_id = self.a3
        evidence.with_user(self.manager).action_verify()
        lead.stage_id = self.a3
        self.assertEqual(lead.won_status, "won")

    # ------------------------------------------------------------
    # Backward, lost, won
    # ------------------------------------------------------------

    def test_backward_allowed_by_default(self):
        lead = self._lead(self.a2)
        lead.with_user(self.rep).stage_id = self.a1
        self.assertEqual(lead.stage_id, self.a1)
        self.assertEqual(lead.stage_history_ids.sorted("id")[-1].event, "backward")

    def test_backward_refused_when_process_forbids(self):
        self.type_a.allow_backward = False
        lead = self._lead(self.a2, name="No way back")
        with self.assertRefused(
            ValidationError,
            '"No way back" cannot move back from "A2" to "A1": the sales process "Process A" does not allow moving backward',
        ):
            lead.stage_id = self.a1
        self.assertEqual(lead.stage_id, self.a2)

    def test_clearing_the_stage_is_refused(self):
        """No stage is not a state: clearing it is refused, for everyone."""
        lead = self._lead(self.a2, name="Stageless")
        for user in (self.rep, self.manager):
            with self.assertRefused(ValidationError, '"Stageless" must be in a stage of its sales process'):
                lead.with_user(user).stage_id = False
        self.assertEqual(lead.stage_id, self.a2)

    def test_lost_from_any_stage_and_restore(self):
        for stage in (self.a1, self.a2):
            lead = self._lead(stage)
            lead.with_user(self.rep).action_set_lost()
            self.assertEqual(lead.won_status, "lost")
            self.assertEqual(lead.stage_history_ids.sorted("id")[-1].event, "lost")
            lead.with_user(self.rep).action_restore()
            self.assertEqual(lead.stage_history_ids.sorted("id")[-1].event, "restore")

    def test_won_needs_contract_evidence(self):
        lead = self._lead(self.a2, name="Big deal")
        self._evidence(lead, self.m_clearance).with_user(self.manager).action_verify()
        with self.assertRefused(ValidationError, r"missing milestones: Contract signed \(customer-led\)"):
            lead.action_set_won()
        self.assertEqual(lead.won_status, "pending")
        # The won stage's own evidence may be recorded before entering it.
        self._evidence(lead, self.m_contract)
        lead.with_user(self.rep).action_set_won()
        self.assertEqual((lead.stage_id, lead.won_status), (self.a3, "won"))
        self.assertEqual(lead.stage_history_ids.sorted("id")[-1].event, "won")

    def test_won_only_from_the_stage_before(self):
        lead = self._lead(name="Shortcut")
        self._prove_a1(lead)
        with self.assertRefused(ValidationError, '"Shortcut" cannot jump from "A1" to "A3"'):
            lead.action_set_won()

    def test_post_sale_stages_follow_forward_rules(self):
        lead = self._lead(self.a3)
        with self.assertRefused(
            ValidationError, 'cannot leave "A3" for "A4" yet; missing milestones: Contract signed'
        ):
            lead.stage_id = self.a4
        self._evidence(lead, self.m_contract)
        lead.stage_id = self.a4
        self.assertEqual(lead.stage_id, self.a4)

    # ------------------------------------------------------------
    # Batches, creation, no bypass
    # ------------------------------------------------------------

    def test_batch_is_all_or_nothing(self):
        ready = self._lead(name="Ready")
        self._prove_a1(ready)
        not_ready = self._lead(name="Not ready")
        with self.assertRefused(ValidationError, '"Not ready" cannot leave "A1"') as catcher:
            (ready | not_ready).write({"stage_id": self.a2.id})
        self.assertNotIn('"Ready"', str(catcher.exception))
        self.assertEqual((ready | not_ready).mapped("stage_id"), self.a1)
        ready.stage_id = self.a2
        self.assertEqual(ready.stage_id, self.a2)

    def test_rep_creates_in_first_stage_only(self):
        Lead = self.env["crm.lead"].with_user(self.rep)
        lead = Lead.create({"name": "Fresh", "pipeline_type_id": self.type_a.id})
        self.assertEqual(lead.stage_id, self.a1)
        with self.assertRefused(
            ValidationError,
            '"Jumped in" would start in "A2", but new opportunities start in the first stage of their sales process, "A1"',
        ):
            Lead.create({"name": "Jumped in", "pipeline_type_id": self.type_a.id, "stage_id": self.a2.id})
        self.assertFalse(self.env["crm.lead"].search([("name", "=", "Jumped in")]))

    def test_manager_may_create_further_along(self):
        lead = (
            self.env["crm.lead"]
            .with_user(self.manager)
            .create({"name": "Imported deal", "pipeline_type_id": self.type_a.id, "stage_id": self.a2.id})
        )
        self.assertEqual(lead.stage_id, self.a2)
        self.assertEqual(lead.stage_history_ids.note, "Created directly in a later stage by a sales manager.")

    def test_new_deal_starts_in_the_first_stage_even_folded(self):
        """Odoo starts a new deal in the first unfolded stage; an enforced process starts it in
        its first stage, folded or not, as the gate requires of a rep's new deal."""
        self.a1.fold = True
        Lead = self.env["crm.lead"].with_user(self.rep)
        lead = Lead.create(
            {"name": "Enforced start", "type": "opportunity", "pipeline_type_id": self.type_a.id}
        )
        self.assertEqual(lead.stage_id, self.a1)
        self.type_a.gate_mode = "guided"
        lead = Lead.create(
            {"name": "Guided start", "type": "opportunity", "pipeline_type_id": self.type_a.id}
        )
        self.assertEqual(lead.stage_id, self.a2)

    def test_rep_may_create_further_along_in_a_guided_process(self):
        self.type_a.gate_mode = "guided"
        lead = (
            self.env["crm.lead"]
            .with_user(self.rep)
            .create({"name": "Met at the fair", "pipeline_type_id": self.type_a.id, "stage_id": self.a2.id})
        )
        self.assertEqual(lead.stage_id, self.a2)
        self.assertEqual((lead.stage_history_ids.event, lead.stage_history_ids.note), ("create", False))

    def test_system_rights_creating_further_along_are_named_as_such(self):
        """The mail gateway creates as the email's author with superuser rights: a rep's
        email may start in a later stage (the alias's defaults, set by an admin), and the
        history says system rights, not a sales manager."""
        self.rep.email = "rep.gateway@example.com"
        email = (
            "From: Rep <rep.gateway@example.com>\r\n"
            "To: sales@example.com\r\n"
            "Subject: Deal forwarded from the trade fair\r\n"
            "Message-ID: <gate-later-stage@example.com>\r\n"
            "Content-Type: text/plain\r\n\r\n"
            "Forwarded by the rep.\r\n"
        )
        lead_id = self.env["mail.thread"].message_process(
            "crm.lead",
            email,
            custom_values={"type": "opportunity", "pipeline_type_id": self.type_a.id, "stage_id": self.a2.id},
        )
        lead = self.env["crm.lead"].browse(lead_id)
        self.assertEqual(lead.name, "Deal forwarded from the trade fair")
        self.assertEqual(lead.stage_id, self.a2)
        self.assertEqual(lead.stage_history_ids.user_id, self.rep)
        self.assertEqual(
            lead.stage_history_ids.note,
            "Created directly in a later stage with system rights "
            "(for example an email alias or an automated action).",
        )
        # An unknown sender: the gateway creates as OdooBot, a member of the sales managers' group.
        lead_id = self.env["mail.thread"].message_process(
            "crm.lead",
            email.replace("Rep <rep.gateway@example.com>", "Stranger <stranger@example.com>").replace(
                "gate-later-stage@", "gate-later-stage-2@"
            ),
            custom_values={"type": "opportunity", "pipeline_type_id": self.type_a.id, "stage_id": self.a2.id},
        )
        history = self.env["crm.lead"].browse(lead_id).stage_history_ids
        self.assertEqual(history.user_id, self.env.ref("base.user_root"))
        self.assertIn("with system rights", history.note)

    def test_no_context_key_skips_the_gate(self):
        lead = self._lead()
        flags = {
            "skip_stage_gate": True,
            "stage_gate_bypass": True,
            "sales_process_bypass": True,
            "install_mode": True,
            "import_file": True,
            "tracking_disable": True,
            "force_stage": True,
        }
        with self.assertRefused(ValidationError, 'cannot leave "A1"'):
            lead.with_user(self.rep).with_context(**flags).stage_id = self.a2
        self.assertEqual(lead.stage_id, self.a1)

    def test_merge_keeps_the_advanced_stage(self):
        """Merging keeps the most advanced lead's stage: no gate issue, history intact."""
        advanced = self._lead(self.a2, name="Advanced")
        early = self._lead(name="Early")
        merged = (advanced | early)._merge_opportunity(auto_unlink=True)
        self.assertEqual(merged.stage_id, self.a2)

    def test_type_switch_recorded_not_gated(self):
        lead = self._lead(self.a2)
        lead.with_user(self.rep).pipeline_type_id = self.type_b
        self.assertEqual(lead.stage_id, self.b2)
        self.assertEqual(lead.stage_history_ids.sorted("id")[-1].event, "type_switch")

    def test_gate_queries_independent_of_batch_size(self):
        def leads(count):
            batch = self.env["crm.lead"].create(
                [
                    {
                        "name": f"Q{i}",
                        "type": "opportunity",
                        "pipeline_type_id": self.type_a.id,
                        "partner_id": self.customer.id,
                    }
                    for i in range(count)
                ]
            )
            self.env["crm.lead.evidence"].create(
                [
                    {
                        "lead_id": lead.id,
                        "milestone_id": milestone.id,
                        "kind_id": self.kind_email.id,
                        "summary": "ok",
                        "customer_partner_id": self.contact.id,
                        "internal_user_id": self.rep.id,
                    }
                    for lead in batch
                    for milestone in (self.m_summary, self.m_approval)
                ]
            )
            return batch

        small, large = leads(5), leads(50)
        self._lead().stage_id = self.a1  # warm caches
        costs = []
        for batch in (small, large):
            self.env.invalidate_all()
            self.env.flush_all()
            before = self.cr.sql_log_count
            batch.write({"stage_id": self.a2.id})
            self.env.flush_all()
            costs.append(self.cr.sql_log_count - before)
        self.assertEqual(costs[0], costs[1])

    def test_lead_conversion_keeps_the_gate(self):
        lead = self._lead(type="lead", name="Inbound lead")
        lead.with_user(self.rep).convert_opportunity(self.customer)
        self.assertEqual((lead.type, lead.stage_id), ("opportunity", self.a1))
        with self.assertRefused(ValidationError, '"Inbound lead" cannot leave "A1"'):
            lead.with_user(self.rep).stage_id = self.a2

    def test_server_action_cannot_skip(self):
        lead = self._lead(name="Automated")
        action = self.env["ir.actions.server"].create(
            {
                "name": "Jump to A3",
                "model_id": self.env["ir.model"]._get_id("crm.lead"),
                "state": "code",
                "code": f"records.write({{'stage_id': {self.a3.id}}})",
            }
        )
        with self.assertRefused(ValidationError, '"Automated" cannot jump from "A1" to "A3"'):
            action.with_context(active_model="crm.lead", active_ids=lead.ids).run()
        self.assertEqual(lead.stage_id, self.a1)

    def test_gate_query_count_pinned(self):
        """Judging 30 moves: approved exceptions, milestones, what is evidenced."""
        leads = self.env["crm.lead"].create(
            [
                {
                    "name": f"P{i}",
                    "type": "opportunity",
                    "pipeline_type_id": self.type_a.id,
                    "partner_id": self.customer.id,
                }
                for i in range(30)
            ]
        )
        self.env["crm.lead.evidence"].create(
            [
                {
                    "lead_id": lead.id,
                    "milestone_id": milestone.id,
                    "kind_id": self.kind_email.id,
                    "summary": "ok",
                    "customer_partner_id": self.contact.id,
                }
                for lead in leads
                for milestone in (self.m_summary, self.m_approval)
            ]
        )
        before = leads._stage_gate_state()
        after = {lead_id: state._replace(stage_id=self.a2.id) for lead_id, state in before.items()}
        leads._stage_gate_structure()  # the registry cache is warm in a running server
        self.env.invalidate_all()
        self.env.flush_all()
        with self.assertQueryCount(__system__=4):
            transitions = leads._stage_gate_judge(before, after, False)
        self.assertEqual({t.proof for t in transitions}, {"evidence"})
        self.assertEqual(len(transitions), 30)

    def test_whole_gate_query_count_pinned(self):
        """Everything the gate does after a write moving 30 leads, history and tasks included."""
        leads = self.env["crm.lead"].create(
            [
                {
                    "name": f"W{i}",
                    "type": "opportunity",
                    "pipeline_type_id": self.type_a.id,
                    "partner_id": self.customer.id,
                }
                for i in range(30)
            ]
        )
        for lead in leads:
            self._prove_a1(lead)
        self.env.flush_all()
        before = leads._stage_gate_state()
        leads._stage_gate_structure()  # the registry cache is warm in a running server
        # The stage changes behind the ORM's back: only the gate's own queries are counted.
        self.env.cr.execute("UPDATE crm_lead SET stage_id = %s WHERE id = ANY(%s)", [self.a2.id, leads.ids])
        self.env.invalidate_all()
        with self.assertQueryCount(__system__=6):
            leads._stage_gate_enforce(before)
        self.assertEqual(leads.stage_history_ids.filtered(lambda row: row.event == "forward").lead_id, leads)

    def test_lead_without_process_gets_one_without_moving(self):
        """As the install does for leads that existed before it (post-init hook)."""
        lead = self._lead(self.a3)
        self.env.cr.execute("UPDATE crm_lead SET pipeline_type_id = NULL WHERE id = %s", [lead.id])
        lead.invalidate_recordset()
        history = lead.stage_history_ids
        lead.pipeline_type_id = self.type_a
        self.assertEqual((lead.pipeline_type_id, lead.stage_id), (self.type_a, self.a3))
        joined = lead.stage_history_ids - history
        self.assertEqual(
            (joined.event, joined.to_stage_id, joined.from_stage_id.id), ("create", self.a3, False)
        )
        self.assertEqual(
            joined.note, "Existing opportunity joined the sales process in a later stage, with system rights."
        )
