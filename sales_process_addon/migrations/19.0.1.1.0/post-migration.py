from odoo import SUPERUSER_ID, api

# Shipped milestones now met by facts too. Their data is noupdate: set the fact
# on existing databases, unless an administrator already chose one.
MILESTONE_FACTS = {
    "sales_process_addon.milestone_t1_01_b": "qualified_pursue",
    "sales_process_addon.milestone_t1_02_b": "coach_secured",
    "sales_process_addon.milestone_t2_02_b": "decision_maker_met",
}


def migrate(cr, version):
    env = api.Environment(cr, SUPERUSER_ID, {})
    for xmlid, fact in MILESTONE_FACTS.items():
        milestone = env.ref(xmlid, raise_if_not_found=False)
        if milestone and not milestone.fact:
            milestone.fact = fact
    # Open opportunities get the qualification questions of their process.
    env["crm.lead"].with_context(active_test=False).search(
        [("type", "=", "opportunity"), ("won_status", "=", "pending")]
    )._qualification_fill()
