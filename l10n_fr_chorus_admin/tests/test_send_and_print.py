from odoo.exceptions import UserError
from odoo.tests import tagged

from .test_transmission import ChorusInvoiceCase


@tagged("post_install", "-at_install")
class TestSendAndPrint(ChorusInvoiceCase):
    """The "Chorus Pro" sending method of Odoo's Send & Print dialog."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.cron = cls.env.ref("l10n_fr_chorus_admin.ir_cron_chorus_send")
        # An XML syntax: no PDF rendering, fast.
        cls.company.chorus_syntax = "IN_DP_E1_UBL_INVOICE"

    def wizard(self, moves, **values):
        model = (
            "account.move.send.wizard"
            if len(moves) == 1
            else "account.move.send.batch.wizard"
        )
        return (
            self.env[model]
            .with_context(active_model="account.move", active_ids=moves.ids)
            .create(values)
        )

    def triggers(self):
        return self.env["ir.cron.trigger"].search([("cron_id", "=", self.cron.id)])

    def test_sending_an_invoice_the_customer_receives_by_email(self):
        self.town_hall.write(
            {"invoice_sending_method": "email", "email": "compta@demoville.fr"}
        )
        move = self.make_invoice()
        self.assertFalse(move.chorus_state, "not sent without asking")
        wizard = self.wizard(move)
        self.assertIn("chorus_pro", wizard.sending_method_checkboxes)
        self.assertEqual(
            wizard.sending_method_checkboxes["chorus_pro"]["label"], "Chorus Pro"
        )
        before = self.triggers()
        wizard.sending_methods = ["chorus_pro"]
        self.assertFalse(wizard.alerts)
        wizard.action_send_and_print()
        self.assertEqual(move.chorus_state, "to_send")
        self.assertTrue(self.triggers() - before, "the sending cron is woken up")
        self.assertEqual(self.calls("/api/oauth/token"), 0, "sent by the cron")
        self.assertEqual(
            move.commercial_partner_id.invoice_sending_method,
            "email",
            "a one-off choice does not change the customer's method",
        )

    def test_an_invoice_with_errors_is_refused_with_the_reason(self):
        self.town_hall.invoice_sending_method = "email"
        move = self.make_invoice(buyer_reference=False)
        wizard = self.wizard(move, sending_methods=["chorus_pro"])
        alert = wizard.alerts["l10n_fr_chorus_admin_check_errors"]
        self.assertEqual(alert["level"], "danger")
        self.assertIn("requires a service code", alert["message"])
        with self.assertRaises(UserError) as error:
            wizard.action_send_and_print()
        self.assertIn("requires a service code", str(error.exception))
        self.assertFalse(move.chorus_state, "nothing queued")

    def test_a_private_customer_is_warned_about(self):
        move = self.init_invoice(
            "out_invoice", partner=self.partner_a, amounts=[100.0], post=True
        )
        self.assertNotIn(
            "chorus_pro",
            [
                key
                for key, box in self.wizard(move).sending_method_checkboxes.items()
                if box["checked"]
            ],
        )
        wizard = self.wizard(move, sending_methods=["chorus_pro"])
        self.assertEqual(
            wizard.alerts["l10n_fr_chorus_admin_not_public"]["level"], "warning"
        )
        wizard.action_send_and_print()
        self.assertFalse(move.chorus_state)

    def test_never_sent_twice(self):
        move = self.make_invoice()
        self.assertEqual(move.chorus_state, "to_send", "queued when posted")
        for state in ("to_send", "sending", "unknown", "deposited"):
            move.chorus_state = state
            wizard = self.wizard(move)
            self.assertFalse(
                wizard.sending_method_checkboxes["chorus_pro"]["checked"],
                "the customer's method is not proposed again",
            )
            wizard.sending_methods = ["chorus_pro"]
            self.assertIn("l10n_fr_chorus_admin_already_sent", wizard.alerts)
            wizard.action_send_and_print()
            self.assertEqual(move.chorus_state, state, "left as it was")

    def test_resending_after_a_fix(self):
        move = self.make_invoice(buyer_reference=False)
        self.env["account.move"]._cron_chorus_send()
        self.assertEqual(move.chorus_state, "error")
        move.buyer_reference = "TECHNIQUE"
        wizard = self.wizard(move)
        self.assertTrue(wizard.sending_method_checkboxes["chorus_pro"]["checked"])
        wizard.action_send_and_print()
        self.assertEqual(move.chorus_state, "to_send")
        self.assertFalse(move.chorus_error)
        self.env["account.move"]._cron_chorus_send()
        self.assertEqual(move.chorus_state, "deposited")
        stats = self.sandbox_admin("stats")
        self.assertEqual((stats["deposits"], stats["duplicates"]), (1, 0))

    def test_batch_sends_the_good_and_stops_the_bad(self):
        self.town_hall.write(
            {"invoice_sending_method": "email", "email": "compta@demoville.fr"}
        )
        good = self.make_invoice()
        bad = self.make_invoice(buyer_reference=False)
        self.town_hall.invoice_sending_method = "chorus_pro"
        moves = good | bad
        wizard = self.wizard(moves)
        self.assertEqual(wizard.summary_data["chorus_pro"]["count"], 2)
        alert = wizard.alerts["l10n_fr_chorus_admin_check_errors"]
        self.assertEqual(alert["level"], "warning", "the others go on")
        self.assertIn(bad.name, alert["message"])
        self.assertNotIn(good.name, alert["message"])
        wizard.action_send_and_print(force_synchronous=True)
        self.assertEqual(set(moves.mapped("chorus_state")), {"to_send"})
        self.env["account.move"]._cron_chorus_send()
        self.assertEqual(good.chorus_state, "deposited")
        self.assertEqual(bad.chorus_state, "error")
        self.assertTrue(bad.activity_ids, "someone is asked to fix it")
