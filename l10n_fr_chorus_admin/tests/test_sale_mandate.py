from odoo import Command
from odoo.exceptions import AccessError, UserError, ValidationError
from odoo.tests import Form, TransactionCase, tagged

from ..models.sale_order import MANDATE_STATES
from .mandate_common import JPEG_BYTES, PDF_BYTES, PNG_BYTES, MandateCase


@tagged("post_install", "-at_install")
class TestMandateStates(MandateCase):
    def test_payment_mode_and_initial_state(self):
        order = self.make_order()
        self.assertEqual(order.chorus_payment_method, "mandate")
        self.assertEqual(order.chorus_mandate_state, "to_request")
        private = self.make_order(self.partner_a)
        self.assertFalse(private.chorus_payment_method)
        self.assertEqual(private.chorus_mandate_state, "not_needed")
        order.chorus_payment_method = "direct_debit"
        self.assertEqual(order.chorus_mandate_state, "not_needed")

    def test_tripartite_convention(self):
        self.town_hall.write(
            {
                "chorus_tripartite_ref": "CT-2026-001",
                "chorus_tripartite_date": "2026-01-15",
            }
        )
        order = self.make_order()
        self.assertEqual(order.chorus_payment_method, "direct_debit")
        self.assertEqual(order.chorus_mandate_state, "not_needed")
        order.action_confirm()
        invoice = order._create_invoices()
        self.assertEqual(invoice.partner_id, self.town_hall, "invoiced without mandate")
        providers = self.env["payment.provider"]._get_compatible_providers(
            self.company.id, self.town_hall.id, order.amount_total
        )
        self.assertNotIn(self.mandate_provider, providers)

    @property
    def mandate_provider(self):
        return self.env.ref("l10n_fr_chorus_admin.payment_provider_chorus_mandate")

    def test_mandate_provider_offered_to_public_customers_only(self):
        self.mandate_provider.sudo().company_id = self.company
        Provider = self.env["payment.provider"]
        public = Provider._get_compatible_providers(
            self.company.id, self.town_hall.id, 10
        )
        self.assertIn(self.mandate_provider, public)
        report = {}
        private = Provider._get_compatible_providers(
            self.company.id, self.partner_a.id, 10, report=report
        )
        self.assertNotIn(self.mandate_provider, private)
        self.assertFalse(report["providers"][self.mandate_provider]["available"])

    def test_send_request_from_the_quotation(self):
        # Follow the changes as in the screens (the test base disables tracking).
        self.env = self.env(
            context=dict(self.env.context, tracking_disable=False, mail_notrack=False)
        )
        order = self.make_order()
        # As if created in an earlier transaction: changes are tracked from now.
        self.env.flush_all()
        self.env.cr.precommit.run()
        action = order.with_user(self.salesman).action_chorus_send_mandate()
        composer = Form(
            self.env["mail.compose.message"]
            .with_user(self.salesman)
            .with_context(**action["context"])
        ).save()
        self.assertIn("administrative mandate", composer.subject)
        self.assertEqual(len(composer.attachment_ids), 1, "the form is attached")
        composer.action_send_mail()
        self.assertEqual(order.chorus_mandate_state, "requested")
        self.assertEqual(order.state, "sent")
        message = order.message_ids.filtered(lambda m: m.attachment_ids)[:1]
        self.assertIn(self.town_hall, message.partner_ids)
        self.assertTrue(
            message.attachment_ids.name.startswith("Administrative mandate - ")
        )
        self.env.flush_all()
        self.env.cr.precommit.run()
        tracking = order.message_ids.sudo().tracking_value_ids.filtered(
            lambda t: t.field_id.name == "chorus_mandate_state"
        )
        self.assertIn(
            ("To request", "Requested"),
            [(t.old_value_char, t.new_value_char) for t in tracking],
        )

    def test_request_refused_once_approved_or_cancelled(self):
        order = self.make_received_order()
        self.approve(order, service_code="TECHNIQUE")
        # The refusal says why and what to do next.
        with self.assertRaisesRegex(
            UserError, "“Approved”. It is approved: the order is invoiced"
        ):
            order.action_chorus_send_mandate()
        cancelled = self.make_order()
        cancelled.action_cancel()
        with self.assertRaisesRegex(
            UserError, "cancelled: set it back to quotation first"
        ):
            cancelled.action_chorus_send_mandate()
        self.assertEqual(cancelled.chorus_mandate_state, "to_request")

    def test_signed_form_received(self):
        order = self.make_order()
        order._chorus_send_mandate_request()
        self.assertEqual(order.chorus_mandate_state, "requested")
        for name, data in (
            ("mandat.pdf", PDF_BYTES),
            ("mandat.PNG", PNG_BYTES),
            ("mandat.jpeg", JPEG_BYTES),
        ):
            with self.subTest(name=name):
                attachment = order._chorus_mandate_receive(name, data)
                self.assertEqual(order.chorus_mandate_state, "received")
                self.assertEqual(order.chorus_mandate_attachment_id, attachment)
                self.assertEqual(attachment.res_id, order.id)
        activity = order.activity_ids.filtered(
            lambda a: (
                a.activity_type_id
                == self.env.ref("l10n_fr_chorus_admin.mail_activity_chorus_mandate")
            )
        )
        self.assertEqual(activity.user_id, self.salesman, "one activity, not three")

    def test_bad_files_change_nothing(self):
        order = self.make_order()
        order._chorus_send_mandate_request()
        Attachment = self.env["ir.attachment"]
        before = Attachment.search_count([("res_model", "=", "sale.order")])
        cases = [
            ("mandat.txt", b"signed", "PDF, PNG or JPEG"),
            ("mandat.pdf", b"MZ\x90\x00 not a pdf", "PDF, PNG or JPEG"),
            ("mandat.exe", PDF_BYTES, "PDF, PNG or JPEG"),
            ("mandat.pdf", PDF_BYTES + b"0" * (10 * 1024 * 1024), "10 MB at most"),
            ("mandat.pdf", b"", "empty"),
        ]
        for name, data, message in cases:
            with self.subTest(name=name, message=message):
                with self.assertRaisesRegex(UserError, message):
                    order._chorus_mandate_receive(name, data)
                self.assertEqual(order.chorus_mandate_state, "requested")
                self.assertFalse(order.chorus_mandate_attachment_id)
        after = Attachment.search_count([("res_model", "=", "sale.order")])
        self.assertEqual(before, after)

    def test_backend_registration_of_an_emailed_form(self):
        order = self.make_order()
        order._chorus_send_mandate_request()
        attachment = self.env["ir.attachment"].create(
            {
                "name": "scan.jpg",
                "raw": JPEG_BYTES,
                "res_model": "sale.order",
                "res_id": order.id,
            }
        )
        wizard = (
            self.env["chorus.mandate.upload.wizard"]
            .with_user(self.salesman)
            .create({"order_id": order.id})
        )
        with self.assertRaisesRegex(UserError, "Upload the signed form"):
            wizard.action_register()
        wizard.attachment_id = attachment
        wizard.action_register()
        self.assertEqual(order.chorus_mandate_state, "received")
        self.assertEqual(order.chorus_mandate_attachment_id, attachment)


