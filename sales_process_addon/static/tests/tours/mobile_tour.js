import { registry } from "@web/core/registry";

/** Tours at a phone's size (``test_ui_mobile.py``). */

/**
 * A rep on a phone works the opportunity's lists as cards: answers a
 * qualification question, changes a stakeholder's stance and adds a
 * competitor, each in a dialog, then saves the opportunity.
 */
const card = (field, text) =>
    `.o_field_widget[name=${field}] .o_kanban_record:not(.o-kanban-button-new):contains('${text}')`;
const dialog = ".modal .o_form_view";
const saveDialog = {
    content: "Save the dialog",
    trigger: ".modal .modal-footer .o_form_button_save",
    run: "click",
};

registry.category("web_tour.tours").add("sales_process_mobile_lead_form_tour", {
    steps: () => [
        {
            content: "On a phone, every stage is in the statusbar's dropdown",
            trigger: ".o_statusbar_status > .dropdown-toggle:visible:contains('Tour Mobile Discover')",
            run: "click",
        },
        {
            content: "A stage the gate does not let the deal reach is marked there",
            trigger: ".o-dropdown--menu .o_sales_process_unreachable:contains('Tour Mobile Propose')",
        },
        {
            content: "the next one is not",
            trigger: ".o-dropdown--menu .dropdown-item:contains('Tour Mobile Qualify'):not(.o_sales_process_unreachable)",
        },
        {
            content: "Close the dropdown",
            trigger: ".o_statusbar_status > .dropdown-toggle.show",
            run: "click",
        },
        {
            content: "Open the opportunity's management tab",
            trigger: ".o_notebook .nav-link[name=sales_process_qualification]",
            run: "click",
        },
        {
            content: "The lists show as cards, not as squeezed columns",
            trigger: ".o_field_widget[name=qualification_ids] .o_kanban_renderer",
        },
        {
            trigger: ".o_field_widget[name=stakeholder_ids] .o_kanban_renderer",
        },
        {
            content: "Open the question",
            trigger: card("qualification_ids", "Tour mobile budget?"),
            run: "click",
        },
        {
            content: "Answer it",
            trigger: `${dialog} .o_field_widget[name=answer] input[data-value=yes]`,
            run: "click",
        },
        {
            trigger: `${dialog} .o_field_widget[name=notes] textarea`,
            run: "edit Confirmed by the plant director",
        },
        saveDialog,
        {
            content: "The card shows the answer",
            trigger: `${card("qualification_ids", "Tour mobile budget?")}:contains('Yes'):contains('Confirmed by the plant director')`,
        },
        {
            content: "Open the stakeholder",
            trigger: card("stakeholder_ids", "Tour Mobile Buyer"),
            run: "click",
        },
        {
            trigger: `${dialog} .o_field_widget[name=stance] input`,
            run: "click",
        },
        {
            trigger: ".o_select_menu_item:contains('Supporter')",
            run: "click",
        },
        saveDialog,
        {
            content: "The card shows the new stance",
            trigger: `${card("stakeholder_ids", "Tour Mobile Buyer")}:contains('Supporter')`,
        },
        {
            content: "Add a competitor",
            trigger: ".o_field_widget[name=competitor_ids] .o-kanban-button-new",
            run: "click",
        },
        {
            content: "On a phone, the competitor is picked in a search dialog",
            trigger: `${dialog} .o_field_widget[name=competitor_id] input`,
            run: "click",
        },
        {
            trigger: ".modal .o_kanban_record:contains('Tour Mobile Rival')",
            run: "click",
        },
        {
            trigger: `${dialog} .o_field_widget[name=threat_level] input`,
            run: "click",
        },
        {
            trigger: ".o_select_menu_item:contains('High')",
            run: "click",
        },
        saveDialog,
        {
            content: "The competitor's card is there",
            trigger: `${card("competitor_ids", "Tour Mobile Rival")}:contains('High')`,
        },
        {
            content: "Save the opportunity",
            trigger: ".o_form_button_save",
            run: "click",
        },
        {
            content: "Saved",
            trigger: ".o_form_saved, .o_form_status_indicator_buttons.invisible:not(:visible)",
        },
    ],
});

/** A manager on a phone approves a pending exception from its card. */
registry.category("web_tour.tours").add("sales_process_mobile_exception_approval_tour", {
    steps: () => [
        {
            content: "On a phone, the requests open as cards",
            trigger: ".o_kanban_view .o_kanban_record:contains('Tour mobile exception deal'):contains('Pending')",
        },
        {
            content: "Approve from the card",
            trigger: ".o_kanban_record:contains('Tour mobile exception deal') button:contains('Approve')",
            run: "click",
        },
        {
            content: "The dialog names the opportunity and the move in full",
            trigger: ".modal .o_field_widget[name=exception_name]:contains('Tour mobile exception deal: Tour Mobile Gate 1 → Tour Mobile Gate 3')",
        },
        {
            trigger: ".modal .o_field_widget[name=comment] textarea",
            run: "edit Signed framework contract seen",
        },
        {
            trigger: ".modal .modal-footer button[name=action_confirm]",
            run: "click",
        },
        {
            content: "Decided, the request leaves the pending queue",
            trigger: ".o_kanban_view:not(:has(.o_kanban_record:contains('Tour mobile exception deal')))",
        },
    ],
});

/** A manager on a phone verifies a rep's evidence from its card. */
registry.category("web_tour.tours").add("sales_process_mobile_evidence_verify_tour", {
    steps: () => [
        {
            content: "On a phone, the evidence opens as cards",
            trigger: ".o_kanban_view .o_kanban_record:contains('Tour mobile clearance letter'):contains('Does not count')",
        },
        {
            content: "Verify from the card",
            trigger: ".o_kanban_record:contains('Tour mobile clearance letter') button[name=action_verify]",
            run: "click",
        },
        {
            content: "Verified, it counts and the button is gone",
            trigger: ".o_kanban_record:contains('Tour mobile clearance letter'):not(:contains('Does not count')):not(:has(button[name=action_verify]))",
        },
    ],
});

/** A rep on a phone follows up a warning signal from its card. */
registry.category("web_tour.tours").add("sales_process_mobile_signal_followup_tour", {
    steps: () => [
        {
            content: "On a phone, the signals open as cards",
            trigger: ".o_kanban_view .o_kanban_record:contains('Tour mobile: the plant director retires')",
        },
        {
            content: "Follow up from the card",
            trigger: ".o_kanban_record:contains('Tour mobile: the plant director retires') button[name=action_schedule_followup]",
            run: "click",
        },
        {
            content: "The follow-up opens, to adjust",
            trigger: ".modal .o_field_widget[name=summary] input",
        },
        {
            trigger: ".modal .modal-footer button:contains('Save'), .modal .modal-footer .o_form_button_save",
            run: "click",
        },
        {
            trigger: "body:not(:has(.modal))",
        },
    ],
});
