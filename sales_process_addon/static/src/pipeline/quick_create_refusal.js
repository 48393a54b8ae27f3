import { RPCError } from "@web/core/network/rpc";
import { patch } from "@web/core/utils/patch";
import { KanbanQuickCreateController } from "@web/views/kanban/kanban_record_quick_create";

/**
 * A quick create the server refuses (the stage gate: a new opportunity starts
 * in its process's first stage) says why, and stays open. Odoo's quick create
 * answers every server error by opening the full form, without the message:
 * that suits a missing field, not a rule the form cannot satisfy either.
 * The notification stays until the rep closes it: the reason is often long.
 */
patch(KanbanQuickCreateController.prototype, {
    showFormDialogInError(error) {
        if (
            this.props.resModel === "crm.lead" &&
            error instanceof RPCError &&
            ["odoo.exceptions.UserError", "odoo.exceptions.ValidationError"].includes(error.exceptionName)
        ) {
            this.model.notification.add(error.data.message, { type: "danger", sticky: true });
            return;
        }
        return super.showFormDialogInError(...arguments);
    },
});
