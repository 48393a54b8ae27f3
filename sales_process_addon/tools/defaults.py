"""Defaults of the fields only the server sets."""


def server_field_defaults(records, defaults, fnames):
    """Give the fields ``fnames`` in ``defaults`` their field's own default, or none.

    A user's context (``default_state``) and personal defaults (``ir.default``,
    which any user may save for himself) reach ``create`` as defaults, after its
    check of the values given: for a field only the server sets, they would
    set what the values may not. ``defaults`` is changed in place and returned.
    """
    for fname in fnames & defaults.keys():
        field = records._fields[fname]
        if field.default:
            value = field.convert_to_cache(field.default(records), records, validate=False)
            defaults[fname] = field.convert_to_write(value, records)
        else:
            del defaults[fname]
    return defaults
