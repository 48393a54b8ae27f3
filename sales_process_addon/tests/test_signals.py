from datetime import date, datetime

from odoo.exceptions import AccessError, ValidationError
from odoo.tests import tagged

from .common_opportunity import OpportunityCase


@tagged("post_install", "-at_install")
class TestSignals(OpportunityCase):
    def _signals(self, lead):
        return lead.signal_ids.sorted("id")

    def test_buying_center_changes_log_signals(self):
        lead = self._lead()
        line = self._stakeholder(lead.with_user(self.rep), self.wang, self.role_user, stance="supporter")
        line.write({"role_id": self.role_dm.id, "stance": "opponent", "influence": "high"})
        line.partner_id = self.zhao
        line.concerns = "Price"  # not a signal
        line.unlink()
        signals = self._signals(lead)
        self.assertEqual(
            [(s.category, s.description) for s in signals],
            [
                (
                    "people",
                    "Wang Fang joined the buying center as User (Supporter, Medium influence).",
                ),
                ("role", "Wang Fang: role changed from User to Decision maker / economic buyer."),
                ("role", "Wang Fang: stance changed from Supporter to Opponent."),
                ("role", "Wang Fang: influence changed from Medium to High."),
                (
                    "people",
                    "Wang Fang was replaced by Zhao Min as Decision maker / economic buyer.",
                ),
                ("people", "Zhao Min (Decision maker / economic buyer) left the buying center."),
            ],
        )
        self.assertTrue(all(signals.mapped("automatic")))
        self.assertEqual(signals.user_id, self.rep)

    def test_signals_batched(self):
        """One create of signals per call: the cost does not grow with the stakeholders."""
        warm, *leads = self._lead(name="L0") | self._lead(name="L1") | self._lead(name="L2")
        contacts = self.env["res.partner"].create([{"name": f"Contact {i}"} for i in range(7)])

        def cost(lead, partners):
            self.env.invalidate_all()
            self.env.flush_all()
            before = self.cr.sql_log_count
            lead.write(
                {
                    "stakeholder_ids": [
                        (0, 0, {"partner_id": p.id, "role_id": self.role_user.id}) for p in partners
                    ]
                }
            )
            self.env.flush_all()
            return self.cr.sql_log_count - before

        cost(warm, contacts[6:])  # warm the caches
        self.assertEqual(cost(leads[0], contacts[:1]), cost(leads[1], contacts[1:6]))
        self.assertEqual(len(leads[1].signal_ids), 5)

    def test_rep_records_signals_but_cannot_forge_automatic_ones(self):
        lead = self._lead()
        signal = (
            self.env["crm.lead.signal"]
            .with_user(self.rep)
            .create(
                {
                    "lead_id": lead.id,
                    "category": "criteria",
                    "description": "Tender now weighs service 40%",
                    "automatic": True,
                    "user_id": self.manager.id,
                }
            )
        )
        self.assertFalse(signal.automatic)
        self.assertEqual(signal.user_id, self.rep)
        signal.description = "Tender now weighs local service 40%"
        automatic = self._stakeholder(lead, self.wang, self.role_dm) and lead.signal_ids.filtered("automatic")
        with self.assertRefused(AccessError, "was logged automatically"):
            automatic.with_user(self.rep).description = "Nothing happened"
        with self.assertRefused(AccessError, "was logged automatically"):
            automatic.with_user(self.rep).unlink()
        with self.assertRefused(AccessError, "cannot be changed"):
            signal.with_user(self.rep).automatic = True
        automatic.with_user(self.manager).unlink()
        signal.with_user(self.rep).unlink()
        self.assertFalse(lead.signal_ids)

    def test_invalid_category_refused(self):
        lead = self._lead()
        with self.assertRefused(ValidationError, r'"gossip" is not a valid Category'):
            self.env["crm.lead.signal"].with_user(self.rep).create(
                {"lead_id": lead.id, "category": "gossip", "description": "x"}
            )

    def test_every_signal_is_followed_up(self):
        """Each signal gets a to-do for the salesperson on creation; the rep may close it."""
        lead = self._lead()
        signal = (
            self.env["crm.lead.signal"]
            .with_user(self.rep)
            .create({"lead_id": lead.id, "category": "intent", "description": "Budget moved to next year"})
        )
        activity = lead.activity_ids
        self.assertEqual(signal.followup_activity_id, activity)
        self.assertEqual(activity.summary, "Follow up: Budget moved to next year")
        self.assertEqual(activity.user_id, self.rep)
        # The button opens the open follow-up rather than a second one.
        action = signal.with_user(self.rep).action_schedule_followup()
        self.assertEqual((action["res_model"], action["res_id"]), ("mail.activity", activity.id))
        self.assertEqual(len(lead.activity_ids), 1)
        activity.with_user(self.rep).action_done()
        signal.with_user(self.rep).action_schedule_followup()
        self.assertEqual(len(lead.activity_ids), 1, "a new follow-up once the first is done")
        self.assertNotEqual(lead.activity_ids, activity)
        # Signals logged by the buying center too, each with its own to-do.
        self._stakeholder(lead.with_user(self.rep), self.wang, self.role_dm)
        automatic = lead.signal_ids.filtered("automatic")
        self.assertEqual(len(automatic), 1)
        self.assertEqual(automatic.followup_activity_id.user_id, self.rep)
        self.assertIn(automatic.followup_activity_id, lead.activity_ids)
        automatic.followup_activity_id.with_user(self.rep).unlink()  # the rep may close it
        self.assertFalse(automatic.followup_activity_id)

    def test_followup_summary_cut_by_characters(self):
        """A long Chinese description has no spaces: it is cut, not dropped."""
        lead = self._lead()
        description = "客户" * 80
        signal = self.env["crm.lead.signal"].create(
            {"lead_id": lead.id, "category": "intent", "description": description}
        )
        summary = signal.followup_activity_id.summary
        self.assertEqual(len(summary), 100)
        self.assertTrue(summary.endswith("客户…"), summary)

    def test_rights(self):
        others = self._lead(user_id=self.other_rep.id)
        self._stakeholder(others, self.wang, self.role_dm)
        Signal = self.env["crm.lead.signal"]
        self.assertFalse(Signal.with_user(self.rep).search([("lead_id", "=", others.id)]))
        with self.assertRaises(AccessError):
            Signal.with_user(self.rep).create(
                {"lead_id": others.id, "category": "people", "description": "x"}
            )
        self.assertTrue(Signal.with_user(self.manager).search([("lead_id", "=", others.id)]))

    def test_rep_cannot_change_who_recorded_a_signal(self):
        """Who recorded a signal stays, even on a signal the rep recorded himself."""
        lead = self._lead()
        signal = (
            self.env["crm.lead.signal"]
            .with_user(self.rep)
            .create({"lead_id": lead.id, "category": "procedure", "description": "Board must approve"})
        )
        with self.assertRefused(AccessError, "cannot be changed"):
            signal.with_user(self.rep).user_id = self.manager
        self.assertEqual(signal.user_id, self.rep)

    def test_followup_goes_to_the_salesperson(self):
        """A signal recorded by someone else (the sales manager) gives its to-do to the
        opportunity's salesperson, due after the To-Do type's delay."""
        todo = self.env.ref("mail.mail_activity_data_todo")
        todo.write({"delay_count": 3, "delay_unit": "days"})
        lead = self._lead()
        with self.at(datetime(2026, 6, 1, 10, 0)):
            signal = (
                self.env["crm.lead.signal"]
                .with_user(self.manager)
                .create({"lead_id": lead.id, "category": "people", "description": "New CFO"})
            )
        activity = signal.followup_activity_id
        self.assertEqual((activity.user_id, activity.date_deadline), (self.rep, date(2026, 6, 4)))

    def test_followup_summary_of_100_characters_kept_whole(self):
        """Only a summary longer than 100 characters is cut: one of exactly 100 stays whole."""
        lead = self._lead()
        description = "x" * (100 - len("Follow up: "))
        signal = self.env["crm.lead.signal"].create(
            {"lead_id": lead.id, "category": "intent", "description": description}
        )
        self.assertEqual(signal.followup_activity_id.summary, f"Follow up: {description}")