@tagged("post_install", "-at_install")
class TestMandateApproval(MandateCase):
    def test_approval_creates_and_posts_the_invoice(self):
        order = self.make_received_order()
        action = self.approve(
            order,
            service_code="TECHNIQUE",
            engagement_number="EJ-2026-42",
            contract_reference="MARCHE-2025-07",
        )
        self.assertEqual(order.chorus_mandate_state, "approved")
        self.assertEqual(order.state, "sale")
        invoice = order.invoice_ids
        self.assertEqual(action["res_id"], invoice.id)
        self.assertEqual(invoice.state, "posted")
        self.assertEqual(invoice.buyer_reference, "TECHNIQUE")
        self.assertEqual(invoice.purchase_order_reference, "EJ-2026-42")
        self.assertEqual(invoice.contract_reference, "MARCHE-2025-07")
        self.assertEqual(
            invoice.invoice_payment_term_id, self.town_hall.property_payment_term_id
        )
        # The automation marks the invoices posted in a transaction at its end.
        self.env.cr.flush()
        self.assertEqual(invoice.chorus_state, "to_send", "handed to the transmission")
        self.assertEqual(invoice._chorus_check_errors(), [])
        mandate = invoice.chorus_attachment_ids
        self.assertEqual(len(mandate), 1, "the signed mandate goes with the invoice")
        self.assertEqual(mandate.raw, order.chorus_mandate_attachment_id.raw)
        self.assertEqual(
            mandate.name,
            f"Bon_de_commande_signe_{order.name}.pdf".replace("/", "_"),
        )
        self.assertEqual(mandate.res_model, "account.move")
        self.assertEqual(mandate.res_id, invoice.id)
        self.assertFalse(
            order.activity_ids.filtered(
                lambda a: (
                    a.activity_type_id.get_external_id()[a.activity_type_id.id]
                    == "l10n_fr_chorus_admin.mail_activity_chorus_mandate"
                )
            ),
            "the approval activity is done",
        )

    def test_an_already_confirmed_order(self):
        order = self.make_received_order()
        order.action_confirm()
        self.approve(order, service_code="TECHNIQUE")
        self.assertEqual(order.invoice_ids.state, "posted")

    def test_bad_references_change_nothing(self):
        order = self.make_received_order()
        cases = [
            ({}, "requires a Chorus Pro service code"),
            ({"service_code": "TECH!"}, "may only hold letters.*correct the Service"),
            (
                {"service_code": "INCONNU"},
                "no active Chorus Pro service INCONNU: enter one of its services",
            ),
            ({"service_code": "FACTURES_PUBLIQUES"}, "reserved"),
            ({"service_code": "ECOLES"}, "requires an engagement number"),
            (
                {"service_code": "TECHNIQUE", "engagement_number": "E" * 51},
                "longer than 50 characters: correct it",
            ),
        ]
        for values, message in cases:
            with self.subTest(values=values):
                with self.assertRaisesRegex(UserError, message):
                    self.approve(order, **values)
                self.assertEqual(order.chorus_mandate_state, "received")
                self.assertEqual(order.state, "sent")
                self.assertFalse(order.invoice_ids)

    def test_requirement_kinds(self):
        order = self.make_received_order()
        expectations = {
            "engagement": ({}, "requires an engagement number"),
            "service_or_engagement": (
                {},
                "a service code or an engagement number: enter the one written",
            ),
            "service_and_engagement": (
                {"engagement_number": "EJ1"},
                "requires a Chorus Pro service code",
            ),
        }
        for requirement, (values, message) in expectations.items():
            with self.subTest(requirement=requirement):
                self.town_hall.chorus_requirement = requirement
                with self.assertRaisesRegex(UserError, message):
                    self.approve(order, **values)
        self.town_hall.chorus_requirement = "engagement"
        self.approve(order, engagement_number="EJ1")
        self.assertEqual(order.invoice_ids.purchase_order_reference, "EJ1")

    def test_approval_without_signed_document(self):
        order = self.make_order()
        order._chorus_send_mandate_request()
        with self.assertRaisesRegex(UserError, "No signed mandate form"):
            self.approve(order, service_code="TECHNIQUE")
        self.assertEqual(order.chorus_mandate_state, "requested")
        self.assertFalse(order.invoice_ids)

    def test_only_approvers(self):
        order = self.make_received_order()
        with self.assertRaises(AccessError):
            self.approve(order, user=self.salesman, service_code="TECHNIQUE")
        self.assertEqual(order.chorus_mandate_state, "received")
        accountant_manager = self.env["res.users"].create(
            {
                "name": "Billing manager",
                "login": "mandate_billing_manager",
                "groups_id": [
                    Command.link(self.env.ref("account.group_account_manager").id)
                ],
            }
        )
        self.assertTrue(
            accountant_manager.has_group(
                "l10n_fr_chorus_admin.group_chorus_mandate_approver"
            )
        )

    def test_engagement_checked_on_chorus_pro(self):
        ministry = self.make_public_partner(
            "11099001700011", "state", name="Ministère de la Démonstration"
        )
        ministry.chorus_requirement = "engagement"
        self.company.chorus_structure_id = 26000001
        order = self.make_received_order(partner_id=ministry.id)
        with self.assertRaisesRegex(UserError, "knows no engagement number 1399999999"):
            self.approve(order, engagement_number="1399999999", check_engagement=True)
        self.assertEqual(order.chorus_mandate_state, "received")
        # Known, but the town hall's: not this buyer's commitment.
        other = self.make_received_order()
        with self.assertRaisesRegex(UserError, "knows no engagement number"):
            self.approve(
                other,
                service_code="TECHNIQUE",
                engagement_number="1300012345",
                check_engagement=True,
            )
        self.approve(order, engagement_number="1300012345", check_engagement=True)
        self.assertEqual(order.chorus_mandate_state, "approved")
        self.assertEqual(self.calls("/cpro/engagementsJuridiques/v1/rechercher"), 3)

    def test_invoicing_waits_for_the_approval(self):
        order = self.make_order()
        order.action_confirm()
        with self.assertRaisesRegex(UserError, "mandate is not approved"):
            order._create_invoices()
        self.assertFalse(order.invoice_ids)


