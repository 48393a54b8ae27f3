import { registry } from "@web/core/registry";

/**
 * While the rep edits the buying center, the form proves what saving it will:
 * a coach mapped in an unsaved line meets the "coach secured" milestone and
 * moves the probability at once; saving keeps both.
 */
const line = (name) => `.o_field_widget[name=milestone_checklist] li:contains('${name}')`;
const row = ".o_field_widget[name=stakeholder_ids] .o_selected_row";

/** The steps, in the rep's language: the coach role and the supporter stance as it says them. */
const steps = (coachRole, supporter) => [
    {
        content: "The coach milestone is missing; the probability is the stage's",
        trigger: `${line("Tour coach secured")} .fa-square-o`,
    },
    {
        trigger: ".o_field_widget[name=probability] input:value('10.00')",
    },
    {
        content: "Open the opportunity's management tab",
        trigger: ".o_notebook .nav-link[name=sales_process_qualification]",
        run: "click",
    },
    {
        content: "Map a coach in the buying center",
        trigger: ".o_field_widget[name=stakeholder_ids] .o_field_x2many_list_row_add a",
        run: "click",
    },
    {
        trigger: `${row} .o_field_widget[name=partner_id] input`,
        run: "edit Tour Insider",
    },
    {
        trigger: ".o-autocomplete--dropdown-item:contains('Tour Insider')",
        run: "click",
    },
    {
        trigger: `${row} .o_field_widget[name=role_id] input`,
        run: `edit ${coachRole}`,
    },
    {
        trigger: `.o-autocomplete--dropdown-item:contains('${coachRole}')`,
        run: "click",
    },
    {
        trigger: `${row} .o_field_widget[name=stance] input`,
        run: "click",
    },
    {
        trigger: `.o_select_menu_item:contains('${supporter}')`,
        run: "click",
    },
    {
        content: "Before saving, the checklist counts the coach",
        trigger: `${line("Tour coach secured")} .fa-check-square-o`,
    },
    {
        content: "and the probability follows",
        trigger: ".o_field_widget[name=probability] input:value('50.00')",
    },
    {
        content: "The form is not saved yet",
        trigger: ".o_form_status_indicator_buttons:not(.invisible) .o_form_button_save",
        run: "click",
    },
    {
        content: "Saved: the checklist and the probability stay",
        trigger: ".o_form_status_indicator_buttons.invisible:not(:visible)",
    },
    {
        trigger: `${line("Tour coach secured")} .fa-check-square-o`,
    },
    {
        trigger: ".o_field_widget[name=probability] input:value('50.00')",
    },
];

registry.category("web_tour.tours").add("sales_process_buying_center_form_tour", {
    steps: () => steps("Coach / informant", "Supporter"),
});
registry.category("web_tour.tours").add("sales_process_buying_center_form_zh_CN_tour", {
    steps: () => steps("教练", "支持者"),
});
