from odoo.exceptions import ValidationError
from odoo.tests import Form, tagged

from .common import SalesProcessCase


@tagged("post_install", "-at_install")
class TestLeadPipelineType(SalesProcessCase):
    # ------------------------------------------------------------
    # Default process
    # ------------------------------------------------------------

    def test_default_from_team(self):
        lead = self.env["crm.lead"].create({"name": "Team deal", "team_id": self.team.id})
        self.assertEqual(lead.pipeline_type_id, self.type_a)
        self.assertEqual(lead.stage_id, self.a1)

    def test_default_from_company_when_team_has_none(self):
        self.company.default_pipeline_type_id = self.type_b
        team = self.env["crm.team"].create({"name": "No process team"})
        lead = self.env["crm.lead"].create({"name": "Company deal", "team_id": team.id})
        self.assertEqual(lead.pipeline_type_id, self.type_b)
        self.assertEqual(lead.stage_id, self.bx)

    def test_stage_alone_implies_its_process(self):
        """An import giving only a stage puts the lead in that stage's process."""
        lead = self.env["crm.lead"].create(
            {"name": "Imported", "stage_id": self.b2.id, "team_id": self.team.id}
        )
        self.assertEqual(lead.pipeline_type_id, self.type_b)
        self.assertEqual(lead.stage_id, self.b2)

    def test_form_shows_seller_buyer_and_funnel(self):
        with Form(self.env["crm.lead"].with_context(default_type="opportunity")) as form:
            form.name = "Form deal"
            form.pipeline_type_id = self.type_a
            self.assertEqual(form.stage_id, self.a1)
            self.assertEqual(form.buyer_stage_id, self.buyer_need)
            self.assertEqual(form.funnel_state_id, self.funnel_search)
            form.pipeline_type_id = self.type_b
            self.assertEqual(form.stage_id, self.bx)
        lead = form.record
        self.assertEqual((lead.pipeline_type_id, lead.stage_id), (self.type_b, self.bx))

    # ------------------------------------------------------------
    # A stage must belong to the lead's process
    # ------------------------------------------------------------

    def test_create_with_stage_of_other_process_refused(self):
        count = self.env["crm.lead"].search_count([])
        with self.assertRefused(ValidationError, 'stage "B2" belongs to the sales process "Process B"'):
            self.env["crm.lead"].create(
                {"name": "Wrong", "pipeline_type_id": self.type_a.id, "stage_id": self.b2.id}
            )
        self.assertEqual(self.env["crm.lead"].search_count([]), count)

    def test_write_stage_of_other_process_refused(self):
        lead = self._create_leads(1, pipeline_type_id=self.type_a.id)
        with self.assertRefused(
            ValidationError, '"Deal 0": stage "B2" belongs to the sales process "Process B"'
        ):
            lead.stage_id = self.b2
        self.assertEqual(lead.stage_id, self.a1)

    def test_batch_write_is_all_or_nothing(self):
        leads_a = self._create_leads(2, pipeline_type_id=self.type_a.id)
        lead_b = self._create_leads(1, pipeline_type_id=self.type_b.id)
        with self.assertRefused(ValidationError, 'stage "A2" belongs to the sales process "Process A"'):
            (leads_a | lead_b).write({"stage_id": self.a2.id})
        self.assertEqual(leads_a.mapped("stage_id"), self.a1)
        self.assertEqual(lead_b.stage_id, self.bx)
        (leads_a).write({"stage_id": self.a2.id})
        self.assertEqual(leads_a.mapped("stage_id"), self.a2)

    def test_process_without_stages_refused(self):
        empty = self.env["crm.pipeline.type"].create({"name": "Empty process", "code": "test_empty"})
        with self.assertRefused(ValidationError, 'the sales process "Empty process" has no stages'):
            self._create_leads(1, pipeline_type_id=empty.id)
        lead = self._create_leads(1, pipeline_type_id=self.type_a.id)
        with self.assertRefused(ValidationError, "has no stages"):
            lead.pipeline_type_id = empty
        self.assertEqual(lead.pipeline_type_id, self.type_a)

    # ------------------------------------------------------------
    # Switching process
    # ------------------------------------------------------------

    def test_switch_keeps_buyer_stage(self):
        lead = self._create_leads(1, pipeline_type_id=self.type_a.id, stage_id=self.a2.id)
        lead.pipeline_type_id = self.type_b
        self.assertEqual(lead.stage_id, self.b2)
        self.assertEqual(lead.buyer_stage_id, self.buyer_eval)
        note = lead.message_ids[0]
        self.assertIn('stage "A2" became "B2" (same buyer stage)', note.body)

    def test_switch_falls_back_to_funnel_state(self):
        lead = self._create_leads(1, pipeline_type_id=self.type_b.id, stage_id=self.bx.id)
        lead.pipeline_type_id = self.type_a
        self.assertEqual(lead.stage_id, self.a1)
        self.assertIn("(same funnel state)", lead.message_ids[0].body)

    def test_switch_falls_back_to_first_stage(self):
        plain = self.env["crm.pipeline.type"].create({"name": "Plain", "code": "test_plain"})
        first, _second = self.env["crm.stage"].create(
            [
                {"name": "P1", "sequence": 1, "pipeline_type_id": plain.id},
                {"name": "P2", "sequence": 2, "pipeline_type_id": plain.id},
            ]
        )
        lead = self._create_leads(1, pipeline_type_id=self.type_a.id, stage_id=self.a2.id)
        lead.pipeline_type_id = plain
        self.assertEqual(lead.stage_id, first)
        self.assertIn("(first stage of the process)", lead.message_ids[0].body)

    def test_switch_many_leads_in_one_write(self):
        leads = self._create_leads(3, pipeline_type_id=self.type_a.id)
        leads[1].stage_id = self.a2
        leads.write({"pipeline_type_id": self.type_b.id})
        self.assertEqual(leads.mapped("stage_id"), self.bx | self.b2)
        self.assertEqual([lead.stage_id for lead in leads], [self.bx, self.b2, self.bx])

    def test_switch_with_explicit_stage(self):
        """The form sends the mapped stage along with the process: accepted."""
        lead = self._create_leads(1, pipeline_type_id=self.type_a.id, stage_id=self.a2.id)
        lead.write({"pipeline_type_id": self.type_b.id, "stage_id": self.b2.id})
        self.assertEqual(lead.stage_id, self.b2)
        with self.assertRefused(ValidationError, "belongs to the sales process"):
            lead.write({"pipeline_type_id": self.type_a.id, "stage_id": self.b2.id})

    def test_switch_cannot_skip_stages(self):
        """A switch cannot be used to jump past the mapped stage."""
        lead = self._create_leads(1, pipeline_type_id=self.type_a.id)
        with self.assertRefused(ValidationError, "a process switch never wins a deal"):
            lead.write({"pipeline_type_id": self.type_b.id, "stage_id": self.bwon.id})
        self.assertEqual((lead.pipeline_type_id, lead.stage_id), (self.type_a, self.a1))

    # ------------------------------------------------------------
    # Pipeline kanban and won
    # ------------------------------------------------------------

    def test_kanban_columns_of_one_process(self):
        self._create_leads(1, pipeline_type_id=self.type_a.id)
        self._create_leads(1, pipeline_type_id=self.type_b.id, stage_id=self.b2.id)
        Lead = self.env["crm.lead"].with_context(read_group_expand=True)  # as the kanban view
        # From the process's own pipeline action (context).
        groups = Lead.with_context(default_pipeline_type_id=self.type_a.id).web_read_group(
            [("pipeline_type_id", "=", self.type_a.id)], ["stage_id"]
        )["groups"]
        self.assertEqual([g["stage_id"][0] for g in groups], (self.a1 | self.a2 | self.a3).ids)
        # From the process filter (domain only).
        groups = Lead.web_read_group([("pipeline_type_id", "=", self.type_b.id)], ["stage_id"])["groups"]
        self.assertEqual([g["stage_id"][0] for g in groups], (self.bx | self.b2 | self.bwon).ids)

    def test_kanban_team_columns_only_for_that_team(self):
        team_2 = self.env["crm.team"].create({"name": "Second team"})
        team_stage = self.env["crm.stage"].create(
            {
                "name": "A team step",
                "sequence": 2,
                "pipeline_type_id": self.type_a.id,
                "team_ids": [(6, 0, team_2.ids)],
            }
        )
        Lead = self.env["crm.lead"].with_context(
            read_group_expand=True, default_pipeline_type_id=self.type_a.id
        )

        def columns(**context):
            groups = Lead.with_context(**context).web_read_group(
                [("pipeline_type_id", "=", self.type_a.id)], ["stage_id"]
            )
            return [g["stage_id"][0] for g in groups["groups"]]

        self.assertNotIn(team_stage.id, columns(default_team_id=self.team.id))
        self.assertEqual(columns(default_team_id=team_2.id), (self.a1 | self.a2 | team_stage | self.a3).ids)

    def test_kanban_without_process_keeps_odoo_columns(self):
        self._create_leads(1, pipeline_type_id=self.type_b.id, stage_id=self.b2.id)
        groups = self.env["crm.lead"].web_read_group([("name", "=", "Deal 0")], ["stage_id"])["groups"]
        self.assertIn(self.b2.id, [g["stage_id"][0] for g in groups if g["stage_id"]])

    def test_mark_won_uses_each_process_won_stage(self):
        lead_a = self._create_leads(1, pipeline_type_id=self.type_a.id, stage_id=self.a2.id)
        lead_b = self._create_leads(1, pipeline_type_id=self.type_b.id, stage_id=self.b2.id)
        (lead_a | lead_b).action_set_won()
        self.assertEqual(lead_a.stage_id, self.a3)
        self.assertEqual(lead_b.stage_id, self.bwon)
        self.assertEqual((lead_a | lead_b).mapped("won_status"), ["won", "won"])
