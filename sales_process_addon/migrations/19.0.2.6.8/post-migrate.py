from datetime import timedelta

from odoo import SUPERUSER_ID, api, fields

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
    env = api.Environment(cr, SUPERUSER_ID, {})
    _recompute_rule_fields(env)
    _validity_of_approved_exceptions(env)


def _recompute_rule_fields(env):
    """Opportunities' indicators computed by an earlier version's rules are computed again.

    A stored field is recomputed when its inputs change, not when its rule
    does. Upgraded from the first release, a deal whose evidence now counts as
    an interaction stayed "cold" and at high risk, and one with a proven
    "decision maker met" milestone still had no decision maker access. Every
    lead and opportunity, open or closed, is recomputed, in batches that keep
    memory bounded.
    """
    leads = env["crm.lead"].with_context(active_test=False)
    fields_ = [leads._fields[name] for name in RULE_FIELDS]
    ids = leads.search([], order="id").ids
    for start in range(0, len(ids), BATCH_SIZE):
        batch = leads.browse(ids[start : start + BATCH_SIZE])
        for field in fields_:
            env.add_to_compute(field, batch)
        env.flush_all()
        env.invalidate_all()


def _validity_of_approved_exceptions(env):
    """Exceptions approved before approvals had a validity (the first release) get one.

    Valid for the company's number of days from their decision, so that those
    decided longer ago expire at the job's next run. Without one, the daily
    expiry job stopped on them, every day.
    """
    exceptions = env["crm.stage.exception"].search([("state", "=", "approved"), ("valid_until", "=", False)])
    for company, company_exceptions in exceptions.grouped("company_id").items():
        validity = timedelta(days=company._stage_exception_validity())
        for exception in company_exceptions:
            exception.valid_until = (exception.decision_date or fields.Datetime.now()) + validity
