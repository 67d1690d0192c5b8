import io

from odoo.tests import HttpCase, new_test_user, tagged
from odoo.tests.common import mute_logger
from odoo.tools.pdf import PdfFileReader
from odoo.tools.safe_eval import safe_eval

from .mandate_common import MandateCase

REPORT = "l10n_fr_chorus_admin.action_report_chorus_mandate"


@tagged("post_install", "-at_install")
class TestMandateDocuments(MandateCase, HttpCase):
    """The request e-mail and the form, in English and in French; the form is
    produced by wkhtmltopdf as a real PDF (the HTTP server serves its styles)."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.env["res.lang"]._activate_lang("fr_FR")
        cls.env["ir.module.module"]._load_module_terms(
            ["l10n_fr_chorus_admin"], ["fr_FR"], overwrite=True
        )
        cls.bank.bank_id = cls.env["res.bank"].create(
            {"name": "Banque de Démo", "bic": "AGRIFRPP"}
        )

    def render_request(self, order):
        template = self.env.ref(
            "l10n_fr_chorus_admin.mail_template_chorus_mandate_request"
        )
        subject = template._render_field("subject", order.ids, compute_lang=True)
        body = template._render_field("body_html", order.ids, compute_lang=True)
        return subject[order.id], str(body[order.id])

    def assertIdentities(self, text, order):
        for fragment in (
            self.company.name,
            "90000001900019",  # supplier SIRET
            "FR25900000019",  # VAT number
            "FR76 3000 6000 0112 3456 7890 189",  # IBAN
            "AGRIFRPP",  # BIC
            order.name,
            "1,080.00" if "en" in order.partner_id.lang else "1\xa0080,00",
            f"/my/orders/{order.id}",
        ):
            self.assertTrue(fragment in text, fragment)

    def test_request_email_in_english(self):
        self.town_hall.lang = "en_US"
        order = self.make_order()
        subject, body = self.render_request(order)
        self.assertIn("administrative mandate for order", subject)
        self.assertIdentities(body, order)
        self.assertIn("Thank you for your order", body)
        self.assertIn("<strong>30</strong> days", body)
        self.assertIn("How to return the signed form", body)

    def test_request_email_in_french(self):
        self.town_hall.lang = "fr_FR"
        order = self.make_order()
        subject, body = self.render_request(order)
        self.assertIn("mandat administratif pour la commande", subject)
        self.assertIdentities(body, order)
        self.assertIn("Merci pour votre commande", body)
        self.assertIn("<strong>30</strong> jours", body)
        self.assertIn("Comment renvoyer le formulaire signé", body)

    @mute_logger("odoo.addons.base.models.ir_actions_report")
    def render_pdf(self, order):
        # (Debian's wkhtmltopdf warns that it is built without patched Qt.)
        content, kind = (
            self.env["ir.actions.report"]
            .with_context(force_report_rendering=True)
            ._render_qweb_pdf(REPORT, order.ids)
        )
        self.assertEqual(kind, "pdf")
        self.assertTrue(content.startswith(b"%PDF-"))
        self.assertGreaterEqual(len(PdfFileReader(io.BytesIO(content)).pages), 1)
        return content

    def render_html(self, order):
        html = self.env["ir.actions.report"]._render_qweb_html(REPORT, order.ids)[0]
        return html.decode()

    def test_form_in_english_and_french(self):
        self.town_hall.lang = "en_US"
        order = self.make_order()
        common = (
            order.name,
            "90000001900019",  # supplier SIRET
            "21990001600011",  # buyer SIRET
            "FR25900000019",
            "FR76 3000 6000 0112 3456 7890 189",
            "ECOLES",  # the buyer's services, to tick
            "TECHNIQUE",
            f"/my/orders/{order.id}",
        )
        english = self.render_html(order)
        for fragment in common + (
            "Administrative mandate",
            "Engagement number",
            "Contract number",
            "Signatory",
            "Signature and stamp",
            "Total including VAT",
            "Returning this form",
        ):
            self.assertTrue(fragment in english, fragment)
        self.render_pdf(order)
        self.town_hall.lang = "fr_FR"
        french = self.render_html(order)
        for fragment in common + (
            "Mandat administratif",
            "Numéro d'engagement",
            "Numéro de marché",
            "Signataire",
            "Signature et cachet",
            "Total TTC",
            "Retour de ce formulaire",
        ):
            self.assertTrue(fragment in french, fragment)
        self.render_pdf(order)
        report = self.env.ref(REPORT)
        self.assertEqual(
            safe_eval(report.print_report_name, {"object": order}),
            f"Mandat administratif - {order.name}",
        )

    def test_prefilled_references(self):
        order = self.make_order(
            chorus_engagement_number="EJ-2026-99", chorus_service_code="TECHNIQUE"
        )
        html = self.render_html(order)
        self.assertIn("EJ-2026-99", html)
        self.assertNotIn("ECOLES", html, "the service is known: no list to tick")


@tagged("post_install", "-at_install")
class TestMandatePortal(MandateCase, HttpCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.customer = cls.make_portal_user("mandate_customer", cls.town_hall)
        cls.other_buyer = cls.make_public_partner(
            "26990001500018", "health", name="Centre hospitalier de Démo"
        )
        cls.other_customer = cls.make_portal_user("mandate_other", cls.other_buyer)

    @classmethod
    def make_portal_user(cls, login, company_partner):
        user = new_test_user(
            cls.env,
            login,
            "base.group_portal",
            company_id=cls.company.id,
            company_ids=cls.company.ids,
        )
        user.partner_id.write(
            {"parent_id": company_partner.id, "email": f"{login}@example.com"}
        )
        return user

    def make_customer_order(self):
        order = self.make_order(self.customer.partner_id)
        order.message_subscribe(self.customer.partner_id.ids)
        order._chorus_send_mandate_request()
        return order

    def upload(self, order, name, data, mimetype="application/pdf"):
        from odoo import http

        return self.url_open(
            f"/my/orders/{order.id}/chorus_mandate",
            data={"csrf_token": http.Request.csrf_token(self)},
            files={"signed_form": (name, data, mimetype)},
        )

    def test_upload_by_the_customer(self):
        from .mandate_common import PDF_BYTES

        order = self.make_customer_order()
        self.authenticate("mandate_customer", "mandate_customer")
        page = self.url_open(f"/my/orders/{order.id}")
        self.assertIn('id="chorus_mandate"', page.text)
        response = self.upload(order, "mandat.pdf", PDF_BYTES)
        self.assertEqual(response.status_code, 200)
        self.assertIn("your signed form has been received", response.text)
        self.assertEqual(order.chorus_mandate_state, "received")
        self.assertEqual(order.chorus_mandate_attachment_id.raw, PDF_BYTES)
        message = order.message_ids.filtered(lambda m: m.attachment_ids)[:1]
        self.assertEqual(message.author_id, self.customer.partner_id)

    def test_bad_uploads_change_nothing(self):
        from .mandate_common import PDF_BYTES

        order = self.make_customer_order()
        self.authenticate("mandate_customer", "mandate_customer")
        cases = [
            ("mandat.gif", b"GIF89a\x01\x00\x01\x00", "PDF, PNG or JPEG"),
            # A scan just over 10 MB (lines, as a real PDF has).
            ("mandat.pdf", PDF_BYTES + (b"0" * 1023 + b"\n") * 10240, "10 MB at most"),
        ]
        for name, data, message in cases:
            with self.subTest(name=name):
                response = self.upload(order, name, data)
                self.assertEqual(response.status_code, 200)
                self.assertIn(message, response.text)
                self.assertIn("alert-danger", response.text)
                self.assertEqual(order.chorus_mandate_state, "requested")
                self.assertFalse(order.chorus_mandate_attachment_id)

    def test_no_access_to_another_customers_order(self):
        from .mandate_common import PDF_BYTES

        order = self.make_customer_order()
        self.authenticate("mandate_other", "mandate_other")
        response = self.upload(order, "mandat.pdf", PDF_BYTES)
        self.assertEqual(response.status_code, 403)
        self.assertEqual(order.chorus_mandate_state, "requested")
        self.assertFalse(order.chorus_mandate_attachment_id)
        form = self.url_open(f"/my/orders/{order.id}/chorus_mandate/form")
        self.assertEqual(form.status_code, 403)

    def test_form_download_with_the_access_token(self):
        order = self.make_customer_order()
        response = self.url_open(
            f"/my/orders/{order.id}/chorus_mandate/form?access_token={order.access_token}"
        )
        self.assertEqual(response.status_code, 200)
        self.assertEqual(response.headers["Content-Type"], "application/pdf")
