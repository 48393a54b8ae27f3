import json
from datetime import timedelta
from xmlrpc.client import Fault

from odoo import fields
from odoo.tests import HttpCase, new_test_user, tagged


@tagged("post_install", "-at_install")
class TestSecurityRpc(HttpCase):
    """The paths of the security review, over real XML-RPC, JSON-RPC and JSON-2 calls.

    Each is refused with a message that names only what the caller may see,
    and nothing is saved.
    """

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.ptype = cls.env["crm.pipeline.type"].create({"name": "RPC security", "code": "rpc_sec"})
        cls.s1, cls.s2 = cls.env["crm.stage"].create(
            [{"name": f"SEC S{i}", "sequence": i, "pipeline_type_id": cls.ptype.id} for i in (1, 2)]
        )
        cls.milestone = cls.env["crm.stage.milestone"].create(
            {"name": "SEC proof", "stage_id": cls.s1.id, "customer_led": False, "needs_verification": True}
        )
        cls.kind = cls.env.ref("sales_process_addon.evidence_kind_meeting")
        cls.role = cls.env.ref("sales_process_addon.stakeholder_role_decision_maker")
        cls.rep = new_test_user(
            cls.env, login="sec_rep", password="sec_rep_pw1", groups="sales_team.group_sale_salesman"
        )
        cls.colleague = new_test_user(cls.env, login="sec_colleague", groups="sales_team.group_sale_salesman")
        cls.manager = new_test_user(
            cls.env, login="sec_manager", password="sec_manager_pw1", groups="sales_team.group_sale_manager"
        )
        cls.customer = cls.env["res.partner"].create({"name": "SEC customer", "is_company": True})
        cls.contact = cls.env["res.partner"].create({"name": "SEC contact", "parent_id": cls.customer.id})
        cls.mine = cls._lead(cls, "SEC my deal", cls.rep)
        cls.secret = cls._lead(cls, "Top secret deal", cls.colleague)
        cls.other_company = cls.env["res.company"].create({"name": "SEC other company"})
        cls.foreign = cls.env["crm.lead"].create(
            {
                "name": "Foreign secret deal",
                "type": "opportunity",
                "pipeline_type_id": cls.ptype.id,
                "company_id": cls.other_company.id,
            }
        )

    def _lead(self, name, user):
        return self.env["crm.lead"].create(
            {
                "name": name,
                "type": "opportunity",
                "pipeline_type_id": self.ptype.id,
                "user_id": user.id,
                "partner_id": self.customer.id,
            }
        )

    def _evidence_values(self, lead):
        return {
            "lead_id": lead.id,
            "milestone_id": self.milestone.id,
            "kind_id": self.kind.id,
            "summary": "Approved",
            "internal_user_id": self.rep.id,
        }

    def _xmlrpc(self, model, method, *args, login="sec_rep", password="sec_rep_pw1"):
        uid = self.xmlrpc_common.login(self.env.cr.dbname, login, password)
        return self.xmlrpc_object.execute_kw(self.env.cr.dbname, uid, password, model, method, list(args), {})

    def _jsonrpc(self, model, method, *args):
        self.authenticate("sec_rep", "sec_rep_pw1")
        payload = {
            "jsonrpc": "2.0",
            "method": "call",
            "params": {"model": model, "method": method, "args": list(args), "kwargs": {}},
        }
        return self.url_open(
            f"/web/dataset/call_kw/{model}/{method}",
            data=json.dumps(payload),
            headers={"Content-Type": "application/json"},
        ).json()

    def _json2(self, model, method, user, **params):
        key = (
            self.env["res.users.apikeys"]
            .with_user(user)
            ._generate(None, "security test", fields.Datetime.now() + timedelta(days=1))
        )
        return self.url_open(
            f"/json/2/{model}/{method}",
            data=json.dumps(params),
            headers={"Content-Type": "application/json", "Authorization": f"bearer {key}"},
        )

    def test_xmlrpc_stakeholder_moved_to_a_colleague_s_deal(self):
        stakeholder = self.env["crm.lead.stakeholder"].create(
            {"lead_id": self.mine.id, "partner_id": self.contact.id, "role_id": self.role.id}
        )
        with self.assertRaises(Fault) as catcher:
            self._xmlrpc("crm.lead.stakeholder", "write", [stakeholder.id], {"lead_id": self.secret.id})
        self.assertIn("cannot be moved to another opportunity", catcher.exception.faultString)
        self.assertNotIn("secret", catcher.exception.faultString.lower())
        stakeholder.invalidate_recordset()
        self.assertEqual(stakeholder.lead_id, self.mine)
        self.assertFalse(self.secret.stakeholder_ids)

    def test_jsonrpc_evidence_on_a_stranger_s_deal_names_nothing(self):
        for lead in (self.secret, self.foreign):
            with self.subTest(lead=lead.name):
                values = {**self._evidence_values(lead), "milestone_id": self.milestone.id}
                result = self._jsonrpc("crm.lead.evidence", "create", [values])
                message = result["error"]["data"]["message"]
                self.assertIn(f"opportunity #{lead.id} does not exist or you may not change it", message)
                self.assertNotIn("secret", message.lower())
                self.assertNotIn("SEC S1", message)
                self.assertFalse(self.env["crm.lead.evidence"].search([("lead_id", "=", lead.id)]))

    def test_json2_rep_cannot_validate_evidence(self):
        evidence = self.env["crm.lead.evidence"].create(self._evidence_values(self.mine))
        response = self._json2(
            "crm.lead.evidence", "write", self.rep, ids=[evidence.id], vals={"is_valid": True}
        )
        self.assertGreaterEqual(response.status_code, 400)
        self.assertIn("set by the server and cannot be given: Counts", response.json()["message"])
        evidence.invalidate_recordset()
        self.assertFalse(evidence.is_valid)

    def test_json2_manager_cannot_verify_another_company_s_evidence(self):
        milestone = self.env["crm.stage.milestone"].create(
            {"name": "Foreign proof", "stage_id": self.foreign.stage_id.id, "customer_led": False}
        )
        evidence = self.env["crm.lead.evidence"].create(
            {**self._evidence_values(self.foreign), "milestone_id": milestone.id}
        )
        response = self._json2("crm.lead.evidence", "action_verify", self.manager, ids=[evidence.id])
        self.assertGreaterEqual(response.status_code, 400)
        self.assertNotIn("Foreign secret deal", response.json()["message"])
        evidence.invalidate_recordset()
        self.assertFalse(evidence.verified_date)

    def test_xmlrpc_verified_evidence_cannot_be_deleted_only_withdrawn(self):
        evidence = self.env["crm.lead.evidence"].create(self._evidence_values(self.mine))
        evidence.with_user(self.manager).action_verify()
        for login, password in (("sec_rep", "sec_rep_pw1"), ("sec_manager", "sec_manager_pw1")):
            with self.subTest(login=login), self.assertRaises(Fault) as catcher:
                self._xmlrpc("crm.lead.evidence", "unlink", [evidence.id], login=login, password=password)
            self.assertIn("stays in the audit trail", catcher.exception.faultString)
        self.assertTrue(evidence.exists())
        self._xmlrpc("crm.lead.evidence", "action_withdraw", [evidence.id], "<img src=x onerror=alert(1)>")
        evidence.invalidate_recordset()
        self.assertFalse(evidence.active)
        self.assertNotIn("<img", self.mine.message_ids[:1].body)

    def test_xmlrpc_customer_evidence_from_an_employee_refused(self):
        customer_led = self.env["crm.stage.milestone"].create(
            {"name": "SEC customer proof", "stage_id": self.s1.id, "customer_led": True}
        )
        values = {
            **self._evidence_values(self.mine),
            "milestone_id": customer_led.id,
            "internal_user_id": False,
            "customer_partner_id": self.rep.partner_id.id,
        }
        with self.assertRaises(Fault) as catcher:
            self._xmlrpc("crm.lead.evidence", "create", values)
        self.assertIn("is not a contact of the customer", catcher.exception.faultString)
        self.assertFalse(self.mine.evidence_ids)