@tagged("post_install", "-at_install")
class TestMandateRefusal(MandateCase):
    def refuse(self, order, reason):
        wizard = (
            self.env["chorus.mandate.refusal.wizard"]
            .with_user(self.approver)
            .create({"order_id": order.id, "reason": reason})
        )
        return wizard.action_refuse()

    def test_refusal_needs_a_reason_and_informs_the_customer(self):
        order = self.make_received_order()
        with self.assertRaisesRegex(UserError, "reason"):
            self.refuse(order, "  ")
        self.assertEqual(order.chorus_mandate_state, "received")
        self.refuse(order, "The engagement number is missing.")
        self.assertEqual(order.chorus_mandate_state, "refused")
        mail = (
            self.env["mail.mail"]
            .search([("model", "=", "sale.order"), ("res_id", "=", order.id)])
            .filtered(lambda m: "cannot be accepted" in m.subject)
        )
        self.assertTrue(mail)
        self.assertIn("The engagement number is missing.", str(mail[0].body_html))
        self.assertIn(self.town_hall, mail.recipient_ids)
        with self.assertRaisesRegex(
            UserError, "“Refused”. Register the corrected signed form"
        ):
            self.approve(order, service_code="TECHNIQUE")
        # A corrected form may come back.
        order._chorus_mandate_receive("corrige.pdf", PDF_BYTES)
        self.assertEqual(order.chorus_mandate_state, "received")
        self.assertFalse(order.chorus_mandate_refusal_reason)

    def test_refusal_only_while_waiting(self):
        order = self.make_order()
        with self.assertRaisesRegex(
            UserError, "“To request”. Send the mandate request first"
        ):
            self.refuse(order, "No.")
        self.assertEqual(order.chorus_mandate_state, "to_request")


