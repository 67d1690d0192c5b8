from . import test_access
from . import test_base_automation
from . import test_chorus_documents
from . import test_company_configuration
from . import test_demo_documents
from . import test_mandate_documents
from . import test_mandate_tours
from . import test_public_partner
from . import test_sale_mandate
from . import test_security
from . import test_send_and_print
from . import test_transmission
from . import test_transmission_deposit
from . import test_translation
from . import test_followup
from . import test_followup_tours
from . import test_guidance
from . import test_readme_walk
from . import test_french

from odoo.http import root  # noqa: E402

# Python 3.11 before 3.11.8 may fail to compile in two threads at once
# (CPython gh-106905, "AST constructor recursion depth mismatch"). wkhtmltopdf
# asks the test server for two stylesheets at once, and the first static
# request reads every add-on's manifest: read them before any test runs.
root.statics  # pylint: disable=pointless-statement  # noqa: B018
