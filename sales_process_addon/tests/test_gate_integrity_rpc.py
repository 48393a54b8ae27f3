import json
from datetime import timedelta
from xmlrpc.client import Fault

from odoo import fields
from odoo.tests import HttpCase, new_test_user, tagged


@tagged("post_install", "-at_install")
class TestGateIntegrityRpc(HttpCase):
    """The gate-integrity findings, each refused over XML-RPC, JSON-RPC and JSON-2, nothing saved."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.type_a = cls.env["crm.pipeline.type"].create(
            {"name": "RPC A", "code": "rpc_a", "allow_backward": False}
        )
        cls.type_b = cls.env["crm.pipeline.type"].create({"name": "RPC B", "code": "rpc_b"})
        cls.a1, cls.a2, cls.awon = cls.env["crm.stage"].create(
            [
                {"name": "RPC A1", "sequence": 1, "pipeline_type_id": cls.type_a.id},
                {"name": "RPC A2", "sequence": 2, "pipeline_type_id": cls.type_a.id},
                {"name": "RPC A won", "sequence": 3, "pipeline_type_id": cls.type_a.id, "is_won": True},
            ]
        )
        cls.b1, cls.bwon = cls.env["crm.stage"].create(
            [
                {"name": "RPC B1", "sequence": 1, "pipeline_type_id": cls.type_b.id},
                {"name": "RPC B won", "sequence": 2, "pipeline_type_id": cls.type_b.id, "is_won": True},
            ]
        )
        cls.env["crm.stage.milestone"].create(
            {"name": "RPC contract", "stage_id": cls.awon.id, "customer_led": False}
        )
        cls.rep = new_test_user(
            cls.env, login="gi_rep", password="gi_rep_pw1", groups="sales_team.group_sale_salesman"
        )
        cls.manager = new_test_user(
            cls.env, login="gi_manager", password="gi_manager_pw1", groups="sales_team.group_sale_manager"
        )
        cls.lead = cls.env["crm.lead"].create(
            {
                "name": "RPC integrity deal",
                "type": "opportunity",
                "pipeline_type_id": cls.type_a.id,
                "user_id": cls.rep.id,
            }
        )
        cls.passwords = {"gi_rep": "gi_rep_pw1", "gi_manager": "gi_manager_pw1"}

    # ------------------------------------------------------------
    # One call, three protocols
    # ------------------------------------------------------------

    def _xmlrpc(self, login, model, method, args):
        db, password = self.env.cr.dbname, self.passwords[login]
        uid = self.xmlrpc_common.login(db, login, password)
        try:
            self.xmlrpc_object.execute_kw(db, uid, password, model, method, args)
        except Fault as fault:
            return fault.faultString
        return None

    def _jsonrpc(self, login, model, method, args):
        self.authenticate(login, self.passwords[login])
        payload = {
            "jsonrpc": "2.0",
            "method": "call",
            "params": {"model": model, "method": method, "args": args, "kwargs": {}},
        }
        result = self.url_open(
            f"/web/dataset/call_kw/{model}/{method}",
            data=json.dumps(payload),
            headers={"Content-Type": "application/json"},
        ).json()
        return result["error"]["data"]["message"] if "error" in result else None

    def _json2(self, login, model, method, args):
        user = self.env["res.users"].search([("login", "=", login)])
        key = (
            self.env["res.users.apikeys"]
            .with_user(user)
            ._generate(None, "gate", fields.Datetime.now() + timedelta(days=1))
        )
        ids, *rest = args
        body = {"ids": ids}
        if rest:
            body["vals"] = rest[0]
        response = self.url_open(
            f"/json/2/{model}/{method}",
            data=json.dumps(body),
            headers={"Content-Type": "application/json", "Authorization": f"bearer {key}"},
        )
        return response.json().get("message") if response.status_code >= 400 else None

    def assertRefusedEverywhere(self, login, model, method, args, expected):
        for protocol in (self._xmlrpc, self._jsonrpc, self._json2):
            with self.subTest(protocol=protocol.__name__, args=args):
                message = protocol(login, model, method, args)
                self.assertTrue(message, f"{protocol.__name__} accepted {method}{args}")
                self.assertIn(expected, message)
                self.assertNotIn("Traceback", message.split("\n")[0])

    def _state(self):
        self.lead.invalidate_recordset()
        return (
            self.lead.pipeline_type_id,
            self.lead.stage_id,
            self.lead.won_status,
            len(self.lead.stage_history_ids),
        )

    # ------------------------------------------------------------
    # The findings
    # ------------------------------------------------------------

    def test_1_no_stage_no_process_no_two_step_win(self):
        before = self._state()
        for vals, expected in (
            ({"pipeline_type_id": False, "stage_id": False}, "must keep a sales process"),
            ({"stage_id": False}, "must be in a stage of its sales process"),
            ({"stage_id": [self.a2.id]}, "is not the id of an existing record"),
            ({"stage_id": "abc"}, "is not the id of an existing record"),
            ({"pipeline_type_id": self.type_b.id, "stage_id": self.bwon.id}, "never wins a deal"),
        ):
            self.assertRefusedEverywhere("gi_rep", "crm.lead", "write", [[self.lead.id], vals], expected)
        self.assertEqual(self._state(), before)

    def test_2_won_deal_keeps_its_process(self):
        self.lead = self.env["crm.lead"].create(  # a manager may create a deal further along
            {"name": "Won deal", "type": "opportunity", "stage_id": self.awon.id, "user_id": self.rep.id}
        )
        before = self._state()
        self.assertRefusedEverywhere(
            "gi_rep",
            "crm.lead",
            "write",
            [[self.lead.id], {"pipeline_type_id": self.type_b.id}],
            "a won deal keeps",
        )
        self.assertEqual(self._state(), before)

    def test_3_derived_fields(self):
        before = self._state()
        for vals in ({"won_status": "won"}, {"date_last_stage_update": "2000-01-01 00:00:00"}):
            self.assertRefusedEverywhere(
                "gi_rep", "crm.lead", "write", [[self.lead.id], vals], "cannot be written"
            )
        self.assertEqual(self._state(), before)

    def test_4_four_eyes(self):
        own = self.env["crm.lead"].create(
            {
                "name": "Manager's deal",
                "type": "opportunity",
                "pipeline_type_id": self.type_a.id,
                "user_id": self.manager.id,
            }
        )
        exception = (
            self.env["crm.stage.exception"]
            .with_user(self.rep)
            .create({"lead_id": self.lead.id, "to_stage_id": self.awon.id, "reason": "Signed"})
        )
        for vals in ({"lead_id": own.id}, {"to_stage_id": self.a2.id}):
            self.assertRefusedEverywhere(
                "gi_manager", "crm.stage.exception", "write", [[exception.id], vals], "fixed once requested"
            )
        mine = (
            self.env["crm.stage.exception"]
            .with_user(self.manager)
            .create({"lead_id": own.id, "to_stage_id": self.awon.id, "reason": "Mine"})
        )
        self.assertRefusedEverywhere(
            "gi_manager",
            "crm.stage.exception",
            "action_approve",
            [[mine.id]],
            "another sales manager must decide",
        )
        exception.invalidate_recordset()
        self.assertEqual(
            (exception.lead_id, exception.to_stage_id, exception.state), (self.lead, self.awon, "pending")
        )

    def test_5_team_change_judged(self):
        """Odoo resets a team stage when the team changes: that move is judged like any other."""
        team, other = self.env["crm.team"].create([{"name": "RPC team"}, {"name": "RPC other team"}])
        team_stage = self.env["crm.stage"].create(
            {
                "name": "RPC A2 team",
                "sequence": 2,
                "pipeline_type_id": self.type_a.id,
                "team_ids": [(6, 0, team.ids)],
            }
        )
        self.lead = self.env["crm.lead"].create(
            {
                "name": "Team deal",
                "type": "opportunity",
                "team_id": team.id,
                "stage_id": team_stage.id,
                "user_id": self.rep.id,
            }
        )
        before = self._state()
        self.assertRefusedEverywhere(
            "gi_rep",
            "crm.lead",
            "write",
            [[self.lead.id], {"team_id": other.id}],
            "does not allow moving backward",
        )
        self.assertEqual(self._state(), before)
        self.type_a.allow_backward = True
        self.assertIsNone(
            self._xmlrpc("gi_rep", "crm.lead", "write", [[self.lead.id], {"team_id": other.id}])
        )
        row = self.lead.stage_history_ids.sorted("id")[-1]
        self.assertEqual((row.event, row.from_stage_id, row.to_stage_id), ("backward", team_stage, self.a1))
