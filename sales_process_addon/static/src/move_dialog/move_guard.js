import { useEffect } from "@odoo/owl";
import { CrmKanbanDynamicGroupList } from "@crm/views/crm_kanban/crm_kanban_model";
import { _t } from "@web/core/l10n/translation";
import { patch } from "@web/core/utils/patch";
import { StatusBarField } from "@web/views/fields/statusbar/statusbar_field";
import { FormController } from "@web/views/form/form_controller";
import { guardStageMove } from "./move_dialog";

/**
 * Every stage move the gate would refuse opens the move dialog instead of an
 * error: a kanban drop, a statusbar click, the Won button. The record is not
 * changed until the move is allowed, so a cancel leaves the real stage shown.
 * Only enforced processes are asked: guided moves are never refused, and keep
 * Odoo's own flow untouched.
 */

patch(CrmKanbanDynamicGroupList.prototype, {
    async moveRecord(dataRecordId, dataGroupId, refId, targetGroupId) {
        const sourceGroup = this.groups.find((g) => g.id === dataGroupId);
        const targetGroup = this.groups.find((g) => g.id === targetGroupId);
        if (
            this.resModel === "crm.lead" &&
            dataGroupId !== targetGroupId &&
            sourceGroup?.groupByField.name === "stage_id" &&
            targetGroup?.value
        ) {
            const record = sourceGroup.list.records.find((r) => r.id === dataRecordId);
            const allowed =
                record.data.pipeline_gate_mode !== "enforced" ||
                (await guardStageMove(
                    { services: { orm: this.model.orm, dialog: this.model.dialog } },
                    {
                        leadId: record.resId,
                        stageId: targetGroup.value,
                        stageName: targetGroup.displayName,
                        fromStageId: sourceGroup.value,
                        onChanged: () => this.model.load(),
                    }
                ));
            if (!allowed) {
                return;
            }
        }
        return super.moveRecord(...arguments);
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
            record.resModel === "crm.lead" &&
            name === "stage_id" &&
            record.resId &&
            record.data.stage_id &&
            record.data.pipeline_gate_mode === "enforced"
        ) {
            if (await record.isDirty()) {
                await record.save();
            }
            const allowed = await guardStageMove(this.env, {
                leadId: record.resId,
                stageId: item.value,
                stageName: item.label,
                fromStageId: record.data.stage_id.id,
                onChanged: () => record.load(),
            });
            if (!allowed) {
                return;
            }
        }
        return super.selectItem(...arguments);
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
            // The won stage the button moves to: the server makes Odoo's team-aware choice.
            const won = await this.orm.call("crm.lead", "stage_won_target", [[record.resId]]);
            if (won) {
                const allowed = await guardStageMove(this.env, {
                    leadId: record.resId,
                    stageId: won.id,
                    stageName: won.name,
                    fromStageId: record.data.stage_id.id,
                    onChanged: () => record.load(),
                });
                if (!allowed) {
                    return false;
                }
            }
        }
        return super.beforeExecuteActionButton(...arguments);
    },
});
