import { registry } from "@web/core/registry";

/**
 * The opportunity form's checklist lines are clickable: a missing milestone
 * opens its evidence entry in place, prefilled from the milestone; once saved
 * the line shows the milestone met, and clicking it shows its evidence.
 */
const line = (name) => `.o_field_widget[name=milestone_checklist] li:contains('${name}')`;

registry.category("web_tour.tours").add("sales_process_milestone_checklist_tour", {
    steps: () => [
        {
            content: "The milestone is missing; its line offers to record evidence",
            trigger: `${line("Tour budget shared by the customer")} .fa-square-o`,
        },
        {
            trigger: `${line("Tour budget shared by the customer")} .o_sales_process_checklist_head`,
            run: "click",
        },
        {
            content: "The entry opens in place; two kinds fit, none is picked",
            trigger: `${line("Tour budget shared by the customer")} select.o_sales_process_entry_kind:has(option:selected:contains('Choose'))`,
        },
        {
            content: "The customer's contact is prefilled",
            trigger: `${line("Tour budget shared by the customer")} .o_sales_process_entry_contact input:value(/^Tour Buyer$/)`,
        },
        {
            content: "Only the fields the milestone needs: no value asked for a signed document",
            trigger: `${line("Tour budget shared by the customer")} .o_sales_process_evidence_entry:not(:has(.o_sales_process_entry_amount))`,
        },
        {
            content: "Only the milestone's accepted kinds are offered",
            trigger: `${line("Tour budget shared by the customer")} select.o_sales_process_entry_kind:not(:has(option:contains('Customer email')))`,
        },
        {
            content: "A recorded value asks for the value",
            trigger: `${line("Tour budget shared by the customer")} select.o_sales_process_entry_kind`,
            run: "selectByLabel Recorded value",
        },
        {
            trigger: `${line("Tour budget shared by the customer")} .o_sales_process_entry_amount`,
            run: "edit 50000",
        },
        {
            content: "No dialog opened",
            trigger: "body:not(:has(.modal))",
        },
        {
            content: "Summarize what happened",
            trigger: `${line("Tour budget shared by the customer")} .o_sales_process_entry_summary`,
            run: "edit The purchasing manager sent the approved budget.",
        },
        {
            trigger: `${line("Tour budget shared by the customer")} .o_sales_process_entry_save`,
            run: "click",
        },
        {
            content: "The line shows the milestone met",
            trigger: `${line("Tour budget shared by the customer")} .fa-check-square-o`,
        },
        {
            content: "The progress badge is complete",
            trigger: ".o_sales_process_milestones summary .text-bg-success:contains('1/1')",
        },
        {
            content: "A met line shows its evidence",
            trigger: `${line("Tour budget shared by the customer")} .o_sales_process_checklist_head`,
            run: "click",
        },
        {
            trigger: `${line("Tour budget shared by the customer")} .o_sales_process_checklist_evidence_link:contains('approved budget')`,
            run: "click",
        },
        {
            content: "The evidence opens",
            trigger: ".modal .o_field_widget[name=summary] textarea:value('approved budget')",
        },
        {
            trigger: ".modal .btn-close",
            run: "click",
        },
        {
            trigger: "body:not(:has(.modal))",
        },
    ],
});
