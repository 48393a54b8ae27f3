import { registry } from "@web/core/registry";

const column = (name) => `.o_opportunity_kanban .o_kanban_group:has(.o_column_title:contains('${name}'))`;

/**
 * A rep quick-creates an opportunity in a later stage of an enforced process:
 * the gate's refusal shows at once, the quick create stays open, and no form
 * opens. In the first stage, the same quick create goes through.
 */
registry.category("web_tour.tours").add("sales_process_quick_create_refused_tour", {
    steps: () => [
        {
            content: "Quick create in the second stage",
            trigger: `${column("Tour QC Qualify")} .o_kanban_quick_add`,
            run: "click",
        },
        {
            trigger: ".o_kanban_quick_create .o_field_widget[name=name] input",
            run: "edit Tour QC deal",
        },
        {
            trigger: ".o_kanban_quick_create .o_kanban_add",
            run: "click",
        },
        {
            content: "The gate's reason shows",
            trigger: ".o_notification:contains('new opportunities start in the first stage of their sales process')",
        },
        {
            content: "No form opens; the quick create stays, ready again",
            trigger: "body:not(:has(.modal)) .o_kanban_quick_create .o_kanban_add:not([disabled])",
        },
        {
            trigger: ".o_kanban_quick_create .o_kanban_cancel",
            run: "click",
        },
        {
            content: "Quick create in the first stage",
            trigger: `${column("Tour QC Discover")} .o_kanban_quick_add`,
            run: "click",
        },
        {
            trigger: ".o_kanban_quick_create .o_field_widget[name=name] input",
            run: "edit Tour QC first deal",
        },
        {
            trigger: ".o_kanban_quick_create .o_kanban_add",
            run: "click",
        },
        {
            content: "The card is in the first stage",
            trigger: `${column("Tour QC Discover")} .o_kanban_record:contains('Tour QC first deal')`,
        },
        {
            content: "Wait longer than a notification's usual life (4 s)",
            trigger: "body",
            run: () => new Promise((resolve) => setTimeout(resolve, 4500)),
        },
        {
            content: "The reason stays until the rep closes it",
            trigger: ".o_notification:contains('new opportunities start in the first stage') .o_notification_close",
            run: "click",
        },
        {
            trigger: "body:not(:has(.o_notification))",
        },
    ],
});
