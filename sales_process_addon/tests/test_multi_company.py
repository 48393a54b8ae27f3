from odoo.exceptions import AccessError, UserError, ValidationError
from odoo.tests import new_test_user, tagged

from .common_opportunity import OpportunityCase


@tagged("post_install", "-at_install")
class TestMultiCompany(OpportunityCase):
    """An opportunity's records belong to its company, wherever it goes; a process, a default
    process or a linked record of one company is never left with another company's deals."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.other = cls.env["res.company"].create({"name": "Other Co"})
        for user in (cls.rep, cls.manager):
            user.company_ids |= cls.other
        cls.here_only = new_test_user(
            cls.env,
            "sp_here_only",
            groups="sales_team.group_sale_salesman_all_leads",
            company_ids=[cls.company.id],
        )
        cls.there_only = new_test_user(
            cls.env,
            "sp_there_only",
            groups="sales_team.group_sale_salesman_all_leads",
            company_id=cls.other.id,
            company_ids=[cls.other.id],
        )

    def _moved_to_other(self):
        """A deal with three history rows, moved to the other company."""
        lead = self._lead(name="Travelling deal")
        self._prove_a1(lead)
        lead.stage_id = self.a2
        lead.stage_id = self.a1
        lead.company_id = self.other
        return lead

    def test_history_follows_the_opportunity_to_its_company(self):
        lead = self._moved_to_other()
        History = self.env["crm.lead.stage.history"]
        rows = History.search([("lead_id", "=", lead.id)])
        self.assertEqual(len(rows), 3)
        self.assertEqual(rows.company_id, self.other)
        self.assertFalse(
            History.with_user(self.here_only).search([("lead_id", "=", lead.id)]),
            "the old company's users read no more of it than of the deal",
        )
        with self.assertRaises(AccessError):
            lead.with_user(self.here_only).read(["name"])
        self.assertEqual(History.with_user(self.there_only).search([("lead_id", "=", lead.id)]), rows)

    def test_merged_history_takes_the_surviving_company(self):
        leads = self._lead(name="Deal here") | self._lead(name="Deal there", company_id=self.other.id)
        head = leads.merge_opportunity()
        rows = self.env["crm.lead.stage.history"].search([("lead_id", "=", head.id)])
        self.assertEqual(len(rows), 2)
        self.assertEqual(rows.company_id, head.company_id)

    def test_deals_of_no_company_merge(self):
        leads = self._lead(name="Deal of no company", company_id=False) | self._lead(
            name="Other deal of no company", company_id=False
        )
        head = leads.merge_opportunity()
        rows = self.env["crm.lead.stage.history"].search([("lead_id", "=", head.id)])
        self.assertEqual(len(rows), 2)
        self.assertFalse(rows.company_id)

    def test_default_process_of_another_company_refused(self):
        theirs = self.env["crm.pipeline.type"].create(
            {"name": "Their process", "code": "theirs", "company_id": self.other.id}
        )
        with self.assertRefused(ValidationError, 'The sales process "Their process" belongs to Other Co'):
            self.company.default_pipeline_type_id = theirs
        settings = self.env["res.config.settings"].with_company(self.company).create({})
        with self.assertRefused(ValidationError, "belongs to Other Co"):
            settings.company_pipeline_type_id = theirs
            settings.execute()
        self.other.default_pipeline_type_id = theirs
        self.company.default_pipeline_type_id = self.type_a  # a shared one
        self.assertEqual(self.other.default_pipeline_type_id, theirs)
        choices = settings.fields_get(["company_pipeline_type_id"])["company_pipeline_type_id"]["domain"]
        self.assertIn("company_id", choices, "the settings offer this company's and shared processes only")

    def test_process_keeps_the_companies_that_use_it(self):
        ptype = self.env["crm.pipeline.type"].create({"name": "Shared process", "code": "shared_mc"})
        first = self.env["crm.stage"].create({"name": "Shared first", "pipeline_type_id": ptype.id})
        lead = self._lead(
            name="Other company's deal",
            pipeline_type_id=ptype.id,
            company_id=self.other.id,
            stage_id=first.id,
        )
        with self.assertRefused(
            ValidationError, r'"Shared process" cannot belong to .* only: .*1 opportunities'
        ):
            ptype.company_id = self.company
        lead.unlink()
        team = self.env["crm.team"].create(
            {"name": "Other team", "company_id": self.other.id, "pipeline_type_id": ptype.id}
        )
        with self.assertRefused(ValidationError, "1 sales teams"):
            ptype.company_id = self.company
        team.pipeline_type_id = False
        self.other.default_pipeline_type_id = ptype
        with self.assertRefused(ValidationError, "the default process of 1 companies"):
            ptype.company_id = self.company
        self.other.default_pipeline_type_id = self.type_a
        ptype.company_id = self.other  # used by nobody else now
        self.assertEqual(ptype.company_id, self.other)

    def test_opportunity_keeps_no_record_of_its_old_company(self):
        """A competitor or a buying-center contact of this company: the deal cannot move to another
        company with them (Odoo's own rule for the customer, applied to the deal's records)."""
        local_rival = self.env["crm.competitor"].create(
            {"name": "Local rival", "company_id": self.company.id}
        )
        local_contact = self.env["res.partner"].create(
            {"name": "Local contact", "company_id": self.company.id}
        )
        for name, record in (
            ("competitor", {"model": "crm.lead.competitor", "vals": {"competitor_id": local_rival.id}}),
            (
                "stakeholder",
                {
                    "model": "crm.lead.stakeholder",
                    "vals": {"partner_id": local_contact.id, "role_id": self.role_user.id},
                },
            ),
        ):
            with self.subTest(record=name):
                lead = self._lead(name=f"Deal with a {name}", partner_id=False)
                self.env[record["model"]].create({"lead_id": lead.id, **record["vals"]})
                with self.assertRaises(UserError):
                    lead.company_id = self.other
                    lead.flush_recordset()
                self.env.invalidate_all()
                self.assertEqual(lead.company_id, self.company)
        shared = self._lead(name="Deal with shared records", partner_id=False)
        self.env["crm.lead.competitor"].create(
            {
                "lead_id": shared.id,
                "competitor_id": self.env["crm.competitor"]
                .create({"name": "Shared rival", "company_id": False})
                .id,
            }
        )
        shared.company_id = self.other
        self.assertEqual(shared.competitor_ids.company_id, self.other)

    def test_pipeline_opens_on_a_process_of_the_company_worked_in(self):
        theirs = self.env["crm.pipeline.type"].create(
            {"name": "Their process", "code": "theirs_ui", "company_id": self.other.id}
        )
        team = self.env["crm.team"].create(
            {
                "name": "Their team",
                "company_id": self.other.id,
                "pipeline_type_id": theirs.id,
                "member_ids": [(4, self.rep.id)],
            }
        )
        rep_there = self.env["crm.lead"].with_user(self.rep).with_company(self.other)
        self.assertEqual(rep_there.env.user.sale_team_id, team)
        self.assertEqual(rep_there._pipeline_type_of_user(), theirs)
        rep_here = self.env["crm.lead"].with_user(self.rep).with_company(self.company)
        self.assertEqual(rep_here._pipeline_type_of_user(), self.company.default_pipeline_type_id)

    def test_rep_of_one_company_asks_a_manager_of_two(self):
        """The rep requests an exception though the managers who may decide belong to companies he
        cannot read: the approval goes to a manager of the deal's company."""
        lead = self._lead(name="Deal here", user_id=self.here_only.id)
        exception = (
            self.env["crm.stage.exception"]
            .with_user(self.here_only)
            .create({"lead_id": lead.id, "to_stage_id": self.a3.id, "reason": "Framework deal"})
        )
        self.assertEqual(exception.state, "pending")
        approver = exception.activity_ids.user_id
        self.assertEqual(len(approver), 1)
        self.assertTrue(approver.has_group("sales_team.group_sale_manager"))
        self.assertIn(self.company, approver.company_ids)
