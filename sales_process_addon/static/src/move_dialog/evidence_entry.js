import { Component, onWillDestroy, useState } from "@odoo/owl";
import { DateTimeInput } from "@web/core/datetime/datetime_input";
import { FileInput } from "@web/core/file_input/file_input";
import { deserializeDate, serializeDate } from "@web/core/l10n/dates";
import { RPCError } from "@web/core/network/rpc";
import { RecordSelector } from "@web/core/record_selectors/record_selector";
import { useService } from "@web/core/utils/hooks";

/** Server refusals the entry shows in place, every problem at once, instead of an error dialog. */
const SHOWN_IN_PLACE = ["odoo.exceptions.ValidationError", "odoo.exceptions.UserError"];

/**
 * The compact evidence entry of one milestone, in place: in the move dialog
 * and in the opportunity form's checklist.
 *
 * It asks only what the milestone needs (the kinds it accepts, the customer
 * contact for a customer-led milestone, else who of us did it; a value for a
 * recorded value) and saves through `crm.lead.record_milestone_evidence`,
 * which checks the whole entry and reports every problem together.
 *
 * `defaults`: the `crm.lead.evidence_entry_defaults` answer; `milestone`: one
 * of its milestones.
 *
 * A document is uploaded as soon as it is chosen, as an attachment of the
 * opportunity. One the rep removes, or leaves behind by cancelling or closing
 * the entry unsaved, is deleted: only saved evidence adds documents to the deal.
 */
export class EvidenceEntry extends Component {
    static template = "sales_process_addon.EvidenceEntry";
    static components = { DateTimeInput, FileInput, RecordSelector };
    static props = {
        leadId: Number,
        milestone: Object,
        defaults: Object,
        onSaved: Function,
        onCancel: Function,
        beforeSave: { type: Function, optional: true },
    };

    setup() {
        this.orm = useService("orm");
        const nameService = useService("name");
        const { milestone, defaults } = this.props;
        if (milestone.customer_partner) {
            // Shown as the server named it (the person, without the customer's name again),
            // not as the name service would load it.
            const { id, name } = milestone.customer_partner;
            nameService.addDisplayNames("res.partner", { [id]: name });
        }
        this.today = deserializeDate(defaults.today);
        this.state = useState({
            kindId: milestone.kind_id || (milestone.kinds.length === 1 ? milestone.kinds[0].id : false),
            date: this.today,
            summary: "",
            partnerId: milestone.customer_partner?.id || false,
            userId: milestone.customer_led ? false : defaults.user.id,
            amount: "",
            attachments: [],
            problems: [],
            saving: false,
        });
        this.saved = false;
        onWillDestroy(() => {
            if (!this.saved) {
                this.discardAttachments(this.state.attachments);
            }
        });
    }

    get uid() {
        return `o_sales_process_entry_${this.props.milestone.id}`;
    }

    get selectedKind() {
        return this.props.milestone.kinds.find((kind) => kind.id === this.state.kindId);
    }

    /** A value is asked for where the proof is a recorded value (e.g. the budget shared). */
    get asksAmount() {
        return this.selectedKind?.code === "value";
    }

    get partnerDomain() {
        const customer = this.props.defaults.customer;
        return customer ? [["commercial_partner_id", "=", customer.id]] : [["id", "=", 0]];
    }

    /** The customer's people by their names: the customer is the opportunity's, named already. */
    get partnerContext() {
        return { partner_display_name_hide_company: true };
    }

    get userDomain() {
        return [["share", "=", false]];
    }

    onKindChange(ev) {
        this.state.kindId = Number(ev.target.value) || false;
    }

    setPartner(partnerId) {
        this.state.partnerId = partnerId;
    }

    setUser(userId) {
        this.state.userId = userId;
    }

    onDateChange(date) {
        this.state.date = date || this.today;
    }

    onUpload(files) {
        for (const file of files) {
            if (!file.error) {
                this.state.attachments.push({ id: file.id, name: file.name || file.filename });
            }
        }
    }

    removeAttachment(attachment) {
        this.state.attachments = this.state.attachments.filter((a) => a.id !== attachment.id);
        this.discardAttachments([attachment]);
    }

    /**
     * Delete uploaded documents no evidence uses; also while the entry closes, hence the raw
     * service. Silent: a document that cannot be deleted only stays on the deal, as it did.
     */
    discardAttachments(attachments) {
        if (attachments.length) {
            const ids = attachments.map((a) => a.id);
            this.env.services.orm.unlink("ir.attachment", ids).catch(() => {});
        }
    }

    get values() {
        const values = {
            kind_id: this.state.kindId,
            date: serializeDate(this.state.date),
            summary: this.state.summary,
            customer_partner_id: this.state.partnerId,
            internal_user_id: this.state.partnerId ? false : this.state.userId,
        };
        if (this.asksAmount && this.state.amount !== "") {
            values.amount = Number(this.state.amount);
        }
        if (this.state.attachments.length) {
            values.attachment_ids = this.state.attachments.map((a) => a.id);
        }
        return values;
    }

    async save() {
        this.state.saving = true;
        this.state.problems = [];
        try {
            await this.props.beforeSave?.();
            await this.orm.call("crm.lead", "record_milestone_evidence", [
                [this.props.leadId],
                this.props.milestone.id,
                this.values,
            ]);
        } catch (error) {
            if (error instanceof RPCError && SHOWN_IN_PLACE.includes(error.exceptionName)) {
                this.state.problems = error.data.message.split("\n").filter(Boolean);
                return;
            }
            throw error;
        } finally {
            this.state.saving = false;
        }
        this.saved = true;
        await this.props.onSaved();
    }
}
