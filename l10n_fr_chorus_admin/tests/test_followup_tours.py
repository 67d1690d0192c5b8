from datetime import date

from lxml import html

from odoo.tests import HttpCase, new_test_user, tagged

from odoo.addons.account.tests.common import AccountTestInvoicingHttpCommon

from .common import TOWN_HALL_SIRET


@tagged("post_install", "-at_install")
class TestFollowupTours(AccountTestInvoicingHttpCommon, HttpCase):
    """The customer's portal view of its invoices and the accounting dashboard,
    in a browser."""

    @classmethod
    @AccountTestInvoicingHttpCommon.setup_country("fr")
    def setUpClass(cls):
        super().setUpClass()
        cls.env.ref("base.user_admin").write(
            {
                "company_id": cls.env.company.id,
                "company_ids": [(4, cls.env.company.id)],
                "tz": "Europe/Paris",
                "lang": "en_US",
            }
        )
        cls.town_hall = cls.env["res.partner"].create(
            {
                "name": "Mairie de Démoville",
                "is_company": True,
                "siret": TOWN_HALL_SIRET,
                "chorus_is_public": True,
                "chorus_buyer_category": "local",
            }
        )
        contact = cls.env["res.partner"].create(
            {
                "name": "Service comptable",
                "parent_id": cls.town_hall.id,
                "email": "compta@demoville.example",
            }
        )
        cls.portal_user = new_test_user(
            cls.env,
            "chorus_portal",
            groups="base.group_portal",
            partner_id=contact.id,
            password="chorus_portal",
        )
        cls.invoices = cls.env["account.move"]
        for state, due in (("available", date(2026, 4, 1)), ("paid", False)):
            move = cls.init_invoice(
                "out_invoice",
                partner=cls.town_hall,
                amounts=[1000.0],
                taxes=cls.tax_sale_a,
            )
            move.name = f"CHORUS/TOUR/000{len(cls.invoices) + 1}"
            move.action_post()
            values = {"chorus_state": state, "chorus_status": "MISE_A_DISPOSITION"}
            if due:
                values.update(
                    chorus_available_date=date(2026, 3, 2), chorus_legal_due_date=due
                )
            else:
                values.update(
                    chorus_status="MISE_EN_PAIEMENT",
                    chorus_available_date=date(2019, 1, 3),
                    chorus_legal_due_date=date(2099, 1, 1),
                )
            move.write(values)
            cls.invoices |= move

    def test_portal_shows_no_internal_sending_state(self):
        """The buyer sees one "being sent" label for every step of ours before
        Chorus Pro integrates the invoice, never "Error" or "Outcome unknown";
        Chorus Pro's own statuses are shown as they are."""
        sending = {}
        for state in ("to_send", "sending", "unknown", "error", "deposited"):
            move = self.init_invoice(
                "out_invoice", partner=self.town_hall, amounts=[100.0]
            )
            move.name = f"CHORUS/SEND/{state}"
            move.action_post()
            move.write({"chorus_state": state, "chorus_error": "Internal reason"})
            sending[move] = state
        self.authenticate("chorus_portal", "chorus_portal")
        page = html.fromstring(self.url_open("/my/invoices").content)
        cells = {
            row.xpath(".//a[@title]")[0].get("title"): " ".join(
                row.xpath(".//td[contains(@class, 'o_chorus_portal_status')]")[0]
                .text_content()
                .split()
            )
            for row in page.xpath("//tbody/tr[.//td[contains(@class, 'o_chorus')]]")
        }
        for move in sending:
            self.assertEqual(cells[move.name], "Being sent to Chorus Pro")
        self.assertTrue(cells["CHORUS/TOUR/0001"].startswith("Made available"))
        self.assertTrue(cells["CHORUS/TOUR/0002"].startswith("Paid"))
        for move, state in sending.items():
            with self.subTest(state=state):
                response = self.url_open(move.get_portal_url())
                banner = html.fromstring(response.content).xpath(
                    "//div[contains(@class, 'o_chorus_portal_invoice')]"
                )[0]
                text = " ".join(banner.text_content().split())
                self.assertEqual(text, "Chorus Pro: Being sent to Chorus Pro")
                self.assertNotIn("Internal reason", response.text)

    def test_no_online_payment_for_an_invoice_sent_to_chorus_pro(self):
        self.env["ir.config_parameter"].sudo().set_param(
            "account_payment.enable_portal_payment", "True"
        )
        private = self.init_invoice(
            "out_invoice", partner=self.partner_a, amounts=[100.0], post=True
        )
        self.assertTrue(private._has_to_be_paid(), "Odoo's own behaviour")
        public = self.init_invoice(
            "out_invoice", partner=self.town_hall, amounts=[100.0], post=True
        )
        public.chorus_state = "integrated"
        self.assertFalse(public._has_to_be_paid())
        self.authenticate("chorus_portal", "chorus_portal")
        response = self.url_open(public.get_portal_url())
        self.assertEqual(response.status_code, 200)
        self.assertNotIn("Pay Now", response.text)

    def test_portal_invoices(self):
        self.start_tour("/my/invoices", "chorus_portal_invoices", login="chorus_portal")

    def test_accounting_dashboard(self):
        self.start_tour(
            "/odoo/action-l10n_fr_chorus_admin.action_chorus_invoice_analysis",
            "chorus_accounting_dashboard",
            login="admin",
        )
