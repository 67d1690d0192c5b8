from odoo.exceptions import UserError, ValidationError
from odoo.tests import Form, tagged
from odoo.tools import mute_logger

from .common import (
    AMBIGUOUS_SIRET,
    HOSPITAL_SIRET,
    MINISTRY_SIRET,
    PUBLIC_BODY_SIRET,
    SYNDICATE_SIRET,
    TOWN_HALL_SIRET,
    UNIVERSITY_SIRET,
    UNKNOWN_SIRET,
    ChorusSandboxCase,
)

SYNC_FIELDS = [
    "chorus_structure_id",
    "chorus_structure_name",
    "chorus_requirement",
    "chorus_paid_status_reported",
    "chorus_sync_date",
    "chorus_sync_error",
]
CLIENT_LOGGERS = (
    "odoo.addons.l10n_fr_chorus_admin.chorus_pro.client",
    "urllib3.connectionpool",
)


@tagged("post_install", "-at_install")
class TestPublicPartnerLookup(ChorusSandboxCase):
    def _snapshot(self, partner):
        partner.invalidate_recordset()
        services = partner.with_context(active_test=False).chorus_service_ids
        return partner.read(SYNC_FIELDS)[0], services.read(["code", "active"])

    def test_lookup_reads_every_requirement_kind(self):
        expected = {
            MINISTRY_SIRET: ("engagement", True),
            TOWN_HALL_SIRET: ("service", True),
            HOSPITAL_SIRET: ("service_and_engagement", True),
            UNIVERSITY_SIRET: ("service_or_engagement", True),
            PUBLIC_BODY_SIRET: ("none", True),
            SYNDICATE_SIRET: ("none", False),
        }
        for siret, (requirement, paid_reported) in expected.items():
            with self.subTest(siret=siret):
                partner = self.make_public_partner(siret)
                action = partner.action_chorus_lookup()
                self.assertEqual(action["params"]["type"], "success")
                self.assertTrue(partner.chorus_structure_id)
                self.assertTrue(partner.chorus_structure_name)
                self.assertEqual(partner.chorus_requirement, requirement)
                self.assertEqual(partner.chorus_paid_status_reported, paid_reported)
                self.assertTrue(partner.chorus_sync_date)
        ministry = self.env["res.partner"].search(
            [("siret", "=", MINISTRY_SIRET)], limit=1
        )
        self.assertEqual(ministry.chorus_structure_id, 25000101)
        self.assertEqual(
            ministry.chorus_structure_name, "Ministère de la Démonstration"
        )

    def test_services_synchronised_archived_and_reserved_one_never_offered(self):
        partner = self.make_public_partner(TOWN_HALL_SIRET, "local")
        Service = self.env["chorus.pro.service"]
        # A service the buyer has since closed on Chorus Pro, known from before.
        gone = Service.create(
            {"partner_id": partner.id, "code": "OLD", "name": "Old", "chorus_id": 1}
        )
        partner.action_chorus_lookup()

        active = partner.chorus_service_ids
        self.assertEqual(len(active), 10, "12 services, minus the inactive and FP")
        self.assertIn("ECOLES", active.mapped("code"))
        self.assertNotIn("FACTURES_PUBLIQUES", active.mapped("code"))
        self.assertTrue(
            active.filtered(lambda s: s.code == "ECOLES").engagement_required
        )
        self.assertFalse(
            active.filtered(lambda s: s.code == "TECHNIQUE").engagement_required
        )
        everything = Service.with_context(active_test=False).search(
            [("partner_id", "=", partner.id)]
        )
        self.assertNotIn("FACTURES_PUBLIQUES", everything.mapped("code"))
        inactive = everything.filtered(lambda s: s.code == "ANCIENNE_REGIE")
        self.assertTrue(inactive and not inactive.active)
        self.assertTrue(gone.exists(), "a vanished service is archived, not deleted")
        self.assertFalse(gone.active)

        # A second look-up updates in place: no duplicate services.
        partner.action_chorus_lookup()
        again = Service.with_context(active_test=False).search(
            [("partner_id", "=", partner.id)]
        )
        self.assertEqual(again, everything)

    def test_lookup_from_a_contact_fills_the_commercial_partner(self):
        partner = self.make_public_partner(HOSPITAL_SIRET, "health")
        contact = self.env["res.partner"].create(
            {"name": "Invoices", "parent_id": partner.id, "type": "invoice"}
        )
        self.assertTrue(contact.chorus_is_public, "shared by the contacts")
        contact.action_chorus_lookup()
        self.assertEqual(partner.chorus_requirement, "service_and_engagement")
        self.assertEqual(contact.chorus_requirement, "service_and_engagement")
        dsi = partner.chorus_service_ids.filtered(lambda s: s.code == "DSI")
        contact.chorus_default_service_id = dsi
        self.assertEqual(contact.chorus_default_service_id, dsi)

    def test_bad_input_gives_a_clear_message_and_changes_nothing(self):
        partner = self.make_public_partner(MINISTRY_SIRET)
        partner.action_chorus_lookup()
        before = self._snapshot(partner)

        with self.assertRaises(ValidationError) as invalid:
            partner.siret = "11099001700012"
        self.assertIn("not valid", str(invalid.exception))

        cases = [
            ("unknown", {"siret": UNKNOWN_SIRET}, "knows no structure"),
            ("ambiguous", {"siret": AMBIGUOUS_SIRET}, "2 structures"),
        ]
        for name, values, message in cases:
            with self.subTest(case=name):
                with self.assertRaises(UserError) as error:
                    with self.env.cr.savepoint():
                        partner.write(values)
                        partner.action_chorus_lookup()
                self.assertIn(message, str(error.exception))
                self.assertEqual(self._snapshot(partner), before)

        self.company.chorus_qualification_client_secret = "wrong"
        with self.assertRaises(UserError) as error, mute_logger(*CLIENT_LOGGERS):
            partner.action_chorus_lookup()
        self.assertIn("refused the connection", str(error.exception))
        self.assertEqual(self._snapshot(partner), before)

        self.company.chorus_qualification_client_secret = "sandbox-secret"
        self.sandbox_admin("faults", {"error_500": 1.0})
        with self.assertRaises(UserError) as error, mute_logger(*CLIENT_LOGGERS):
            partner.action_chorus_lookup()
        self.assertIn("cannot be reached", str(error.exception))
        self.assertEqual(self._snapshot(partner), before)

        self.company.chorus_qualification_password = False
        with self.assertRaises(UserError) as error:
            partner.action_chorus_lookup()
        self.assertIn("technical user password missing", str(error.exception))

    def test_invalid_siret_is_refused_before_any_call(self):
        partner = self.make_public_partner(MINISTRY_SIRET)
        # Imported data may bypass the constraint; the look-up checks again.
        self.env.cr.execute(
            "UPDATE res_partner SET siret = '12345' WHERE id = %s", [partner.id]
        )
        partner.invalidate_recordset()
        with self.assertRaises(UserError) as error:
            partner.action_chorus_lookup()
        self.assertIn("not valid", str(error.exception))
        self.assertEqual(self.calls("/cpro/structures/v1/rechercher"), 0)

    def test_weekly_cron_goes_on_past_a_failing_partner(self):
        good = [
            self.make_public_partner(siret)
            for siret in (MINISTRY_SIRET, TOWN_HALL_SIRET, HOSPITAL_SIRET)
        ]
        failing = self.make_public_partner(UNKNOWN_SIRET, name="Unknown buyer")
        private = self.env["res.partner"].create(
            {"name": "Private customer", "is_company": True, "siret": PUBLIC_BODY_SIRET}
        )
        self.env["res.partner"]._cron_chorus_sync_public_partners(batch_size=2)

        for partner in good:
            self.assertTrue(partner.chorus_structure_id, partner.name)
            self.assertFalse(partner.chorus_sync_error)
        self.assertFalse(failing.chorus_structure_id)
        self.assertIn("knows no structure", failing.chorus_sync_error)
        self.assertIn(
            "knows no structure", failing.message_ids[:1].body or "", "logged on it"
        )
        self.assertFalse(private.chorus_structure_id, "only public customers")

    def test_cron_skips_companies_without_configuration(self):
        partner = self.make_public_partner(MINISTRY_SIRET)
        self.company.chorus_qualification_login = False
        self.env["res.partner"]._cron_chorus_sync_public_partners()
        self.assertFalse(partner.chorus_structure_id)
        self.assertFalse(partner.chorus_sync_error)
        self.assertEqual(self.calls("/cpro/structures/v1/rechercher"), 0)


