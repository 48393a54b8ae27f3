"""Property-based test of the stage gate: random operations by four users, invariants after each.

Hypothesis drives sequences of writes (stage, process, team, type; single and
batched; a process switch also through the form, which must show and save
what RPC gives), imports, creations, won / lost / restore, evidence (record,
verify, delete), exceptions (request, approve, reject), a stage's won flag and
moves saved with another change (a new salesperson among them), as two
salesmen and two sales managers; a move a salesman may make is tried by a
manager too. Refused operations roll back to a savepoint; after every step
the stored data must satisfy the gate's invariants (see
``_check_invariants``).

CI runs a bounded number of sequences (see ``common_hypothesis``);
``SPA_GATE_EXAMPLES`` asks for more:

    SPA_GATE_EXAMPLES=300 .venv/bin/python -m pytest \\
        sales_process_addon/tests/test_gate_properties.py --odoo-config=.local/odoo.conf \\
        --odoo-database=sales_process_test
"""

from collections import defaultdict

from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, rule, run_state_machine_as_test

from odoo import Command
from odoo.exceptions import AccessError, UserError
from odoo.tests import Form, tagged

from .common_gate import StageGateCase
from .common_hypothesis import stateful_settings


class ImportRefused(Exception):
    """An import the server refused (``load`` reports errors instead of raising)."""


class Undone(Exception):
    """Raised to roll an operation back once its outcome is known."""


class ClosedInTheForm(Exception):
    """The form shows the process read-only (a closed deal): it offers no switch."""


REFUSED = (UserError, AccessError, ImportRefused)  # ValidationError is a UserError


