"""Sample invoice documents to drive the sandbox (tests, benchmark, demo).

They are valid against the XSDs the sandbox checks (UBL 2.1, Factur-X EN 16931)
and carry what Chorus Pro reads: invoice number, type, both SIRETs, service code
(BT-10), engagement number (BT-13) and totals. They are not meant to pass the
EN 16931 or French schematrons.

>>> content, name = build_flow(SYNTAX_UBL, [SampleInvoice("F2025-001", buyer_siret)])
"""

import datetime
import io
import tarfile
from dataclasses import dataclass, field
from decimal import Decimal

from lxml import etree
from lxml.builder import ElementMaker

from ..constants import SYNTAX_CII, SYNTAX_FACTURX, SYNTAX_UBL
from .documents import NS, UBL_CREDIT_NOTE, UBL_INVOICE
from .fixtures import SUPPLIER

CII_PROFILE_EN16931 = "urn:cen.eu:en16931:2017"
TWO = Decimal("0.01")


@dataclass
class SampleInvoice:
    """The data of one sample invoice (amounts in euros, untaxed ``amount``)."""

    number: str
    buyer_siret: str
    service_code: str = ""
    engagement_number: str = ""
    credit_note: bool = False
    amount: Decimal = Decimal("100.00")
    vat_rate: Decimal = Decimal("20.00")
    issue_date: datetime.date = field(default_factory=datetime.date.today)
    seller_siret: str = SUPPLIER.siret
    seller_name: str = SUPPLIER.name
    buyer_name: str = "Acheteur public"

    @property
    def untaxed(self):
        return Decimal(self.amount).quantize(TWO)

    @property
    def tax(self):
        return (self.untaxed * Decimal(self.vat_rate) / 100).quantize(TWO)

    @property
    def total(self):
        return self.untaxed + self.tax


def _money(value):
    return f"{Decimal(value).quantize(TWO)}"


def ubl_xml(invoice):
    """A UBL 2.1 Invoice (or CreditNote) as UTF-8 bytes."""
    root_ns = UBL_CREDIT_NOTE if invoice.credit_note else UBL_INVOICE
    root_name = "CreditNote" if invoice.credit_note else "Invoice"
    doc = ElementMaker(
        namespace=root_ns, nsmap={None: root_ns, "cac": NS["cac"], "cbc": NS["cbc"]}
    )
    cbc = ElementMaker(namespace=NS["cbc"])
    cac = ElementMaker(namespace=NS["cac"])

    def party(siret, name, wrapper):
        return wrapper(
            cac.Party(
                cbc.EndpointID(siret, schemeID="0009"),
                cac.PartyIdentification(cbc.ID(siret, schemeID="0009")),
                cac.PartyName(cbc.Name(name)),
                cac.PostalAddress(cac.Country(cbc.IdentificationCode("FR"))),
                cac.PartyLegalEntity(
                    cbc.RegistrationName(name), cbc.CompanyID(siret, schemeID="0009")
                ),
            )
        )

    children = [
        cbc.CustomizationID(CII_PROFILE_EN16931),
        cbc.ID(invoice.number),
        cbc.IssueDate(invoice.issue_date.isoformat()),
    ]
    if invoice.credit_note:
        children.append(cbc.CreditNoteTypeCode("381"))
    else:
        children.append(cbc.InvoiceTypeCode("380"))
    children.append(cbc.DocumentCurrencyCode("EUR"))
    if invoice.service_code:
        children.append(cbc.BuyerReference(invoice.service_code))
    if invoice.engagement_number:
        children.append(cac.OrderReference(cbc.ID(invoice.engagement_number)))
    children += [
        party(invoice.seller_siret, invoice.seller_name, cac.AccountingSupplierParty),
        party(invoice.buyer_siret, invoice.buyer_name, cac.AccountingCustomerParty),
        cac.TaxTotal(
            cbc.TaxAmount(_money(invoice.tax), currencyID="EUR"),
            cac.TaxSubtotal(
                cbc.TaxableAmount(_money(invoice.untaxed), currencyID="EUR"),
                cbc.TaxAmount(_money(invoice.tax), currencyID="EUR"),
                cac.TaxCategory(
                    cbc.ID("S"),
                    cbc.Percent(_money(invoice.vat_rate)),
                    cac.TaxScheme(cbc.ID("VAT")),
                ),
            ),
        ),
        cac.LegalMonetaryTotal(
            cbc.LineExtensionAmount(_money(invoice.untaxed), currencyID="EUR"),
            cbc.TaxExclusiveAmount(_money(invoice.untaxed), currencyID="EUR"),
            cbc.TaxInclusiveAmount(_money(invoice.total), currencyID="EUR"),
            cbc.PayableAmount(_money(invoice.total), currencyID="EUR"),
        ),
    ]
    line_name = "CreditNoteLine" if invoice.credit_note else "InvoiceLine"
    quantity_name = "CreditedQuantity" if invoice.credit_note else "InvoicedQuantity"
    children.append(
        getattr(cac, line_name)(
            cbc.ID("1"),
            getattr(cbc, quantity_name)("1", unitCode="C62"),
            cbc.LineExtensionAmount(_money(invoice.untaxed), currencyID="EUR"),
            cac.Item(
                cbc.Name("Hébergement"),
                cac.ClassifiedTaxCategory(
                    cbc.ID("S"),
                    cbc.Percent(_money(invoice.vat_rate)),
                    cac.TaxScheme(cbc.ID("VAT")),
                ),
            ),
            cac.Price(cbc.PriceAmount(_money(invoice.untaxed), currencyID="EUR")),
        )
    )
    root = getattr(doc, root_name)(*children)
    return etree.tostring(root, xml_declaration=True, encoding="UTF-8")


