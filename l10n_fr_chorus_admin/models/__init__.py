from . import chorus_pro_service
from . import ir_model_fields_selection
from . import res_company
from . import res_config_settings
from . import res_partner
