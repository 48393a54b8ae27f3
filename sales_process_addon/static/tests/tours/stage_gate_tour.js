import { registry } from "@web/core/registry";

/**
 * A rep opens an opportunity whose stage asks for a customer-led milestone,
 * sees it missing, records the customer's evidence from the form and sees the
 * milestone met.
 */
registry.category("web_tour.tours").add("stage_gate_evidence_tour", {
    steps: () => [
        {
            content: "The checklist shows the milestone as missing",
            trigger:
                ".o_field_widget[name=milestone_checklist] li:contains('Tour NDA signed by the customer') .fa-square-o",
        },
        {
            content: "The progress badge says nothing is met yet",
            trigger: ".o_sales_process_milestones summary .text-bg-warning:contains('0/1')",
        },
        {
            content: "Record evidence",
            trigger: ".o_sales_process_milestones button:contains('Record Evidence')",
            run: "click",
        },
        {
            content: "Pick the milestone of the stage",
            trigger: ".modal .o_field_widget[name=milestone_id] input",
            run: "edit Tour NDA",
        },
        {
            trigger: ".modal .o-autocomplete--dropdown-item:contains('Tour NDA signed by the customer')",
            run: "click",
        },
        {
            content: "Say what kind of proof it is",
            trigger: ".modal .o_field_widget[name=kind_id] input",
            run: "edit Tour signed",
        },
        {
            trigger: ".modal .o-autocomplete--dropdown-item:contains('Tour signed document')",
            run: "click",
        },
        {
            content: "The customer contact produced it",
            trigger: ".modal .o_field_widget[name=customer_partner_id] input",
            run: "edit Tour Buyer",
        },
        {
            trigger: ".modal .o-autocomplete--dropdown-item:contains('Tour Buyer')",
            run: "click",
        },
        {
            content: "Summarize what happened",
            trigger: ".modal .o_field_widget[name=summary] textarea",
            run: "edit The customer returned the NDA signed by its purchasing manager.",
        },
        {
            trigger: ".modal .o_form_button_save",
            run: "click",
        },
        {
            content: "The dialog closes",
            trigger: "body:not(:has(.modal))",
        },
        {
            content: "The checklist now shows the milestone as met",
            trigger:
                ".o_field_widget[name=milestone_checklist] li:contains('Tour NDA signed by the customer') .fa-check-square-o",
        },
        {
            content: "The progress badge is complete",
            trigger: ".o_sales_process_milestones summary .text-bg-success:contains('1/1')",
        },
        {
            content: "The evidence is listed on the opportunity",
            trigger: ".o_notebook .nav-link:contains('Evidence')",
            run: "click",
        },
        {
            trigger: ".o_field_widget[name=evidence_ids] .o_data_row:contains('purchasing manager')",
        },
        {
            content: "... produced by the customer's person, named without the customer in front",
            trigger:
                ".o_field_widget[name=evidence_ids] .o_data_row:contains('purchasing manager') td[name=customer_partner_id]:not(:contains(','))",
        },
        {
            content: "A line opens the evidence",
            trigger: ".o_field_widget[name=evidence_ids] .o_data_row:contains('purchasing manager') td[name=summary]",
            run: "click",
        },
        {
            trigger: ".modal .o_form_view .o_field_widget[name=summary]",
        },
        {
            trigger: ".modal .o_form_button_cancel, .modal .btn-close",
            run: "click",
        },
        {
            content: "The dialog closes",
            trigger: "body:not(:has(.modal))",
        },
    ],
});
