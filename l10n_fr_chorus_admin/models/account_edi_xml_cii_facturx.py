"""Odoo's CII (Factur-X) builder, extended for Chorus Pro.

Only the documents of Chorus Pro customers (or built by
``account.move._chorus_build_document``) change; Odoo's template writes
everything it can from the values given to it, and the elements it has no
place for are then added to its output at the place the schema gives them.

The document declares the EN 16931 profile of Factur-X
(``urn:cen.eu:en16931:2017``), the one Chorus Pro expects for CII and
Factur-X, instead of Odoo's Extended profile: it uses nothing outside it once
the ship-to contact, which that profile does not have, is left out.
"""

import base64

from lxml import etree

from odoo import models

from .account_move_chorus_document import (
    SCHEME_SIRET,
    insert_in_order,
    sub_element,
)

CII_GUIDELINE_EN16931 = "urn:cen.eu:en16931:2017"

RSM = "urn:un:unece:uncefact:data:standard:CrossIndustryInvoice:100"
RAM = (
    "urn:un:unece:uncefact:data:standard:ReusableAggregateBusinessInformationEntity:100"
)
QDT = "urn:un:unece:uncefact:data:standard:QualifiedDataType:100"


def _rsm(name):
    return f"{{{RSM}}}{name}"


def _ram(name):
    return f"{{{RAM}}}{name}"


# Children order of the Factur-X 1.0 (D16B) types where elements are added.
CONTEXT_ORDER = [
    _ram(name)
    for name in (
        "TestIndicator",
        "BusinessProcessSpecifiedDocumentContextParameter",
        "GuidelineSpecifiedDocumentContextParameter",
    )
]
HEADER_AGREEMENT_ORDER = [
    _ram(name)
    for name in (
        "BuyerReference",
        "SellerTradeParty",
        "BuyerTradeParty",
        "SellerTaxRepresentativeTradeParty",
        "SellerOrderReferencedDocument",
        "BuyerOrderReferencedDocument",
        "ContractReferencedDocument",
        "AdditionalReferencedDocument",
        "SpecifiedProcuringProject",
    )
]
#: UNTDID 1001 code of a supporting document (BG-24) in CII.
DOCUMENT_TYPE_SUPPORTING = "916"
TRADE_PARTY_ORDER = [
    _ram(name)
    for name in (
        "ID",
        "GlobalID",
        "Name",
        "RoleCode",
        "Description",
        "SpecifiedLegalOrganization",
        "DefinedTradeContact",
        "PostalTradeAddress",
        "URIUniversalCommunication",
        "SpecifiedTaxRegistration",
    )
]
HEADER_SETTLEMENT_ORDER = [
    _ram(name)
    for name in (
        "CreditorReferenceID",
        "PaymentReference",
        "TaxCurrencyCode",
        "InvoiceCurrencyCode",
        "InvoiceIssuerReference",
        "InvoicerTradeParty",
        "InvoiceeTradeParty",
        "PayeeTradeParty",
        "PayerTradeParty",
        "TaxApplicableTradeCurrencyExchange",
        "SpecifiedTradeSettlementPaymentMeans",
        "ApplicableTradeTax",
        "BillingSpecifiedPeriod",
        "SpecifiedTradeAllowanceCharge",
        "SpecifiedLogisticsServiceCharge",
        "SpecifiedTradePaymentTerms",
        "SpecifiedTradeSettlementHeaderMonetarySummation",
        "InvoiceReferencedDocument",
        "ReceivableSpecifiedTradeAccountingAccount",
        "SpecifiedAdvancePayment",
    )
]
PAYMENT_MEANS_ORDER = [
    _ram(name)
    for name in (
        "TypeCode",
        "Information",
        "ApplicableTradeSettlementFinancialCard",
        "PayerPartyDebtorFinancialAccount",
        "PayeePartyCreditorFinancialAccount",
        "PayeeSpecifiedCreditorFinancialInstitution",
    )
]

#: Payment means code (UNTDID 4461) of a credit transfer.
PAYMENT_MEANS_CREDIT_TRANSFER = "30"


