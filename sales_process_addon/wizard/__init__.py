from . import crm_lead_evidence_withdraw
