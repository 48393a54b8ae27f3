from . import test_seed_processes
from . import test_pipeline_type
from . import test_stage
from . import test_lead_pipeline_type
from . import test_security
from . import test_performance
from . import test_ui
