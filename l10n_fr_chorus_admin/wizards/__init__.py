from . import chorus_pro_complete_wizard
from . import chorus_pro_recycle_wizard
