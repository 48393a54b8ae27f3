from odoo.exceptions import ValidationError


class StageGateRefused(ValidationError):
    """The stage gate refused a move: the web client opens the move dialog, which
    explains the way forward, instead of showing the error (see ``move_guard.js``).

    Elsewhere (RPC, import, a list) it is the validation error it derives from.
    """
