import base64
import io

from reportlab.pdfgen import canvas

from odoo.tests import new_test_user

from .test_transmission import ChorusInvoiceCase


def _signed_form_pdf():
    """A one-page PDF, as a scanner makes it."""
    buffer = io.BytesIO()
    page = canvas.Canvas(buffer)
    page.drawString(72, 770, "Bon de commande signé - EJ 1300012345")
    page.save()
    return buffer.getvalue()


# Small files of each accepted kind.
PDF_BYTES = _signed_form_pdf()
PNG_BYTES = base64.b64decode(
    "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAIAAACQd1PeAAAADElEQVR4nGP4//8/AAX+Av4N70a4"
    "AAAAAElFTkSuQmCC"
)
JPEG_BYTES = b"\xff\xd8\xff\xe0\x00\x10JFIF\x00\x01\x01\x00\x00\x01\x00\x01\x00\x00"


class MandateCase(ChorusInvoiceCase):
    """A town hall ordering by administrative mandate (service code required;
    service ECOLES also requires an engagement number)."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.town_hall.email = "mairie@demoville.example"
        cls.salesman = new_test_user(
            cls.env,
            "mandate_salesman",
            "sales_team.group_sale_salesman",
            email="vendeur@example.com",
            company_id=cls.company.id,
            company_ids=cls.company.ids,
        )
        cls.approver = new_test_user(
            cls.env,
            "mandate_approver",
            "sales_team.group_sale_manager",
            email="approbateur@example.com",
            company_id=cls.company.id,
            company_ids=cls.company.ids,
        )
        cls.product = cls.env["product.product"].create(
            {
                "name": "Hébergement infogéré (mois)",
                "type": "service",
                "invoice_policy": "order",
                "list_price": 450.0,
                "taxes_id": [(6, 0, cls.tax_sale_a.ids)],
            }
        )

    def make_order(self, partner=None, **values):
        return self.env["sale.order"].create(
            {
                "partner_id": (partner or self.town_hall).id,
                "user_id": self.salesman.id,
                "order_line": [
                    (0, 0, {"product_id": self.product.id, "product_uom_qty": 2})
                ],
                **values,
            }
        )

    def make_received_order(self, **values):
        order = self.make_order(**values)
        order._chorus_send_mandate_request()
        order._chorus_mandate_receive("mandat-signe.pdf", PDF_BYTES)
        return order

    def approve(self, order, user=None, **values):
        wizard = (
            self.env["chorus.mandate.approval.wizard"]
            .with_user(user or self.approver)
            .create({"order_id": order.id, **values})
        )
        return wizard.action_approve()
