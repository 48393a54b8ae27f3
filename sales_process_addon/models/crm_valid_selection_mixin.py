from odoo import _, api, models
from odoo.exceptions import ValidationError

from ..tools import join_list


class CrmValidSelectionMixin(models.AbstractModel):
    """Refuse an unknown selection value with a message the user can act on.

    Without it the ORM raises a bare ``ValueError`` (a server error in the web
    client and over RPC) for e.g. a stance or a threat level it does not know.
    Checked before anything is written, so nothing is lost.
    """

    _name = "crm.valid.selection.mixin"
    _description = "Selection Values Check"

    @api.model_create_multi
    def create(self, vals_list):
        for vals in vals_list:
            self._check_selection_values(vals)
        return super().create(vals_list)

    def write(self, vals):
        self._check_selection_values(vals)
        return super().write(vals)

    @api.model
    def _check_selection_values(self, vals):
        for fname, value in vals.items():
            field = self._fields.get(fname)
            if field is None or field.type != "selection" or value in (False, None):
                continue
            allowed = dict(field._description_selection(self.env))
            if value not in allowed:
                raise ValidationError(
                    _(
                        '"%(value)s" is not a valid %(field)s; use one of: %(allowed)s.',
                        value=value,
                        field=field._description_string(self.env),
                        allowed=join_list(self.env, allowed.values()),
                    )
                )