def cii_xml(invoice):
    """A Cross Industry Invoice (Factur-X EN 16931 profile) as UTF-8 bytes."""
    rsm = ElementMaker(
        namespace=NS["rsm"],
        nsmap={"rsm": NS["rsm"], "ram": NS["ram"], "udt": NS["udt"]},
    )
    ram = ElementMaker(namespace=NS["ram"])
    udt = ElementMaker(namespace=NS["udt"])

    def party(siret, name, wrapper):
        return wrapper(
            ram.Name(name),
            ram.SpecifiedLegalOrganization(ram.ID(siret, schemeID="0009")),
            ram.PostalTradeAddress(ram.CountryID("FR")),
        )

    def tax(*amounts):
        return ram.ApplicableTradeTax(*amounts)

    agreement = []
    if invoice.service_code:
        agreement.append(ram.BuyerReference(invoice.service_code))
    agreement += [
        party(invoice.seller_siret, invoice.seller_name, ram.SellerTradeParty),
        party(invoice.buyer_siret, invoice.buyer_name, ram.BuyerTradeParty),
    ]
    if invoice.engagement_number:
        agreement.append(
            ram.BuyerOrderReferencedDocument(
                ram.IssuerAssignedID(invoice.engagement_number)
            )
        )
    root = rsm.CrossIndustryInvoice(
        rsm.ExchangedDocumentContext(
            ram.GuidelineSpecifiedDocumentContextParameter(ram.ID(CII_PROFILE_EN16931))
        ),
        rsm.ExchangedDocument(
            ram.ID(invoice.number),
            ram.TypeCode("381" if invoice.credit_note else "380"),
            ram.IssueDateTime(
                udt.DateTimeString(invoice.issue_date.strftime("%Y%m%d"), format="102")
            ),
        ),
        rsm.SupplyChainTradeTransaction(
            ram.IncludedSupplyChainTradeLineItem(
                ram.AssociatedDocumentLineDocument(ram.LineID("1")),
                ram.SpecifiedTradeProduct(ram.Name("Hébergement")),
                ram.SpecifiedLineTradeAgreement(
                    ram.NetPriceProductTradePrice(
                        ram.ChargeAmount(_money(invoice.untaxed))
                    )
                ),
                ram.SpecifiedLineTradeDelivery(ram.BilledQuantity("1", unitCode="C62")),
                ram.SpecifiedLineTradeSettlement(
                    tax(
                        ram.TypeCode("VAT"),
                        ram.CategoryCode("S"),
                        ram.RateApplicablePercent(_money(invoice.vat_rate)),
                    ),
                    ram.SpecifiedTradeSettlementLineMonetarySummation(
                        ram.LineTotalAmount(_money(invoice.untaxed))
                    ),
                ),
            ),
            ram.ApplicableHeaderTradeAgreement(*agreement),
            ram.ApplicableHeaderTradeDelivery(),
            ram.ApplicableHeaderTradeSettlement(
                ram.InvoiceCurrencyCode("EUR"),
                tax(
                    ram.CalculatedAmount(_money(invoice.tax)),
                    ram.TypeCode("VAT"),
                    ram.BasisAmount(_money(invoice.untaxed)),
                    ram.CategoryCode("S"),
                    ram.RateApplicablePercent(_money(invoice.vat_rate)),
                ),
                ram.SpecifiedTradeSettlementHeaderMonetarySummation(
                    ram.LineTotalAmount(_money(invoice.untaxed)),
                    ram.TaxBasisTotalAmount(_money(invoice.untaxed)),
                    ram.TaxTotalAmount(_money(invoice.tax), currencyID="EUR"),
                    ram.GrandTotalAmount(_money(invoice.total)),
                    ram.DuePayableAmount(_money(invoice.total)),
                ),
            ),
        ),
    )
    return etree.tostring(root, xml_declaration=True, encoding="UTF-8")


