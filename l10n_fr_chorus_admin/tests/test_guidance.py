from odoo.tests import TransactionCase, tagged

from .common import MINISTRY_SIRET


@tagged("post_install", "-at_install")
class TestConfigurationGuidance(TransactionCase):
    """An invoice for a public customer says what its company lacks to send it
    to Chorus Pro, and where to set it."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.company = cls.env.company
        cls.company.write(
            {
                "chorus_environment": "qualification",
                "chorus_qualification_client_id": "client",
                "chorus_qualification_client_secret": False,
                "chorus_qualification_login": False,
                "chorus_qualification_password": "secret",
            }
        )
        cls.buyer = cls.env["res.partner"].create(
            {
                "name": "Ministère",
                "is_company": True,
                "siret": MINISTRY_SIRET,
                "chorus_is_public": True,
                "chorus_buyer_category": "state",
            }
        )
        cls.private = cls.env["res.partner"].create({"name": "Private customer"})

    def invoice(self, partner):
        return self.env["account.move"].create(
            {"move_type": "out_invoice", "partner_id": partner.id}
        )

    def test_invoice_says_what_is_missing_and_where(self):
        invoice = self.invoice(self.buyer)
        warning = invoice.chorus_configuration_warning
        self.assertIn("PISTE client secret, technical user login missing", warning)
        self.assertIn("Settings > Chorus Pro", warning)
        self.assertNotIn("PISTE client id", warning)

        self.company.write(
            {
                "chorus_qualification_client_secret": "secret",
                "chorus_qualification_login": "TECH_x@cpro.fr",
            }
        )
        invoice.invalidate_recordset(["chorus_configuration_warning"])
        self.assertFalse(invoice.chorus_configuration_warning)

    def test_environment_switch_checks_its_own_credentials(self):
        self.company.write(
            {
                "chorus_qualification_client_secret": "secret",
                "chorus_qualification_login": "TECH_x@cpro.fr",
                "chorus_environment": "production",
            }
        )
        warning = self.invoice(self.buyer).chorus_configuration_warning
        self.assertIn("Production", warning)
        self.assertIn("PISTE client id", warning)

    def test_no_warning_for_other_customers(self):
        self.assertFalse(self.invoice(self.private).chorus_configuration_warning)
        refund = self.env["account.move"].create(
            {"move_type": "in_invoice", "partner_id": self.buyer.id}
        )
        self.assertFalse(refund.chorus_configuration_warning)
