import { registry } from "@web/core/registry";

/**
 * The rep's day, part 1: the CRM opens on the rep's process with its columns
 * unfolded; a card dragged one stage opens the move dialog listing the missing
 * milestone; the rep records the customer's evidence in place, in the dialog
 * (a first save without a summary is refused there, every problem listed;
 * documents removed or left in a cancelled entry are deleted),
 * sees the milestone met and moves; a card
 * dragged two stages explains the next stage to reach, and the rep requests an
 * exception.
 */
const column = (name) => `.o_opportunity_kanban .o_kanban_group:has(.o_column_title:contains('${name}'))`;
const entry = ".o_sales_process_move_dialog .o_sales_process_evidence_entry";

/** Choose a text file in the entry's document input, as the file picker does. */
function attach(fileName) {
    return {
        content: `Attach ${fileName}`,
        trigger: `${entry} .o_sales_process_entry_attach`,
        run() {
            const input = document.querySelector(`${entry} input[type=file]`);
            const files = new DataTransfer();
            files.items.add(new File([`${fileName}: what the customer sent`], fileName, { type: "text/plain" }));
            input.files = files.files;
            input.dispatchEvent(new Event("change", { bubbles: true }));
        },
    };
}
const attached = (fileName) => ({
    trigger: `${entry} .o_sales_process_entry_attachment:contains('${fileName}')`,
});

registry.category("web_tour.tours").add("sales_process_rep_journey_tour", {
    steps: () => [
        {
            content: "The pipeline is titled with the rep's process",
            trigger: ".o_breadcrumb:contains('Tour rep process')",
        },
        {
            content: "Its first stage is an unfolded column holding the deal",
            trigger: `${column("Tour Discover")}:not(.o_column_folded) .o_kanban_record:contains('Tour journey deal')`,
        },
        {
            content: "Its next stages are unfolded columns too",
            trigger: `${column("Tour Propose")}:not(.o_column_folded)`,
        },
        {
            content: "The card shows the milestone progress",
            trigger: ".o_kanban_record:contains('Tour journey deal') .o_sales_process_milestone_badge:contains('0/1')",
        },
        {
            content: "Drag the deal one stage",
            trigger: ".o_kanban_record:contains('Tour journey deal')",
            run: `drag_and_drop (${column("Tour Qualify")})`,
        },
        {
            content: "The move dialog lists the missing milestone",
            trigger: ".o_sales_process_move_dialog .o_sales_process_move_milestone:contains('Tour budget confirmed')",
        },
        {
            content: "No generic validation error",
            trigger: "body:not(:has(.o_error_dialog))",
        },
        {
            content: "Record the evidence from the dialog: the milestone's line opens its entry in place",
            trigger: ".o_sales_process_move_dialog .o_sales_process_record_evidence",
            run: "click",
        },
        {
            content: "Its only accepted kind is picked",
            trigger:
                ".o_sales_process_move_dialog .o_sales_process_evidence_entry .o_sales_process_entry_kind:contains('Tour email')",
        },
        {
            content: "The customer's contact is prefilled",
            trigger:
                ".o_sales_process_move_dialog .o_sales_process_entry_contact input:value(/^Tour Buyer$/)",
        },
        {
            content: "Dated today",
            trigger: ".o_sales_process_move_dialog .o_sales_process_evidence_entry .o_datetime_input:value(/\\d/)",
        },
        {
            content: "No separate evidence form opens",
            trigger: "body:not(:has(.modal .o_form_view))",
        },
        attach("abandoned-draft.txt"),
        attached("abandoned-draft.txt"),
        {
            content: "Cancelling the entry drops the document it uploaded",
            trigger: `${entry} .o_sales_process_entry_cancel`,
            run: "click",
        },
        {
            trigger: ".o_sales_process_move_dialog:not(:has(.o_sales_process_evidence_entry))",
        },
        {
            content: "Open the entry again",
            trigger: ".o_sales_process_move_dialog .o_sales_process_record_evidence",
            run: "click",
        },
        attach("budget-email.txt"),
        attached("budget-email.txt"),
        attach("wrong-file.txt"),
        attached("wrong-file.txt"),
        {
            content: "Remove the wrong document",
            trigger: `${entry} .o_sales_process_entry_attachment:contains('wrong-file.txt') .fa-times`,
            run: "click",
        },
        {
            trigger: `${entry}:not(:has(.o_sales_process_entry_attachment:contains('wrong-file.txt')))`,
        },
        {
            content: "Saving without saying what happened is refused in place",
            trigger: ".o_sales_process_move_dialog .o_sales_process_entry_save",
            run: "click",
        },
        {
            trigger:
                ".o_sales_process_move_dialog .o_sales_process_entry_problems:contains('Tour budget confirmed')",
        },
        {
            content: "No generic error dialog for the refusal",
            trigger: "body:not(:has(.o_error_dialog))",
        },
        {
            content: "Summarize what happened",
            trigger: ".o_sales_process_move_dialog .o_sales_process_entry_summary",
            run: "edit The buyer confirmed the budget by email.",
        },
        {
            trigger: ".o_sales_process_move_dialog .o_sales_process_entry_save",
            run: "click",
        },
        {
            content: "The line shows the milestone as met, in the same dialog",
            trigger:
                ".o_sales_process_move_dialog .o_sales_process_move_line_met:contains('Tour budget confirmed') .fa-check-square-o",
        },
        {
            trigger: ".o_sales_process_move_dialog:not(:has(.o_sales_process_evidence_entry))",
        },
        {
            content: "Everything is met: the dialog offers the move",
            trigger: ".o_sales_process_move_dialog .o_sales_process_move_ready",
        },
        {
            trigger: ".o_sales_process_move_dialog .o_sales_process_move_confirm",
            run: "click",
        },
        {
            content: "The deal is in the next stage",
            trigger: `${column("Tour Qualify")} .o_kanban_record:contains('Tour journey deal')`,
        },
        {
            content: "Drag the deal two stages",
            trigger: ".o_kanban_record:contains('Tour journey deal')",
            run: `drag_and_drop (${column("Tour Close")})`,
        },
        {
            content: "The dialog names the next stage to reach",
            trigger: ".o_sales_process_move_dialog .o_sales_process_move_next:contains('Tour Propose')",
        },
        {
            content: "... once: no paragraph repeats the gate's message",
            trigger: ".o_sales_process_move_dialog:not(:has(p.o_sales_process_move_next))",
        },
        {
            content: "Request an exception for this move",
            trigger: ".o_sales_process_move_dialog .o_sales_process_request_exception",
            run: "click",
        },
        {
            content: "The request is prefilled with this move",
            trigger: ".modal .o_field_widget[name=to_stage_id] input:value('Tour Close')",
        },
        {
            trigger: ".modal .o_field_widget[name=reason] textarea",
            run: "edit The customer signs the framework contract directly; the proposal was done by the partner.",
        },
        {
            trigger: ".modal:has(.o_field_widget[name=reason]) .modal-footer .btn-primary",
            run: "click",
        },
        {
            content: "The dialog shows the pending exception",
            trigger: ".o_sales_process_move_dialog .o_sales_process_move_exception_pending",
        },
        {
            trigger: ".o_sales_process_move_dialog .modal-footer .btn-link",
            run: "click",
        },
        {
            content: "The card stays in its real stage",
            trigger: `${column("Tour Qualify")} .o_kanban_record:contains('Tour journey deal')`,
        },
    ],
});

