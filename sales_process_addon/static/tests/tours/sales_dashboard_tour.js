import { registry } from "@web/core/registry";

/**
 * A sales manager opens the sales process dashboard of the Standard pipeline
 * and drills down from the funnel into the opportunities of one stage.
 */
registry.category("web_tour.tours").add("sales_process_dashboard_tour", {
    steps: () => [
        {
            content: "The dashboard shows the funnel, the conversion chain and the charts",
            trigger: ".o_sales_process_dashboard .o_dashboard_chain_stage[data-stage='Tour Stage One']",
        },
        {
            content: "The funnel's first stage is in a funnel state, the second in none: grey",
            trigger: ".o_sales_process_dashboard .o_dashboard_chart canvas",
            run() {
                const chart = window.Chart.getChart(document.querySelector(".o_dashboard_chart canvas"));
                const colors = Object.fromEntries(
                    chart.data.datasets.map((dataset) => [dataset.label, dataset.backgroundColor])
                );
                if (Object.keys(colors).length !== 2 || colors.None !== "#d3d3d3" || colors.Search === "#d3d3d3") {
                    throw new Error(`Funnel colours: ${JSON.stringify(colors)}`);
                }
            },
        },
        {
            content: "Two open deals in the first stage: open them",
            trigger: ".o_dashboard_open_count[data-stage='Tour Stage One']:contains('2')",
            run: "click",
        },
        {
            content: "The list shows the two opportunities behind the figure",
            trigger: ".o_list_view .o_data_row:contains('Tour deal 2')",
        },
        {
            trigger: ".o_list_view:not(:has(.o_data_row:contains('Tour deal 3')))",
        },
        {
            content: "Back to the dashboard",
            trigger: ".o_breadcrumb .breadcrumb-item a:contains('Sales Process Dashboard')",
            run: "click",
        },
        {
            content: "One went on: the rate on the arrow opens it",
            trigger: ".o_dashboard_chain_stage[data-stage='Tour Stage One'] .o_dashboard_entered:contains('3')",
        },
    ],
});
