import { registry } from "@web/core/registry";

/**
 * A customer's message in the chatter: "Use as Evidence" is one of its quick
 * actions, and opens the evidence form with the milestone it likely proves.
 */
const message = ".o-mail-Message:contains('our budget is approved')";

registry.category("web_tour.tours").add("sales_process_use_as_evidence_tour", {
    steps: () => [
        {
            content: "The action is among the message's quick actions, not in its menu",
            trigger: message,
            run: `hover && click ${message} .o-mail-Message-actions [title='Use as Evidence']`,
        },
        {
            content: "The milestone is suggested",
            trigger: ".modal .o_field_widget[name=milestone_id] input:value('Tour budget confirmed')",
        },
        {
            content: "The customer contact and the summary come from the message",
            trigger: ".modal .o_field_widget[name=customer_partner_id] input:value('Tour Buyer')",
        },
        {
            trigger: ".modal:has(.o_field_widget[name=milestone_id]) .o_form_button_save",
            run: "click",
        },
        {
            content: "The dialog closes",
            trigger: "body:not(:has(.modal))",
        },
        {
            content: "The checklist shows the milestone met",
            trigger: ".o_field_widget[name=milestone_checklist] li:contains('Tour budget confirmed') .fa-check-square-o",
        },
    ],
});
