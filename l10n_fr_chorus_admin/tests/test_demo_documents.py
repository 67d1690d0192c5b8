from odoo import Command
from odoo.tests import tagged
from odoo.tools import mute_logger

from odoo.addons.account.tests.common import AccountTestInvoicingHttpCommon

from ..chorus_pro.constants import SYNTAX_CII, SYNTAX_FACTURX, SYNTAX_UBL
from ..chorus_pro.validation import get_validator
from .test_chorus_documents import (
    IBAN,
    SUPPLIER_SIRET,
    SUPPLIER_VAT,
    WKHTMLTOPDF_LOGGER,
)

DEMO_MODULE = "l10n_fr_chorus_admin"


@tagged("post_install", "-at_install")
class TestDemoDocuments(AccountTestInvoicingHttpCommon):
    """Every document the demo data produces passes the EN 16931 rules: an
    invoice to each public customer of the demo, with the service and
    engagement number its Chorus Pro structure requires, and a credit note, in
    the three syntaxes. An HTTP test case: wkhtmltopdf fetches the report
    assets from the test server (Factur-X)."""

    @classmethod
    @AccountTestInvoicingHttpCommon.setup_country("fr")
    def setUpClass(cls):
        super().setUpClass()
        cls.env = cls.env(context=dict(cls.env.context, tracking_disable=True))
        cls.company = cls.company_data["company"]
        cls.company.write(
            {
                "siret": SUPPLIER_SIRET,
                "vat": SUPPLIER_VAT,
                "street": "1 rue de la Paix",
                "zip": "75002",
                "city": "Paris",
            }
        )
        cls.bank_account = cls.env["res.partner.bank"].create(
            {
                "acc_number": IBAN,
                "partner_id": cls.company.partner_id.id,
                "allow_out_payment": True,
            }
        )
        demo = cls.env["ir.model.data"].search(
            [("module", "=", DEMO_MODULE), ("model", "=", "res.partner")]
        )
        cls.public_customers = (
            cls.env["res.partner"]
            .browse(demo.mapped("res_id"))
            .filtered(lambda partner: partner.chorus_is_public and partner.is_company)
        )

    def references(self, partner):
        """What the partner's structure requires, from its demo services."""
        requirement = partner.chorus_requirement or "none"
        service = partner.chorus_default_service_id or partner.chorus_service_ids[:1]
        values = {}
        if service:
            values["buyer_reference"] = service.code
        if (
            requirement in ("engagement", "service_and_engagement")
            or service.engagement_required
            or (requirement == "service_or_engagement" and not service)
        ):
            values["purchase_order_reference"] = f"EJ-DEMO-{partner.id}"
        return values

    def make_invoice(self, partner):
        invoice = self.env["account.move"].create(
            {
                "move_type": "out_invoice",
                "partner_id": partner.id,
                "invoice_date": "2026-11-02",
                "partner_bank_id": self.bank_account.id,
                "invoice_line_ids": [
                    Command.create(
                        {
                            "name": "Maintenance des équipements, novembre",
                            "quantity": 3,
                            "price_unit": 120.0,
                            "tax_ids": [Command.set(self.tax_sale_a.ids)],
                        }
                    ),
                    Command.create(
                        {
                            "product_id": self.product_a.id,
                            "quantity": 1,
                            "price_unit": 450.0,
                            "discount": 10.0,
                            "tax_ids": [Command.set(self.tax_sale_a.ids)],
                        }
                    ),
                ],
                **self.references(partner),
            }
        )
        invoice.action_post()
        return invoice

    def test_every_demo_document_passes_en16931(self):
        module = self.env["ir.module.module"].search([("name", "=", DEMO_MODULE)])
        if not module.demo:
            self.skipTest("database installed without demo data")
        self.assertGreaterEqual(len(self.public_customers), 6)
        moves = self.env["account.move"]
        for partner in self.public_customers:
            moves |= self.make_invoice(partner)
        moves |= moves[0]._reverse_moves([{"ref": "Avoir partiel"}])
        moves[-1].action_post()
        documents = []
        for move in moves:
            self.assertFalse(move._chorus_check_errors(), move.partner_id.name)
            for syntax in (SYNTAX_CII, SYNTAX_UBL, SYNTAX_FACTURX):
                with mute_logger(WKHTMLTOPDF_LOGGER):
                    document = move._chorus_build_document(syntax)
                documents.append((syntax, document["content"], move.name))
        results = get_validator().validate(documents)
        for (syntax, _content, label), result in zip(documents, results, strict=True):
            context = f"{label} {syntax}: {result.messages(True, True)}"
            self.assertTrue(result.ok, context)
            self.assertEqual(result.en16931, [], context)
            self.assertEqual(result.br_fr, [], context)
        self.assertEqual(len(documents), 3 * (len(self.public_customers) + 1))
