import json
from datetime import timedelta
from xmlrpc.client import Fault

from odoo import fields
from odoo.tests import HttpCase, new_test_user, tagged


@tagged("post_install", "-at_install")
class TestGateRpc(HttpCase):
    """The gate holds for real remote calls to the running test server."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.ptype = cls.env["crm.pipeline.type"].create({"name": "RPC process", "code": "rpc_test"})
        cls.s1, cls.s2, cls.s3 = cls.env["crm.stage"].create(
            [{"name": f"RPC S{i}", "sequence": i, "pipeline_type_id": cls.ptype.id} for i in (1, 2, 3)]
        )
        cls.milestone = cls.env["crm.stage.milestone"].create(
            {"name": "RPC proof", "stage_id": cls.s1.id, "customer_led": False}
        )
        cls.rep = new_test_user(
            cls.env, login="rpc_rep", password="rpc_rep_pw1", groups="sales_team.group_sale_salesman"
        )
        cls.lead = cls.env["crm.lead"].create(
            {
                "name": "RPC deal",
                "type": "opportunity",
                "pipeline_type_id": cls.ptype.id,
                "user_id": cls.rep.id,
            }
        )

    def _prove(self):
        self.env["crm.lead.evidence"].create(
            {
                "lead_id": self.lead.id,
                "milestone_id": self.milestone.id,
                "summary": "Approved internally",
                "kind_id": self.env.ref("sales_process_addon.evidence_kind_meeting").id,
                "internal_user_id": self.rep.id,
            }
        )

    def _xmlrpc(self, method, *args, **kwargs):
        uid = self.xmlrpc_common.login(self.env.cr.dbname, "rpc_rep", "rpc_rep_pw1")
        return self.xmlrpc_object.execute_kw(
            self.env.cr.dbname, uid, "rpc_rep_pw1", "crm.lead", method, list(args), kwargs
        )

    def test_xmlrpc_refused_then_allowed(self):
        with self.assertRaises(Fault) as catcher:
            self._xmlrpc("write", [self.lead.id], {"stage_id": self.s2.id})
        self.assertIn(
            '"RPC deal" cannot leave "RPC S1" for "RPC S2" yet; missing milestones: RPC proof',
            catcher.exception.faultString,
        )
        self.assertEqual(self.lead.stage_id, self.s1)
        self._prove()
        self._xmlrpc("write", [self.lead.id], {"stage_id": self.s2.id})
        self.lead.invalidate_recordset()
        self.assertEqual(self.lead.stage_id, self.s2)

    def test_xmlrpc_context_flag_does_not_bypass(self):
        with self.assertRaises(Fault) as catcher:
            self._xmlrpc(
                "write",
                [self.lead.id],
                {"stage_id": self.s3.id},
                context={"skip_stage_gate": True, "install_mode": True, "sales_process_bypass": True},
            )
        self.assertIn("stages are passed one at a time", catcher.exception.faultString)

    def test_private_gate_methods_not_callable(self):
        for method in ("_stage_gate_enforce", "_stage_gate_judge", "_stage_history_record"):
            with self.subTest(method=method), self.assertRaises(Fault) as catcher:
                self._xmlrpc(method, [self.lead.id], {})
            self.assertIn("rivate", catcher.exception.faultString)

    def test_jsonrpc_refused(self):
        self.authenticate("rpc_rep", "rpc_rep_pw1")
        payload = {
            "jsonrpc": "2.0",
            "method": "call",
            "params": {
                "model": "crm.lead",
                "method": "write",
                "args": [[self.lead.id], {"stage_id": self.s3.id}],
                "kwargs": {},
            },
        }
        result = self.url_open(
            "/web/dataset/call_kw/crm.lead/write",
            data=json.dumps(payload),
            headers={"Content-Type": "application/json"},
        ).json()
        error = result["error"]["data"]
        self.assertIn("stages are passed one at a time", error["message"])
        # What the web client reads to open its move dialog instead of the error.
        self.assertEqual(error["name"], "odoo.exceptions.ValidationError")
        self.assertEqual(error["context"], {"sales_process_stage_gate_refused": True})
        self.lead.invalidate_recordset()
        self.assertEqual(self.lead.stage_id, self.s1)

    def test_json2_refused(self):
        key = (
            self.env["res.users.apikeys"]
            .with_user(self.rep)
            ._generate(None, "gate test", fields.Datetime.now() + timedelta(days=1))
        )
        response = self.url_open(
            "/json/2/crm.lead/write",
            data=json.dumps({"ids": [self.lead.id], "vals": {"stage_id": self.s2.id}}),
            headers={"Content-Type": "application/json", "Authorization": f"bearer {key}"},
        )
        self.assertGreaterEqual(response.status_code, 400)
        self.assertIn("missing milestones: RPC proof", response.json()["message"])
        self.lead.invalidate_recordset()
        self.assertEqual(self.lead.stage_id, self.s1)

    def test_import_refuses_later_stage_for_rep(self):
        rows = "name,pipeline_type_id/id,stage_id\nImported later,{},RPC S2\nImported first,{},RPC S1\n"
        xmlid = self.ptype.get_external_id()[self.ptype.id] or self.ptype.export_data(["id"])["datas"][0][0]
        content = rows.format(xmlid, xmlid).encode()
        importer = (
            self.env["base_import.import"]
            .with_user(self.rep)
            .create(
                {"res_model": "crm.lead", "file": content, "file_type": "text/csv", "file_name": "leads.csv"}
            )
        )
        options = {"quoting": '"', "separator": ",", "has_headers": True}
        result = importer.execute_import(
            ["name", "pipeline_type_id/id", "stage_id"], ["name", "t", "s"], options
        )
        messages = " ".join(message["message"] for message in result["messages"])
        self.assertIn('"Imported later" would start in "RPC S2"', messages)
        self.assertFalse(self.env["crm.lead"].search([("name", "like", "Imported")]))

    def test_xmlrpc_batch_is_all_or_nothing(self):
        ready = self.lead
        self._prove()
        not_ready = self.env["crm.lead"].create(
            {
                "name": "RPC not ready",
                "type": "opportunity",
                "pipeline_type_id": self.ptype.id,
                "user_id": self.rep.id,
            }
        )
        with self.assertRaises(Fault) as catcher:
            self._xmlrpc("write", [ready.id, not_ready.id], {"stage_id": self.s2.id})
        self.assertIn('"RPC not ready" cannot leave "RPC S1"', catcher.exception.faultString)
        self.assertNotIn('"RPC deal"', catcher.exception.faultString)
        (ready | not_ready).invalidate_recordset()
        self.assertEqual((ready | not_ready).mapped("stage_id"), self.s1)

    def test_xmlrpc_exception_rights(self):
        manager = new_test_user(
            self.env, login="rpc_manager", password="rpc_manager_pw1", groups="sales_team.group_sale_manager"
        )
        exception = (
            self.env["crm.stage.exception"]
            .with_user(self.rep)
            .create(
                {"lead_id": self.lead.id, "to_stage_id": self.s3.id, "reason": "Framework agreement signed"}
            )
        )
        db = self.env.cr.dbname

        def call(login, password, method):
            uid = self.xmlrpc_common.login(db, login, password)
            return self.xmlrpc_object.execute_kw(
                db, uid, password, "crm.stage.exception", method, [[exception.id]]
            )

        with self.assertRaises(Fault) as catcher:
            call("rpc_rep", "rpc_rep_pw1", "action_approve")
        self.assertIn("Only a sales manager can approve", catcher.exception.faultString)
        call("rpc_manager", "rpc_manager_pw1", "action_approve")
        exception.invalidate_recordset()
        self.assertEqual((exception.state, exception.approver_id), ("approved", manager))
        self._xmlrpc("write", [self.lead.id], {"stage_id": self.s3.id})
        self.lead.invalidate_recordset()
        self.assertEqual(self.lead.stage_id, self.s3)
