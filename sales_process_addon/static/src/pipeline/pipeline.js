import { useBus } from "@web/core/utils/hooks";
import { CrmKanbanModel } from "@crm/views/crm_kanban/crm_kanban_model";
import { _t } from "@web/core/l10n/translation";
import { patch } from "@web/core/utils/patch";
import { session } from "@web/session";
import { SearchModel } from "@web/search/search_model";
import { KanbanController } from "@web/views/kanban/kanban_controller";

/**
 * The pipeline opens on the rep's sales process (their team's, else the
 * company's), titled with its name, its stages as columns. "All processes"
 * groups the opportunities by process rather than mixing every stage.
 */

/** The process id of a `pipeline_type_id = id` condition of `domain`, if any. */
export function processOfDomain(domain) {
    for (const leaf of domain || []) {
        if (Array.isArray(leaf) && leaf[0] === "pipeline_type_id" && leaf[1] === "=" && Number.isInteger(leaf[2])) {
            return leaf[2];
        }
    }
    return false;
}

patch(SearchModel.prototype, {
    _extractSearchDefaultsFromGlobalContext() {
        const defaults = super._extractSearchDefaultsFromGlobalContext(...arguments);
        const processId = session.sales_process_default_pipeline_type_id;
        if (
            this.resModel === "crm.lead" &&
            processId &&
            !("pipeline_type_id" in defaults.searchPanelDefaults) &&
            !this.globalContext.default_pipeline_type_id &&
            // The pipeline, not the forecast: it spans every process, by closing date.
            !this.globalContext.forecast_field
        ) {
            defaults.searchPanelDefaults.pipeline_type_id = processId;
        }
        return defaults;
    },
});

patch(CrmKanbanModel.prototype, {
    async load(params = {}) {
        if (this.config.resModel === "crm.lead") {
            const domain = params.domain || this.config.domain;
            const groupBy = params.groupBy || this.config.groupBy || [];
            const { default_pipeline_type_id: _stale, ...context } = params.context || this.config.context;
            const processId = processOfDomain(domain);
            if (processId) {
                // Quick create in a column creates in this process, in that column's stage.
                params = { ...params, context: { ...context, default_pipeline_type_id: processId } };
            } else if (groupBy[0] === "stage_id") {
                // Several processes: one column per process, not a mix of their stages.
                params = { ...params, context, groupBy: ["pipeline_type_id", ...groupBy.slice(1)] };
            }
        }
        return super.load(params);
    },
});

patch(KanbanController.prototype, {
    setup() {
        super.setup(...arguments);
        if (this.props.resModel === "crm.lead") {
            useBus(this.env.searchModel, "update", () => this.updateProcessTitle());
            this.updateProcessTitle();
        }
    },

    /** Title the pipeline with the process picked in the side panel. */
    updateProcessTitle() {
        const category = this.env.searchModel.categories.find((c) => c.fieldName === "pipeline_type_id");
        if (!category || !this.env.config.setDisplayName) {
            return;
        }
        const value = category.activeValueId && category.values.get(category.activeValueId);
        this.env.config.setDisplayName(value ? value.display_name : _t("All processes"));
    },
});
