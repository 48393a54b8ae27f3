from odoo import SUPERUSER_ID, api

# The leads' stored fields whose rule changed since the first release.
RULE_FIELDS = (
    "evidence_probability",
    "qualification_status",
    "interaction_count",
    "relationship_status",
    "has_decision_maker_access",
    "customer_commitment",
    "has_trial_order",
    "risk_level",
    "risk_reason_codes",
)
BATCH_SIZE = 1000


def migrate(cr, version):
    """Opportunities' indicators computed by an earlier version's rules are computed again.

    A stored field is recomputed when its inputs change, not when its rule
    does. Upgraded from the first release, a deal whose evidence now counts as
    an interaction stayed "cold" and at high risk, and one with a proven
    "decision maker met" milestone still had no decision maker access. Every
    lead and opportunity, open or closed, is recomputed, in batches that keep
    memory bounded.
    """
    env = api.Environment(cr, SUPERUSER_ID, {})
    leads = env["crm.lead"].with_context(active_test=False)
    fields_ = [leads._fields[name] for name in RULE_FIELDS]
    ids = leads.search([], order="id").ids
    for start in range(0, len(ids), BATCH_SIZE):
        batch = leads.browse(ids[start : start + BATCH_SIZE])
        for field in fields_:
            env.add_to_compute(field, batch)
        env.flush_all()
        env.invalidate_all()
