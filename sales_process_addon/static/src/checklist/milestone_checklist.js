import { Component, useState } from "@odoo/owl";
import { _t } from "@web/core/l10n/translation";
import { formatDate, deserializeDate } from "@web/core/l10n/dates";
import { registry } from "@web/core/registry";
import { useService } from "@web/core/utils/hooks";
import { standardFieldProps } from "@web/views/fields/standard_field_props";
import { EvidenceEntry } from "../move_dialog/evidence_entry";

/**
 * The opportunity form's milestone checklist, one clickable line per milestone
 * of the current stage: a missing milestone opens its compact evidence entry
 * in place (prefilled as in the move dialog), a met or awaiting one shows its
 * evidence.
 *
 * Set on the `milestone_checklist` field, whose value is the lines (read with
 * the opportunity: no request of its own); the entry's defaults come from
 * `crm.lead.evidence_entry_defaults` when a line is opened.
 */
export class MilestoneChecklistField extends Component {
    static template = "sales_process_addon.MilestoneChecklistField";
    static components = { EvidenceEntry };
    static props = { ...standardFieldProps };

    setup() {
        this.orm = useService("orm");
        this.action = useService("action");
        this.state = useState({ expandedId: false, defaults: false });
    }

    get lines() {
        return this.props.record.data[this.props.name] || [];
    }

    /** The line shown open, while its milestone is still in the checklist. */
    get expandedId() {
        const id = this.state.expandedId;
        return this.lines.some((line) => line.id === id) ? id : false;
    }

    get canRecord() {
        const { record } = this.props;
        return Boolean(record.resId) && record.data.active !== false;
    }

    icon(line) {
        return {
            met: "fa-check-square-o text-success",
            awaiting: "fa-hourglass-half text-warning",
            missing: "fa-square-o text-danger",
        }[line.state];
    }

    stateLabel(line) {
        return {
            met: _t("Milestone met"),
            awaiting: _t("Awaiting verification"),
            missing: _t("Missing"),
        }[line.state];
    }

    actionLabel(line) {
        if (line.state !== "missing") {
            return line.evidence.length ? _t("Show evidence") : "";
        }
        return this.canRecord ? _t("Record evidence") : "";
    }

    formatDate(value) {
        return formatDate(deserializeDate(value));
    }

    async toggle(line) {
        if (this.expandedId === line.id) {
            this.state.expandedId = false;
            return;
        }
        if (line.state === "missing" && this.canRecord) {
            this.state.defaults = await this.orm.call("crm.lead", "evidence_entry_defaults", [
                [this.props.record.resId],
                [line.id],
            ]);
        }
        this.state.expandedId = line.id;
    }

    onKeydown(ev, line) {
        if (ev.key === "Enter" || ev.key === " ") {
            ev.preventDefault();
            this.toggle(line);
        }
    }

    /** The server reads the opportunity as the form shows it: unsaved changes are saved first. */
    async beforeSave() {
        const { record } = this.props;
        if (await record.isDirty()) {
            await record.save();
        }
    }

    async onSaved() {
        this.state.expandedId = false;
        // Reloads the progress badges and the checklist's lines.
        await this.props.record.load();
    }

    openEvidence(evidence) {
        this.action.doAction(
            {
                type: "ir.actions.act_window",
                res_model: "crm.lead.evidence",
                res_id: evidence.id,
                views: [[false, "form"]],
                target: "new",
            },
            { onClose: () => this.props.record.load() }
        );
    }
}

registry.category("fields").add("sales_process_milestone_checklist", {
    component: MilestoneChecklistField,
    displayName: _t("Milestone checklist"),
    supportedTypes: ["json"],
});

/**
 * The progress badge of the same lines ("met/required"), in the checklist's
 * summary: drawn from the lines the form already read, so the form does not
 * compute the milestone status a second time for it.
 */
export class MilestoneProgressField extends Component {
    static template = "sales_process_addon.MilestoneProgressField";
    static props = { ...standardFieldProps };

    get progress() {
        const required = (this.props.record.data[this.props.name] || []).filter((line) => line.required);
        if (!required.length) {
            return null;
        }
        const met = required.filter((line) => line.state === "met").length;
        return { label: `${met}/${required.length}`, complete: met === required.length };
    }
}

registry.category("fields").add("sales_process_milestone_progress", {
    component: MilestoneProgressField,
    displayName: _t("Milestone progress"),
    supportedTypes: ["json"],
});
