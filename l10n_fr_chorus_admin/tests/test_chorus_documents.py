import base64
import io
import re

import facturx
from lxml import etree
from pypdf import PdfReader

from odoo import Command
from odoo.exceptions import UserError
from odoo.tests import tagged
from odoo.tools import mute_logger

from odoo.addons.account.tests.common import AccountTestInvoicingHttpCommon

from ..chorus_pro.constants import SYNTAX_CII, SYNTAX_FACTURX, SYNTAX_UBL
from ..chorus_pro.validation import get_validator

SUPPLIER_SIRET = "90000001900019"
SUPPLIER_VAT = "FR25900000019"
BUYER_SIRET = "21990001600011"
IBAN = "FR7630006000011234567890189"
BIC = "BNPAFRPPXXX"
SERVICE_CODE = "SERV-INFO"
ENGAGEMENT = "EJ-2025-0042"
CONTRACT = "MARCHE-2025-07"

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
    "pdfaid": "http://www.aiim.org/pdfa/ns/id/",
}
TRANSACTION = "/rsm:CrossIndustryInvoice/rsm:SupplyChainTradeTransaction"
AGREEMENT = f"{TRANSACTION}/ram:ApplicableHeaderTradeAgreement"
SETTLEMENT = f"{TRANSACTION}/ram:ApplicableHeaderTradeSettlement"
# wkhtmltopdf builds without patched Qt warn about header switches on every PDF.
WKHTMLTOPDF_LOGGER = "odoo.addons.base.models.ir_actions_report"


