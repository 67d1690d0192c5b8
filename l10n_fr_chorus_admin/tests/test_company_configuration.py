from datetime import timedelta

from odoo import fields
from odoo.exceptions import UserError
from odoo.tests import tagged
from odoo.tools import config, mute_logger

from .common import UNKNOWN_SIRET, ChorusSandboxCase
from .test_public_partner import CLIENT_LOGGERS


@tagged("post_install", "-at_install")
class TestCompanyConfiguration(ChorusSandboxCase):
    def test_test_connection_reads_structure_and_password_expiry(self):
        self.company.write(
            {"chorus_structure_id": 0, "chorus_password_expiry_date": False}
        )
        action = self.company.action_chorus_test_connection()
        self.assertEqual(action["params"]["type"], "success")
        self.assertIn("26000001", action["params"]["message"])
        self.assertEqual(self.company.chorus_structure_id, 26000001)
        self.assertTrue(self.company.chorus_password_expiry_date)
        self.assertGreater(
            self.company.chorus_password_expiry_date, fields.Date.today()
        )
        # Once, or twice when the token cached before the sandbox reset is
        # refused and renewed.
        self.assertIn(self.calls("/cpro/transverses/v1/health-check"), (1, 2))

    def test_test_connection_from_the_settings(self):
        settings = self.env["res.config.settings"].create({})
        self.assertFalse(settings.chorus_missing_configuration)
        action = settings.action_chorus_test_connection()
        self.assertEqual(action["params"]["type"], "success")

    def test_test_connection_failures_are_explained(self):
        self.company.chorus_structure_id = 42
        self.company.chorus_qualification_password = "wrong-password"
        with self.assertRaises(UserError) as error, mute_logger(*CLIENT_LOGGERS):
            self.company.action_chorus_test_connection()
        self.assertIn("technical user", str(error.exception))
        self.assertEqual(self.company.chorus_structure_id, 42, "nothing changed")

        self.company.chorus_qualification_password = "sandbox-password"
        self.company.siret = UNKNOWN_SIRET
        with self.assertRaises(UserError) as error:
            self.company.action_chorus_test_connection()
        self.assertIn("knows no structure", str(error.exception))
        self.assertEqual(self.company.chorus_structure_id, 42)

        self.company.siret = "123"
        with self.assertRaises(UserError) as error:
            self.company.action_chorus_test_connection()
        self.assertIn("valid SIRET", str(error.exception))

    def test_missing_configuration_is_listed(self):
        self.company.write(
            {
                "chorus_environment": "production",
                "chorus_production_client_id": "prod-id",
                "chorus_production_client_secret": False,
                "chorus_production_login": False,
                "chorus_production_password": False,
            }
        )
        settings = self.env["res.config.settings"].create({})
        self.assertIn("PISTE client secret", settings.chorus_missing_configuration)
        self.assertNotIn("PISTE client id", settings.chorus_missing_configuration)
        with self.assertRaises(UserError) as error:
            self.company.action_chorus_test_connection()
        self.assertIn("Production", str(error.exception))
        self.assertEqual(self.calls("/api/oauth/token"), 0)

    def test_both_environments_side_by_side(self):
        self.company.write(
            {
                "chorus_production_client_id": "prod-id",
                "chorus_production_client_secret": "prod-secret",
                "chorus_production_login": "TECH_prod",
                "chorus_production_password": "prod-password",
            }
        )
        client = self.company._chorus_client()
        self.assertEqual(client.client_id, "sandbox-client")
        self.company.chorus_environment = "production"
        client = self.company._chorus_client()
        self.assertEqual(client.client_id, "prod-id")
        self.assertEqual(client.login, "TECH_prod")

    def test_secrets_may_come_from_the_server_configuration(self):
        self.company.chorus_qualification_client_secret = False
        self.patch(config, "options", dict(config.options))
        config.options["chorus_qualification_client_secret"] = "sandbox-secret"
        self.assertFalse(self.company._chorus_missing_credentials())
        action = self.company.action_chorus_test_connection()
        self.assertEqual(action["params"]["type"], "success")
        self.assertFalse(self.company.sudo().chorus_qualification_client_secret)

    def test_password_expiry_reminder(self):
        user = self.env["res.users"].create(
            {
                "name": "Chorus Admin",
                "login": "chorus_admin_reminder",
                "email": "chorus.admin@example.com",
            }
        )
        self.company.write(
            {
                "chorus_password_expiry_date": fields.Date.context_today(self.company)
                + timedelta(days=15),
                "chorus_expiry_reminder_user_ids": [(6, 0, user.ids)],
            }
        )
        Mail = self.env["mail.mail"]
        before = Mail.search([])
        self.env["res.company"]._cron_chorus_password_expiry_reminder()
        mails = Mail.search([]) - before
        self.assertEqual(len(mails), 1)
        self.assertIn("expires on", mails.subject)
        self.assertIn(self.company.name, mails.subject)
        self.assertEqual(mails.recipient_ids, user.partner_id)
        self.assertIn("Test connection", mails.body_html)

        # Not on other days.
        self.company.chorus_password_expiry_date = fields.Date.context_today(
            self.company
        ) + timedelta(days=16)
        self.env["res.company"]._cron_chorus_password_expiry_reminder()
        self.assertEqual(Mail.search([]) - before, mails)

    def test_password_expiry_reminder_in_french(self):
        self.env["res.lang"]._activate_lang("fr_FR")
        self.env["ir.module.module"]._load_module_terms(
            ["l10n_fr_chorus_admin"], ["fr_FR"], overwrite=True
        )
        user = self.env["res.users"].create(
            {
                "name": "Administratrice Chorus",
                "login": "chorus_admin_fr",
                "email": "chorus.fr@example.com",
                "lang": "fr_FR",
            }
        )
        self.company.write(
            {
                "chorus_password_expiry_date": fields.Date.context_today(self.company)
                + timedelta(days=15),
                "chorus_expiry_reminder_user_ids": [(6, 0, user.ids)],
            }
        )
        before = self.env["mail.mail"].search([])
        self.env["res.company"]._cron_chorus_password_expiry_reminder()
        mail = self.env["mail.mail"].search([]) - before
        self.assertEqual(len(mail), 1)
        self.assertIn("le mot de passe technique", mail.subject)
        self.assertIn("Tester la connexion", mail.body_html)
        self.assertNotIn("Hello", mail.body_html)
