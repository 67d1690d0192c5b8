from . import chorus_mandate_approval_wizard
from . import chorus_mandate_refusal_wizard
from . import chorus_mandate_upload_wizard
from . import chorus_pro_complete_wizard
from . import chorus_pro_recycle_wizard
