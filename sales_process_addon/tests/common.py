from contextlib import contextmanager
from unittest.mock import patch

from odoo.tests import TransactionCase, freeze_time, new_test_user


def modules_installed_with_the_addon(env):
    """Names of the modules an install of the addon alone brings: its dependencies
    and the modules they install automatically.

    Beside other modules (sale_crm, the website's CRM), what those add to the
    addon's records and views is theirs: tests that pin the addon's own part
    leave it out.
    """
    modules = env["ir.module.module"].search([("state", "=", "installed")])
    addon = modules.filtered(lambda module: module.name == "sales_process_addon")
    # Odoo leaves base out of every module's dependencies.
    names = {"base", addon.name, *addon.upstream_dependencies(exclude_states=("uninstalled",)).mapped("name")}

    def brought_in(module):
        return module.name not in names and all(
            dep.name in names for dep in module.dependencies_id if dep.auto_install_required
        )

    automatic = modules.filtered("auto_install")
    while added := automatic.filtered(brought_in):
        names.update(added.mapped("name"))
    return names


class SalesProcessCase(TransactionCase):
    """Two small processes sharing one buying process, built once per class.

    Process A: a1 (buyer b1, search) -> a2 (buyer b2, in funnel) -> a3 (won, best)
    Process B: bx (search, no buyer stage) -> b2 (buyer b2) -> bwon (won, best)
    """

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.company = cls.env.company
        cls.funnel_search = cls.env.ref("sales_process_addon.funnel_state_search")
        cls.funnel_in = cls.env.ref("sales_process_addon.funnel_state_in_funnel")
        cls.funnel_best = cls.env.ref("sales_process_addon.funnel_state_best")
        cls.buyer_process = cls.env["crm.buyer.process"].create(
            {
                "name": "Test buying process",
                "stage_ids": [
                    (0, 0, {"name": "Need", "sequence": 1}),
                    (0, 0, {"name": "Evaluation", "sequence": 2}),
                    (0, 0, {"name": "Decision", "sequence": 3}),
                ],
            }
        )
        cls.buyer_need, cls.buyer_eval, cls.buyer_decision = cls.buyer_process.stage_ids
        cls.type_a = cls.env["crm.pipeline.type"].create(
            {"name": "Process A", "code": "test_a", "buyer_process_id": cls.buyer_process.id}
        )
        cls.type_b = cls.env["crm.pipeline.type"].create(
            {"name": "Process B", "code": "test_b", "buyer_process_id": cls.buyer_process.id}
        )
        Stage = cls.env["crm.stage"]
        cls.a1, cls.a2, cls.a3 = Stage.create(
            [
                {
                    "name": "A1",
                    "sequence": 1,
                    "pipeline_type_id": cls.type_a.id,
                    "buyer_stage_id": cls.buyer_need.id,
                    "funnel_state_id": cls.funnel_search.id,
                },
                {
                    "name": "A2",
                    "sequence": 2,
                    "pipeline_type_id": cls.type_a.id,
                    "buyer_stage_id": cls.buyer_eval.id,
                    "funnel_state_id": cls.funnel_in.id,
                },
                {
                    "name": "A3",
                    "sequence": 3,
                    "pipeline_type_id": cls.type_a.id,
                    "is_won": True,
                    "buyer_stage_id": cls.buyer_decision.id,
                    "funnel_state_id": cls.funnel_best.id,
                },
            ]
        )
        cls.bx, cls.b2, cls.bwon = Stage.create(
            [
                {
                    "name": "BX",
                    "sequence": 1,
                    "pipeline_type_id": cls.type_b.id,
                    "funnel_state_id": cls.funnel_search.id,
                },
                {
                    "name": "B2",
                    "sequence": 2,
                    "pipeline_type_id": cls.type_b.id,
                    "buyer_stage_id": cls.buyer_eval.id,
                    "funnel_state_id": cls.funnel_in.id,
                },
                {
                    "name": "BWON",
                    "sequence": 3,
                    "pipeline_type_id": cls.type_b.id,
                    "is_won": True,
                    "funnel_state_id": cls.funnel_best.id,
                },
            ]
        )
        cls.team = cls.env["crm.team"].create({"name": "Process A team", "pipeline_type_id": cls.type_a.id})
        cls.rep = new_test_user(cls.env, login="sp_rep", groups="sales_team.group_sale_salesman", name="Rep")
        cls.manager = new_test_user(
            cls.env, login="sp_manager", groups="sales_team.group_sale_manager", name="Manager"
        )

    def _other_team_stage(self):
        """Another team of process A, and its own stage "A1x", right after A1 (same sequence)."""
        other_team = self.env["crm.team"].create({"name": "Other team", "pipeline_type_id": self.type_a.id})
        stage = self.env["crm.stage"].create(
            {
                "name": "A1x",
                "sequence": 1,
                "pipeline_type_id": self.type_a.id,
                "team_ids": [(6, 0, other_team.ids)],
            }
        )
        return other_team, stage

    @contextmanager
    def at(self, moment):
        """Freeze Python's clock and the transaction's NOW() (used for stage dates).

        Starts with a fresh cache and flushes on exit, as a request would.
        """
        self.env.invalidate_all()  # a new request starts with a fresh cache
        with freeze_time(moment), patch.object(self.env.cr, "now", lambda: moment):
            yield
            self.env.flush_all()

    @contextmanager
    def assertRefused(self, exception, pattern):
        """Like assertRaisesRegex, inside Odoo's savepoint so nothing is kept."""
        with self.assertRaises(exception) as catcher:
            yield catcher
        self.assertRegex(str(catcher.exception), pattern)

    def _render_pdf(self, report_ref, res_ids, user):
        """The PDF ``user`` prints, rendered by wkhtmltopdf (not the test stub Odoo returns).

        wkhtmltopdf fetches the report's assets from Odoo's HTTP server, which
        in the registry's test mode reads this test's transaction. Outside it,
        under Odoo's own runner (``odoo-bin --test-enable``), that request
        would wait for the registry, which the runner holds while it tests:
        the test would hang.
        """
        Report = self.env["ir.actions.report"].with_user(user).with_context(force_report_rendering=True)
        with self.enter_registry_test_mode():
            return Report._render_qweb_pdf(report_ref, res_ids)

    def _create_leads(self, count, **values):
        return self.env["crm.lead"].create(
            [{"name": f"Deal {i}", "type": "opportunity", **values} for i in range(count)]
        )
