import { useEffect } from "@odoo/owl";
import { CrmKanbanDynamicGroupList } from "@crm/views/crm_kanban/crm_kanban_model";
import { _t } from "@web/core/l10n/translation";
import { RPCError } from "@web/core/network/rpc";
import { patch } from "@web/core/utils/patch";
import { StatusBarField } from "@web/views/fields/statusbar/statusbar_field";
import { FormController } from "@web/views/form/form_controller";
import { guardStageMove, openStageMoveDialog } from "./move_dialog";

/**
 * Every stage move the gate refuses opens the move dialog instead of an
 * error: a kanban drop, a statusbar click, the Won button. A drop and a click
 * are saved at once, as in plain CRM (one request): only when the gate
 * refuses does the dialog ask the server what the move lacks, and the real
 * stage is shown again. The Won button asks first (one request: its stage,
 * the server's choice, and the gate's answer for it). Only enforced processes
 * are concerned: guided moves are never refused, and keep Odoo's own flow
 * untouched.
 */

/** The gate's refusal: a validation error the server flags (``crm.lead._stage_gate_refuse``). */
function isGateRefusal(error) {
    return error instanceof RPCError && Boolean(error.data?.context?.sales_process_stage_gate_refused);
}

/**
 * Save the move with ``save``; if the gate refuses it, open the move dialog
 * (``undo`` first puts the real stage back) instead of the error. Returns the
 * save's result, or false when the dialog took over.
 */
async function saveStageMove(env, save, undo, move) {
    try {
        return await save();
    } catch (error) {
        if (!isGateRefusal(error)) {
            throw error;
        }
        await undo();
        if (await guardStageMove(env, move)) {
            throw error; // refused for a reason the dialog cannot tell: the error says it
        }
        return false;
    }
}

patch(CrmKanbanDynamicGroupList.prototype, {
    async moveRecord(dataRecordId, dataGroupId, refId, targetGroupId) {
        const sourceGroup = this.groups.find((g) => g.id === dataGroupId);
        const targetGroup = this.groups.find((g) => g.id === targetGroupId);
        const record = sourceGroup?.list.records.find((r) => r.id === dataRecordId);
        if (
            this.resModel !== "crm.lead" ||
            dataGroupId === targetGroupId ||
            sourceGroup?.groupByField.name !== "stage_id" ||
            !targetGroup?.value ||
            record?.data.pipeline_gate_mode !== "enforced"
        ) {
            return super.moveRecord(...arguments);
        }
        // Odoo's move puts the card back in its column when the save fails.
        return saveStageMove(
            { services: { orm: this.model.orm, dialog: this.model.dialog } },
            () => super.moveRecord(...arguments),
            () => {},
            {
                leadId: record.resId,
                stageId: targetGroup.value,
                stageName: targetGroup.displayName,
                fromStageId: sourceGroup.value,
                onChanged: () => this.model.load(),
            }
        );
    },
});

patch(StatusBarField.prototype, {
    setup() {
        super.setup(...arguments);
        // Stages the gate does not let the opportunity reach from here.
        useEffect(
            (unreachable) => {
                const root = this.rootRef.el;
                if (!root) {
                    return;
                }
                for (const button of root.querySelectorAll("button[data-value]")) {
                    const out = unreachable.includes(Number(button.dataset.value));
                    button.classList.toggle("o_sales_process_unreachable", out);
                    if (out) {
                        button.title = _t("Cannot be reached from the current stage");
                    } else {
                        button.removeAttribute("title");
                    }
                }
            },
            () => [this.unreachableStageIds]
        );
    },

    /** The same mark in the dropdowns: the folded stages, and every stage on a phone. */
    getDropdownItemClassNames(item) {
        const classNames = super.getDropdownItemClassNames(...arguments);
        return this.unreachableStageIds.includes(item.value)
            ? `${classNames} o_sales_process_unreachable`
            : classNames;
    },

    get unreachableStageIds() {
        const { record, name } = this.props;
        if (record.resModel !== "crm.lead" || name !== "stage_id") {
            return [];
        }
        return record.data.stage_unreachable_ids?.currentIds || [];
    },

    async selectItem(item) {
        const { name, record } = this.props;
        if (
            record.resModel !== "crm.lead" ||
            name !== "stage_id" ||
            !record.resId ||
            !record.data.stage_id ||
            record.data.pipeline_gate_mode !== "enforced"
        ) {
            return super.selectItem(...arguments);
        }
        // The other changes are saved first: undoing a refused move then drops the stage only.
        if ((await record.isDirty()) && !(await record.save())) {
            return;
        }
        return saveStageMove(
            this.env,
            () => super.selectItem(...arguments),
            () => record.discard(),
            {
                leadId: record.resId,
                stageId: item.value,
                stageName: item.label,
                fromStageId: record.data.stage_id.id,
                onChanged: () => record.load(),
            }
        );
    },
});

patch(FormController.prototype, {
    async beforeExecuteActionButton(clickParams) {
        const record = this.model.root;
        if (
            this.props.resModel === "crm.lead" &&
            clickParams.type === "object" &&
            ["action_set_won_rainbowman", "action_set_won"].includes(clickParams.name) &&
            record.resId &&
            record.data.pipeline_gate_mode === "enforced"
        ) {
            if (await record.isDirty()) {
                await record.save();
            }
            // The won stage the button moves to (the server makes Odoo's team-aware choice), and
            // the gate's answer for it: one request.
            const won = await this.orm.call("crm.lead", "stage_won_target", [[record.resId]]);
            if (won) {
                const move = {
                    leadId: record.resId,
                    stageId: won.id,
                    stageName: won.name,
                    fromStageId: record.data.stage_id.id,
                    onChanged: () => record.load(),
                };
                if (!openStageMoveDialog(this.env, move, won.check)) {
                    return false;
                }
            }
        }
        return super.beforeExecuteActionButton(...arguments);
    },
});