def blank_pdf():
    """A one-page blank PDF (the visual part of a sample Factur-X)."""
    # pypdf is a dependency of factur-x.
    from pypdf import PdfWriter

    writer = PdfWriter()
    writer.add_blank_page(width=595, height=842)
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue()


def facturx_pdf(invoice):
    """A Factur-X PDF embedding :func:`cii_xml` of ``invoice``."""
    from facturx import generate_from_binary

    return generate_from_binary(
        blank_pdf(),
        cii_xml(invoice),
        flavor="factur-x",
        level="en16931",
        check_xsd=False,
    )


def tar_gz(files):
    """A ``.tar.gz`` of ``(name, bytes)`` pairs."""
    out = io.BytesIO()
    with tarfile.open(fileobj=out, mode="w:gz") as archive:
        for name, data in files:
            info = tarfile.TarInfo(name)
            info.size = len(data)
            info.mtime = 0
            archive.addfile(info, io.BytesIO(data))
    return out.getvalue()


BUILDERS = {
    SYNTAX_UBL: (ubl_xml, ".xml"),
    SYNTAX_CII: (cii_xml, ".xml"),
    SYNTAX_FACTURX: (facturx_pdf, ".pdf"),
}


def build_file(syntax, invoice):
    """One invoice as ``(content, file_name)`` for ``syntax``."""
    builder, extension = BUILDERS[syntax]
    safe = "".join(c if c.isalnum() or c in "-_" else "_" for c in invoice.number)
    return builder(invoice), f"{safe}{extension}"


def build_flow(syntax, invoices, archive_name="flux.tar.gz"):
    """A flow for ``deposit_flow``: one file for one invoice, else a ``.tar.gz``.

    :return: ``(content, file_name)``.
    """
    invoices = list(invoices)
    if len(invoices) == 1:
        return build_file(syntax, invoices[0])
    files = []
    for invoice in invoices:
        content, name = build_file(syntax, invoice)
        files.append((name, content))
    return tar_gz(files), archive_name
