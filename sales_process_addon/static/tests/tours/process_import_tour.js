import { rpc } from "@web/core/network/rpc";
import { registry } from "@web/core/registry";

/** Put the export of the process with ``code`` in the import dialog's file field, as a user picking it would. */
async function uploadExport(code) {
    const [process] = await rpc("/web/dataset/call_kw/crm.pipeline.type/search_read", {
        model: "crm.pipeline.type",
        method: "search_read",
        args: [[["code", "=", code]], ["id"]],
        kwargs: { limit: 1, order: "id" },
    });
    const response = await fetch(`/sales_process_addon/process_export?ids=${process.id}`);
    const file = new File([await response.blob()], `sales_process_${code}.json`, {
        type: "application/json",
    });
    const input = document.querySelector(".modal .o_field_binary input[type=file]");
    const transfer = new DataTransfer();
    transfer.items.add(file);
    input.files = transfer.files;
    input.dispatchEvent(new Event("change", { bubbles: true }));
}

/**
 * An administrator imports a process file: the preview says what will be
 * created and reused and what to check, then the import opens the new process.
 */
registry.category("web_tour.tours").add("sales_process_import_tour", {
    steps: () => [
        {
            content: "Open the import dialog from the list of sales processes",
            trigger: ".o_control_panel button:contains('Import Process File')",
            run: "click",
        },
        {
            content: "Pick the file exported from the industrial project sale",
            trigger: ".modal .o_field_binary",
            run: () => uploadExport("industrial_project"),
        },
        {
            trigger: ".modal .o_field_binary input.o_input:value('sales_process_industrial_project.json')",
        },
        {
            content: "Preview the import",
            trigger: ".modal button[name=action_preview]",
            run: "click",
        },
        {
            content: "The preview counts what the file holds",
            trigger: ".modal .o_sales_process_import_preview:contains('8 stages, 21 milestones, 8 task plans')",
        },
        {
            content: "It names what is reused and what is created",
            trigger: ".modal .o_sales_process_import_preview:contains('Reused from this database'):contains('Customer procurement process')",
        },
        {
            trigger: ".modal .o_sales_process_import_preview:contains('imported guided')",
        },
        {
            content: "Import",
            trigger: ".modal button[name=action_import]",
            run: "click",
        },
        {
            content: "The new process opens, guided, with its stages",
            trigger: ".o_form_view .o_field_widget[name=name] input:value('Industrial project sale (2)')",
        },
        {
            trigger: ".o_form_view .o_field_widget[name=stage_ids] .o_data_row:contains('Project initiation')",
        },
    ],
});
