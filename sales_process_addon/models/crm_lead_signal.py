from markupsafe import Markup

from odoo import _, api, fields, models
from odoo.exceptions import AccessError


class CrmLeadSignal(models.Model):
    """A warning signal: a change that announces an opportunity or a risk.

    Changes in the people involved, their roles, the selection criteria, the
    buying intent or the decision procedure. The buying center logs its own
    changes (``automatic``); reps record the others. Automatic signals are
    written by the server only: reps cannot forge, change or delete them.
    """

    _name = "crm.lead.signal"
    _inherit = ["crm.lead.child.mixin", "crm.valid.selection.mixin"]
    _description = "Opportunity Warning Signal"
    _order = "date desc, id desc"
    _rec_name = "description"

    lead_id = fields.Many2one("crm.lead", "Opportunity", required=True, index=True, ondelete="cascade")
    date = fields.Datetime(required=True, default=fields.Datetime.now, index=True)
    category = fields.Selection(
        [
            ("people", "People involved"),
            ("role", "Roles"),
            ("criteria", "Selection criteria"),
            ("intent", "Buying intent"),
            ("procedure", "Decision procedure"),
        ],
        required=True,
        index=True,
        help="What changed: the people involved (key persons, opinion leaders, stakeholders), "
        "their roles, the selection criteria, the buying intent or the decision procedure.",
    )
    description = fields.Text(required=True)
    partner_id = fields.Many2one("res.partner", "Person Concerned")
    automatic = fields.Boolean(readonly=True, help="Logged by the buying center itself.")
    user_id = fields.Many2one("res.users", "Recorded by", default=lambda self: self.env.user, readonly=True)
    followup_activity_id = fields.Many2one(
        "mail.activity", "Follow-up", readonly=True, copy=False, ondelete="set null", index="btree_not_null"
    )
    company_id = fields.Many2one(related="lead_id.company_id", store=True, index=True, precompute=True)

    _lead_child_server_fields = frozenset({"company_id", "followup_activity_id"})

    # ------------------------------------------------------------
    # ORM
    # ------------------------------------------------------------

    @api.model_create_multi
    def create(self, vals_list):
        if not self.env.su:
            for vals in vals_list:
                # Automatic signals come from _create_automatic only.
                vals["automatic"] = False
                vals["user_id"] = self.env.uid
        signals = super().create(vals_list)
        # The method follows up every warning signal: the rep may close the to-do (for the lines
        # of a lead being created, once it exists: see crm.lead.create).
        if not self.env.cr.cache.get(self.env["crm.lead"]._CREATING_LEADS):
            signals._schedule_followups()
        return signals

    def write(self, vals):
        self._check_automatic_rights(vals)
        return super().write(vals)

    @api.model
    def _lead_child_before_create(self, vals_list):
        self._check_partner_visible({vals["partner_id"] for vals in vals_list if vals.get("partner_id")})

    def _lead_child_before_write(self, vals):
        if vals.get("partner_id"):
            self._check_partner_visible({vals["partner_id"]})

    def unlink(self):
        self._check_automatic_rights()
        return super().unlink()

    def _check_automatic_rights(self, vals=None):
        if self.env.su or self.env.user.has_group("sales_team.group_sale_manager"):
            return
        if vals and {"automatic", "user_id"} & vals.keys():
            raise AccessError(_("Who recorded a signal, and whether it is automatic, cannot be changed."))
        automatic = self.filtered("automatic")
        if automatic:
            raise AccessError(
                _(
                    'The signal "%(signal)s" was logged automatically; only a sales manager can change '
                    "or delete it.",
                    signal=automatic[0].description,
                )
            )

    # ------------------------------------------------------------
    # ACTIONS
    # ------------------------------------------------------------

    def action_schedule_followup(self):
        """Schedule a to-do on the opportunity for this signal, and open it to adjust.

        The activity is created here rather than in a prefilled dialog: the
        dialog's activity-type onchange would replace the summary. A signal
        keeps its open follow-up; the button opens it again instead of
        scheduling another.
        """
        self.ensure_one()
        if not self.followup_activity_id.active:
            self._schedule_followups()
        return {
            "type": "ir.actions.act_window",
            "name": _("Follow up on a signal"),
            "res_model": "mail.activity",
            "res_id": self.followup_activity_id.id,
            "view_mode": "form",
            "views": [(self.env.ref("mail.mail_activity_view_form_popup").id, "form")],
            "target": "new",
        }

    # ------------------------------------------------------------
    # BUSINESS
    # ------------------------------------------------------------

    def _schedule_followups(self):
        """Schedule a follow-up to-do for the signals without an open one, in one create.

        The to-do goes to the opportunity's salesperson, worded in their language.
        """
        signals = self.filtered(lambda signal: not signal.followup_activity_id.active)
        if not signals:
            return self.env["mail.activity"]
        todo = self.env.ref("mail.mail_activity_data_todo")
        model_id = self.env["ir.model"]._get_id("crm.lead")
        vals_list = []
        for signal in signals:
            user = signal.lead_id.user_id or self.env.user
            summary = signal.with_context(lang=user.lang or self.env.lang).env._(
                "Follow up: %(signal)s", signal=signal.description
            )
            vals_list.append(
                {
                    "res_model_id": model_id,
                    "res_id": signal.lead_id.id,
                    "activity_type_id": todo.id,
                    # Cut by characters: Chinese text has no spaces to cut at.
                    "summary": summary if len(summary) <= 100 else summary[:99] + "…",
                    "note": Markup("<p>%s</p>") % signal.description,
                    "date_deadline": todo._get_date_deadline(),
                    "user_id": user.id,
                }
            )
        # No email per to-do (a batch of changes logs many signals): the
        # salesperson sees them in the activities.
        activities = self.env["mail.activity"].with_context(mail_activity_quick_update=True).create(vals_list)
        for signal, activity in zip(signals, activities, strict=True):
            # sudo: the link is the server's; reps cannot write automatic signals.
            signal.sudo().followup_activity_id = activity
        return activities

    @api.model
    def _create_automatic(self, vals_list):
        """Log signals of the buying center, in one create."""
        if not vals_list:
            return self.browse()
        now = fields.Datetime.now()
        for vals in vals_list:
            vals.update(automatic=True, user_id=self.env.uid, date=vals.get("date", now))
        # sudo: automatic signals are written by the server only (see create);
        # the change they log has passed the user's rights already.
        return self.sudo().create(vals_list).sudo(False)
