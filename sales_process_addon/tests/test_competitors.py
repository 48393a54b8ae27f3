from psycopg2 import IntegrityError

from odoo.exceptions import AccessError, ValidationError
from odoo.tests import Form, tagged
from odoo.tools import mute_logger

from .common_opportunity import OpportunityCase


@tagged("post_install", "-at_install")
class TestCompetitors(OpportunityCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.acme, cls.globex = cls.env["crm.competitor"].create(
            [
                {
                    "name": "Acme Automation",
                    "strengths": "Low price",
                    "weaknesses": "Slow service",
                    "usual_strategy": "Undercuts on price late in the deal",
                },
                {"name": "Globex"},
            ]
        )

    def _against(self, lead, competitor, **values):
        return lead.env["crm.lead.competitor"].create(
            {"lead_id": lead.id, "competitor_id": competitor.id, **values}
        )

    def test_line_prefilled_from_the_competitor(self):
        lead = self._lead()
        line = self._against(
            lead.with_user(self.rep), self.acme, weaknesses="No local team", threat_level="high"
        )
        self.assertEqual(line.strengths, "Low price")
        self.assertEqual(line.weaknesses, "No local team", "what the rep wrote is kept")
        self.assertEqual(line.strategy, "Undercuts on price late in the deal")
        line.ties_inside_customer = "Zhao Min worked at Acme"
        self.assertEqual(lead.competitor_ids, line)

    def test_invalid_threat_level_refused(self):
        lead = self._lead()
        line = self._against(lead, self.acme)
        with self.assertRefused(
            ValidationError, r'"extreme" is not a valid Threat Level; use one of: Low, Medium, High'
        ):
            line.with_user(self.rep).threat_level = "extreme"
        with self.assertRefused(ValidationError, r'"none" is not a valid Threat Level'):
            self._against(lead.with_user(self.rep), self.globex, threat_level="none")
        self.assertEqual(line.threat_level, "medium")
        self.assertEqual(lead.competitor_ids, line)

    @mute_logger("odoo.sql_db")
    def test_same_competitor_twice_refused(self):
        lead = self._lead()
        self._against(lead, self.acme)
        with self.assertRaises(IntegrityError):
            self._against(lead, self.acme)

    def test_wins_and_losses_against_each(self):
        won_1, won_2, lost, pending = (self._lead(name=f"Deal {i}") for i in range(4))
        other_rep_lead = self._lead(name="Other rep's deal", user_id=self.other_rep.id)
        for lead in (won_1, won_2, lost, pending, other_rep_lead):
            self._against(lead, self.acme)
        self._against(lost, self.globex)
        # Test shortcut: the outcome, without walking the stages.
        self.env.flush_all()
        self.env.cr.execute("UPDATE crm_lead SET won_status = 'won' WHERE id IN %s", [(won_1.id, won_2.id)])
        self.env.cr.execute(
            "UPDATE crm_lead SET won_status = 'lost', active = False WHERE id IN %s",
            [(lost.id, other_rep_lead.id)],
        )
        self.env.invalidate_all()
        competitors = (self.acme | self.globex).with_user(self.rep)
        competitors.mapped("won_count")  # warm the caches (the rep's companies)
        competitors.invalidate_recordset(["won_count", "lost_count", "open_count", "win_rate"])
        with self.assertQueryCount(__system__=1):  # one grouped query for all competitors
            counts = [(c.won_count, c.lost_count, c.open_count) for c in competitors]
        # The rep sees the team's record, his colleague's lost deal included.
        self.assertEqual(counts, [(2, 2, 1), (0, 1, 0)])
        self.assertEqual(competitors[0].win_rate, 50.0)
        action = self.acme.with_context(won_status="won").action_view_opportunities()
        self.assertEqual(
            self.env["crm.lead"].with_context(**action["context"]).search(action["domain"]), won_1 | won_2
        )
        # Lost deals are archived: the action still lists them.
        action = self.acme.with_context(won_status="lost").action_view_opportunities()
        self.assertEqual(
            self.env["crm.lead"].with_context(**action["context"]).search(action["domain"]),
            lost | other_rep_lead,
        )

    def test_rights(self):
        competitor = self.env["crm.competitor"].with_user(self.rep).create({"name": "Initech"})
        competitor.strengths = "Strong brand"
        with self.assertRaises(AccessError):
            competitor.unlink()
        competitor.with_user(self.manager).unlink()
        others = self._lead(user_id=self.other_rep.id)
        with self.assertRaises(AccessError):
            self._against(others.with_user(self.rep), self.acme)
        self._against(others.with_user(self.manager), self.acme)
        other_company = self.env["res.company"].create({"name": "Other company"})
        foreign = self.env["crm.competitor"].create({"name": "Foreign rival", "company_id": other_company.id})
        self.assertNotIn(foreign, self.env["crm.competitor"].with_user(self.rep).search([]))

    def test_lines_listed_by_threat_high_first(self):
        """An opportunity's competitors are listed from the highest threat to the lowest."""
        lead = self._lead()
        initech = self.env["crm.competitor"].create({"name": "Initech"})
        low = self._against(lead, self.acme, threat_level="low")
        high = self._against(lead, self.globex, threat_level="high")
        medium = self._against(lead, initech)
        lead.invalidate_recordset(["competitor_ids"])
        self.assertEqual(lead.competitor_ids.mapped("threat_level"), ["high", "medium", "low"])
        self.assertEqual(lead.competitor_ids, high | medium | low)
        low.threat_level = "high"
        lead.invalidate_recordset(["competitor_ids"])
        self.assertEqual(lead.competitor_ids, high | low | medium)

    def test_a_new_competitor_keeps_the_deal_s_strategy(self):
        """Switching a line to another competitor keeps what the rep wrote about this deal."""
        lead = self._lead()
        line = self._against(lead.with_user(self.rep), self.acme, strategy="Bundles hardware for free")
        line.with_user(self.rep).competitor_id = self.globex
        self.assertEqual(line.strategy, "Bundles hardware for free")

    def test_a_new_competitor_brings_its_own_texts(self):
        """Switched to another competitor, a line's texts still prefilled from the first one follow
        the new one (in the form as over RPC); those the rep wrote stay."""
        initech = self.env["crm.competitor"].create(
            {"name": "Initech", "strengths": "Installed base", "usual_strategy": "Sells to IT"}
        )
        lead = self._lead()
        line = self._against(lead.with_user(self.rep), self.acme, strategy="Bundles hardware for free")
        line.with_user(self.rep).competitor_id = initech
        self.assertEqual(
            (line.strengths, line.weaknesses, line.strategy),
            ("Installed base", False, "Bundles hardware for free"),
        )
        with Form(lead.with_user(self.rep)) as form:
            with form.competitor_ids.new() as new_line:
                new_line.competitor_id = self.acme
                self.assertEqual(new_line.strengths, "Low price")
                new_line.competitor_id = self.globex
                self.assertEqual((new_line.strengths, new_line.strategy), (False, False))

    def test_deals_of_other_companies_not_counted(self):
        """The wins and losses against a shared competitor count only the user's companies' deals."""
        other_company = self.env["res.company"].create({"name": "Other company"})
        shared = self.env["crm.competitor"].create({"name": "Shared rival", "company_id": False})
        own = self._lead(name="Own deal")
        foreign = self._lead(name="Foreign deal", user_id=False, company_id=other_company.id)
        for lead in (own, foreign):
            self._against(lead, shared)
        self.assertEqual(foreign.competitor_ids.company_id, other_company)
        shared = shared.with_user(self.rep)
        self.assertEqual((shared.won_count, shared.lost_count, shared.open_count), (0, 0, 1))
        self.assertEqual(shared.win_rate, 0.0, "no deal won or lost yet: no win rate")

    def test_deals_without_company_counted(self):
        """A deal of no company counts for every company's view of a shared competitor."""
        shared = self.env["crm.competitor"].create({"name": "Shared rival", "company_id": False})
        lead = self._lead(name="Deal of no company", user_id=False, team_id=False, company_id=False)
        self._against(lead, shared)
        self.assertFalse(lead.competitor_ids.company_id)
        shared = shared.with_user(self.rep)
        self.assertEqual((shared.won_count, shared.lost_count, shared.open_count), (0, 0, 1))