/** Part 2: a manager approved the exception; the rep sees the banner and moves in one click. */
registry.category("web_tour.tours").add("sales_process_exception_banner_tour", {
    steps: () => [
        {
            content: "The banner says the exception is approved",
            trigger: ".o_sales_process_exception_banner:contains('Tour Close') .o_sales_process_move_now",
            run: "click",
        },
        {
            content: "The deal is in the approved stage",
            trigger: ".o_statusbar_status .o_arrow_button_current:contains('Tour Close')",
        },
        {
            content: "The banner is gone",
            trigger: "body:not(:has(.o_sales_process_exception_banner:visible))",
        },
    ],
});

/** Simplified Chinese: the move dialog opens from the statusbar, with no generic error. */
registry.category("web_tour.tours").add("sales_process_zh_move_tour", {
    steps: () => [
        {
            content: "A stage out of reach is marked on the statusbar",
            trigger: ".o_statusbar_status .o_sales_process_unreachable:contains('Tour Propose')",
        },
        {
            content: "Click the next stage",
            trigger: ".o_statusbar_status button:contains('Tour Qualify')",
            run: "click",
        },
        {
            content: "The move dialog lists the missing milestone",
            trigger: ".o_sales_process_move_dialog .o_sales_process_move_milestone:contains('Tour budget confirmed')",
        },
        {
            content: "The dialog speaks Chinese: its header, badges and buttons come from the zh_CN catalog",
            trigger: ".o_sales_process_move_dialog:contains('未达成的里程碑') .modal-footer:contains('申请例外')",
        },
        {
            content: "The milestone's evidence entry opens in place, dated today in the user's format",
            trigger: ".o_sales_process_move_dialog .o_sales_process_record_evidence",
            run: "click",
        },
        {
            trigger: ".o_sales_process_move_dialog .o_sales_process_evidence_entry .o_datetime_input:value(/^\\d{4}\\D\\d{2}\\D\\d{2}$/)",
        },
        {
            trigger: ".o_sales_process_move_dialog .o_sales_process_entry_contact input:value(/^Tour Buyer$/)",
        },
        {
            trigger: ".o_sales_process_move_dialog .o_sales_process_entry_cancel",
            run: "click",
        },
        {
            trigger: ".o_sales_process_move_dialog:not(:has(.o_sales_process_evidence_entry))",
        },
        {
            content: "Cancel",
            trigger: ".o_sales_process_move_dialog .modal-footer .btn-link",
            run: "click",
        },
        {
            content: "The statusbar shows the real stage",
            trigger: ".o_statusbar_status .o_arrow_button_current:contains('Tour Discover')",
        },
        {
            trigger: "body:not(:has(.o_form_dirty))",
        },
        {
            content: "The Won button asks the gate first",
            trigger: ".o_form_view .o_statusbar_buttons button[name=action_set_won_rainbowman]",
            run: "click",
        },
        {
            content: "The dialog names the next stage to reach",
            trigger: ".o_sales_process_move_dialog .o_sales_process_move_next:contains('Tour Qualify')",
        },
        {
            trigger: ".o_sales_process_move_dialog .modal-footer .btn-link",
            run: "click",
        },
        {
            content: "Still in the real stage, no generic error",
            trigger: ".o_statusbar_status .o_arrow_button_current:contains('Tour Discover')",
        },
        {
            trigger: "body:not(:has(.o_error_dialog))",
        },
    ],
});

