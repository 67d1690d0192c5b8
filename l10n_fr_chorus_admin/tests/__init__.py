from . import test_access
from . import test_chorus_documents
from . import test_company_configuration
from . import test_public_partner
from . import test_security
from . import test_transmission
from . import test_transmission_deposit
from . import test_translation
