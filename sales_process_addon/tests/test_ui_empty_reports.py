from odoo.tests import HttpCase, new_test_user, tagged


@tagged("post_install", "-at_install")
class TestEmptyReportsUi(HttpCase):
    """A new rep, who has no deal yet, opens every report in Chromium: sample data, no error."""

    def test_every_report_opens_empty(self):
        new_test_user(self.env, "sp_new_rep", "sales_team.group_sale_salesman", name="New Rep")
        self.start_tour("/odoo/crm", "sales_process_empty_reports_tour", login="sp_new_rep")