/** Quick create in a column of another process creates the deal in that process and stage. */
registry.category("web_tour.tours").add("sales_process_quick_create_tour", {
    steps: () => [
        {
            content: "Pick the other process in the side panel",
            trigger: ".o_search_panel_category_value:contains('Tour other process') .o_search_panel_label",
            run: "click",
        },
        {
            content: "The pipeline is titled with it",
            trigger: ".o_breadcrumb:contains('Tour other process')",
        },
        {
            content: "Quick create in its first column",
            trigger: `${column("Tour Other First")} .o_kanban_quick_add`,
            run: "click",
        },
        {
            trigger: ".o_kanban_quick_create .o_field_widget[name=name] input",
            run: "edit Tour quick deal",
        },
        {
            trigger: ".o_kanban_quick_create button.o_kanban_add",
            run: "click",
        },
        {
            content: "The deal is in that column, with no error",
            trigger: `${column("Tour Other First")} .o_kanban_record:contains('Tour quick deal')`,
        },
        {
            trigger: "body:not(:has(.o_error_dialog))",
        },
    ],
});

/**
 * Moves the gate allows are saved at once, as in plain CRM: a drop on the next
 * column and a click on the next stage, with no dialog (the test checks that
 * the move dialog's question was not asked).
 */
registry.category("web_tour.tours").add("sales_process_allowed_move_tour", {
    steps: () => [
        {
            content: "Drag the evidenced deal to the next stage",
            trigger: `${column("Tour Discover")} .o_kanban_record:contains('Tour ready deal')`,
            run: `drag_and_drop (${column("Tour Qualify")})`,
        },
        {
            content: "The deal is in the next stage, no dialog",
            trigger: `${column("Tour Qualify")} .o_kanban_record:contains('Tour ready deal')`,
        },
        {
            trigger: "body:not(:has(.modal))",
        },
        {
            content: "Open the deal whose qualification is evidenced",
            trigger: `${column("Tour Qualify")} .o_kanban_record:contains('Tour qualified deal')`,
            run: "click",
        },
        {
            content: "Click the next stage on the statusbar",
            trigger: ".o_statusbar_status button:contains('Tour Propose')",
            run: "click",
        },
        {
            content: "The deal is in it, saved, no dialog",
            trigger: ".o_statusbar_status .o_arrow_button_current:contains('Tour Propose')",
        },
        {
            trigger: "body:not(:has(.o_form_dirty)):not(:has(.modal))",
        },
        {
            content: "Back to the pipeline",
            trigger: ".o_breadcrumb .breadcrumb-item a:contains('Tour rep process')",
            run: "click",
        },
        {
            content: "Open the deal in the last stage",
            trigger: `${column("Tour Close")} .o_kanban_record:contains('Tour closing deal')`,
            run: "click",
        },
        {
            content: "Mark it won: the gate allows it",
            trigger: ".o_form_view .o_statusbar_buttons button[name=action_set_won_rainbowman]",
            run: "click",
        },
        {
            content: "It is won, no dialog",
            trigger: ".o_form_view .ribbon:contains('Won')",
        },
        {
            trigger: "body:not(:has(.modal))",
        },
    ],
});
