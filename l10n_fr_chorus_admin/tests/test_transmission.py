from datetime import timedelta

from odoo import fields
from odoo.exceptions import UserError
from odoo.tests import new_test_user, tagged

from odoo.addons.account.tests.common import AccountTestInvoicingCommon

from .common import SUPPLIER_SIRET, TOWN_HALL_SIRET, ChorusSandboxCase


@tagged("post_install", "-at_install")
class ChorusInvoiceCase(ChorusSandboxCase, AccountTestInvoicingCommon):
    """A French company invoicing a town hall (service code required)."""

    @classmethod
    @AccountTestInvoicingCommon.setup_country("fr")
    def setUpClass(cls):
        super().setUpClass()
        cls.company.write({"siret": SUPPLIER_SIRET, "vat": "FR25900000019"})
        cls.bank = cls.env["res.partner.bank"].create(
            {
                "acc_number": "FR7630006000011234567890189",
                "partner_id": cls.company.partner_id.id,
                "allow_out_payment": True,
            }
        )
        cls.town_hall = cls.make_public_partner(
            TOWN_HALL_SIRET,
            "local",
            name="Mairie de Démoville",
            street="Place de la Mairie",
            zip="99100",
            city="Démoville",
            country_id=cls.env.ref("base.fr").id,
        )
        cls.town_hall.chorus_requirement = "service"
        cls.schools, cls.technical = cls.env["chorus.pro.service"].create(
            [
                {
                    "partner_id": cls.town_hall.id,
                    "code": "ECOLES",
                    "chorus_id": 30020101,
                    "engagement_required": True,
                },
                {
                    "partner_id": cls.town_hall.id,
                    "code": "TECHNIQUE",
                    "chorus_id": 30020102,
                },
            ]
        )

    @classmethod
    def make_public_partner(cls, siret, category="state", **values):
        return cls.env["res.partner"].create(
            {
                "name": values.pop("name", f"Buyer {siret}"),
                "is_company": True,
                "siret": siret,
                "chorus_is_public": True,
                "chorus_buyer_category": category,
                **values,
            }
        )

    def make_invoice(self, move_type="out_invoice", post=True, **values):
        move = self.init_invoice(
            move_type, partner=self.town_hall, amounts=[1000.0], taxes=self.tax_sale_a
        )
        move.write(
            {"partner_bank_id": self.bank.id, "buyer_reference": "TECHNIQUE", **values}
        )
        if post:
            self.post(move)
        return move

    def post(self, moves, user=None):
        """Post as the posting transaction would end: the automation marks the
        invoices to send just before the commit (precommit hooks)."""
        (moves.with_user(user) if user else moves).action_post()
        self.env.cr.flush()


class TestTransmissionTrigger(ChorusInvoiceCase):
    def test_posting_marks_the_invoice_and_wakes_the_cron(self):
        cron = self.env.ref("l10n_fr_chorus_admin.ir_cron_chorus_send")
        triggers = self.env["ir.cron.trigger"].search([("cron_id", "=", cron.id)])
        move = self.make_invoice()
        self.assertEqual(move.chorus_state, "to_send")
        new = self.env["ir.cron.trigger"].search([("cron_id", "=", cron.id)]) - triggers
        self.assertTrue(new, "the sending cron is woken up")
        self.assertEqual(self.calls("/api/oauth/token"), 0, "no HTTP when posting")

    def test_one_cron_wake_up_per_transaction(self):
        cron = self.env.ref("l10n_fr_chorus_admin.ir_cron_chorus_send")
        Trigger = self.env["ir.cron.trigger"]
        before = Trigger.search([("cron_id", "=", cron.id)])
        moves = self.make_invoice(post=False) | self.make_invoice(post=False)
        self.post(moves)
        self.assertEqual(set(moves.mapped("chorus_state")), {"to_send"})
        self.assertEqual(len(Trigger.search([("cron_id", "=", cron.id)]) - before), 1)

    def test_credit_notes_too_but_not_private_customers_nor_drafts(self):
        refund = self.make_invoice("out_refund")
        self.assertEqual(refund.chorus_state, "to_send")
        draft = self.make_invoice(post=False)
        self.assertFalse(draft.chorus_state)
        private = self.init_invoice(
            "out_invoice", partner=self.partner_a, amounts=[100.0], post=True
        )
        self.assertFalse(private.chorus_state)
        vendor_bill = self.init_invoice(
            "in_invoice", partner=self.town_hall, amounts=[100.0], post=True
        )
        self.env.cr.flush()
        self.assertFalse(private.chorus_state)
        self.assertFalse(vendor_bill.chorus_state)

    def test_an_accountant_posting_marks_it_too(self):
        accountant = new_test_user(
            self.env, "chorus_poster", "account.group_account_invoice"
        )
        move = self.make_invoice(post=False)
        self.post(move, accountant)
        self.assertEqual(move.chorus_state, "to_send")

    def test_reset_to_draft(self):
        move = self.make_invoice()
        move.button_draft()
        self.assertFalse(move.chorus_state, "a draft is not sent")
        self.post(move)
        self.assertEqual(move.chorus_state, "to_send", "posted again: sent")
        self.assertTrue(move.show_reset_to_draft_button)
        move.chorus_state = "deposited"
        self.assertFalse(move.show_reset_to_draft_button, "the button is hidden")
        with self.assertRaises(UserError) as error:
            move.button_draft()
        self.assertIn("credit note", str(error.exception))
        self.assertEqual(move.state, "posted")

    def test_the_automation_rule_is_editable_data(self):
        rule = self.env.ref("l10n_fr_chorus_admin.automation_chorus_send_posted")
        rule.active = False
        move = self.make_invoice()
        self.assertFalse(move.chorus_state, "an administrator may switch it off")


