import { registerMessageAction } from "@mail/core/common/message_actions";
import { _t } from "@web/core/l10n/translation";

/**
 * "Use as Evidence" on the chatter messages of an opportunity written by a
 * customer (a contact who is not an internal user): opens the evidence form in
 * a dialog, prefilled from the message and with the milestone it likely proves.
 */

const EVIDENCE_ACTION = "sales_process_addon.crm_lead_evidence_action_from_message";

/** A persisted email or comment of the opportunity whose author is no internal user. */
export function isCustomerMessageOfLead(message, thread) {
    return Boolean(
        thread?.model === "crm.lead" &&
            Number.isInteger(thread.id) &&
            Number.isInteger(message.id) &&
            !message.isPending &&
            !message.is_transient &&
            ["email", "comment"].includes(message.message_type) &&
            message.author_id &&
            // share is false for internal users only; portal users and contacts count as customers
            message.author_id.main_user_id?.share !== false
    );
}

/** The message's text without markup nor quoted history, line breaks kept. */
export function messagePlainText(html) {
    const doc = new DOMParser().parseFromString(String(html || ""), "text/html");
    doc.querySelectorAll("[data-o-mail-quote], style, script").forEach((el) => el.remove());
    doc.querySelectorAll("br").forEach((el) => el.replaceWith("\n"));
    doc.querySelectorAll("p, div, li, tr, h1, h2, h3, h4, h5, h6").forEach((el) => el.append("\n"));
    return doc.body.textContent
        .replace(/[ \t\u00a0]+/g, " ")
        .replace(/ *\n */g, "\n")
        .replace(/\n{3,}/g, "\n\n")
        .trim();
}

registerMessageAction("sales-process-use-as-evidence", {
    condition: ({ message, thread }) => isCustomerMessageOfLead(message, thread),
    icon: "fa fa-check-square-o",
    name: _t("Use as Evidence"),
    onSelected: async ({ message, owner, thread }) => {
        // The milestone this message most likely proves: the first one still missing
        // in the opportunity's stage that a customer's message can prove.
        const suggestion = await owner.env.services.orm.call(
            "crm.lead",
            "evidence_milestone_suggestion",
            [[thread.id]]
        );
        const summary =
            messagePlainText(message.body) ||
            message.subject ||
            _t("Message from %(author)s", { author: message.authorName });
        return owner.env.services.action.doAction(EVIDENCE_ACTION, {
            additionalContext: {
                default_lead_id: thread.id,
                default_message_id: message.id,
                default_milestone_id: suggestion.milestone_id,
                default_kind_id: suggestion.kind_id,
                default_customer_partner_id: message.author_id.id,
                default_summary: summary,
                default_date: message.datetime.toFormat("yyyy-MM-dd"),
                default_attachment_ids: message.attachment_ids.map((attachment) => attachment.id),
            },
            onClose: async () => {
                // The evidence may have met a milestone: refresh the opportunity's checklist,
                // saving the user's edits first as the chatter does after its own actions.
                const root = owner.env.model?.root;
                if (root?.resModel === "crm.lead" && root.resId === thread.id) {
                    if (await root.save()) {
                        await root.load();
                    }
                }
            },
        });
    },
    // First among the message's quick actions: shown on the message, not in its "more" menu.
    sequence: 5,
});
