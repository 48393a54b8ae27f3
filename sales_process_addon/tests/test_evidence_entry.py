from datetime import timedelta

from odoo import fields
from odoo.exceptions import AccessError, ValidationError
from odoo.tests import Form, tagged

from .common_gate import StageGateCase


@tagged("post_install", "-at_install")
class TestEvidenceEntry(StageGateCase):
    """The compact evidence entry of the move dialog and the form's checklist."""

    def _entry(self, **values):
        """A complete entry for "Summary confirmed" (customer-led, email or confirmation)."""
        return {
            "kind_id": self.kind_email.id,
            "summary": "Li Wei confirmed our summary by email.",
            "customer_partner_id": self.contact.id,
            **values,
        }

    def test_defaults_follow_the_milestone(self):
        lead = self._lead()
        defaults = lead.with_user(self.rep).evidence_entry_defaults(
            [self.m_summary.id, self.m_approval.id, self.m_contract.id]
        )
        self.assertEqual(defaults["user"]["id"], self.rep.id)
        self.assertEqual(defaults["customer"]["id"], self.customer.id)
        self.assertEqual(defaults["today"], fields.Date.to_string(fields.Date.today()))
        summary, approval, contract = (
            defaults["milestones"][m.id] for m in (self.m_summary, self.m_approval, self.m_contract)
        )
        self.assertEqual(
            [kind["id"] for kind in summary["kinds"]],
            (self.kind_email | self.kind_confirmation).ids,
            "only the milestone's accepted kinds",
        )
        self.assertFalse(summary["kind_id"], "two kinds fit: none is picked")
        self.assertEqual(summary["customer_partner"]["id"], self.contact.id, "the customer's only contact")
        self.assertEqual(summary["customer_partner"]["name"], "Li Wei", "named without the customer again")
        self.assertEqual(contract["kind_id"], self.kind_document.id, "the only accepted kind is picked")
        self.assertFalse(approval["customer_partner"], "no customer contact for a milestone of ours")
        self.assertGreater(len(approval["kinds"]), 2, "a milestone without accepted kinds takes any")

    def test_rep_records_evidence_and_the_move_is_allowed(self):
        lead = self._lead()
        self.assertFalse(lead.stage_move_check([self.a2.id])[self.a2.id]["allowed"])
        as_rep = lead.with_user(self.rep)
        evidence_id = as_rep.record_milestone_evidence(self.m_summary.id, self._entry())
        as_rep.record_milestone_evidence(
            self.m_approval.id,
            {
                "kind_id": self.kind_meeting.id,
                "summary": "Approved in the weekly deal review.",
                "internal_user_id": self.rep.id,
                "date": fields.Date.to_string(fields.Date.today() - timedelta(days=2)),
            },
        )
        evidence = self.env["crm.lead.evidence"].browse(evidence_id)
        self.assertEqual(evidence.lead_id, lead)
        self.assertEqual(evidence.milestone_id, self.m_summary)
        self.assertEqual(evidence.customer_partner_id, self.contact)
        self.assertEqual(evidence.date, fields.Date.today(), "dated today by default")
        self.assertEqual(evidence.recorded_by_id, self.rep)
        self.assertTrue(evidence.is_valid)
        self.assertTrue(lead.stage_move_check([self.a2.id])[self.a2.id]["allowed"])
        as_rep.stage_id = self.a2
        self.assertEqual(lead.stage_id, self.a2)

    def test_every_problem_is_reported_at_once(self):
        lead = self._lead(name="Busy deal")
        tomorrow = fields.Date.to_string(fields.Date.today() + timedelta(days=1))
        with self.assertRaises(ValidationError) as catcher:
            lead.with_user(self.rep).record_milestone_evidence(
                self.m_summary.id,
                {
                    "kind_id": self.kind_document.id,
                    "summary": "  ",
                    "date": tomorrow,
                    "amount": -5,
                    "verified_date": "2020-01-01",
                },
            )
        message = str(catcher.exception)
        for expected in (
            'The evidence for "Summary confirmed" was not saved:',
            "These values cannot be given with evidence: verified_date.",
            '"Summary confirmed" accepts only Customer email or reply, Customer\'s confirmation of a '
            'summary as evidence, not "Document received or signed".',
            f"The date {tomorrow} is in the future",
            "Describe what happened",
            '"Summary confirmed" is proven by the customer: say which contact of Buyer Corp',
            "The recorded value must be a positive amount.",
        ):
            self.assertIn(expected, message)
        self.assertFalse(lead.evidence_ids, "nothing was saved")

    def test_kind_is_required_and_named(self):
        lead = self._lead()
        with self.assertRefused(
            ValidationError,
            "Say what kind of proof it is, one of: Customer email or reply, Customer's confirmation",
        ):
            lead.record_milestone_evidence(self.m_summary.id, self._entry(kind_id=False))
        with self.assertRefused(ValidationError, "Say what kind of proof it is."):
            lead.record_milestone_evidence(self.m_approval.id, self._entry(kind_id="email"))
        retired = self.env["crm.evidence.kind"].create({"name": "Fax", "code": "test_fax", "active": False})
        with self.assertRefused(ValidationError, "Say what kind of proof it is."):
            lead.record_milestone_evidence(self.m_approval.id, self._entry(kind_id=retired.id))
        self.assertFalse(lead.evidence_ids)

    def test_milestone_of_another_stage_refused(self):
        lead = self._lead(name="Early deal")
        with self.assertRefused(
            ValidationError,
            'Milestone "Technical clearance" belongs to stage "A2"; "Early deal" is in stage "A1"',
        ):
            lead.record_milestone_evidence(self.m_clearance.id, self._entry(kind_id=self.kind_meeting.id))
        with self.assertRefused(ValidationError, "Say which milestone the evidence proves."):
            lead.record_milestone_evidence(0, self._entry())
        self.assertFalse(lead.evidence_ids)

    def test_won_stage_milestone_may_be_proven_before_the_win(self):
        lead = self._lead(self.a2)
        self._evidence(lead, self.m_clearance).with_user(self.manager_2).action_verify()
        lead.record_milestone_evidence(
            self.m_contract.id, self._entry(kind_id=self.kind_document.id, summary="Contract signed.")
        )
        self.assertEqual(lead.evidence_ids.milestone_id, self.m_clearance | self.m_contract)

    def test_producer_must_be_of_the_customer_or_ours(self):
        lead = self._lead(name="Producer deal")
        stranger = self.env["res.partner"].create({"name": "Stranger"})
        with self.assertRefused(
            ValidationError, 'Stranger is not a contact of the customer of "Producer deal"'
        ):
            lead.record_milestone_evidence(self.m_summary.id, self._entry(customer_partner_id=stranger.id))
        with self.assertRefused(ValidationError, 'Rep is not a contact of the customer of "Producer deal"'):
            self.rep.partner_id.parent_id = self.customer
            lead.record_milestone_evidence(
                self.m_summary.id, self._entry(customer_partner_id=self.rep.partner_id.id)
            )
        portal = self.env["res.users"].create(
            {
                "name": "Portal buyer",
                "login": "sp_portal_buyer",
                "group_ids": [(6, 0, self.env.ref("base.group_portal").ids)],
            }
        )
        with self.assertRefused(ValidationError, f"User #{portal.id} is not one of our users."):
            lead.record_milestone_evidence(
                self.m_approval.id,
                {"kind_id": self.kind_meeting.id, "summary": "Approved.", "internal_user_id": portal.id},
            )
        with self.assertRefused(ValidationError, "Say who produced the evidence"):
            lead.record_milestone_evidence(
                self.m_approval.id, {"kind_id": self.kind_meeting.id, "summary": "Approved."}
            )
        self.assertFalse(lead.evidence_ids)

    def test_customer_led_milestone_needs_a_customer(self):
        lead = self._lead(name="Anonymous deal", partner_id=False)
        with self.assertRefused(
            ValidationError, '"Anonymous deal" has no customer yet: set the customer on the opportunity first'
        ):
            lead.record_milestone_evidence(self.m_summary.id, self._entry(customer_partner_id=False))

    def test_attachments_must_be_visible(self):
        lead = self._lead()
        document = self.env["ir.attachment"].create(
            {"name": "summary.pdf", "raw": b"%PDF", "res_model": "crm.lead", "res_id": lead.id}
        )
        with self.assertRefused(ValidationError, "Document #999999 does not exist or is not visible to you."):
            lead.record_milestone_evidence(
                self.m_summary.id, self._entry(attachment_ids=[document.id, 999999])
            )
        with self.assertRefused(ValidationError, "The documents must be given as a list of attachment ids."):
            lead.record_milestone_evidence(self.m_summary.id, self._entry(attachment_ids="summary.pdf"))
        evidence_id = lead.with_user(self.rep).record_milestone_evidence(
            self.m_summary.id, self._entry(attachment_ids=[document.id])
        )
        self.assertEqual(self.env["crm.lead.evidence"].browse(evidence_id).attachment_ids, document)

    def test_other_reps_opportunity_refused(self):
        lead = self._lead(user_id=self.other_rep.id)
        with self.assertRaises(AccessError):
            lead.with_user(self.rep).record_milestone_evidence(self.m_summary.id, self._entry())
        with self.assertRaises(AccessError):
            lead.with_user(self.rep).read(["milestone_checklist"])
        self.assertFalse(lead.evidence_ids)

    def test_entry_must_be_named_values(self):
        with self.assertRefused(ValidationError, "The evidence entry must be a set of named values"):
            self._lead().record_milestone_evidence(self.m_summary.id, ["kind_id", 1])

    def test_checklist_lines(self):
        lead = self._lead(self.a2)
        as_rep = lead.with_user(self.rep)
        (line,) = as_rep.milestone_checklist
        self.assertEqual(
            (line["id"], line["state"], line["needs_verification"], line["evidence"]),
            (self.m_clearance.id, "missing", True, []),
        )
        evidence_id = as_rep.record_milestone_evidence(
            self.m_clearance.id, self._entry(kind_id=self.kind_meeting.id, summary="Their IT cleared us.")
        )
        (line,) = as_rep.milestone_checklist
        self.assertEqual(line["state"], "awaiting")
        self.assertEqual(
            line["evidence"],
            [
                {
                    "id": evidence_id,
                    "summary": "Their IT cleared us.",
                    "date": fields.Date.to_string(fields.Date.today()),
                    "kind": self.kind_meeting.name,
                    "producer": self.contact.display_name,
                    "is_valid": False,
                }
            ],
        )
        self.env["crm.lead.evidence"].browse(evidence_id).with_user(self.manager).action_verify()
        (line,) = as_rep.milestone_checklist
        self.assertEqual((line["state"], line["evidence"][0]["is_valid"]), ("met", True))

    def test_checklist_lines_order_and_optional(self):
        lines = self._lead().milestone_checklist
        self.assertEqual(
            [(line["id"], line["required"], line["state"]) for line in lines],
            [
                (self.m_summary.id, True, "missing"),
                (self.m_approval.id, True, "missing"),
                (self.m_optional.id, False, "missing"),
            ],
        )
        self.assertFalse(self._lead(self.bx, pipeline_type_id=self.type_b.id).milestone_checklist)

    def test_checklist_is_read_with_the_form(self):
        """The form's checklist field holds the lines; while the form is edited, those of the
        form's data, as they will be once saved."""
        lead = self._lead(self.a2)
        self.assertEqual([line["id"] for line in lead.milestone_checklist], [self.m_clearance.id])
        form = Form(lead)
        form.stage_id = self.a1
        a1_milestones = self.m_summary | self.m_approval | self.m_optional
        self.assertEqual([line["id"] for line in form.milestone_checklist], a1_milestones.ids)
        self.assertFalse(self._lead(self.bx, pipeline_type_id=self.type_b.id).milestone_checklist)

    def test_checklists_of_many_deals_in_fixed_queries(self):
        """Reading the checklist of many opportunities (an export, an RPC ``read`` of all fields)
        costs the same queries for 2 as for 12, each with its own lines."""

        def cost(leads):
            as_rep = leads.with_user(self.rep)
            self.env.invalidate_all()
            before = self.cr.sql_log_count
            checklists = as_rep.mapped("milestone_checklist")
            return self.cr.sql_log_count - before, checklists

        few = self._lead() | self._lead()
        many = few | self.env["crm.lead"].concat(*(self._lead() for _ in range(10)))
        for lead in many[1::2]:
            self._evidence(lead, self.m_summary)
        cost(many)  # once for all: what the evidence left to compute, the access and rule caches
        few_queries, _few_lines = cost(few)
        many_queries, checklists = cost(many)
        self.assertEqual(few_queries, many_queries)
        states = [{line["id"]: line["state"] for line in lines}[self.m_summary.id] for lines in checklists]
        self.assertEqual(states, ["missing", "met"] * 6, "each deal its own lines")

    def test_checklist_lines_query_count(self):
        """The form reads the checklist in a fixed number of queries, however much evidence there is."""
        lead = self._lead()
        as_rep = lead.with_user(self.rep)
        self._evidence(lead, self.m_summary)
        as_rep.read(["milestone_checklist"])  # warm the access and rule caches, as a running server has
        self.env.invalidate_all()
        with self.assertQueryCount(__system__=15):
            as_rep.read(["milestone_checklist"])
        self._evidence(lead, self.m_approval)
        self._evidence(lead, self.m_optional, customer_partner_id=self.contact.id)
        as_rep.read(["milestone_checklist"])
        self.env.invalidate_all()
        with self.assertQueryCount(__system__=15):
            (values,) = as_rep.read(["milestone_checklist"])
        self.assertEqual([line["state"] for line in values["milestone_checklist"]], ["met", "met", "met"])

    def test_wrong_producer_reported_with_the_other_problems(self):
        """A contact of no customer, or one of our employees, is reported with the entry's other problems."""
        lead = self._lead(name="Producer deal")
        stranger = self.env["res.partner"].create({"name": "Stranger"})
        self.rep.partner_id.parent_id = self.customer
        for contact in (stranger, self.rep.partner_id):
            with self.assertRaises(ValidationError) as catcher:
                lead.record_milestone_evidence(
                    self.m_summary.id, self._entry(customer_partner_id=contact.id, summary=" ")
                )
            message = str(catcher.exception)
            self.assertIn("Describe what happened", message)
            self.assertIn(
                f'• {contact.display_name} is not a contact of the customer of "Producer deal".', message
            )
        self.assertFalse(lead.evidence_ids)

    def test_entry_stores_the_summary_trimmed_and_the_amount(self):
        """The saved evidence keeps the summary without surrounding spaces, and the amount given."""
        lead = self._lead()
        evidence_id = lead.with_user(self.rep).record_milestone_evidence(
            self.m_summary.id, self._entry(summary="  Li Wei confirmed the scope.\n", amount=12500.0)
        )
        evidence = self.env["crm.lead.evidence"].browse(evidence_id)
        self.assertEqual(evidence.summary, "Li Wei confirmed the scope.")
        self.assertEqual(evidence.amount, 12500.0)

    def test_contact_the_rep_cannot_see_refused_without_its_name(self):
        """A customer contact the rep may not read is refused by its number, its name not revealed."""
        other_company = self.env["res.company"].create({"name": "Other company"})
        hidden = self.env["res.partner"].create({"name": "Secret Contact", "company_id": other_company.id})
        lead = self._lead()
        with self.assertRefused(
            ValidationError, rf"Customer contact #{hidden.id} does not exist or is not visible to you."
        ) as catcher:
            lead.with_user(self.rep).record_milestone_evidence(
                self.m_summary.id, self._entry(customer_partner_id=hidden.id)
            )
        self.assertNotIn("Secret", str(catcher.exception))
        self.assertFalse(lead.evidence_ids)