@tagged("post_install", "-at_install")
class TestMandateRenewal(MandateCase):
    def test_automatic_renewal_is_invoiced_with_the_same_references(self):
        order = self.make_received_order()
        self.approve(
            order,
            service_code="TECHNIQUE",
            engagement_number="EJ-7",
            contract_reference="M-1",
        )
        renewal = self.make_order(
            chorus_renewal_type="automatic", chorus_renewed_order_id=order.id
        )
        self.assertEqual(renewal.chorus_mandate_state, "not_needed")
        self.assertEqual(renewal.chorus_engagement_number, "EJ-7")
        renewal.action_confirm()
        invoice = renewal.invoice_ids
        self.assertEqual(invoice.state, "posted")
        self.assertEqual(
            (
                invoice.buyer_reference,
                invoice.purchase_order_reference,
                invoice.contract_reference,
            ),
            ("TECHNIQUE", "EJ-7", "M-1"),
        )
        # The renewal of a renewal still rests on the approved mandate.
        second = self.make_order(
            chorus_renewal_type="automatic", chorus_renewed_order_id=renewal.id
        )
        self.assertEqual(second.chorus_service_code, "TECHNIQUE")

    def test_automatic_renewal_needs_an_approved_mandate(self):
        pending = self.make_received_order()
        with self.assertRaisesRegex(
            ValidationError, "an order whose administrative mandate is approved"
        ):
            self.make_order(
                chorus_renewal_type="automatic", chorus_renewed_order_id=pending.id
            )
        with self.assertRaisesRegex(
            ValidationError, "an order whose administrative mandate is approved"
        ):
            self.make_order(chorus_renewal_type="automatic")

    def test_manual_renewal_asks_for_a_new_mandate(self):
        order = self.make_received_order()
        self.approve(order, service_code="TECHNIQUE")
        renewal = self.make_order(
            chorus_renewal_type="manual", chorus_renewed_order_id=order.id
        )
        self.assertEqual(renewal.chorus_mandate_state, "to_request")
        self.assertFalse(renewal.chorus_engagement_number)
        renewal.action_confirm()
        self.assertFalse(renewal.invoice_ids)


