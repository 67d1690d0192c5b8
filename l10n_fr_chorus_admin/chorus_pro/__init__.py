"""Chorus Pro (through PISTE) for French public-sector invoicing — no Odoo here.

This package is plain Python: it never imports Odoo and only uses relative
imports, so it works as ``odoo.addons.l10n_fr_chorus_admin.chorus_pro`` and as a
top-level ``chorus_pro`` package. The local sandbox lives in
:mod:`.sandbox` and is not imported here (it needs ``lxml`` and ``factur-x``).
"""

from . import constants, statuses
from .client import ChorusProClient, history_status_dates
from .exceptions import (
    ChorusProAuthError,
    ChorusProError,
    ChorusProFunctionalError,
    ChorusProOutcomeUnknownError,
    ChorusProRetryableError,
)
from .token import DEFAULT_TOKEN_CACHE, TokenCache