@tagged("post_install", "-at_install")
class TestChorusDocuments(AccountTestInvoicingHttpCommon):
    """The documents deposited on Chorus Pro. An HTTP test case: wkhtmltopdf
    fetches the report assets from the test server, in the test transaction."""

    @classmethod
    @AccountTestInvoicingHttpCommon.setup_country("fr")
    def setUpClass(cls):
        super().setUpClass()
        cls.env = cls.env(context=dict(cls.env.context, tracking_disable=True))
        france = cls.env.ref("base.fr")
        cls.company = cls.company_data["company"]
        cls.company.write(
            {
                "siret": SUPPLIER_SIRET,
                "vat": SUPPLIER_VAT,
                "street": "1 rue de la Paix",
                "zip": "75002",
                "city": "Paris",
                "email": "compta@hebergeur.example.com",
                "phone": "+33 1 23 45 67 89",
            }
        )
        bank = cls.env["res.bank"].create({"name": "Banque", "bic": BIC})
        cls.bank_account = cls.env["res.partner.bank"].create(
            {
                "acc_number": IBAN,
                "partner_id": cls.company.partner_id.id,
                "bank_id": bank.id,
                "allow_out_payment": True,
            }
        )
        cls.town_hall = cls.env["res.partner"].create(
            {
                "name": "Mairie de Testville",
                "is_company": True,
                "siret": BUYER_SIRET,
                "country_id": france.id,
                "street": "Place de la Mairie",
                "zip": "99000",
                "city": "Testville",
                "ref": "CUST-042",
                "chorus_is_public": True,
                "chorus_buyer_category": "local",
            }
        )
        cls.private_customer = cls.env["res.partner"].create(
            {
                "name": "Client privé",
                "is_company": True,
                "siret": "73282932000074",
                "vat": "FR40303265045",
                "country_id": france.id,
                "street": "2 rue du Commerce",
                "zip": "69001",
                "city": "Lyon",
            }
        )
        cls.hosting = cls._create_product(
            name="Hébergement mensuel", type="service", lst_price=100.0
        )
        cls.server = cls._create_product(name="Serveur", type="consu", lst_price=900.0)
        cls.invoice = cls._make_invoice(
            cls.town_hall,
            # A line without product: EN 16931 still wants an item name.
            lines=[
                {
                    "name": "Mise en service\nsur site",
                    "quantity": 1,
                    "price_unit": 50.0,
                    "tax_ids": [Command.set(cls.tax_sale_a.ids)],
                }
            ],
            buyer_reference=SERVICE_CODE,
            purchase_order_reference=ENGAGEMENT,
            contract_reference=CONTRACT,
        )
        cls.credit_note = cls.invoice._reverse_moves(
            [{"invoice_date": "2025-06-20", "ref": "Avoir partiel"}]
        )
        cls.credit_note.action_post()

    @classmethod
    def _make_invoice(cls, partner, products=None, lines=(), post=True, **values):
        invoice = cls.env["account.move"].create(
            {
                "move_type": "out_invoice",
                "partner_id": partner.id,
                "invoice_date": "2025-06-15",
                "partner_bank_id": cls.bank_account.id,
                "invoice_line_ids": [
                    Command.create(
                        {"product_id": product.id, "quantity": 3, "price_unit": 100.0}
                    )
                    for product in products or cls.hosting
                ]
                + [Command.create(line) for line in lines],
                **values,
            }
        )
        if post:
            invoice.action_post()
        return invoice

    def build(self, move, syntax):
        document = move._chorus_build_document(syntax)
        self.assertEqual(document["syntax"], syntax)
        self.assertLessEqual(len(document["filename"]), 50)
        self.assertRegex(document["filename"], r"^[A-Za-z0-9_-]+\.(xml|pdf)$")
        return document

    def build_facturx(self, move):
        with mute_logger(WKHTMLTOPDF_LOGGER):
            return self.build(move, SYNTAX_FACTURX)

    def value(self, tree, xpath):
        values = tree.xpath(xpath, namespaces=NS)
        self.assertEqual(len(values), 1, f"{xpath}: {values}")
        value = values[0]
        return value if isinstance(value, str) else value.text

    # CII ----------------------------------------------------------------------

    def assert_cii_chorus_content(self, tree):
        value = self.value
        self.assertEqual(
            value(
                tree,
                "//rsm:ExchangedDocumentContext"
                "/ram:GuidelineSpecifiedDocumentContextParameter/ram:ID",
            ),
            "urn:cen.eu:en16931:2017",
        )
        self.assertEqual(
            value(
                tree,
                "//rsm:ExchangedDocumentContext"
                "/ram:BusinessProcessSpecifiedDocumentContextParameter/ram:ID",
            ),
            "S1",
        )
        self.assertEqual(value(tree, f"{AGREEMENT}/ram:BuyerReference"), SERVICE_CODE)
        self.assertEqual(
            value(
                tree,
                f"{AGREEMENT}/ram:BuyerOrderReferencedDocument/ram:IssuerAssignedID",
            ),
            ENGAGEMENT,
        )
        self.assertEqual(
            value(
                tree, f"{AGREEMENT}/ram:ContractReferencedDocument/ram:IssuerAssignedID"
            ),
            CONTRACT,
        )
        for party, siret in (
            ("SellerTradeParty", SUPPLIER_SIRET),
            ("BuyerTradeParty", BUYER_SIRET),
        ):
            path = f"{AGREEMENT}/ram:{party}"
            self.assertEqual(
                value(tree, f"{path}/ram:GlobalID[@schemeID='0009']"), siret
            )
            self.assertEqual(
                value(
                    tree,
                    f"{path}/ram:SpecifiedLegalOrganization/ram:ID[@schemeID='0002']",
                ),
                siret[:9],
            )
            self.assertEqual(
                value(
                    tree,
                    f"{path}/ram:URIUniversalCommunication/ram:URIID[@schemeID='0009']",
                ),
                siret,
            )
        notes = {
            note.findtext("ram:SubjectCode", namespaces=NS): note.findtext(
                "ram:Content", namespaces=NS
            )
            for note in tree.xpath(
                "//rsm:ExchangedDocument/ram:IncludedNote", namespaces=NS
            )
        }
        self.assertEqual(set(notes), {"PMD", "PMT", "AAB"})
        self.assertIn("intérêts moratoires", notes["PMD"])
        self.assertIn("40 euros", notes["PMT"])
        self.assertIn("escompte", notes["AAB"])

    def test_cii_invoice(self):
        document = self.build(self.invoice, SYNTAX_CII)
        self.assertEqual(document["filename"], "INV_2025_00001_cii.xml")
        self.assertEqual(document["content"], document["xml"])
        tree = etree.fromstring(document["content"])
        self.assertEqual(
            self.value(tree, "//rsm:ExchangedDocument/ram:TypeCode"), "380"
        )
        self.assert_cii_chorus_content(tree)
        means = f"{SETTLEMENT}/ram:SpecifiedTradeSettlementPaymentMeans"
        self.assertEqual(self.value(tree, f"{means}/ram:TypeCode"), "30")
        self.assertEqual(
            self.value(
                tree, f"{means}/ram:PayeePartyCreditorFinancialAccount/ram:IBANID"
            ),
            IBAN,
        )
        self.assertEqual(
            self.value(
                tree,
                f"{means}/ram:PayeeSpecifiedCreditorFinancialInstitution/ram:BICID",
            ),
            BIC,
        )
        self.assertEqual(
            tree.xpath(
                f"{TRANSACTION}/ram:IncludedSupplyChainTradeLineItem"
                "/ram:SpecifiedTradeProduct/ram:Name/text()",
                namespaces=NS,
            ),
            ["Hébergement mensuel", "Mise en service\nsur site"],
        )
        # The EN 16931 profile has no ship-to contact.
        self.assertFalse(
            tree.xpath("//ram:ShipToTradeParty/ram:DefinedTradeContact", namespaces=NS)
        )

    def test_cii_credit_note(self):
        tree = etree.fromstring(self.build(self.credit_note, SYNTAX_CII)["xml"])
        self.assertEqual(
            self.value(tree, "//rsm:ExchangedDocument/ram:TypeCode"), "381"
        )
        self.assert_cii_chorus_content(tree)
        self.assertFalse(
            tree.xpath(
                f"{SETTLEMENT}/ram:SpecifiedTradeSettlementPaymentMeans", namespaces=NS
            )
        )
        reference = f"{SETTLEMENT}/ram:InvoiceReferencedDocument"
        self.assertEqual(
            self.value(tree, f"{reference}/ram:IssuerAssignedID"), self.invoice.name
        )
        self.assertEqual(
            self.value(
                tree, f"{reference}/ram:FormattedIssueDateTime/qdt:DateTimeString"
            ),
            "20250615",
        )

    # UBL ----------------------------------------------------------------------

    def assert_ubl_chorus_content(self, tree):
        value = self.value
        self.assertEqual(
            value(tree, "/*/cbc:CustomizationID"), "urn:cen.eu:en16931:2017"
        )
        self.assertEqual(value(tree, "/*/cbc:ProfileID"), "S1")
        self.assertEqual(value(tree, "/*/cbc:BuyerReference"), SERVICE_CODE)
        self.assertEqual(value(tree, "/*/cac:OrderReference/cbc:ID"), ENGAGEMENT)
        self.assertEqual(
            value(tree, "/*/cac:ContractDocumentReference/cbc:ID"), CONTRACT
        )
        for role, siret in (
            ("AccountingSupplierParty", SUPPLIER_SIRET),
            ("AccountingCustomerParty", BUYER_SIRET),
        ):
            party = f"/*/cac:{role}/cac:Party"
            self.assertEqual(
                value(tree, f"{party}/cbc:EndpointID[@schemeID='0009']"), siret
            )
            self.assertEqual(
                value(
                    tree, f"{party}/cac:PartyIdentification/cbc:ID[@schemeID='0009']"
                ),
                siret,
            )
            self.assertEqual(
                value(
                    tree,
                    f"{party}/cac:PartyLegalEntity/cbc:CompanyID[@schemeID='0002']",
                ),
                siret[:9],
            )
        notes = tree.xpath("/*/cbc:Note/text()", namespaces=NS)
        self.assertEqual(
            sorted(re.match(r"#(\w+)#", note).group(1) for note in notes),
            ["AAB", "PMD", "PMT"],
        )

    def test_ubl_invoice(self):
        document = self.build(self.invoice, SYNTAX_UBL)
        self.assertEqual(document["filename"], "INV_2025_00001_ubl.xml")
        self.assertEqual(document["content"], document["xml"])
        tree = etree.fromstring(document["content"])
        self.assertEqual(etree.QName(tree).text, f"{{{NS['inv']}}}Invoice")
        self.assert_ubl_chorus_content(tree)
        self.assertEqual(
            self.value(tree, "/*/cac:PaymentMeans/cbc:PaymentMeansCode"), "30"
        )
        self.assertEqual(
            self.value(tree, "/*/cac:PaymentMeans/cac:PayeeFinancialAccount/cbc:ID"),
            IBAN,
        )
        self.assertEqual(
            self.value(
                tree,
                "/*/cac:PaymentMeans/cac:PayeeFinancialAccount"
                "/cac:FinancialInstitutionBranch/cbc:ID",
            ),
            BIC,
        )

    def test_ubl_credit_note(self):
        tree = etree.fromstring(self.build(self.credit_note, SYNTAX_UBL)["xml"])
        self.assertEqual(etree.QName(tree).text, f"{{{NS['cn']}}}CreditNote")
        self.assert_ubl_chorus_content(tree)
        self.assertFalse(tree.xpath("/*/cac:PaymentMeans", namespaces=NS))
        self.assertEqual(
            self.value(
                tree, "/*/cac:BillingReference/cac:InvoiceDocumentReference/cbc:ID"
            ),
            self.invoice.name,
        )

    # Factur-X -----------------------------------------------------------------

    def test_facturx(self):
        document = self.build_facturx(self.invoice)
        self.assertEqual(document["filename"], "INV_2025_00001_facturx.pdf")
        content = document["content"]
        self.assertTrue(content.startswith(b"%PDF-"))
        name, xml = facturx.get_xml_from_pdf(content, check_xsd=True)
        self.assertEqual(name, "factur-x.xml")
        self.assertEqual(xml, document["xml"])
        self.assertEqual(xml, self.build(self.invoice, SYNTAX_CII)["xml"])
        self.assert_cii_chorus_content(etree.fromstring(xml))
        metadata = PdfReader(io.BytesIO(content)).trailer["/Root"]["/Metadata"]
        xmp = etree.fromstring(metadata.get_object().get_data())
        self.assertEqual(xmp.xpath("string(//pdfaid:part)", namespaces=NS), "3")

    # Behaviour ----------------------------------------------------------------

    def test_no_side_effect(self):
        invoice = self.invoice
        attachments = self.env["ir.attachment"].search_count(
            [("res_model", "=", "account.move"), ("res_id", "=", invoice.id)]
        )
        messages = len(invoice.message_ids)
        write_date = invoice.write_date
        for syntax in (SYNTAX_CII, SYNTAX_UBL):
            self.build(invoice, syntax)
        self.build_facturx(invoice)
        invoice.invalidate_recordset()
        self.assertEqual(
            self.env["ir.attachment"].search_count(
                [("res_model", "=", "account.move"), ("res_id", "=", invoice.id)]
            ),
            attachments,
        )
        self.assertEqual(len(invoice.message_ids), messages)
        self.assertEqual(invoice.write_date, write_date)
        self.assertFalse(invoice.ubl_cii_xml_id)
        self.assertFalse(invoice.invoice_pdf_report_id)

    def test_no_reference_no_fallback(self):
        """Without engagement number nor service code, the documents carry
        neither: not the invoice number, not the partner's reference (Odoo's
        fallbacks, which Chorus Pro would read as Chorus references)."""
        invoice = self._make_invoice(self.town_hall)
        cii = etree.fromstring(self.build(invoice, SYNTAX_CII)["xml"])
        for element in (
            "BuyerReference",
            "BuyerOrderReferencedDocument",
            "ContractReferencedDocument",
        ):
            self.assertFalse(cii.xpath(f"{AGREEMENT}/ram:{element}", namespaces=NS))
        ubl = etree.fromstring(self.build(invoice, SYNTAX_UBL)["xml"])
        for element in (
            "cbc:BuyerReference",
            "cac:OrderReference",
            "cac:ContractDocumentReference",
        ):
            self.assertFalse(ubl.xpath(f"/*/{element}", namespaces=NS))

    def test_billing_framework(self):
        goods = self._make_invoice(self.town_hall, products=self.server)
        mixed = self._make_invoice(self.town_hall, products=self.server + self.hosting)
        for invoice, code in ((goods, "B1"), (mixed, "M1"), (self.invoice, "S1")):
            tree = etree.fromstring(self.build(invoice, SYNTAX_UBL)["xml"])
            self.assertEqual(self.value(tree, "/*/cbc:ProfileID"), code)

    def make_discount_invoice(self, **values):
        """Goods and services, 2 % discount within 10 days, no Chorus reference."""
        term = self.env["account.payment.term"].create(
            {
                "name": "30 jours, 2 % à 10 jours",
                "early_discount": True,
                "discount_percentage": 2,
                "discount_days": 10,
                "line_ids": [Command.create({"value": "percent", "nb_days": 30})],
            }
        )
        return self._make_invoice(
            self.town_hall,
            products=self.server + self.hosting,
            invoice_payment_term_id=term.id,
            **values,
        )

    def test_early_payment_discount_note(self):
        invoice = self.make_discount_invoice()
        tree = etree.fromstring(self.build(invoice, SYNTAX_CII)["xml"])
        self.assertEqual(
            self.value(
                tree,
                "//ram:IncludedNote[ram:SubjectCode='AAB']/ram:Content",
            ),
            "Escompte de 2 % pour paiement sous 10 jours.",
        )

    def test_errors(self):
        draft = self._make_invoice(self.town_hall, post=False)
        with self.assertRaisesRegex(UserError, "posted customer invoice"):
            draft._chorus_build_document(SYNTAX_CII)
        with self.assertRaisesRegex(UserError, "Unknown Chorus Pro document syntax"):
            self.invoice._chorus_build_document("IN_DP_E1_XCBL")
        unknown = self.env["res.partner"].create(
            {
                "name": "Syndicat sans SIRET",
                "is_company": True,
                "chorus_is_public": True,
            }
        )
        invoice = self._make_invoice(unknown, partner_bank_id=False)
        for syntax in (SYNTAX_CII, SYNTAX_UBL, SYNTAX_FACTURX):
            with self.assertRaises(UserError) as caught:
                invoice._chorus_build_document(syntax)
            message = str(caught.exception)
            self.assertIn(
                "The SIRET of Syndicat sans SIRET is required by Chorus Pro: set "
                "it in the customer's form",
                message,
            )
            self.assertIn("Set the Recipient Bank", message)
            self.assertIn("then click 'Send to Chorus Pro'", message)

    def test_stock_export_unchanged_for_private_customer(self):
        """Odoo's own exports keep Odoo's content for other customers."""
        invoice = self._make_invoice(
            self.private_customer,
            buyer_reference="REF",
            purchase_order_reference="PO-1",
        )
        cii = etree.fromstring(
            self.env["account.edi.xml.cii"]._export_invoice(invoice)[0]
        )
        self.assertEqual(
            self.value(
                cii,
                "//rsm:ExchangedDocumentContext"
                "/ram:GuidelineSpecifiedDocumentContextParameter/ram:ID",
            ),
            "urn:cen.eu:en16931:2017#conformant#urn:factur-x.eu:1p0:extended",
        )
        self.assertFalse(
            cii.xpath(
                "//ram:BusinessProcessSpecifiedDocumentContextParameter", namespaces=NS
            )
        )
        self.assertFalse(cii.xpath("//ram:SubjectCode", namespaces=NS))
        self.assertFalse(cii.xpath("//ram:GlobalID", namespaces=NS))
        self.assertFalse(cii.xpath("//ram:URIUniversalCommunication", namespaces=NS))
        self.assertEqual(
            self.value(
                cii,
                f"{AGREEMENT}/ram:SellerTradeParty/ram:SpecifiedLegalOrganization/ram:ID",
            ),
            SUPPLIER_SIRET,
        )
        self.assertEqual(
            self.value(
                cii,
                f"{SETTLEMENT}/ram:SpecifiedTradeSettlementPaymentMeans/ram:TypeCode",
            ),
            "42",
        )
        self.assertTrue(
            cii.xpath("//ram:ShipToTradeParty/ram:DefinedTradeContact", namespaces=NS)
        )
        ubl = etree.fromstring(
            self.env["account.edi.xml.ubl_bis3"]._export_invoice(invoice)[0]
        )
        self.assertEqual(
            self.value(ubl, "/*/cbc:CustomizationID"),
            "urn:cen.eu:en16931:2017#compliant#urn:fdc:peppol.eu:2017:poacc:billing:3.0",
        )
        self.assertEqual(
            self.value(ubl, "/*/cbc:ProfileID"),
            "urn:fdc:peppol.eu:2017:poacc:billing:01:1.0",
        )
        for note in ubl.xpath("/*/cbc:Note/text()", namespaces=NS):
            self.assertFalse(note.startswith("#"), note)
        self.assertFalse(ubl.xpath("//cbc:CompanyID[@schemeID]", namespaces=NS))

    def test_stock_export_of_public_customer_is_chorus(self):
        """Odoo's own exports (Send & Print, the Factur-X in the invoice PDF) of
        a Chorus Pro customer's invoices carry the Chorus Pro content too."""
        xml, errors = self.env["account.edi.xml.cii"]._export_invoice(self.invoice)
        self.assertFalse(errors)
        self.assert_cii_chorus_content(etree.fromstring(xml))
        xml, errors = self.env["account.edi.xml.ubl_bis3"]._export_invoice(self.invoice)
        self.assertFalse(errors)
        self.assert_ubl_chorus_content(etree.fromstring(xml))

    # Validation ---------------------------------------------------------------

    def test_documents_pass_en16931_and_french_rules(self):
        """XSD, EN 16931 and French CTC (BR-FR) schematrons, run by the
        validation child process: no failure at all."""
        documents = []
        for move in (self.invoice, self.credit_note):
            for syntax in (SYNTAX_CII, SYNTAX_UBL):
                documents.append(
                    (syntax, self.build(move, syntax)["content"], move.name)
                )
            documents.append(
                (SYNTAX_FACTURX, self.build_facturx(move)["content"], move.name)
            )
        # Goods and services with an early payment discount, a discounted
        # line, no engagement, service code nor contract.
        other = self.make_discount_invoice(
            lines=[
                {
                    "product_id": self.server.id,
                    "quantity": 2,
                    "price_unit": 450.0,
                    "discount": 10.0,
                }
            ]
        )
        for syntax in (SYNTAX_CII, SYNTAX_UBL):
            documents.append((syntax, self.build(other, syntax)["content"], other.name))
        for (syntax, _content, label), result in zip(
            documents, get_validator().validate(documents), strict=True
        ):
            context = f"{label} {syntax}: {result.messages(True, True)}"
            self.assertTrue(result.ok, context)
            self.assertEqual(result.en16931, [], context)
            self.assertEqual(result.br_fr, [], context)
            self.assertEqual(result.warnings, [], context)
            self.assertEqual(result.profile.split("#")[0], "urn:cen.eu:en16931:2017")

    # Supporting documents (BG-24) ----------------------------------------------

    def attach(self, move, name, raw, mimetype):
        attachment = self.env["ir.attachment"].create(
            {
                "name": name,
                "raw": raw,
                "mimetype": mimetype,
                "res_model": move._name,
                "res_id": move.id,
            }
        )
        move.chorus_attachment_ids |= attachment
        return attachment

    def test_supporting_documents_travel_inside_the_document(self):
        long_name = (
            "Procès-verbal de réception des travaux du gymnase municipal de "
            "Démoville.pdf"
        )
        pdf = b"%PDF-1.4\n% a statement of work\n%%EOF\n"
        png = base64.b64decode(
            "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8BQDwAEhQGAhKmMIQAAAABJRU5ErkJggg=="
        )
        documents = []
        for move in (self.invoice, self.credit_note):
            self.attach(move, long_name, pdf, "application/pdf")
            self.attach(move, "photo du chantier", png, "image/png")
            self.assertEqual(move._chorus_attachment_errors(), [])
            expected = {
                "Procès-verbal de réception des travaux du gymn.pdf": pdf,
                "photo du chantier.png": png,
            }
            cii = self.build(move, SYNTAX_CII)["content"]
            tree = etree.fromstring(cii)
            binaries = tree.xpath(
                f"{AGREEMENT}/ram:AdditionalReferencedDocument"
                "/ram:AttachmentBinaryObject",
                namespaces=NS,
            )
            self.assertEqual(
                {b.get("filename"): base64.b64decode(b.text) for b in binaries},
                expected,
            )
            self.assertEqual(
                tree.xpath(
                    f"{AGREEMENT}/ram:AdditionalReferencedDocument/ram:TypeCode/text()",
                    namespaces=NS,
                ),
                ["916", "916"],
            )
            ubl = self.build(move, SYNTAX_UBL)["content"]
            binaries = etree.fromstring(ubl).xpath(
                "/*/cac:AdditionalDocumentReference/cac:Attachment"
                "/cbc:EmbeddedDocumentBinaryObject",
                namespaces=NS,
            )
            self.assertEqual(
                {b.get("filename"): base64.b64decode(b.text) for b in binaries},
                expected,
            )
            self.assertEqual(
                [b.get("mimeCode") for b in binaries], ["application/pdf", "image/png"]
            )
            documents += [(SYNTAX_CII, cii, move.name), (SYNTAX_UBL, ubl, move.name)]
            documents.append(
                (SYNTAX_FACTURX, self.build_facturx(move)["content"], move.name)
            )
            self.assertEqual(
                tree.xpath(
                    f"{AGREEMENT}/ram:AdditionalReferencedDocument/ram:Name/text()",
                    namespaces=NS,
                ),
                ["DOCUMENT_ANNEXE", "DOCUMENT_ANNEXE"],
                "BT-123 is a kind of the French list (BR-FR-17)",
            )
        # One supporting document alone.
        single = self.make_discount_invoice()
        self.attach(single, "Bon de livraison.pdf", pdf, "application/pdf")
        for syntax in (SYNTAX_CII, SYNTAX_UBL):
            documents.append(
                (syntax, self.build(single, syntax)["content"], f"{single.name} one")
            )
        for (syntax, _content, label), result in zip(
            documents, get_validator().validate(documents), strict=True
        ):
            context = f"{label} {syntax}: {result.messages(True, True)}"
            self.assertTrue(result.ok, context)
            self.assertEqual(result.br_fr, [], context)
            self.assertFalse(
                [failure for failure in result.en16931 if failure.flag != "warning"],
                context,
            )
            # EN 16931's CII rules CII-SR-475/476 warn as soon as there are two
            # supporting documents, which BG-24 allows (a defect of those
            # rules, discussed in github.com/fnfempe/France_RFE issue 68).
            warnings = {failure.rule for failure in result.en16931}
            if syntax != SYNTAX_UBL and not label.endswith(" one"):
                self.assertLessEqual(warnings, {"CII-SR-475", "CII-SR-476"}, context)
            else:
                self.assertEqual(warnings, set(), context)

    def test_supporting_documents_chorus_pro_refuses(self):
        move = self.invoice
        self.attach(move, "outil.exe", b"MZ\x90\x00", "application/x-msdownload")
        ten_megabytes = b"%PDF-1.4\n" + b"0" * (10 * 1024 * 1024)
        self.attach(move, "plans.pdf", ten_megabytes, "application/pdf")
        errors = move._chorus_attachment_errors()
        self.assertEqual(len(errors), 2, errors)
        self.assertIn("outil.exe", errors[0])
        self.assertIn("remove it from the Chorus Pro tab", errors[0])
        self.assertIn("plans.pdf", errors[1])
        self.assertIn("less than 10 MB", errors[1])
        self.assertEqual(
            [error for error in move._chorus_check_errors() if "supporting" in error],
            errors,
            "the checks before sending include them",
        )