class TestTransmissionChecks(ChorusInvoiceCase):
    def assertRefused(self, move, fragment, where=None):
        """One of the errors holds ``fragment`` (what is wrong) and, when
        given, ``where`` (what to do next: the field or menu to fix)."""
        errors = move._chorus_check_errors()
        self.assertTrue(
            any(
                fragment in error and (where is None or where in error)
                for error in errors
            ),
            f"{fragment!r} / {where!r} not in {errors}",
        )

    def test_a_correct_invoice_passes(self):
        self.assertEqual(self.make_invoice(post=False)._chorus_check_errors(), [])

    def test_each_check(self):
        self.env["chorus.pro.service"].create(
            {
                "partner_id": self.town_hall.id,
                "code": "ANCIEN",
                "chorus_id": 30020111,
                "active": False,
            }
        )
        # Every message says what is wrong and where to fix it.
        buyer_reference = "Buyer Reference (Other Info tab)"
        engagement = "Purchase Order Reference (Other Info tab)"
        cases = [
            (
                {"buyer_reference": "ANCIEN"},
                "no active Chorus Pro service ANCIEN",
                buyer_reference,
            ),
            ({"buyer_reference": False}, "requires a service code", buyer_reference),
            (
                {"buyer_reference": "INCONNU"},
                "no active Chorus Pro service INCONNU",
                "Look up on Chorus Pro",
            ),
            ({"buyer_reference": "FACTURES_PUBLIQUES"}, "reserved", buyer_reference),
            ({"buyer_reference": "ÉCOLES!"}, "may only hold letters", buyer_reference),
            (
                {"buyer_reference": "ECOLES"},
                "requires an engagement number",
                engagement,
            ),
            ({"purchase_order_reference": "E" * 51}, "longer than 50", engagement),
            ({"partner_bank_id": False}, "IBAN", "recipient bank (Other Info tab)"),
        ]
        for values, fragment, where in cases:
            with self.subTest(values=values):
                self.assertRefused(
                    self.make_invoice(post=False, **values), fragment, where
                )

    def test_sirets_currency_and_number(self):
        move = self.make_invoice(post=False)
        self.town_hall.siret = False
        self.assertRefused(
            move,
            "customer Mairie de Démoville has no valid SIRET",
            "correct it on the customer's form",
        )
        self.company.siret = False
        self.assertRefused(
            move, "has no valid SIRET: correct it in Settings > Users & Companies"
        )
        move.currency_id = self.setup_other_currency("USD")
        self.assertRefused(
            move, "only accepts invoices in euros", "set its currency to EUR"
        )
        move.name = "FAC/2026/000000000001234"
        self.assertRefused(
            move, "longer than 20 characters", "shorten the journal's sequence prefix"
        )

    def test_credit_note_needs_no_iban(self):
        refund = self.make_invoice("out_refund", post=False, partner_bank_id=False)
        self.assertEqual(refund._chorus_check_errors(), [])

    def test_requirement_kinds(self):
        move = self.make_invoice(
            post=False, buyer_reference=False, purchase_order_reference=False
        )
        expectations = {
            "none": (None, None),
            "service": ("requires a service code", "fill in the Buyer Reference"),
            "engagement": (
                "requires an engagement number",
                "fill in the Purchase Order Reference",
            ),
            "service_and_engagement": (
                "requires a service code",
                "fill in the Buyer Reference",
            ),
            "service_or_engagement": (
                "a service code or an engagement number",
                "fill in the Buyer Reference or the Purchase Order Reference "
                "(Other Info tab)",
            ),
        }
        for requirement, (fragment, where) in expectations.items():
            with self.subTest(requirement=requirement):
                self.town_hall.chorus_requirement = requirement
                if fragment:
                    self.assertRefused(move, fragment, where)
                else:
                    self.assertEqual(move._chorus_check_errors(), [])


class TestTransmissionClaims(ChorusInvoiceCase):
    def test_claim_marks_sending_and_skips_future_retries(self):
        first, second = self.make_invoice(), self.make_invoice()
        second.chorus_next_attempt = fields.Datetime.now() + timedelta(minutes=5)
        claimed = self.env["account.move"]._chorus_claim(10)
        self.assertEqual(claimed, first)
        self.assertEqual(first.chorus_state, "sending")
        self.assertEqual(first.chorus_attempts, 1)
        self.assertEqual(second.chorus_state, "to_send")

    def test_stale_claims(self):
        never_left, maybe_left = self.make_invoice(), self.make_invoice()
        claimed = self.env["account.move"]._chorus_claim(10)
        self.assertEqual(claimed, never_left | maybe_left)
        deposit = self.env["chorus.pro.deposit"].create(
            {
                "syntax": "IN_DP_E1_UBL_INVOICE",
                "filename": "x.xml",
                "move_ids": [(6, 0, maybe_left.ids)],
            }
        )
        maybe_left.chorus_deposit_id = deposit
        long_ago = fields.Datetime.now() - timedelta(hours=1)
        claimed.write({"chorus_claimed_at": long_ago})
        self.env.cr.execute(
            "UPDATE chorus_pro_deposit SET create_date = %s WHERE id = %s",
            [long_ago + timedelta(seconds=1), deposit.id],
        )
        deposit.invalidate_recordset()
        self.env["account.move"]._chorus_recover_stale_claims()
        self.assertEqual(never_left.chorus_state, "to_send")
        self.assertEqual(maybe_left.chorus_state, "unknown")
        self.assertEqual(deposit.state, "unknown")