@tagged("post_install", "-at_install")
class TestMandatePortalPayment(MandateCase):
    def make_transaction(self, order):
        provider = self.env.ref("l10n_fr_chorus_admin.payment_provider_chorus_mandate")
        provider.sudo().company_id = self.company
        return self.env["payment.transaction"].create(
            {
                "provider_id": provider.id,
                "payment_method_id": provider.payment_method_ids[:1].id,
                "reference": f"{order.name}-mandate",
                "amount": order.amount_total,
                "currency_id": order.currency_id.id,
                "partner_id": order.partner_id.id,
                "sale_order_ids": [Command.set(order.ids)],
            }
        )

    def test_choosing_the_mandate_sends_the_request(self):
        order = self.make_order()
        tx = self.make_transaction(order)
        tx._handle_notification_data("custom", {"reference": tx.reference})
        self.assertEqual(tx.state, "pending")
        self.assertEqual(order.chorus_mandate_state, "requested")
        self.assertFalse(order._has_to_be_paid(), "nothing to pay now")
        mail = self.env["mail.mail"].search(
            [("model", "=", "sale.order"), ("res_id", "=", order.id)]
        )
        self.assertEqual(len(mail), 1, "the mandate request, no payment e-mail")
        self.assertIn("administrative mandate", mail.subject)
        self.assertTrue(mail.attachment_ids)
        tx._post_process()
        self.assertEqual(order.state, "sent", "not confirmed: nothing was paid")

    def test_private_customers_cannot_choose_it(self):
        order = self.make_order(self.partner_a)
        tx = self.make_transaction(order)
        tx._handle_notification_data("custom", {"reference": tx.reference})
        self.assertEqual(tx.state, "error")
        self.assertEqual(order.chorus_mandate_state, "not_needed")


@tagged("post_install", "-at_install")
class TestMandateDemo(TransactionCase):
    def test_demo_orders_in_every_mandate_state(self):
        module = self.env["ir.module.module"].search(
            [("name", "=", "l10n_fr_chorus_admin")]
        )
        if not module.demo:
            self.skipTest("database installed without demo data")
        orders = self.env["sale.order"].search(
            [("partner_id.commercial_partner_id.chorus_is_public", "=", True)]
        )
        states = {state for state, _label in MANDATE_STATES}
        self.assertEqual(set(orders.mapped("chorus_mandate_state")), states)
        received = self.env.ref("l10n_fr_chorus_admin.sale_order_demo_mandate_received")
        self.assertTrue(received.chorus_mandate_attachment_id)
        self.assertEqual(
            received.activity_ids.activity_type_id,
            self.env.ref("l10n_fr_chorus_admin.mail_activity_chorus_mandate"),
            "its salesperson is asked to have it approved",
        )
        self.assertEqual(received.activity_ids.user_id, received.user_id)
        renewal = self.env.ref("l10n_fr_chorus_admin.sale_order_demo_mandate_renewal")
        self.assertEqual(renewal.chorus_engagement_number, "EJ-2026-000451")