class AccountEdiXmlCii(models.AbstractModel):
    _inherit = "account.edi.xml.cii"

    def _chorus_applies(self, invoice):
        return (
            self._name == "account.edi.xml.cii"
            and invoice._chorus_document_is_chorus(self)
        )

    def _export_invoice_vals(self, invoice):
        # EXTENDS account_edi_ubl_cii: what Odoo's template can write itself.
        vals = super()._export_invoice_vals(invoice)
        if not self._chorus_applies(invoice):
            return vals
        chorus = invoice._chorus_document_values()
        vals.update(
            {
                "document_context_id": CII_GUIDELINE_EN16931,
                # The template writes these under scheme 0002: the SIREN (BT-30,
                # BT-47); the SIRET goes to the party identifier (BT-29, BT-46).
                "seller_specified_legal_organization": chorus["seller_siren"],
                "buyer_specified_legal_organization": chorus["buyer_siren"],
                # Only the move's own Chorus references: Odoo falls back on the
                # partner's reference and the invoice number, which Chorus Pro
                # would take for a service code and an engagement number.
                "buyer_reference": chorus["service_code"],
                "purchase_order_reference": chorus["engagement"],
                "contract_reference": chorus["contract"],
            }
        )
        return vals

    def _export_invoice_constraints(self, invoice, vals):
        # EXTENDS account_edi_ubl_cii
        constraints = super()._export_invoice_constraints(invoice, vals)
        if self._chorus_applies(invoice):
            # German (XRechnung) rules that Chorus Pro does not have; the bank
            # account is checked with the Chorus Pro rules below.
            for key in (
                "seller_phone",
                "seller_email",
                "seller_payment_instructions_1",
                "seller_payment_instructions_2",
            ):
                constraints.pop(key, None)
            for index, error in enumerate(invoice._chorus_document_errors()):
                constraints[f"chorus_pro_{index}"] = error
        return constraints

    def _export_invoice(self, invoice):
        # EXTENDS account_edi_ubl_cii: what the template has no place for.
        xml, errors = super()._export_invoice(invoice)
        if not self._chorus_applies(invoice):
            return xml, errors
        tree = etree.fromstring(xml)
        self._chorus_complete_cii(tree, invoice, invoice._chorus_document_values())
        etree.indent(tree, space="  ")
        return etree.tostring(tree, xml_declaration=True, encoding="UTF-8"), errors

    def _chorus_complete_cii(self, tree, invoice, chorus):
        """Add the Chorus Pro data to the CII ``tree`` Odoo's template wrote."""
        context = tree.find(_rsm("ExchangedDocumentContext"))
        business_process = etree.Element(
            _ram("BusinessProcessSpecifiedDocumentContextParameter")
        )
        sub_element(business_process, _ram("ID"), chorus["billing_framework"])
        insert_in_order(context, business_process, CONTEXT_ORDER)

        document = tree.find(_rsm("ExchangedDocument"))
        for subject, text in chorus["notes"]:
            note = sub_element(document, _ram("IncludedNote"))
            sub_element(note, _ram("Content"), text)
            sub_element(note, _ram("SubjectCode"), subject)

        transaction = tree.find(_rsm("SupplyChainTradeTransaction"))
        # Odoo names an item after its product: a line without product only
        # has a description, and EN 16931 wants a name (BR-25).
        for product in transaction.iterfind(
            f"{_ram('IncludedSupplyChainTradeLineItem')}/{_ram('SpecifiedTradeProduct')}"
        ):
            description = product.find(_ram("Description"))
            if product.find(_ram("Name")) is None and description is not None:
                description.tag = _ram("Name")

        agreement = transaction.find(_ram("ApplicableHeaderTradeAgreement"))
        for role, tag in (("seller", "SellerTradeParty"), ("buyer", "BuyerTradeParty")):
            party = agreement.find(_ram(tag))
            siret = chorus[f"{role}_siret"]
            if party is None or not siret:
                continue
            global_id = etree.Element(_ram("GlobalID"), schemeID=SCHEME_SIRET)
            global_id.text = siret
            insert_in_order(party, global_id, TRADE_PARTY_ORDER)
            address = etree.Element(_ram("URIUniversalCommunication"))
            sub_element(address, _ram("URIID"), siret, schemeID=SCHEME_SIRET)
            insert_in_order(party, address, TRADE_PARTY_ORDER)

        # Supporting documents (BG-24), embedded.
        for attachment in chorus["attachments"]:
            document = etree.Element(_ram("AdditionalReferencedDocument"))
            sub_element(document, _ram("IssuerAssignedID"), attachment["name"])
            sub_element(document, _ram("TypeCode"), DOCUMENT_TYPE_SUPPORTING)
            sub_element(document, _ram("Name"), attachment["description"])
            sub_element(
                document,
                _ram("AttachmentBinaryObject"),
                base64.b64encode(attachment["raw"]).decode(),
                mimeCode=attachment["mimetype"],
                filename=attachment["name"],
            )
            insert_in_order(agreement, document, HEADER_AGREEMENT_ORDER)

        # The EN 16931 profile has no contact for the ship-to party.
        for contact in transaction.iterfind(
            f"{_ram('ApplicableHeaderTradeDelivery')}/{_ram('ShipToTradeParty')}"
            f"/{_ram('DefinedTradeContact')}"
        ):
            contact.getparent().remove(contact)

        settlement = transaction.find(_ram("ApplicableHeaderTradeSettlement"))
        for means in settlement.findall(_ram("SpecifiedTradeSettlementPaymentMeans")):
            if not chorus["bank"]:
                settlement.remove(means)
                continue
            means.find(_ram("TypeCode")).text = PAYMENT_MEANS_CREDIT_TRANSFER
            if chorus["bic"]:
                institution = etree.Element(
                    _ram("PayeeSpecifiedCreditorFinancialInstitution")
                )
                sub_element(institution, _ram("BICID"), chorus["bic"])
                insert_in_order(means, institution, PAYMENT_MEANS_ORDER)

        preceding = chorus["preceding_invoice"]
        if preceding:
            reference = etree.Element(_ram("InvoiceReferencedDocument"))
            sub_element(reference, _ram("IssuerAssignedID"), preceding["name"])
            if preceding["date"]:
                issue_date = sub_element(reference, _ram("FormattedIssueDateTime"))
                sub_element(
                    issue_date,
                    f"{{{QDT}}}DateTimeString",
                    preceding["date"].strftime("%Y%m%d"),
                    nsmap={"qdt": QDT},
                    format="102",
                )
            insert_in_order(settlement, reference, HEADER_SETTLEMENT_ORDER)
