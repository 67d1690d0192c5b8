"""The README followed as a new user would, on the demo data: one tour per role
of "Usage by role" and of the demo's "What to try first", through the menus and
buttons the README names, against a local Chorus Pro sandbox holding the demo
invoices (as ``setup/run_demo.py`` wires it). The tours are in
static/tests/tours/chorus_readme_tours.js."""

import datetime

from odoo.tests import HttpCase, tagged
from odoo.tools import mute_logger

from ..chorus_pro.sandbox import SandboxServer
from .common import SandboxRequestsMixin
from .test_chorus_documents import WKHTMLTOPDF_LOGGER

ADDON = "l10n_fr_chorus_admin"


def _utc(value):
    return value.replace(tzinfo=datetime.timezone.utc) if value else None


@tagged("post_install", "-at_install")
class TestReadmeWalk(SandboxRequestsMixin, HttpCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        module = cls.env["ir.module.module"].search([("name", "=", ADDON)])
        company = cls.env.ref("base.main_company")
        # The README's demo is a French company invoicing in euros (the demo
        # and test commands create the database so). Skipped only without demo
        # data; on a database the README's demo cannot run in, the walk fails
        # rather than pass unseen.
        cls.skip_reason = None if module.demo else "installed without demo data"
        cls.setup_error = None
        if not cls.skip_reason and company.currency_id.name != "EUR":
            cls.setup_error = (
                "the demo company does not invoice in euros: create the database "
                "as setup/run_demo.py or setup/run_tests.py do (a French company)"
            )
        if cls.skip_reason or cls.setup_error:
            return
        cls.sandbox = SandboxServer(port=0).start()
        cls.addClassCleanup(cls.sandbox.stop)
        company.chorus_base_url = cls.sandbox.url
        cls._load_demo_invoices()

    @classmethod
    def _load_demo_invoices(cls):
        """What run_demo.py does: the sandbox knows the demo invoices that are
        on Chorus Pro, so that they can be read and completed."""
        moves = cls.env["account.move"].search(
            [("chorus_identifier", "!=", False), ("chorus_deposit_id", "!=", False)]
        )
        items = []
        for move in moves:
            history = [
                (status.status, _utc(status.date), status.comment)
                for status in move.chorus_status_ids.sorted(lambda s: (s.date, s.id))
                if status.status != "DEPOSEE"
            ]
            deposited_at = _utc(move.chorus_deposit_id.deposit_date or move.create_date)
            if move.chorus_status and (
                not history or history[-1][0] != move.chorus_status
            ):
                history.append(
                    (
                        move.chorus_status,
                        _utc(move.chorus_status_date) or deposited_at,
                        move.chorus_status_comment,
                    )
                )
            items.append(
                {
                    "id": move.chorus_identifier,
                    "number": move.name,
                    "invoice_type": "AVOIR"
                    if move.move_type == "out_refund"
                    else "FACTURE",
                    "buyer_siret": move.commercial_partner_id.siret,
                    "service_code": move.buyer_reference,
                    "engagement_number": move.purchase_order_reference,
                    "market_number": move.contract_reference,
                    "issue_date": move.invoice_date.isoformat(),
                    "total_excluding_tax": move.amount_untaxed,
                    "total_including_tax": move.amount_total,
                    "amount_due": move.amount_residual,
                    "flow_number": move.chorus_deposit_id.flow_number,
                    "deposited_at": deposited_at,
                    "history": [step for step in history if step[0] != "DEPOSEE"],
                }
            )
        cls.sandbox.state.load_invoices(items)

    def setUp(self):
        super().setUp()
        if self.skip_reason:
            self.skipTest(self.skip_reason)
        if self.setup_error:
            self.fail(self.setup_error)

    def demo_record(self, name):
        return self.env.ref(f"{ADDON}.{name}")

    def send(self):
        """The scheduled action 'Chorus Pro: send invoices', as it runs."""
        with mute_logger(WKHTMLTOPDF_LOGGER):
            self.env["account.move"]._cron_chorus_send()

    def assertDepositedOnSandbox(self, move):
        """The sandbox received the invoice's flow and accepted the invoice."""
        self.assertEqual(move.chorus_state, "deposited", move.chorus_error)
        flow = self.sandbox.state.flows[move.chorus_deposit_id.flow_number]
        self.assertEqual(
            [parsed.number for parsed, *_rest in flow.accepted], [move.name]
        )

    def test_administrator(self):
        """Settings > Chorus Pro (test the connection), a public customer
        looked up on Chorus Pro, the groups, the automation in developer
        mode."""
        # README, demo step 6: an invoice moves on Chorus Pro...
        integrated = self.demo_record("invoice_demo_chorus_integrated")
        self.sandbox.state.advance_invoice(
            {"numeroFacture": integrated.name, "statut": "MISE_A_DISPOSITION"}
        )
        self.start_tour("/odoo", "chorus_readme_administrator", login="admin")
        # ... and the follow-up run by hand from its scheduled action read it.
        self.assertEqual(integrated.chorus_state, "available")
        self.assertTrue(integrated.chorus_legal_due_date)
        company = self.env.ref("base.main_company")
        self.assertEqual(company.chorus_structure_id, 26000001)
        self.assertTrue(company.chorus_password_expiry_date)

    def test_salesperson(self):
        order = self.demo_record("sale_order_demo_mandate_to_request")
        self.start_tour("/odoo", "chorus_readme_salesperson", login="commerciale")
        self.assertEqual(order.chorus_mandate_state, "requested")

    def test_approver(self):
        order = self.demo_record("sale_order_demo_mandate_received")
        self.start_tour("/odoo", "chorus_readme_approver", login="approbateur")
        self.assertEqual(order.chorus_mandate_state, "approved")
        invoice = order.invoice_ids
        self.assertEqual(invoice.state, "posted")
        self.assertEqual(
            (invoice.buyer_reference, invoice.purchase_order_reference),
            ("DSI", "EJ-CHD-2026-001"),
        )
        # "which goes to Chorus Pro".
        self.assertEqual(invoice.chorus_state, "to_send")
        self.send()
        self.assertDepositedOnSandbox(invoice)

    def test_accountant(self):
        suspended = self.demo_record("invoice_demo_chorus_suspended")
        late = self.demo_record("invoice_demo_chorus_late")
        error = self.demo_record("invoice_demo_chorus_error")
        self.start_tour("/odoo", "chorus_readme_accountant", login="comptable")
        self.assertEqual(suspended.chorus_status, "COMPLETEE")
        self.assertEqual(
            self.sandbox.state.invoices[int(suspended.chorus_identifier)].status,
            "COMPLETEE",
        )
        self.assertTrue(late.chorus_claim_ids)
        self.assertEqual(error.buyer_reference, "TECHNIQUE")
        # The scheduled action deposits it on the sandbox.
        self.assertEqual(error.chorus_state, "to_send")
        self.send()
        self.assertDepositedOnSandbox(error)
        self.assertTrue(
            self.env["chorus.ecb.rate"].search([("date_from", "=", "2099-12-17")])
        )

    def test_portal_customer(self):
        self.start_tour("/my", "chorus_readme_portal_customer", login="acheteur")
