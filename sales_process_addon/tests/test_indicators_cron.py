from datetime import datetime, timedelta
from unittest.mock import patch

from psycopg2.errors import SerializationFailure

from odoo.exceptions import AccessError
from odoo.tests import tagged

from .common_opportunity import OpportunityCase


@tagged("post_install", "-at_install")
class TestIndicatorsCron(OpportunityCase):
    """The daily refresh: batches committed with the cron's progress, resumable, its state out of users' reach."""

    _KEY = "sales_process_addon.indicators_refresh_position"

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.cron = cls.env.ref("sales_process_addon.ir_cron_refresh_opportunity_indicators")

    def _active_leads(self, count):
        leads = self._create_leads(count, pipeline_type_id=self.type_a.id, partner_id=self.customer.id)
        for lead in leads:
            for _i in range(4):
                lead.message_post(body="Hello", message_type="comment", subtype_xmlid="mail.mt_comment")
        self.assertEqual(set(leads.mapped("relationship_status")), {"active"})
        return leads

    def _run(self, **context):
        """Run the job as the cron runner does, on a test cursor that can commit; return its progress."""
        with self.enter_registry_test_mode(), self.registry.cursor() as cr:
            cron = self.cron.with_env(self.cron.env(cr=cr, context={"cron_id": self.cron.id}))
            cron, progress = cron._add_progress()
            cr.commit()  # pylint: disable=invalid-commit  # a test cursor; as the cron runner does before the job
            cron.with_context(**context).env["crm.lead"]._cron_refresh_indicators(batch_size=2)
            result = progress.read(["done", "remaining"])[0]
        self.env.invalidate_all()
        return result

    def _open_ids(self):
        return self.env["crm.lead"].search([("type", "=", "opportunity"), ("won_status", "=", "pending")]).ids

    def test_batches_with_progress_and_resume(self):
        leads = self._active_leads(5)
        open_ids = sorted(self._open_ids())  # the demo data's too
        later = datetime.now() + timedelta(days=31)
        with self.at(later):
            # Out of time after the first batch: the run stops, the rest waits for the next run.
            progress = self._run(cron_end_time=0)
            self.assertEqual((progress["done"], progress["remaining"]), (2, len(open_ids) - 2))
            position = self.env["ir.config_parameter"].get_param(self._KEY)
            self.assertEqual(position, f"{later.date().isoformat()}:{open_ids[1]}")
            progress = self._run()
            self.assertEqual((progress["done"], progress["remaining"]), (len(open_ids) - 2, 0))
            self.assertEqual(set(leads.mapped("relationship_status")), {"cold"})
            # Done for the day: a second worker or run has nothing left.
            self.assertEqual(self._run()["done"], 0)
        with self.at(later + timedelta(days=1)):
            self.assertEqual(self._run()["done"], len(open_ids), "a new day starts over")

    def test_only_open_opportunities(self):
        leads = self._active_leads(3)
        leads[0].action_set_lost()
        self.assertNotIn(leads[0].id, self._open_ids())
        with self.at(datetime.now() + timedelta(days=31)):
            self.assertEqual(self._run()["done"], len(self._open_ids()))
        self.assertEqual(leads[0].relationship_status, "active", "a lost deal is left alone")
        self.assertEqual(leads[1:].mapped("relationship_status"), ["cold", "cold"])

    def test_state_not_writable_by_users(self):
        with self.assertRaises(AccessError):
            self.env["ir.config_parameter"].with_user(self.manager).set_param(self._KEY, "2999-01-01:0")
        with self.assertRaises(AccessError):
            self.env["ir.config_parameter"].with_user(self.rep).search([("key", "=", self._KEY)]).read(
                ["value"]
            )

    def test_batch_retried_after_concurrent_change(self):
        """A rep moving an opportunity of the batch while it runs: PostgreSQL refuses the batch's
        update (serialization failure); the batch is rolled back and done again, nothing lost."""
        leads = self._active_leads(3)
        Lead = type(self.env["crm.lead"])
        refresh = Lead._indicators_refresh
        refused = []

        def refresh_refused_once(records):
            if not refused:
                refused.append(records.ids)
                raise SerializationFailure("could not serialize access due to concurrent update")
            return refresh(records)

        with (
            self.at(datetime.now() + timedelta(days=31)),
            patch.object(Lead, "_indicators_refresh", refresh_refused_once),
        ):
            progress = self._run()
        self.assertEqual(len(refused), 1)
        self.assertEqual(progress["remaining"], 0)
        self.assertEqual(set(leads.mapped("relationship_status")), {"cold"})

    def test_batch_refused_too_often_fails_the_run(self):
        Lead = type(self.env["crm.lead"])

        def always_refused(records):
            raise SerializationFailure("could not serialize access due to concurrent update")

        with (
            patch.object(Lead, "_indicators_refresh", always_refused),
            self.assertRaises(SerializationFailure),
        ):
            self._run()
