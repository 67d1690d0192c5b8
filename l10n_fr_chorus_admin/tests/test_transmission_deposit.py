import base64
import io
import json
import tarfile
import urllib.request
from datetime import timedelta
from unittest.mock import patch

from facturx import get_xml_from_pdf

from odoo import fields
from odoo.exceptions import ValidationError
from odoo.tests import HttpCase, tagged
from odoo.tools import mute_logger
from odoo.tools.pdf import OdooPdfFileReader, OdooPdfFileWriter

from ..chorus_pro import constants
from ..chorus_pro.constants import MAX_FLOW_INVOICES
from ..models.account_move import TAR_OVERHEAD
from ..models.account_move_chorus_document import renders_several_documents
from .test_chorus_documents import WKHTMLTOPDF_LOGGER
from .test_public_partner import CLIENT_LOGGERS
from .test_transmission import ChorusInvoiceCase

UBL = "IN_DP_E1_UBL_INVOICE"
CII = "IN_DP_E1_CII_16B"
FACTURX = "IN_DP_E2_CII_FACTURX"


class DepositHelpers:
    """Sending and looking at what the sandbox received."""

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

    def attach(self, move, name, raw, mimetype):
        """``move`` with one supporting document for Chorus Pro."""
        move.chorus_attachment_ids = self.env["ir.attachment"].create(
            {
                "name": name,
                "raw": raw,
                "mimetype": mimetype,
                "res_model": move._name,
                "res_id": move.id,
            }
        )

    def inject_once(self, fault):
        """The next deposit meets ``fault``. A first call renews the client's
        token (cached across tests, while the sandbox forgets them), so that
        the fault hits the deposit itself, not a request refused for its token.
        """
        self.company._chorus_client().health_check()
        self.sandbox_admin(
            "faults",
            {fault: 1.0, "count": 1, "paths": ["/cpro/factures/v1/deposer/flux"]},
        )

    def archive_members(self, deposit):
        with tarfile.open(
            fileobj=io.BytesIO(base64.b64decode(deposit.file)), mode="r:gz"
        ) as archive:
            return archive.getnames()

    def check_flows(self, syntax, count, per_flow):
        """``count`` invoices (the last a credit note) sent in flows of at most
        ``per_flow``: each reaches Chorus Pro once, with its references."""
        self.company.chorus_syntax = syntax
        moves = self.env["account.move"]
        for index in range(count - 1):
            moves |= self.make_invoice(
                purchase_order_reference=f"EJ-{syntax[-4:]}-{index}"
            )
        moves |= self.make_invoice(
            "out_refund", buyer_reference="ECOLES", purchase_order_reference="EJ-7"
        )
        deposits_before = self.stats()["deposits"]
        self.send()
        self.assertEqual(
            set(moves.mapped("chorus_state")),
            {"deposited"},
            moves.mapped("chorus_error"),
        )
        deposits = moves.chorus_deposit_id
        self.assertEqual(len(deposits), -(-count // per_flow))
        self.assertLessEqual(max(deposits.mapped("move_count")), per_flow)
        self.assertEqual(self.stats()["deposits"] - deposits_before, len(deposits))
        for deposit in deposits:
            self.assertEqual(deposit.syntax, syntax)
            self.assertEqual(len(set(deposit.move_ids.mapped("chorus_flow_number"))), 1)
            self.assertLessEqual(len(deposit.filename), 50)
            if deposit.move_count > 1:
                self.assertTrue(deposit.filename.endswith(".tar.gz"))
                self.assertEqual(
                    sorted(self.archive_members(deposit)),
                    sorted(
                        move._chorus_document_filename(syntax)
                        for move in deposit.move_ids
                    ),
                )
        on_chorus = self.sandbox_invoices()
        for move in moves:
            invoice = on_chorus[move.name]
            self.assertEqual(invoice["numeroFluxDepot"], move.chorus_flow_number)
            self.assertEqual(
                invoice["typeFacture"],
                "AVOIR" if move.move_type == "out_refund" else "FACTURE",
            )
            self.assertEqual(invoice["codeServiceExecutant"], move.buyer_reference)
            self.assertEqual(
                invoice["numeroBonCommande"], move.purchase_order_reference
            )
            self.assertEqual(invoice["codeDestinataire"], self.town_hall.siret)
            self.assertEqual(invoice["codeFournisseur"], self.company.siret)
        self.assertEqual(self.stats()["duplicates"], 0)


class TestTransmissionDeposit(DepositHelpers, ChorusInvoiceCase):
    """The sending cron against the sandbox, over real HTTP."""

    def setUp(self):
        super().setUp()
        # XML syntaxes here: no PDF rendering, fast.
        self.company.chorus_syntax = UBL

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
                    stored = base64.b64decode(move.chorus_deposit_id.file)
                    self.assertTrue(stored.startswith(b"<?xml"), "the file as sent")
                    self.assertIn(move.name.encode(), stored)
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
        self.assertFalse(move.activity_ids, "what asked to fix it is done")
        self.assertTrue(
            any(
                "Sent to Chorus Pro." in body
                for body in move.message_ids.mapped("body")
            ),
            "marked done with a feedback",
        )

    def test_supporting_documents_reach_chorus_pro(self):
        for syntax in (UBL, CII):
            with self.subTest(syntax=syntax):
                self.company.chorus_syntax = syntax
                move = self.make_invoice(post=False)
                self.attach(
                    move,
                    "Bon de livraison.pdf",
                    b"%PDF-1.4\n% delivered\n%%EOF\n",
                    "application/pdf",
                )
                self.post(move)
                self.send()
                self.assertEqual(move.chorus_state, "deposited", move.chorus_error)
                self.assertEqual(
                    self.sandbox_invoices()[move.name]["attachments"],
                    ["Bon de livraison.pdf"],
                )

    def test_a_supporting_document_chorus_pro_refuses_stops_the_invoice(self):
        move = self.make_invoice(post=False)
        self.attach(
            move,
            "macro.xlsm",
            b"PK\x03\x04",
            "application/vnd.ms-excel.sheet.macroEnabled.12",
        )
        self.post(move)
        self.send()
        self.assertEqual(move.chorus_state, "error")
        self.assertIn("macro.xlsm", move.chorus_error)
        self.assertEqual(self.stats()["deposits"], 0)

        # Removed by the user, and sent.
        move.chorus_attachment_ids = False
        move.action_chorus_retry()
        self.send()
        self.assertEqual(move.chorus_state, "deposited")
        self.assertEqual(self.sandbox_invoices()[move.name]["attachments"], [])

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
        self.inject_once("accept_then_drop")
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
        self.inject_once("drop")
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

    def test_a_document_over_the_flow_limit_is_refused(self):
        move = self.make_invoice()
        with patch.object(constants, "MAX_FLOW_BYTES", 1024):
            self.send()
        self.assertEqual(move.chorus_state, "error")
        self.assertIn("Chorus Pro accepts in a flow", move.chorus_error)
        self.assertEqual(self.stats()["deposits"], 0)


class TestMultiInvoiceFlows(DepositHelpers, ChorusInvoiceCase):
    """Several invoices per .tar.gz flow (company setting)."""

    def setUp(self):
        super().setUp()
        self.company.chorus_syntax = UBL
        self.company.chorus_invoices_per_flow = 3

    def test_invoices_and_credit_notes_in_tar_gz_flows(self):
        for syntax in (UBL, CII):
            with self.subTest(syntax=syntax):
                self.check_flows(syntax, 5, 3)

    def test_a_refused_invoice_stays_out_of_the_flow(self):
        good = self.make_invoice() | self.make_invoice()
        bad = self.make_invoice(buyer_reference=False)
        self.send()
        self.assertEqual(bad.chorus_state, "error")
        self.assertFalse(bad.chorus_deposit_id)
        self.assertEqual(set(good.mapped("chorus_state")), {"deposited"})
        self.assertEqual(len(good.chorus_deposit_id), 1)
        self.assertEqual(good.chorus_deposit_id.move_ids, good)

    def test_lost_answer_on_a_flow_is_resolved_without_duplicate(self):
        moves = self.make_invoice() | self.make_invoice() | self.make_invoice()
        self.inject_once("accept_then_drop")
        with mute_logger(*CLIENT_LOGGERS):
            self.send()
        self.assertEqual(set(moves.mapped("chorus_state")), {"unknown"})
        self.assertEqual(self.stats()["deposits"], 1)
        self.sandbox_admin("flows/complete")
        self.send()
        self.assertEqual(set(moves.mapped("chorus_state")), {"deposited"})
        self.assertEqual(len(set(moves.mapped("chorus_flow_number"))), 1)
        self.assertEqual(self.stats()["deposits"], 1)
        self.assertEqual(self.stats()["duplicates"], 0)

    def test_flows_stay_under_the_size_limit(self):
        moves = self.make_invoice() | self.make_invoice() | self.make_invoice()
        size = max(len(move._chorus_build_document(UBL)["content"]) for move in moves)
        # Room for two documents per flow, not three.
        with patch.object(constants, "MAX_FLOW_BYTES", 2 * (size + TAR_OVERHEAD)):
            self.send()
        self.assertEqual(set(moves.mapped("chorus_state")), {"deposited"})
        self.assertEqual(sorted(moves.chorus_deposit_id.mapped("move_count")), [1, 2])

    def test_the_setting_is_bounded(self):
        for value in (0, -1, MAX_FLOW_INVOICES + 1):
            with self.subTest(value=value), self.assertRaises(ValidationError):
                self.company.chorus_invoices_per_flow = value
                self.company.flush_recordset()


@tagged("post_install", "-at_install")
class TestFacturXFlows(DepositHelpers, ChorusInvoiceCase, HttpCase):
    """Factur-X, alone and in .tar.gz flows. An HTTP test case: wkhtmltopdf
    fetches the report assets from the test server, in the test transaction."""

    def send_counting_renders(self):
        """Send, and return how many times wkhtmltopdf ran."""
        report_model = type(self.env["ir.actions.report"])
        with (
            mute_logger(WKHTMLTOPDF_LOGGER),
            patch.object(
                report_model,
                "_run_wkhtmltopdf",
                autospec=True,
                side_effect=report_model._run_wkhtmltopdf,
            ) as wkhtmltopdf,
        ):
            self.send()
        return wkhtmltopdf.call_count

    def deposited_facturx(self, move):
        """The Factur-X PDF deposited for ``move``, checked to embed the CII of
        this very invoice."""
        self.assertEqual(move.chorus_state, "deposited", move.chorus_error)
        pdf = base64.b64decode(move.chorus_deposit_id.file)
        self.assertTrue(pdf.startswith(b"%PDF"))
        _name, xml = get_xml_from_pdf(pdf, check_xsd=False)
        self.assertIn(f"<ram:ID>{move.name}</ram:ID>".encode(), xml)
        return pdf

    def test_facturx_single_and_multi_invoice_flows(self):
        with mute_logger(WKHTMLTOPDF_LOGGER):
            self.check_flows(FACTURX, 2, 1)
            self.company.chorus_invoices_per_flow = 2
            self.check_flows(FACTURX, 3, 2)

    def test_facturx_batch_renders_each_invoice_its_own_pdf(self):
        """The invoice PDFs of a batch come out of one wkhtmltopdf run, split
        per invoice, where wkhtmltopdf can: each deposited Factur-X shows its
        own invoice only."""
        self.company.chorus_syntax = FACTURX
        moves = self.env["account.move"]
        for index in range(3):
            moves |= self.make_invoice(purchase_order_reference=f"EJ-PDF-{index}")
        runs = self.send_counting_renders()
        # Debian's wkhtmltopdf, without a patched Qt, takes one document per
        # run: then each invoice is rendered alone.
        self.assertEqual(runs, 1 if renders_several_documents() else len(moves))
        pdfs = set()
        for move in moves:
            pdf = self.deposited_facturx(move)
            pdfs.add(pdf)
            reader = OdooPdfFileReader(io.BytesIO(pdf), strict=False)
            self.assertGreaterEqual(len(reader.pages), 1)
        self.assertEqual(len(pdfs), len(moves), "a PDF of its own for each")

    def test_facturx_reuses_the_pdf_odoo_stored(self):
        """An invoice already sent or printed goes to Chorus Pro with the PDF
        Odoo stored for it, its Factur-X XML replaced by the Chorus Pro one."""
        self.company.chorus_syntax = FACTURX
        move = self.make_invoice()
        writer = OdooPdfFileWriter()
        writer.add_blank_page(width=144, height=144)
        writer.addAttachment("factur-x.xml", b"<odoo-own/>", subtype="text/xml")
        with io.BytesIO() as buffer:
            writer.write(buffer)
            move.invoice_pdf_report_file = base64.b64encode(buffer.getvalue())
        move.invalidate_recordset(["invoice_pdf_report_id"])
        self.assertTrue(move.invoice_pdf_report_id)
        self.assertEqual(self.send_counting_renders(), 0, "nothing rendered again")
        pdf = self.deposited_facturx(move)
        reader = OdooPdfFileReader(io.BytesIO(pdf), strict=False)
        self.assertEqual(len(reader.pages), 1)
        self.assertEqual(float(reader.pages[0].mediabox.width), 144)
        self.assertNotIn(b"odoo-own", pdf)

    def test_facturx_renders_again_what_is_not_a_stored_pdf(self):
        """A stored "PDF" that is not one (Odoo keeps the report's HTML in test
        mode) is not deposited: the invoice PDF is rendered."""
        self.company.chorus_syntax = FACTURX
        move = self.make_invoice()
        move.invoice_pdf_report_file = base64.b64encode(b"<html>INV</html>")
        move.invalidate_recordset(["invoice_pdf_report_id"])
        self.assertEqual(self.send_counting_renders(), 1)
        self.deposited_facturx(move)
