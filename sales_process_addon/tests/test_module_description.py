import re
from pathlib import Path

from odoo.tests import TransactionCase, tagged

DESCRIPTION = Path(__file__).parent.parent / "static" / "description"


@tagged("post_install", "-at_install")
class TestModuleDescription(TransactionCase):
    """The Apps page of the module: its icon, and a description whose screenshots exist."""

    def test_apps_page(self):
        module = self.env["ir.module.module"].search([("name", "=", "sales_process_addon")])
        self.assertTrue((DESCRIPTION / "icon.png").is_file())
        html = str(module.description_html)
        self.assertIn("evidence-driven sales process", html)
        # Odoo reads one description for every language: it says it in Chinese too.
        self.assertIn("以证据驱动的销售流程", html)
        self.assertIn("以證據驅動的銷售流程", html)
        images = re.findall(r'src="/sales_process_addon/static/description/([^"]+)"', html)
        self.assertGreaterEqual(len(images), 6)
        for image in images:
            with self.subTest(image=image):
                self.assertTrue((DESCRIPTION / image).is_file())
