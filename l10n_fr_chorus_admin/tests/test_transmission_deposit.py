import json
import urllib.request
from datetime import timedelta

from odoo import fields
from odoo.tools import mute_logger

from .test_public_partner import CLIENT_LOGGERS
from .test_transmission import ChorusInvoiceCase

UBL = "IN_DP_E1_UBL_INVOICE"
CII = "IN_DP_E1_CII_16B"


class TestTransmissionDeposit(ChorusInvoiceCase):
    """The sending cron against the sandbox, over real HTTP."""

    def setUp(self):
        super().setUp()
        # XML syntaxes here: no PDF rendering, fast.
        self.company.chorus_syntax = UBL

    def send(self):
        return self.env["account.move"]._cron_chorus_send()

    def stats(self):
        return self.sandbox_admin("stats")

    def sandbox_invoices(self):
        self.sandbox_admin("flows/complete")
        return {
            invoice["numeroFacture"]: invoice
            for invoice in self.sandbox_admin_get("invoices")["invoices"]
        }

    def sandbox_admin_get(self, action):
        with urllib.request.urlopen(
            f"{self.sandbox.url}/_sandbox/{action}", timeout=10
        ) as response:
            return json.load(response)

    def test_invoice_and_credit_note_in_both_xml_syntaxes(self):
        for syntax in (UBL, CII):
            with self.subTest(syntax=syntax):
                self.company.chorus_syntax = syntax
                invoice = self.make_invoice(purchase_order_reference="EJ-2026-42")
                refund = self.make_invoice(
                    "out_refund",
                    buyer_reference="ECOLES",
                    purchase_order_reference="EJ-7",
                )
                self.send()
                for move in invoice | refund:
                    self.assertEqual(move.chorus_state, "deposited", move.chorus_error)
                    self.assertTrue(move.chorus_flow_number)
                    self.assertEqual(move.chorus_deposit_id.state, "pending")
                    self.assertEqual(move.chorus_deposit_id.syntax, syntax)
                    self.assertIn(move, move.chorus_deposit_id.move_ids)
                on_chorus = self.sandbox_invoices()
                self.assertEqual(on_chorus[invoice.name]["typeFacture"], "FACTURE")
                self.assertEqual(on_chorus[refund.name]["typeFacture"], "AVOIR")
                self.assertEqual(
                    on_chorus[invoice.name]["codeServiceExecutant"], "TECHNIQUE"
                )
                self.assertEqual(
                    on_chorus[invoice.name]["codeDestinataire"], self.town_hall.siret
                )
        self.assertEqual(self.stats()["duplicates"], 0)

    def test_refused_invoice_sends_nothing_and_asks_for_action(self):
        move = self.make_invoice(buyer_reference=False)
        self.send()
        self.assertEqual(move.chorus_state, "error")
        self.assertIn("requires a service code", move.chorus_error)
        activity = move.activity_ids
        self.assertEqual(len(activity), 1)
        self.assertIn("service code", activity.note)
        self.assertEqual(self.stats()["deposits"], 0)

        # Fixed and sent again by the user.
        move.buyer_reference = "TECHNIQUE"
        move.action_chorus_retry()
        self.assertEqual(move.chorus_state, "to_send")
        self.send()
        self.assertEqual(move.chorus_state, "deposited")
        self.assertEqual(self.stats()["deposits"], 1)

    def test_chorus_pro_down_retries_later_without_duplicate(self):
        move = self.make_invoice()
        self.sandbox_admin(
            "faults", {"error_500": 1.0, "paths": ["/cpro/factures/v1/deposer/flux"]}
        )
        with mute_logger(*CLIENT_LOGGERS):
            self.send()
        # A 500 on a deposit may hide a recorded deposit: looked up first.
        self.assertIn(move.chorus_state, ("unknown", "to_send"))
        self.sandbox_admin("faults", {})
        self.sandbox_admin("flows/complete")
        move.write({"chorus_next_attempt": False, "chorus_claimed_at": False})
        self.env["ir.config_parameter"].sudo().set_param(
            "l10n_fr_chorus_admin.unknown_outcome_grace_minutes", 0
        )
        self.send()
        self.assertEqual(move.chorus_state, "deposited")
        self.assertEqual(self.stats()["duplicates"], 0)

    def test_accept_then_drop_is_found_again_not_resent(self):
        move = self.make_invoice()
        self.sandbox_admin("faults", {"accept_then_drop": 1.0, "count": 1})
        with mute_logger(*CLIENT_LOGGERS):
            self.send()
        self.assertEqual(move.chorus_state, "unknown")
        self.assertEqual(self.stats()["deposits"], 1)

        # Not processed yet on Chorus Pro: nothing is re-sent within the grace.
        self.send()
        self.assertEqual(move.chorus_state, "unknown")
        self.assertEqual(self.stats()["deposits"], 1)

        self.sandbox_admin("flows/complete")
        self.send()
        self.assertEqual(move.chorus_state, "deposited")
        self.assertTrue(move.chorus_flow_number)
        self.assertEqual(self.stats()["deposits"], 1)
        self.assertEqual(self.stats()["duplicates"], 0)

    def test_unknown_outcome_never_recorded_is_sent_after_the_grace(self):
        move = self.make_invoice()
        self.sandbox_admin(
            "faults",
            {"drop": 1.0, "count": 1, "paths": ["/cpro/factures/v1/deposer/flux"]},
        )
        with mute_logger(*CLIENT_LOGGERS):
            self.send()
        self.assertEqual(move.chorus_state, "unknown")
        move.chorus_claimed_at = fields.Datetime.now() - timedelta(hours=2)
        self.send()
        self.assertEqual(move.chorus_state, "deposited")
        self.assertEqual(self.stats()["deposits"], 1)
        self.assertEqual(self.stats()["duplicates"], 0)

    def test_functional_refusal_stops_and_notifies(self):
        move = self.make_invoice()
        self.company.chorus_qualification_password = "wrong"
        with mute_logger(*CLIENT_LOGGERS):
            self.send()
        self.assertEqual(move.chorus_state, "error")
        self.assertIn("refused the connection", move.chorus_error)
        self.assertTrue(move.activity_ids)
