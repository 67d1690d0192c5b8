from odoo.tests import HttpCase, new_test_user, tagged

from .mandate_common import MandateCase


@tagged("post_install", "-at_install")
class TestMandateTours(MandateCase, HttpCase):
    """The three screens of the mandate path, in headless Chromium."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.provider = cls.env.ref(
            "l10n_fr_chorus_admin.payment_provider_chorus_mandate"
        ).sudo()
        cls.provider.company_id = cls.company
        cls.customer = new_test_user(
            cls.env,
            "mandate_tour_customer",
            "base.group_portal",
            company_id=cls.company.id,
            company_ids=cls.company.ids,
        )
        cls.customer.partner_id.write(
            {
                "name": "Jeanne Acheteuse",
                "parent_id": cls.town_hall.id,
                "email": "jeanne@demoville.example",
            }
        )

    def test_salesperson_sends_the_mandate_request(self):
        order = self.make_order()
        self.start_tour(
            f"/odoo/sales/{order.id}",
            "chorus_mandate_request_tour",
            login="mandate_salesman",
        )
        self.assertEqual(order.chorus_mandate_state, "requested")
        self.assertEqual(order.state, "sent")
        self.assertTrue(
            order.message_ids.attachment_ids.filtered(
                lambda a: a.name.startswith("Administrative mandate")
            )
        )

    def test_customer_chooses_the_mandate_and_uploads_the_signed_form(self):
        order = self.make_order(
            self.customer.partner_id,
            require_signature=True,
            require_payment=True,
            prepayment_percent=1.0,
        )
        order.message_subscribe(self.customer.partner_id.ids)
        self.start_tour(
            f"/my/orders/{order.id}",
            "chorus_mandate_portal_tour",
            login="mandate_tour_customer",
        )
        self.assertTrue(order.signature)
        tx = order.transaction_ids
        self.assertEqual(tx.provider_id, self.provider)
        self.assertEqual(tx.state, "pending", "nothing was paid")
        self.assertEqual(order.chorus_mandate_state, "received")
        self.assertEqual(order.chorus_mandate_attachment_id.name, "mandat-signe.pdf")
        self.assertTrue(
            order.activity_ids.filtered(lambda a: a.user_id == self.salesman),
            "the salesperson is asked to have it approved",
        )

    def test_approver_approves_and_the_invoice_is_posted(self):
        order = self.make_received_order()
        self.start_tour(
            f"/odoo/sales/{order.id}",
            "chorus_mandate_approval_tour",
            login="mandate_approver",
        )
        self.assertEqual(order.chorus_mandate_state, "approved")
        invoice = order.invoice_ids
        self.assertEqual(invoice.state, "posted")
        self.assertEqual(
            (invoice.buyer_reference, invoice.purchase_order_reference),
            ("TECHNIQUE", "EJ-2026-77"),
        )
        self.assertEqual(invoice.chorus_state, "to_send")
