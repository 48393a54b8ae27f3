import { Component, onMounted, onPatched, onWillStart, onWillUnmount, useRef, useState } from "@odoo/owl";
import { loadBundle } from "@web/core/assets";
import { DEFAULT_BG, getColor } from "@web/core/colors/colors";
import { Domain } from "@web/core/domain";
import { _t } from "@web/core/l10n/translation";
import { serializeDate } from "@web/core/l10n/dates";
import { registry } from "@web/core/registry";
import { useService } from "@web/core/utils/hooks";
import { formatFloat, formatMonetary } from "@web/views/fields/formatters";

const { DateTime } = luxon;

/** Periods offered, as a function of today giving [date_from, date_to) (false: open). */
const PERIODS = {
    last_3_months: () => [DateTime.local().minus({ months: 3 }).startOf("day"), false],
    last_12_months: () => [DateTime.local().minus({ months: 12 }).startOf("day"), false],
    this_year: () => [DateTime.local().startOf("year"), false],
    all: () => [false, false],
};

/**
 * Sales process dashboard: the funnel, the conversion chain, the time in
 * stage and the exceptions of one sales process, for a team and a period.
 * All figures come from one server call (crm.sales.dashboard); each of them
 * opens the records behind it.
 */
export class SalesProcessDashboard extends Component {
    static template = "sales_process_addon.SalesProcessDashboard";
    static props = ["*"];

    setup() {
        this.orm = useService("orm");
        this.actionService = useService("action");
        this.state = useState({ data: null, processId: false, teamId: false, period: "last_12_months" });
        this.funnelCanvas = useRef("funnel");
        this.durationCanvas = useRef("duration");
        this.exceptionCanvas = useRef("exceptions");
        this.charts = [];
        this.periods = [
            ["last_3_months", _t("Last 3 months")],
            ["last_12_months", _t("Last 12 months")],
            ["this_year", _t("This year")],
            ["all", _t("All time")],
        ];
        onWillStart(async () => {
            await loadBundle("web.chartjs_lib");
            await this.load();
        });
        onMounted(() => this.renderCharts());
        onPatched(() => this.renderCharts());
        onWillUnmount(() => this.destroyCharts());
    }

    async load() {
        const [dateFrom, dateTo] = PERIODS[this.state.period]();
        this.state.data = await this.orm.call("crm.sales.dashboard", "get_dashboard_data", [], {
            pipeline_type_id: this.state.processId,
            team_id: this.state.teamId,
            date_from: dateFrom && serializeDate(dateFrom),
            date_to: dateTo && serializeDate(dateTo),
        });
        this.state.processId = this.state.data.process.id;
    }

    async onFilterChange(key, ev) {
        const value = ev.target.value;
        this.state[key] = key === "period" ? value : parseInt(value) || false;
        await this.load();
    }

    get stages() {
        return this.state.data.stages;
    }

    formatValue(value) {
        return formatMonetary(value, { currencyId: this.state.data.currency_id });
    }

    formatRate(rate) {
        return rate === null ? "" : `${formatFloat(rate, { digits: [false, 0] })} %`;
    }

    formatDays(days) {
        return formatFloat(days, { digits: [false, 0] });
    }

    /** Open the records behind a figure: the block's domain and ``extra``. */
    drill(block, extra, name) {
        const { model, domain } = this.state.data.drill[block];
        this.actionService.doAction({
            type: "ir.actions.act_window",
            name,
            res_model: model,
            domain: Domain.and([domain, extra]).toList(),
            views: [
                [false, "list"],
                [false, "form"],
            ],
            target: "current",
        });
    }

    drillConversion(stage, what) {
        const extra = [["stage_id", "=", stage.id]];
        if (what === "reached") {
            extra.push(["reached_next_count", "=", 1]);
        }
        const title = {
            entered: _t("Entered %s", stage.name),
            reached: _t("Went on from %s", stage.name),
        }[what];
        this.drill("conversion", extra, title);
    }

    drillLost(stage) {
        this.drill(
            "duration",
            [
                ["stage_id", "=", stage.id],
                ["event", "=", "lost"],
            ],
            _t("Lost in %s", stage.name)
        );
    }

    /** The exit figures of a stage and exit basis, or undefined. */
    exitOf(stage, basis) {
        return this.state.data.exits.find((row) => row.stage_id === stage.id && row.basis === basis);
    }

    get exitStages() {
        return this.stages.filter((stage) => this.state.data.exits.some((row) => row.stage_id === stage.id));
    }

    drillExit(stage, basis) {
        this.drill(
            "exits",
            [
                ["stage_id", "=", stage.id],
                ["exit_basis", "=", basis.key],
            ],
            `${stage.name}: ${basis.name}`
        );
    }

    destroyCharts() {
        for (const chart of this.charts) {
            chart.destroy();
        }
        this.charts = [];
    }

    renderCharts() {
        this.destroyCharts();
        if (!this.state.data || !this.funnelCanvas.el) {
            return;
        }
        this.charts.push(this.renderFunnel(), this.renderDuration());
        // No exception requested: the card says so, and draws no empty chart.
        if (this.exceptionCanvas.el) {
            this.charts.push(this.renderExceptions());
        }
    }

