from . import crm_lead_evidence_withdraw
from . import crm_stage_exception_decision
from . import crm_pipeline_type_import
