"""Flow and invoice status vocabularies of Chorus Pro, and what each one means.

Flow statuses (``etatCourantDepotFlux``) say whether a deposited file was
integrated; invoice statuses (``statut`` / ``statutCourantCode``) follow each
invoice on the buyer's side. Unknown values are treated as pending: Chorus Pro
adds statuses over time and a follow-up that stops on an unknown one would lose
invoices.
"""

import logging

_logger = logging.getLogger(__name__)

# --- Flows -------------------------------------------------------------------

FLOW_RECEIVED = "IN_RECU"
FLOW_INTEGRATED = "IN_INTEGRE"
FLOW_PARTIALLY_INTEGRATED = "IN_INTEGRE_PARTIEL"
FLOW_REJECTED = "IN_REJETE"
FLOW_INCIDENT = "IN_INCIDENTE"
FLOW_INADMISSIBLE = "QP_IRRECEVABLE"

#: Pending statuses in the order a flow usually goes through them.
FLOW_PENDING = (
    FLOW_RECEIVED,
    "IN_TRAITE_SE_CPP",
    "IN_EN_ATTENTE_TRAITEMENT_CPP",
    "IN_EN_COURS_TRAITEMENT_CPP",
    "IN_EN_ATTENTE_RETRAITEMENT_CPP",
    "IN_DEPOT_PORTAIL_EN_ATTENTE_TRAITEMENT_SE_CPP",
)
#: Final statuses where at least part of the flow was integrated.
FLOW_SUCCESS = frozenset({FLOW_INTEGRATED, FLOW_PARTIALLY_INTEGRATED})
#: Final statuses where nothing was integrated.
FLOW_FAILED = frozenset({FLOW_REJECTED, FLOW_INCIDENT, FLOW_INADMISSIBLE})
FLOW_FINAL = FLOW_SUCCESS | FLOW_FAILED


def is_final_flow_status(status):
    """Return True when a flow status will not change any more."""
    return status in FLOW_FINAL


def is_failed_flow_status(status):
    """Return True when nothing of the flow was integrated."""
    return status in FLOW_FAILED


def flow_status_kind(status):
    """Classify a flow status as ``"pending"``, ``"success"``, ``"partial"`` or
    ``"failed"``; an unknown value is logged and counts as pending."""
    if status == FLOW_INTEGRATED:
        return "success"
    if status == FLOW_PARTIALLY_INTEGRATED:
        return "partial"
    if status in FLOW_FAILED:
        return "failed"
    if status not in FLOW_PENDING:
        _logger.warning("Unknown Chorus Pro flow status %r, treated as pending", status)
    return "pending"


# --- Invoices ----------------------------------------------------------------

INVOICE_DEPOSITED = "DEPOSEE"
INVOICE_ROUTING = "EN_COURS_ACHEMINEMENT"
INVOICE_MADE_AVAILABLE = "MISE_A_DISPOSITION"
INVOICE_TAKEN_OVER = "PRISE_EN_COMPTE_DESTINATAIRE"
INVOICE_SERVICE_DONE = "SERVICE_FAIT"
INVOICE_PAYMENT_ORDERED = "MANDATEE"
INVOICE_MADE_AVAILABLE_ACCOUNTING = "MISE_A_DISPOSITION_COMPTABLE"
INVOICE_ACCOUNTED = "COMPTABILISEE"
INVOICE_PAID = "MISE_EN_PAIEMENT"
INVOICE_SUSPENDED = "SUSPENDUE"
INVOICE_COMPLETED = "COMPLETEE"
INVOICE_TO_RECYCLE = "A_RECYCLER"
INVOICE_REJECTED = "REJETEE"
INVOICE_ABANDONED = "ABANDONNEE"
INVOICE_DELETED = "SUPPRIMEE"

#: The usual path of an invoice, from deposit to payment. The steps after
#: ``MISE_A_DISPOSITION`` are optional: a buyer may skip some of them.
INVOICE_HAPPY_PATH = (
    INVOICE_DEPOSITED,
    INVOICE_ROUTING,
    INVOICE_MADE_AVAILABLE,
    INVOICE_SERVICE_DONE,
    INVOICE_PAYMENT_ORDERED,
    INVOICE_MADE_AVAILABLE_ACCOUNTING,
    INVOICE_ACCOUNTED,
    INVOICE_PAID,
)
#: Statuses waiting for an action of the supplier.
INVOICE_ACTION_REQUIRED = frozenset({INVOICE_SUSPENDED, INVOICE_TO_RECYCLE})
#: Final statuses where the invoice will never be paid.
INVOICE_FAILED = frozenset({INVOICE_REJECTED, INVOICE_ABANDONED, INVOICE_DELETED})
INVOICE_FINAL = INVOICE_FAILED | {INVOICE_PAID}
#: Every status the project knows of.
INVOICE_STATUSES = frozenset(
    INVOICE_HAPPY_PATH
    + (INVOICE_TAKEN_OVER, INVOICE_COMPLETED)
    + tuple(INVOICE_ACTION_REQUIRED)
    + tuple(INVOICE_FAILED)
)


def is_final_invoice_status(status, payment_status_reported=True):
    """Return True when an invoice status closes the follow-up.

    Buyers whose structure has ``statutMiseEnPaiementNestPasRemonte`` never report
    ``MISE_EN_PAIEMENT``: pass ``payment_status_reported=False`` for them and
    ``MANDATEE`` (or a later accounting step) is final.
    """
    if status in INVOICE_FINAL:
        return True
    if not payment_status_reported:
        return status in (
            INVOICE_PAYMENT_ORDERED,
            INVOICE_MADE_AVAILABLE_ACCOUNTING,
            INVOICE_ACCOUNTED,
        )
    return False


def is_failed_invoice_status(status):
    """Return True when the invoice will never be paid (a new one is needed)."""
    return status in INVOICE_FAILED


def invoice_needs_action(status):
    """Return True when the supplier must act (complete or re-route)."""
    return status in INVOICE_ACTION_REQUIRED


def is_known_invoice_status(status):
    """Return True for a status of :data:`INVOICE_STATUSES`."""
    return status in INVOICE_STATUSES