    /** The funnel: one centred bar per stage, as wide as its open deals, coloured by funnel state. */
    renderFunnel() {
        const stages = this.stages;
        const states = [];
        for (const stage of stages) {
            const key = stage.funnel_state ? stage.funnel_state.id : 0;
            if (!states.find((state) => state.key === key)) {
                states.push({ key, name: stage.funnel_state ? stage.funnel_state.name : _t("None") });
            }
        }
        // Odoo's three chart colours for the funnel states in process order (a larger palette for
        // more states); stages without a funnel state in grey, taking none of those colours.
        const named = states.filter((state) => state.key);
        const palette = named.length <= 3 ? "odoo" : named.length;
        const colorOf = (state) =>
            state.key ? getColor(named.indexOf(state) + 1, "light", palette) : DEFAULT_BG;
        const datasets = states.map((state) => ({
            label: state.name,
            data: stages.map((stage) =>
                (stage.funnel_state ? stage.funnel_state.id : 0) === state.key
                    ? [-stage.open_count / 2, stage.open_count / 2]
                    : null
            ),
            backgroundColor: colorOf(state),
            grouped: false,
            barPercentage: 0.95,
            categoryPercentage: 1,
        }));
        return new Chart(this.funnelCanvas.el, {
            type: "bar",
            data: { labels: stages.map((stage) => stage.name), datasets },
            options: {
                indexAxis: "y",
                maintainAspectRatio: false,
                animation: false,
                scales: { x: { display: false }, y: { grid: { display: false } } },
                plugins: {
                    legend: { position: "bottom" },
                    tooltip: {
                        callbacks: {
                            label: (item) => {
                                const stage = stages[item.dataIndex];
                                return `${stage.open_count} · ${this.formatValue(stage.open_value)}`;
                            },
                        },
                    },
                },
                onClick: (event, elements) => {
                    if (elements.length) {
                        const stage = stages[elements[0].index];
                        this.drill("funnel", [["stage_id", "=", stage.id]], stage.name);
                    }
                },
            },
        });
    }

    /** Time in stage: median, 75th and 90th percentile as one bar per stage; the days to rot as a mark. */
    renderDuration() {
        const stages = this.stages.filter((stage) => !stage.is_won);
        const segment = (low, high) =>
            stages.map((stage) => (stage[high] === null ? null : [stage[low] || 0, stage[high]]));
        const datasets = [
            { label: _t("Median"), data: segment(null, "days_median"), backgroundColor: getColor(2, "light", "odoo") },
            { label: _t("75th percentile"), data: segment("days_median", "days_p75"), backgroundColor: getColor(3, "light", "odoo") },
            { label: _t("90th percentile"), data: segment("days_p75", "days_p90"), backgroundColor: getColor(4, "light", "odoo") },
        ].map((dataset) => ({ ...dataset, grouped: false, barPercentage: 0.6 }));
        // The days to rot: a thin bar across each stage's row, drawn over the others.
        const longest = Math.max(1, ...stages.map((stage) => Math.max(stage.days_p90 || 0, stage.stale_days || 0)));
        const halfWidth = longest / 250;
        datasets.push({
            label: _t("Days to rot"),
            isThreshold: true,
            data: stages.map((stage) =>
                stage.stale_days ? [stage.stale_days - halfWidth, stage.stale_days + halfWidth] : null
            ),
            backgroundColor: "#d44c59",
            grouped: false,
            barPercentage: 0.9,
            order: -1,
        });
        return new Chart(this.durationCanvas.el, {
            type: "bar",
            data: { labels: stages.map((stage) => stage.name), datasets },
            options: {
                indexAxis: "y",
                maintainAspectRatio: false,
                animation: false,
                scales: {
                    x: { beginAtZero: true, title: { display: true, text: _t("Days in stage") } },
                    y: { type: "category", grid: { display: false } },
                },
                plugins: {
                    legend: { position: "bottom" },
                    tooltip: {
                        callbacks: {
                            label: (item) => {
                                const stage = stages[item.dataIndex];
                                if (item.dataset.isThreshold) {
                                    return _t("Days to rot: %s", stage.stale_days);
                                }
                                return _t("%(stays)s stays: median %(median)s, p75 %(p75)s, p90 %(p90)s days", {
                                    stays: stage.stays,
                                    median: formatFloat(stage.days_median),
                                    p75: formatFloat(stage.days_p75),
                                    p90: formatFloat(stage.days_p90),
                                });
                            },
                        },
                    },
                },
                onClick: (event, elements) => {
                    if (elements.length) {
                        const stage = stages[elements[0].index];
                        this.drill("duration", [["stage_id", "=", stage.id]], _t("Time in %s", stage.name));
                    }
                },
            },
        });
    }

    /** Exceptions requested, per stage left and kind. */
    renderExceptions() {
        const stages = this.stages;
        const kinds = [];
        for (const row of this.state.data.exceptions) {
            if (!kinds.find((kind) => kind.kind === row.kind)) {
                kinds.push({ kind: row.kind, name: row.kind_name });
            }
        }
        const datasets = kinds.map((kind, index) => ({
            label: kind.name,
            kind: kind.kind,
            data: stages.map(
                (stage) =>
                    this.state.data.exceptions.find((row) => row.stage_id === stage.id && row.kind === kind.kind)
                        ?.count || 0
            ),
            backgroundColor: getColor(index + 5, "light", "odoo"),
        }));
        return new Chart(this.exceptionCanvas.el, {
            type: "bar",
            data: { labels: stages.map((stage) => stage.name), datasets },
            options: {
                maintainAspectRatio: false,
                animation: false,
                scales: { x: { stacked: true }, y: { stacked: true, beginAtZero: true, ticks: { precision: 0 } } },
                plugins: { legend: { position: "bottom" } },
                onClick: (event, elements) => {
                    if (elements.length) {
                        const stage = stages[elements[0].index];
                        const dataset = datasets[elements[0].datasetIndex];
                        this.drill(
                            "exceptions",
                            [
                                ["from_stage_id", "=", stage.id],
                                ["kind", "=", dataset.kind],
                            ],
                            `${stage.name}: ${dataset.label}`
                        );
                    }
                },
            },
        });
    }
}

registry.category("actions").add("sales_process_addon.dashboard", SalesProcessDashboard);
