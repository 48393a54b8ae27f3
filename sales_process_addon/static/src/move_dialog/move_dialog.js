import { Component, onWillDestroy, onWillStart, useState } from "@odoo/owl";
import { Dialog } from "@web/core/dialog/dialog";
import { _t } from "@web/core/l10n/translation";
import { formatList } from "@web/core/l10n/utils";
import { useService } from "@web/core/utils/hooks";
import { EvidenceEntry } from "./evidence_entry";

/**
 * The guided move: what a refused stage move of one opportunity lacks, and the
 * ways forward: record evidence in place (each missing milestone opens its
 * compact entry), request an exception, or move once all is met.
 *
 * The server stays the judge: the dialog reads `crm.lead.stage_move_check` and
 * the move itself is an ordinary write, which goes through the stage gate.
 */
export class StageMoveDialog extends Component {
    static template = "sales_process_addon.StageMoveDialog";
    static components = { Dialog, EvidenceEntry };
    static props = {
        close: Function,
        leadId: Number,
        stageId: Number,
        stageName: String,
        fromStageId: Number,
        check: Object,
        // Called once the dialog closed, when it changed the opportunity (evidence, a move).
        onChanged: { type: Function, optional: true },
    };

    setup() {
        this.orm = useService("orm");
        this.action = useService("action");
        this.state = useState({
            check: this.props.check,
            // The milestones missing when the dialog opened: they stay listed, shown met once proven.
            lines: [...this.props.check.missing],
            expandedId: false,
            defaults: false,
            moving: false,
        });
        this.changed = false;
        onWillStart(() => this.loadDefaults());
        onWillDestroy(() => {
            if (this.changed) {
                this.props.onChanged?.();
            }
        });
    }

    /** What each milestone's inline entry offers and prefills (kinds, contact, today). */
    async loadDefaults() {
        const ids = this.state.lines.map((m) => m.id);
        if (ids.length) {
            this.state.defaults = await this.orm.call("crm.lead", "evidence_entry_defaults", [
                [this.props.leadId],
                ids,
            ]);
        }
    }

    get title() {
        return _t("Move to %(stage)s", { stage: this.props.stageName });
    }

    get isBlockedByOrder() {
        return ["skip", "backward"].includes(this.state.check.reason);
    }

    get allAwaitingVerification() {
        const missing = this.state.check.missing;
        return missing.length > 0 && missing.every((m) => m.awaiting_verification);
    }

    get exceptionState() {
        return this.state.check.exception && this.state.check.exception.state;
    }

    /** "missing", "awaiting" (evidence waits for a manager) or "met", from the last check. */
    lineState(milestone) {
        const missing = this.state.check.missing.find((m) => m.id === milestone.id);
        if (!missing) {
            return "met";
        }
        return missing.awaiting_verification ? "awaiting" : "missing";
    }

    entryOf(milestone) {
        return this.state.defaults && this.state.defaults.milestones[milestone.id];
    }

    kindsOf(milestone) {
        const entry = this.entryOf(milestone);
        if (!entry || !milestone.evidence_kind_ids.length) {
            return "";
        }
        return formatList(
            entry.kinds.map((kind) => kind.name),
            { style: "or" }
        );
    }

    toggleEntry(milestone) {
        this.state.expandedId = this.state.expandedId === milestone.id ? false : milestone.id;
    }

    async onEvidenceSaved() {
        this.changed = true;
        this.state.expandedId = false;
        await this.refresh();
    }

    async refresh() {
        const result = await this.orm.call("crm.lead", "stage_move_check", [
            [this.props.leadId],
            [this.props.stageId],
        ]);
        this.state.check = result[this.props.stageId] || result[String(this.props.stageId)];
        const shown = new Set(this.state.lines.map((m) => m.id));
        const added = this.state.check.missing.filter((m) => !shown.has(m.id));
        if (added.length) {
            this.state.lines.push(...added);
            await this.loadDefaults();
        }
    }

    requestException() {
        // The reason is the rep's own words: the milestones waived are recorded by the server.
        this.action.doAction("sales_process_addon.crm_stage_exception_action_request", {
            additionalContext: {
                default_lead_id: this.props.leadId,
                default_from_stage_id: this.props.fromStageId,
                default_to_stage_id: this.props.stageId,
            },
            onClose: async () => {
                await this.refresh();
                // A requested exception shows on the opportunity (its banner).
                this.changed ||= Boolean(this.exceptionState);
            },
        });
    }

    async move() {
        this.state.moving = true;
        try {
            await this.orm.write("crm.lead", [this.props.leadId], { stage_id: this.props.stageId });
            this.changed = true;
        } finally {
            this.state.moving = false;
        }
        this.props.close();
    }
}

/**
 * Ask the server whether `leadId` may move to `stageId`; when the gate would
 * refuse, open the move dialog and return false. Returns true when the move
 * may go ahead as usual.
 */
export async function guardStageMove(env, move) {
    const result = await env.services.orm.call("crm.lead", "stage_move_check", [
        [move.leadId],
        [move.stageId],
    ]);
    return openStageMoveDialog(env, move, result[move.stageId] || result[String(move.stageId)]);
}

/**
 * The same, given the gate's answer already (``stage_move_check`` of the move):
 * opens the move dialog and returns false when the gate would refuse.
 */
export function openStageMoveDialog(env, { leadId, stageId, stageName, fromStageId, onChanged }, check) {
    if (!check || check.allowed) {
        return true;
    }
    env.services.dialog.add(StageMoveDialog, {
        leadId,
        stageId,
        stageName,
        fromStageId,
        check,
        onChanged,
    });
    return false;
}
