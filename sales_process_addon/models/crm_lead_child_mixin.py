from odoo import _, api, models
from odoo.exceptions import AccessError, ValidationError

from ..tools import join_list, server_field_defaults


class CrmLeadChildMixin(models.AbstractModel):
    """A record that belongs to one opportunity (``lead_id``) and is as safe as it.

    Checked before anything is written, and so before the constraints (which
    run before Odoo's own access check of a create and could name records the
    user cannot read):

    - the user may write the opportunity the record points to;
    - the record stays on its opportunity: only server code running as
      superuser (a merge) moves it to another one;
    - fields the server derives (``_lead_child_server_fields``) are never
      given by users, on create or write, nor as defaults (context keys,
      personal defaults): they take their field's own default;
    - a create is checked with the defaults it adds: an opportunity or a
      linked record given as a default is checked as a given one.

    The company is a stored related field of the opportunity's.
    """

    _name = "crm.lead.child.mixin"
    _description = "Opportunity Child Record"

    # Fields set by the server only; models add theirs.
    _lead_child_server_fields = frozenset({"company_id"})

    @api.model
    def default_get(self, fields):
        defaults = super().default_get(fields)
        if self.env.su:
            return defaults
        return server_field_defaults(self, defaults, self._lead_child_server_fnames())

    @api.model_create_multi
    def create(self, vals_list):
        if not self.env.su:
            for vals in vals_list:
                self._lead_child_check_server_fields(vals)
            # Judged as they will be stored: with the defaults create adds (context keys, personal
            # defaults), so that an opportunity or a linked record given as a default is checked too.
            vals_list = [self._add_missing_default_values(vals) for vals in vals_list]
            self._lead_child_check_leads(self._lead_child_leads([vals.get("lead_id") for vals in vals_list]))
        self._lead_child_before_create(vals_list)
        return super().create(vals_list)

    def write(self, vals):
        if not self.env.su:
            self.check_access("write")
            self._lead_child_check_server_fields(vals)
            self._lead_child_check_leads(self.lead_id)
            if "lead_id" in vals:
                target = self._lead_child_leads([vals["lead_id"]])
                if any(record.lead_id != target for record in self):
                    raise AccessError(
                        _(
                            "%(model)s cannot be moved to another opportunity: record it on the "
                            "opportunity it belongs to. Nothing was saved.",
                            model=self._lead_child_label(),
                        )
                    )
        self._lead_child_before_write(vals)
        return super().write(vals)

    def unlink(self):
        if not self.env.su:
            self.check_access("unlink")
            self._lead_child_check_leads(self.lead_id)
        return super().unlink()

    @api.model
    def _lead_child_server_fnames(self):
        """The fields only the server sets: refused in values, ignored as defaults."""
        return self._lead_child_server_fields

    @api.model
    def _lead_child_label(self):
        """The model's name in the user's language, for messages."""
        return self.env["ir.model"]._get(self._name).name

    @api.model
    def _lead_child_before_create(self, vals_list):
        """Checks of a model on the values to create, once the user's rights are checked."""

    def _lead_child_before_write(self, vals):
        """Checks of a model on the values to write, once the user's rights are checked."""

    @api.model
    def _lead_child_leads(self, values):
        """The opportunities named by ``lead_id`` values; a clear error for a value that is no id."""
        ids = set()
        for value in values:
            if value in (None, False):
                continue
            if not isinstance(value, int) or isinstance(value, bool):
                raise ValidationError(
                    _(
                        '%(model)s: "%(value)s" is not an opportunity id. Nothing was saved.',
                        model=self._lead_child_label(),
                        value=value,
                    )
                )
            ids.add(value)
        return self.env["crm.lead"].browse(sorted(ids))

    @api.model
    def _check_partner_visible(self, partner_ids):
        """Refuse contacts the user may not read, before anything is written.

        Constraint methods run as superuser: this check is called from create
        and write instead, with the user's rights.
        """
        if self.env.su or not partner_ids:
            return
        partners = self.env["res.partner"].browse(partner_ids)
        hidden = partners - partners._filtered_access("read")
        if hidden:
            raise ValidationError(
                _(
                    "Contact #%(ids)s is not visible to you: it belongs to records you cannot access "
                    "(e.g. another company's). Pick one of your contacts; nothing was saved.",
                    ids=", #".join(str(pid) for pid in hidden.ids),
                )
            )

    def _lead_child_check_leads(self, leads):
        """Refuse unless the user may write all ``leads``; name them by id only."""
        if self.env.su or not leads:
            return
        leads = leads.with_env(self.env)
        existing = leads.exists()
        refused = (leads - existing) | (existing - existing._filtered_access("write"))
        if refused:
            raise AccessError(
                _(
                    "%(model)s: opportunity #%(ids)s does not exist or you may not change it. "
                    "Nothing was saved.",
                    model=self._lead_child_label(),
                    ids=", #".join(str(lead_id) for lead_id in refused.ids),
                )
            )

    @api.model
    def _lead_child_check_server_fields(self, vals):
        given = sorted(self._lead_child_server_fields & vals.keys())
        if given:
            raise AccessError(
                _(
                    "%(model)s: these fields are set by the server and cannot be given: %(fields)s. "
                    "Nothing was saved.",
                    model=self._lead_child_label(),
                    fields=join_list(
                        self.env, [self._fields[fname]._description_string(self.env) for fname in given]
                    ),
                )
            )
