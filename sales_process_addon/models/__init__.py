# Order matters on install: the new models' tables must exist before the
# inherited CRM models add columns pointing to them.
from . import crm_funnel_state
from . import crm_buyer_process
from . import crm_buyer_stage
from . import crm_pipeline_type
from . import res_company
from . import crm_team
from . import crm_stage
from . import crm_evidence_kind
from . import crm_stage_milestone
from . import crm_lead_stage_gate
from . import crm_lead_stage_tasks
from . import crm_lead
from . import crm_lead_evidence
from . import crm_stage_exception
from . import crm_lead_stage_history
from . import res_config_settings
from . import mail_activity
from . import mail_activity_plan_template
