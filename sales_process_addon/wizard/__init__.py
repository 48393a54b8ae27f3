from . import crm_stage_exception_decision
