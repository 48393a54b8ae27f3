import { registry } from "@web/core/registry";

/** Each report of the Reporting menu, with the view types its action offers (the first opens). */
const REPORTS = [
    ["crm_sales_funnel_report_menu", ["pivot", "graph", "list"]],
    ["crm_stage_conversion_report_menu", ["pivot", "graph", "list"]],
    ["crm_stage_duration_report_menu", ["list", "pivot", "graph"]],
    ["crm_sales_cycle_report_menu", ["pivot", "graph", "list"]],
    ["crm_sales_efficiency_report_menu", ["pivot", "graph", "list"]],
    ["crm_stage_exception_report_menu", ["pivot", "graph", "list"]],
    ["crm_stage_exit_report_menu", ["pivot", "graph", "list"]],
    ["crm_buyer_divergence_report_menu", ["list", "pivot"]],
    ["crm_pipeline_review_menu", ["list"]],
];

function reportSteps([menu, viewTypes]) {
    const [first, ...others] = viewTypes;
    return [
        {
            content: "Open the Reporting menu",
            trigger: ".o_menu_sections button[data-menu-xmlid='crm.crm_menu_report']",
            run: "click",
        },
        {
            content: `Open ${menu}`,
            trigger: `.dropdown-item[data-menu-xmlid='sales_process_addon.${menu}']`,
            run: "click",
        },
        {
            content: `${menu} opens on its ${first} view, empty, with its help`,
            trigger: `.o_action_manager .o_${first}_view .o_view_nocontent`,
        },
        ...others.flatMap((viewType) => [
            {
                content: `Switch ${menu} to its ${viewType} view`,
                trigger: `.o_control_panel .o_switch_view.o_${viewType}`,
                run: "click",
            },
            {
                content: `The ${viewType} view of ${menu} shows its help, without an error`,
                trigger: `.o_action_manager .o_${viewType}_view .o_view_nocontent`,
            },
        ]),
    ];
}

/**
 * A rep without deals opens every report of the Reporting menu in every view:
 * each shows its help over sample data (the median measures included), and
 * no error.
 */
registry.category("web_tour.tours").add("sales_process_empty_reports_tour", {
    steps: () => [
        ...REPORTS.flatMap(reportSteps),
        {
            content: "The sales process dashboard opens too",
            trigger: ".o_menu_sections button[data-menu-xmlid='crm.crm_menu_report']",
            run: "click",
        },
        {
            trigger: ".dropdown-item[data-menu-xmlid='sales_process_addon.crm_sales_dashboard_menu']",
            run: "click",
        },
        {
            trigger: ".o_sales_process_dashboard",
        },
        {
            content: "No exception requested: the card says so and draws no empty chart",
            trigger: ".o_sales_process_dashboard:not(:has(.card-body > p.text-muted + .o_dashboard_chart))",
        },
    ],
});
