"""Odoo's UBL 2.1 builder (``account.edi.xml.ubl_bis3``), extended for Chorus Pro.

Only the documents of Chorus Pro customers (or built by
``account.move._chorus_build_document``) change. They are EN 16931 invoices
and credit notes (``CustomizationID`` ``urn:cen.eu:en16931:2017``), not
Peppol BIS ones: ``ProfileID`` carries the French billing framework (BT-23),
as the French rules want, and Peppol's own rules do not apply.
"""

import base64

from lxml import etree

from odoo import models

from .account_move_chorus_document import (
    SCHEME_SIREN,
    SCHEME_SIRET,
    insert_in_order,
    sub_element,
)

UBL_CUSTOMIZATION_EN16931 = "urn:cen.eu:en16931:2017"

CAC = "urn:oasis:names:specification:ubl:schema:xsd:CommonAggregateComponents-2"
CBC = "urn:oasis:names:specification:ubl:schema:xsd:CommonBasicComponents-2"

# Children of the document between the order and the parties, in the order of
# the UBL 2.1 Invoice schema then of the CreditNote one (they differ there).
_DOCUMENT_REFERENCES = {
    "Invoice": (
        "OrderReference",
        "BillingReference",
        "DespatchDocumentReference",
        "ReceiptDocumentReference",
        "StatementDocumentReference",
        "OriginatorDocumentReference",
        "ContractDocumentReference",
        "AdditionalDocumentReference",
        "ProjectReference",
        "Signature",
        "AccountingSupplierParty",
    ),
    "CreditNote": (
        "OrderReference",
        "BillingReference",
        "DespatchDocumentReference",
        "ReceiptDocumentReference",
        "ContractDocumentReference",
        "AdditionalDocumentReference",
        "StatementDocumentReference",
        "OriginatorDocumentReference",
        "Signature",
        "AccountingSupplierParty",
    ),
}
DOCUMENT_REFERENCES_ORDER = {
    root: [f"{{{CAC}}}{name}" for name in names]
    for root, names in _DOCUMENT_REFERENCES.items()
}


class AccountEdiXmlUblBis3(models.AbstractModel):
    _inherit = "account.edi.xml.ubl_bis3"

    def _chorus_applies(self, invoice):
        # Not for the formats built on this one (XRechnung, NLCIUS, A-NZ...).
        return (
            self._name == "account.edi.xml.ubl_bis3"
            and invoice._chorus_document_is_chorus(self)
        )

    def _export_invoice_vals(self, invoice):
        # EXTENDS account_edi_ubl_cii and l10n_fr_facturx_chorus_pro
        vals = super()._export_invoice_vals(invoice)
        if not self._chorus_applies(invoice):
            return vals
        chorus = invoice._chorus_document_values()
        document = vals["vals"]
        document.update(
            {
                "customization_id": UBL_CUSTOMIZATION_EN16931,
                "profile_id": chorus["billing_framework"],
                "buyer_reference": chorus["service_code"] or None,
                # The French rules read the subject code at the start of a note.
                "note_vals": document["note_vals"]
                + [{"note": f"#{subject}#{text}"} for subject, text in chorus["notes"]],
            }
        )
        if chorus["engagement"]:
            document["order_reference"] = chorus["engagement"]
        else:
            # Odoo writes the invoice number there otherwise: Chorus Pro would
            # take it for an engagement number. No engagement, no order.
            document.update({"order_reference": None, "sales_order_id": None})
        for role, key in (
            ("seller", "accounting_supplier_party_vals"),
            ("buyer", "accounting_customer_party_vals"),
        ):
            self._chorus_party_vals(
                document[key]["party_vals"],
                chorus[role],
                chorus[f"{role}_siret"],
                chorus[f"{role}_siren"],
            )
        if chorus["preceding_invoice"]:
            document["billing_reference_vals"] = {
                "id": chorus["preceding_invoice"]["name"],
                "issue_date": chorus["preceding_invoice"]["date"],
            }
        return vals

    def _chorus_party_vals(self, party_vals, partner, siret, siren):
        """Identify a party by its SIRET (identifier BT-29/BT-46 and electronic
        address BT-34/BT-49) and its SIREN (legal registration BT-30/BT-47)."""
        if siret:
            party_vals.update(
                {
                    "endpoint_id": siret,
                    "endpoint_id_attrs": {"schemeID": SCHEME_SIRET},
                    "party_identification_vals": [
                        {"id": siret, "id_attrs": {"schemeID": SCHEME_SIRET}}
                    ],
                }
            )
            for legal_vals in party_vals["party_legal_entity_vals"]:
                legal_vals.update(
                    {
                        "company_id": siren,
                        "company_id_attrs": {"schemeID": SCHEME_SIREN},
                    }
                )
        if not partner.vat:
            # Odoo writes the Peppol address as a VAT number otherwise.
            party_vals["party_tax_scheme_vals"] = []

    def _export_invoice_constraints(self, invoice, vals):
        # EXTENDS account_edi_ubl_cii
        constraints = super()._export_invoice_constraints(invoice, vals)
        if self._chorus_applies(invoice):
            # A Peppol rule: Chorus Pro itself requires what each buyer asks
            # for, which the sending checks with Chorus Pro.
            constraints.pop("peppol_en16931_ubl_buyer_ref_po_ref", None)
            for index, error in enumerate(invoice._chorus_document_errors()):
                constraints[f"chorus_pro_{index}"] = error
        return constraints

    def _export_invoice(self, invoice, convert_fixed_taxes=True):
        # EXTENDS account_edi_ubl_cii: what Odoo's templates have no place for.
        xml, errors = super()._export_invoice(
            invoice, convert_fixed_taxes=convert_fixed_taxes
        )
        if not self._chorus_applies(invoice):
            return xml, errors
        tree = etree.fromstring(xml)
        self._chorus_complete_ubl(tree, invoice._chorus_document_values())
        etree.indent(tree, space="  ")
        return etree.tostring(tree, xml_declaration=True, encoding="UTF-8"), errors

    def _chorus_complete_ubl(self, tree, chorus):
        """Add the Chorus Pro data to the UBL ``tree`` Odoo's templates wrote."""
        root = etree.QName(tree).localname
        if chorus["contract"]:
            reference = etree.Element(f"{{{CAC}}}ContractDocumentReference")
            sub_element(reference, f"{{{CBC}}}ID", chorus["contract"])
            insert_in_order(tree, reference, DOCUMENT_REFERENCES_ORDER[root])
        # Supporting documents (BG-24), embedded.
        for attachment in chorus["attachments"]:
            reference = etree.Element(f"{{{CAC}}}AdditionalDocumentReference")
            sub_element(reference, f"{{{CBC}}}ID", attachment["name"])
            sub_element(
                reference, f"{{{CBC}}}DocumentDescription", attachment["description"]
            )
            binary = sub_element(reference, f"{{{CAC}}}Attachment")
            sub_element(
                binary,
                f"{{{CBC}}}EmbeddedDocumentBinaryObject",
                base64.b64encode(attachment["raw"]).decode(),
                mimeCode=attachment["mimetype"],
                filename=attachment["name"],
            )
            insert_in_order(tree, reference, DOCUMENT_REFERENCES_ORDER[root])
        if not chorus["bank"]:
            # Credit notes carry no payment means (Odoo writes "standing
            # agreement" there).
            for means in tree.findall(f"{{{CAC}}}PaymentMeans"):
                tree.remove(means)