@tagged("post_install", "-at_install")
class TestPublicPartnerDefaults(ChorusSandboxCase):
    def _form(self):
        form = Form(self.env["res.partner"])
        form.name = "Mairie de Test"
        form.company_type = "company"
        return form

    def test_flagging_sets_term_sending_method_and_payment_method(self):
        form = self._form()
        form.chorus_is_public = True
        form.chorus_buyer_category = "local"
        self.assertEqual(
            form.property_payment_term_id,
            self.env.ref("l10n_fr_chorus_admin.payment_term_public_30"),
        )
        self.assertEqual(form.invoice_sending_method, "chorus_pro")
        partner = form.save()
        self.assertEqual(partner.chorus_max_payment_days, 30)
        self.assertEqual(partner.chorus_payment_method, "mandate")
        self.assertEqual(partner.invoice_sending_method, "chorus_pro")

    def test_category_gives_the_legal_delay(self):
        for category, days in (
            ("state", 30),
            ("local", 30),
            ("health", 50),
            ("public_undertaking", 60),
        ):
            with self.subTest(category=category):
                form = self._form()
                form.chorus_is_public = True
                form.chorus_buyer_category = category
                partner = form.save()
                self.assertEqual(partner.chorus_max_payment_days, days)
                self.assertEqual(
                    partner.property_payment_term_id,
                    self.env.ref(f"l10n_fr_chorus_admin.payment_term_public_{days}"),
                )
                self.assertEqual(
                    partner.property_payment_term_id.line_ids.nb_days, days
                )

    def test_tripartite_convention_makes_direct_debit(self):
        form = self._form()
        form.chorus_is_public = True
        form.chorus_buyer_category = "local"
        form.chorus_tripartite_ref = "CT-2026-001"
        partner = form.save()
        self.assertEqual(partner.chorus_payment_method, "direct_debit")
        partner.chorus_tripartite_ref = False
        self.assertEqual(partner.chorus_payment_method, "mandate")

    def test_defaults_also_apply_through_the_orm(self):
        partner = self.make_public_partner(HOSPITAL_SIRET, "health")
        self.assertEqual(partner.invoice_sending_method, "chorus_pro")
        self.assertEqual(
            partner.property_payment_term_id,
            self.env.ref("l10n_fr_chorus_admin.payment_term_public_50"),
        )
        # An explicit choice in the same write is kept.
        term = self.env.ref("account.account_payment_term_immediate")
        partner.write(
            {"chorus_buyer_category": "state", "property_payment_term_id": term.id}
        )
        self.assertEqual(partner.property_payment_term_id, term)

    def test_private_customer_unchanged(self):
        form = self._form()
        partner = form.save()
        self.assertFalse(partner.chorus_payment_method)
        self.assertFalse(partner.chorus_max_payment_days)
        self.assertNotEqual(partner.invoice_sending_method, "chorus_pro")