@tagged("post_install", "-at_install")
class TestGateProperties(StageGateCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.type_g = cls.env["crm.pipeline.type"].create(
            {"name": "Guided G", "code": "test_g", "gate_mode": "guided"}
        )
        cls.g1, cls.g2, cls.gwon = cls.env["crm.stage"].create(
            [
                {"name": "G1", "sequence": 1, "pipeline_type_id": cls.type_g.id},
                {"name": "G2", "sequence": 2, "pipeline_type_id": cls.type_g.id},
                {"name": "GWON", "sequence": 3, "pipeline_type_id": cls.type_g.id, "is_won": True},
            ]
        )
        cls.env["crm.stage.milestone"].create(
            [
                {"name": "G1 proof", "stage_id": cls.g1.id, "customer_led": False},
                {"name": "BX proof", "stage_id": cls.bx.id, "customer_led": False, "proof_key": "test_intro"},
                {
                    "name": "A1 intro",
                    "stage_id": cls.a1.id,
                    "customer_led": False,
                    "proof_key": "test_intro",
                    "required": False,
                },
            ]
        )
        cls.team_2 = cls.env["crm.team"].create({"name": "Second team"})
        cls.team_stage = cls.env["crm.stage"].create(
            {
                "name": "A2b (second team)",
                "sequence": 2,
                "pipeline_type_id": cls.type_a.id,
                "team_ids": [(6, 0, cls.team_2.ids)],
            }
        )
        cls.rep.group_ids |= cls.env.ref("sales_team.group_sale_salesman")
        cls.all_stages = (
            cls.a1
            | cls.a2
            | cls.team_stage
            | cls.a3
            | cls.a4
            | cls.bx
            | cls.b2
            | cls.bwon
            | cls.g1
            | cls.g2
            | cls.gwon
        )
        cls.types = cls.type_a | cls.type_b | cls.type_g
        # A task on entering A2 and G2, for the deal's salesperson, as a process designer sets them.
        plan = cls.env["mail.activity.plan"].create(
            {
                "name": "Entry call",
                "res_model": "crm.lead",
                "template_ids": [
                    Command.create(
                        {
                            "activity_type_id": cls.env.ref("mail.mail_activity_data_call").id,
                            "summary": "Call the customer",
                            "responsible_type": "crm_salesperson",
                        }
                    )
                ],
            }
        )
        (cls.a2 | cls.g2).activity_plan_id = plan
        cls.milestones = cls.env["crm.stage.milestone"].search([("stage_id", "in", cls.all_stages.ids)])

    def test_gate_invariants_hold(self):  # pylint: disable=missing-return
        case = self
        users = [self.rep, self.other_rep, self.manager, self.manager_2]
        stages = list(self.all_stages)
        pick_user = st.sampled_from(users)
        pick_stage = st.sampled_from([*stages, False])

        class GateMachine(RuleBasedStateMachine):
            def __init__(self):
                super().__init__()
                case.env.invalidate_all()
                self.savepoint = case.env.cr.savepoint()
                Lead = case.env["crm.lead"]
                self.leads = Lead.create(
                    [
                        {
                            "name": "Rep deal",
                            "type": "opportunity",
                            "pipeline_type_id": case.type_a.id,
                            "user_id": case.rep.id,
                            "team_id": case.team.id,
                            "partner_id": case.customer.id,
                        },
                        {
                            "name": "Rep guided deal",
                            "type": "opportunity",
                            "pipeline_type_id": case.type_g.id,
                            "user_id": case.rep.id,
                            "partner_id": case.customer.id,
                        },
                        {
                            "name": "Other rep deal",
                            "type": "opportunity",
                            "pipeline_type_id": case.type_b.id,
                            "user_id": case.other_rep.id,
                            "team_id": case.team_2.id,
                            "partner_id": case.customer.id,
                        },
                    ]
                )
                self.evidence = case.env["crm.lead.evidence"]
                self.exceptions = case.env["crm.stage.exception"]

            def teardown(self):
                self.savepoint.close(rollback=True)
                case.env.invalidate_all()
                case.env.registry.clear_cache()

            def attempt(self, user, operation):
                """Run ``operation(env of user)``; a refusal rolls back to a savepoint."""
                try:
                    with case.env.cr.savepoint():
                        result = operation(case.env(user=user))
                        case.env.flush_all()
                        return result
                except REFUSED:
                    case.env.invalidate_all()
                    return None

            def lead(self, index, env):
                return env["crm.lead"].browse(self.leads.ids[index % len(self.leads)])

            def outcome_of(self, user, operation):
                """What ``operation(env of user)`` returns (an id), None if refused; undone either way."""
                outcome = None
                try:
                    with case.env.cr.savepoint():
                        outcome = operation(case.env(user=user)).id
                        case.env.flush_all()
                        raise Undone
                except Undone:
                    pass
                except REFUSED:
                    outcome = None
                case.env.invalidate_all()
                return outcome

            @rule(index=st.integers(0, 9), stage=pick_stage, user=pick_user)
            def move(self, index, stage, user):
                self.attempt(
                    user, lambda env: self.lead(index, env).write({"stage_id": stage.id if stage else False})
                )

            @rule(
                first=st.integers(0, 9),
                second=st.integers(0, 9),
                stage=st.sampled_from(stages),
                user=pick_user,
            )
            def batch_move(self, first, second, stage, user):
                self.attempt(
                    user,
                    lambda env: (self.lead(first, env) | self.lead(second, env)).write(
                        {"stage_id": stage.id}
                    ),
                )

            @rule(
                index=st.integers(0, 9),
                ptype=st.sampled_from([*case.types, False]),
                stage=pick_stage,
                with_stage=st.booleans(),
                user=pick_user,
            )
            def switch(self, index, ptype, stage, with_stage, user):
                vals = {"pipeline_type_id": ptype.id if ptype else False}
                if with_stage:
                    vals["stage_id"] = stage.id if stage else False
                self.attempt(user, lambda env: self.lead(index, env).write(vals))

            @rule(index=st.integers(0, 9), ptype=st.sampled_from(case.types), user=pick_user)
            def switch_in_the_form(self, index, ptype, user):
                """The form shows the stage that a switch over RPC lands on, and saves it; what RPC
                refuses, the form cannot save."""

                def by_rpc(env):
                    lead = self.lead(index, env)
                    lead.write({"pipeline_type_id": ptype.id})
                    return lead.stage_id

                def in_the_form(env):
                    with Form(self.lead(index, env)) as form:
                        if form._get_modifier("pipeline_type_id", "readonly"):
                            raise ClosedInTheForm
                        form.pipeline_type_id = ptype
                        shown = form.stage_id
                    case.assertEqual(
                        form.record.stage_id, shown, "the form saved another stage than it showed"
                    )
                    return shown

                if self.lead(index, case.env).pipeline_type_id == ptype:
                    return  # not a switch
                landed = self.outcome_of(user, by_rpc)
                try:
                    shown = self.attempt(user, in_the_form)
                except ClosedInTheForm:
                    case.env.invalidate_all()
                    # Read-only in the form (a won or lost deal): RPC refuses too, unless a sales
                    # manager approved an exception for it.
                    if landed is not None:
                        approved = case.env["crm.stage.exception"].search_count(
                            [
                                ("lead_id", "=", self.leads.ids[index % len(self.leads)]),
                                ("state", "=", "approved"),
                            ]
                        )
                        case.assertTrue(approved, "the form shows read-only a process that RPC switches")
                    return
                case.assertEqual(shown.id if shown else None, landed, "the form and RPC disagree")

            def next_stage(self, index):
                """The stage after the lead's in its process (the move most often allowed), if any."""
                lead = self.lead(index, case.env)
                return case.all_stages.filtered(
                    lambda stage: stage.pipeline_type_id == lead.pipeline_type_id
                    and stage.sequence > lead.stage_id.sequence
                ).sorted("sequence")[:1]

            def move_with(self, index, user, change):
                """Save the move to the next stage with ``change``, as the form saves them together:
                ``(allowed, saved)``, whether the move alone would be allowed and whether it was
                saved; raises AccessError if only the move with ``change`` is refused access."""
                move = {"stage_id": self.next_stage(index).id}
                allowed = self.outcome_of(user, lambda env: self.lead(index, env).write(move) and env.user)
                try:
                    with case.env.cr.savepoint():
                        self.lead(index, case.env(user=user)).write({**move, **change})
                        case.env.flush_all()
                    return allowed is not None, True
                except AccessError:
                    case.env.invalidate_all()
                    if allowed is not None:
                        raise
                except REFUSED:
                    case.env.invalidate_all()
                return allowed is not None, False

            @rule(index=st.integers(0, 9), owner=st.sampled_from([*users, False]), user=pick_user)
            def move_and_hand_over(self, index, owner, user):
                """A move with a change of salesperson (or none): the new one may change the team,
                and so the stages allowed, but a move the user may make alone is no refusal of
                access with it (the deal may be out of the user's reach once written)."""
                if self.next_stage(index):
                    self.move_with(index, user, {"user_id": owner.id if owner else False})

            @rule(index=st.integers(0, 9), stage=st.sampled_from(stages))
            def same_move_by_rep_and_manager(self, index, stage):
                """A sales manager may make any move a salesman may make: more rights never
                refuse what fewer allow (nothing is kept of either try)."""

                def move(env):
                    self.lead(index, env).write({"stage_id": stage.id})
                    return env.user

                if self.outcome_of(case.rep, move) is not None:
                    case.assertIsNotNone(
                        self.outcome_of(case.manager, move),
                        "a move a salesman may make is refused to a manager",
                    )

            @rule(
                index=st.integers(0, 9),
                change=st.sampled_from(
                    [{"priority": "3"}, {"expected_revenue": 98765.0}, {"name": "Renamed deal"}]
                ),
                user=pick_user,
            )
            def move_with_another_change(self, index, change, user):
                """A move saved with a change the gate does not judge: judged as the move alone."""
                if self.next_stage(index):
                    allowed, saved = self.move_with(index, user, change)
                    case.assertEqual(saved, allowed, f"a move judged otherwise with {change}")

            @rule(index=st.integers(0, 9), milestone=st.sampled_from(list(case.milestones)), user=pick_user)
            def move_with_evidence(self, index, milestone, user):
                """Evidence saved with the move to the next stage, in one save (an RPC client's, an
                import's): allowed exactly when the two saves in a row are, in one order or the
                other (the evidence of the stage left, or of the stage entered)."""
                target = self.next_stage(index)
                if not target:
                    return
                producer = (
                    {"customer_partner_id": case.contact.id}
                    if milestone.customer_led
                    else {"internal_user_id": user.id}
                )
                line = {
                    "milestone_id": milestone.id,
                    "kind_id": (milestone.evidence_kind_ids[:1] or case.kind_meeting).id,
                    "summary": "Proof saved with the move",
                    **producer,
                }
                saves = {"evidence_ids": [Command.create(line)]}, {"stage_id": target.id}

                def in_a_row(*ordered):
                    def save(env):
                        for vals in ordered:
                            self.lead(index, env).write(vals)
                        return env.user

                    return self.outcome_of(user, save)

                expected = in_a_row(*saves) is not None or in_a_row(*reversed(saves)) is not None
                saved = self.attempt(user, lambda env: self.lead(index, env).write(saves[0] | saves[1]))
                case.assertEqual(bool(saved), expected, "one save judged otherwise than two in a row")

            @rule(
                index=st.integers(0, 9), team=st.sampled_from([case.team, case.team_2, False]), user=pick_user
            )
            def change_team(self, index, team, user):
                self.attempt(
                    user, lambda env: self.lead(index, env).write({"team_id": team.id if team else False})
                )

            @rule(index=st.integers(0, 9), kind=st.sampled_from(["lead", "opportunity"]), user=pick_user)
            def change_type(self, index, kind, user):
                self.attempt(user, lambda env: self.lead(index, env).write({"type": kind}))

            @rule(
                index=st.integers(0, 9),
                action=st.sampled_from(["action_set_won", "action_set_lost", "action_unarchive"]),
                user=pick_user,
            )
            def outcome(self, index, action, user):
                self.attempt(user, lambda env: getattr(self.lead(index, env), action)())

            @rule(index=st.integers(0, 9), forward=st.booleans(), active=st.booleans(), user=pick_user)
            def move_and_lose_or_restore(self, index, forward, active, user):
                """A move in the lead's process (to the next stage, or back to the first) saved with the
                loss or the restore, as an import's row or an integration may."""
                lead = self.lead(index, case.env)
                first = lead.pipeline_type_id.stage_ids.sorted("sequence")[:1]
                stage = self.next_stage(index) if forward else first
                if not stage or stage == lead.stage_id:
                    return
                lost = {} if active else {"probability": 0}  # Odoo's lost: archived at probability 0
                self.attempt(
                    user,
                    lambda env: self.lead(index, env).write({"stage_id": stage.id, "active": active, **lost}),
                )

            @rule(index=st.integers(0, 9), stage=st.sampled_from(stages), user=pick_user)
            def import_stage(self, index, stage, user):
                def load(env):
                    result = env["crm.lead"].load(
                        [".id", "stage_id/.id"],
                        [[str(self.leads.ids[index % len(self.leads)]), str(stage.id)]],
                    )
                    if any(message["type"] == "error" for message in result["messages"]):
                        raise ImportRefused

                self.attempt(user, load)

            @rule(stage=pick_stage, ptype=st.sampled_from([*case.types, False]), user=pick_user)
            def create_lead(self, stage, ptype, user):
                vals = {
                    "name": "New deal",
                    "type": "opportunity",
                    "user_id": user.id,
                    "partner_id": case.customer.id,
                }
                if stage:
                    vals["stage_id"] = stage.id
                if ptype:
                    vals["pipeline_type_id"] = ptype.id
                lead = self.attempt(user, lambda env: env["crm.lead"].create(vals))
                if lead:
                    self.leads |= lead.with_env(case.env)

            @rule(index=st.integers(0, 9), milestone=st.sampled_from(list(case.milestones)), user=pick_user)
            def record_evidence(self, index, milestone, user):
                def record(env):
                    producer = (
                        {"customer_partner_id": case.contact.id}
                        if milestone.customer_led
                        else {"internal_user_id": user.id}
                    )
                    return env["crm.lead.evidence"].create(
                        {
                            "lead_id": self.lead(index, env).id,
                            "milestone_id": milestone.id,
                            "kind_id": (milestone.evidence_kind_ids[:1] or case.kind_meeting).id,
                            "summary": "Proof",
                            **producer,
                        }
                    )

                evidence = self.attempt(user, record)
                if evidence:
                    self.evidence |= evidence.with_env(case.env)

            @rule(index=st.integers(0, 20), verify=st.booleans(), user=pick_user)
            def verify_or_delete_evidence(self, index, verify, user):
                if not self.evidence:
                    return
                evidence_id = self.evidence.ids[index % len(self.evidence)]
                if verify:
                    self.attempt(
                        user, lambda env: env["crm.lead.evidence"].browse(evidence_id).action_verify()
                    )
                else:
                    self.attempt(user, lambda env: env["crm.lead.evidence"].browse(evidence_id).unlink())

            @rule(index=st.integers(0, 9), stage=st.sampled_from(stages), user=pick_user)
            def request_exception(self, index, stage, user):
                exception = self.attempt(
                    user,
                    lambda env: env["crm.stage.exception"].create(
                        {"lead_id": self.lead(index, env).id, "to_stage_id": stage.id, "reason": "Because"}
                    ),
                )
                if exception:
                    self.exceptions |= exception.with_env(case.env)

            @rule(index=st.integers(0, 20), approve=st.booleans(), user=pick_user)
            def decide_exception(self, index, approve, user):
                if not self.exceptions:
                    return
                exception_id = self.exceptions.ids[index % len(self.exceptions)]
                method = "action_approve" if approve else "action_reject"
                self.attempt(
                    user, lambda env: getattr(env["crm.stage.exception"].browse(exception_id), method)("ok")
                )

            @rule(stage=st.sampled_from(stages), user=pick_user)
            def toggle_won_flag(self, stage, user):
                """A stage's won flag, as an admin configures it: Odoo writes its deals' probability."""
                self.attempt(
                    user, lambda env: env["crm.stage"].browse(stage.id).write({"is_won": not stage.is_won})
                )

            @invariant()
            def gate_invariants(self):
                case._check_invariants(self.leads.exists())

        run_state_machine_as_test(
            GateMachine,
            settings=stateful_settings(examples=25, steps=25),
        )

    def _check_invariants(self, leads):
        """What the stored data must satisfy after any operation (read as superuser)."""
        self.env.invalidate_all()
        Lead = self.env["crm.lead"]
        structure = Lead._stage_gate_structure()
        stage_info, types = structure["stages"], structure["types"]
        history = self.env["crm.lead.stage.history"].search([("lead_id", "in", leads.ids)], order="id")
        rows_of = defaultdict(list)
        for row in history:
            rows_of[row.lead_id.id].append(row)
        uses = defaultdict(int)
        for lead in leads.with_context(active_test=False):
            # Legal state: a lead with a process has a stage of that process.
            self.assertTrue(lead.pipeline_type_id, f"{lead.name} lost its process")
            if lead.stage_id or types[lead.pipeline_type_id.id]["mode"] == "enforced":
                # Only a guided process keeps Odoo's freedom of a lead without a stage.
                self.assertEqual(
                    lead.stage_id.pipeline_type_id,
                    lead.pipeline_type_id,
                    f"{lead.name}: stage outside process",
                )
            rows = rows_of[lead.id]
            self.assertTrue(rows, f"{lead.name} has no history")
            self.assertEqual(rows[0].event, "create")
            self.assertFalse(rows[0].from_stage_id)
            self.assertEqual([row.event for row in rows].count("create"), 1, f"{lead.name} started twice")
            # A salesman starts a deal of an enforced process in its first stage only.
            first = rows[0]
            if types[first.pipeline_type_id.id]["mode"] == "enforced" and not first.user_id.has_group(
                "sales_team.group_sale_manager"
            ):
                sequence = Lead._stage_gate_sequence(first.pipeline_type_id.id, first.team_id.id)
                self.assertEqual(first.to_stage_id.id, sequence[0], f"{lead.name} started further along")
            # The history is a contiguous chain ending at the current stage, one row per change.
            for previous, row in zip(rows, rows[1:], strict=False):
                self.assertEqual(
                    row.from_stage_id, previous.to_stage_id, f"{lead.name}: broken chain at {row.event}"
                )
                if row.event in ("forward", "backward"):
                    self.assertNotEqual(row.from_stage_id, row.to_stage_id, f"{lead.name}: a move to itself")
                elif row.event != "type_switch" and row.from_stage_id == row.to_stage_id:
                    self.assertNotEqual(
                        (row.event, row.pipeline_type_id),
                        (previous.event, previous.pipeline_type_id),
                        f"{lead.name}: {row.event} recorded twice",
                    )
            self.assertEqual(
                rows[-1].to_stage_id, lead.stage_id, f"{lead.name}: history does not end at its stage"
            )
            for row in rows:
                self.assertGreaterEqual(row.days_in_previous_stage, 0)
                if row.exception_id:
                    uses[row.exception_id.id] += 1
                self._check_move(row, stage_info, types)
            # Lost where it stands: the last loss, restore or win says whether it is lost (Odoo wins a
            # lost deal moved into a won stage), and a lost deal of an enforced process is still in
            # the stage it was lost in.
            ends = [row for row in rows if row.event in ("lost", "restore", "won")]
            self.assertEqual(
                bool(ends) and ends[-1].event == "lost",
                lead.won_status == "lost",
                f"{lead.name}: {lead.won_status}, but its history says otherwise",
            )
            if lead.won_status == "lost" and types[lead.pipeline_type_id.id]["mode"] == "enforced":
                self.assertEqual(ends[-1].to_stage_id, lead.stage_id, f"{lead.name} moved while lost")
            if lead.won_status == "won" and types[lead.pipeline_type_id.id]["mode"] == "enforced":
                self.assertTrue(
                    any(
                        stage_info[row.to_stage_id.id]["won"]
                        and row.event in ("won", "create", "type_switch")
                        for row in rows
                    ),
                    f"{lead.name} is won without a recorded win",
                )
        for exception_id, count in uses.items():
            self.assertEqual(count, 1, "an exception was used twice")
            self.assertEqual(self.env["crm.stage.exception"].browse(exception_id).state, "used")

    def _check_move(self, row, stage_info, types):
        """A forward move in an enforced process: one stage, every required milestone evidenced."""
        if row.event not in ("forward", "won") or row.proof == "exception" or not row.from_stage_id:
            return
        if row.from_stage_id.pipeline_type_id != row.to_stage_id.pipeline_type_id:
            return
        if types[row.to_stage_id.pipeline_type_id.id]["mode"] != "enforced":
            return
        sequence = self.env["crm.lead"]._stage_gate_sequence(
            row.to_stage_id.pipeline_type_id.id, row.team_id.id, row.from_stage_id.id, row.to_stage_id.id
        )
        src, dst = sequence.index(row.from_stage_id.id), sequence.index(row.to_stage_id.id)
        self.assertEqual(
            dst, src + 1, f"a forward move skipped stages: {row.from_stage_id.name} -> {row.to_stage_id.name}"
        )
        required = set(stage_info[row.from_stage_id.id]["required"])
        if row.event == "won":
            required |= set(stage_info[row.to_stage_id.id]["required"])
        proven = set(row.evidence_ids.milestone_id.ids)
        keys = {m.proof_key for m in row.evidence_ids.milestone_id if m.proof_key}
        for milestone in self.env["crm.stage.milestone"].browse(required - proven):
            self.assertIn(
                milestone.proof_key or None, keys, f"{row.to_stage_id.name} entered without {milestone.name}"
            )
        self.assertIn(row.proof, ("evidence", "free"))
