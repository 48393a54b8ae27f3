import { registry } from "@web/core/registry";

/**
 * A rep working in Chinese (zh_CN or zh_TW): the opportunity's scheduled
 * tasks are the shipped plan's texts in that language, and neither the
 * process header and checklist nor the sales process dashboard shows an
 * English word of this addon.
 */

/** Latin words in the text and input values of what ``selector`` matches (names in ``allowed`` aside). */
function englishIn(selector, allowed = []) {
    const parts = [];
    for (const el of document.querySelectorAll(selector)) {
        parts.push(el.innerText);
        for (const input of el.querySelectorAll("input")) {
            parts.push(input.value);
        }
    }
    let text = parts.join("\n");
    for (const name of allowed) {
        text = text.replaceAll(name, "");
    }
    return text.match(/[A-Za-z]{2,}/g) || [];
}

function noEnglish(selector, allowed) {
    return {
        content: `No English in ${selector}`,
        trigger: selector,
        run() {
            const words = englishIn(selector, allowed);
            if (words.length) {
                throw new Error(`English text in ${selector}: ${words.join(", ")}`);
            }
        },
    };
}

function formSteps(lang) {
    const texts = {
        zh_CN: { tasks: ["发送会议纪要；请客户确认需求", "回答资格审查问题"], milestones: "本阶段的里程碑" },
        zh_TW: { tasks: ["傳送會議紀要；請客戶確認需求", "回答資格審查問題"], milestones: "本階段的里程碑" },
    }[lang];
    return [
        {
            content: "The form is in Chinese: the checklist's title",
            trigger: `.o_sales_process_milestones summary:contains('${texts.milestones}')`,
        },
        ...texts.tasks.map((summary) => ({
            content: `The stage task '${summary}' is shown in Chinese in the chatter`,
            trigger: `.o-mail-Activity .o-mail-Activity-info:contains('${summary}')`,
        })),
        {
            content: "No scheduled task of the deal is in English",
            trigger: ".o-mail-ActivityList",
            run() {
                const infos = [...document.querySelectorAll(".o-mail-Activity-info span.text-break")];
                const english = infos.map((el) => el.innerText).filter((text) => /[A-Za-z]{2,}/.test(text));
                if (!infos.length || english.length) {
                    throw new Error(`Stage tasks not in Chinese: ${english.join(" | ") || "none shown"}`);
                }
            },
        },
        noEnglish(".o_sales_process_header"),
        noEnglish(".o_sales_process_milestones"),
        noEnglish(".o_sales_process_playbook > summary"),
    ];
}

function dashboardSteps() {
    return [
        {
            content: "The dashboard is loaded, with its charts",
            trigger: ".o_sales_process_dashboard .o_dashboard_chain_stage",
        },
        {
            trigger: ".o_sales_process_dashboard canvas",
        },
        // The teams are Odoo's records, named by their company: not this addon's text.
        noEnglish(".o_sales_process_dashboard h4, .o_sales_process_dashboard .card-header"),
        noEnglish(".o_sales_process_dashboard .o_dashboard_process, .o_sales_process_dashboard .o_dashboard_period"),
        noEnglish(".o_sales_process_dashboard .o_dashboard_chain"),
        noEnglish(".o_sales_process_dashboard .o_dashboard_funnel_table"),
        noEnglish(".o_sales_process_dashboard .o_dashboard_exits"),
        {
            content: "The 'All teams' choice is translated",
            trigger: ".o_dashboard_team:not(:has(option:contains('All teams')))",
        },
    ];
}

for (const lang of ["zh_CN", "zh_TW"]) {
    registry.category("web_tour.tours").add(`sales_process_${lang}_form_tour`, {
        steps: () => formSteps(lang),
    });
    registry.category("web_tour.tours").add(`sales_process_${lang}_dashboard_tour`, {
        steps: () => dashboardSteps(),
    });
}
