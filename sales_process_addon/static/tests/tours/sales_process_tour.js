import { registry } from "@web/core/registry";

/**
 * A rep opens the pipeline of one sales process, sees only its stages,
 * opens an opportunity, switches it to another process and saves.
 */
registry.category("web_tour.tours").add("sales_process_switch_tour", {
    steps: () => [
        {
            content: "Open the transactional process's pipeline",
            trigger: ".o_kanban_record:contains('Tour transactional process') button[name='action_open_pipeline']",
            run: "click",
        },
        {
            content: "Its stages are the columns",
            trigger: ".o_kanban_group .o_column_title:contains('Tour Qualify')",
        },
        {
            content: "No stage of another process is shown",
            trigger: ".o_kanban_renderer:not(:has(.o_column_title:contains('Tour First contact')))",
        },
        {
            content: "The card shows the customer's stage",
            trigger: ".o_kanban_record:contains('Tour deal'):contains('Tour need awareness')",
        },
        {
            content: "Open the opportunity",
            trigger: ".o_kanban_record:contains('Tour deal')",
            run: "click",
        },
        {
            content: "Seller stage, buyer stage and funnel state side by side",
            trigger: ".o_field_widget[name=buyer_stage_id]:contains('Tour need awareness')",
        },
        {
            trigger: ".o_field_widget[name=funnel_state_id]:contains('Search')",
        },
        {
            content: "Switch to the direct sale process",
            trigger: ".o_field_widget[name=pipeline_type_id] input",
            run: "edit Tour direct",
        },
        {
            trigger: ".o-autocomplete--dropdown-item:contains('Tour direct sale process')",
            run: "click",
        },
        {
            content: "The statusbar now lists the new process's stages",
            trigger: ".o_statusbar_status button.o_arrow_button_current:contains('Tour First contact')",
        },
        {
            trigger: ".o_form_button_save",
            run: "click",
        },
        {
            content: "The chatter explains the move",
            trigger: ".o-mail-Message:contains('Sales process changed from')",
        },
    ],
});
