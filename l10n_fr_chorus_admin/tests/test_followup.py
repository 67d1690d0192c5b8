import base64
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

from odoo import fields
from odoo.exceptions import AccessError, UserError
from odoo.tests import new_test_user
from odoo.tools import mute_logger
from odoo.tools.safe_eval import safe_eval

from ..chorus_pro.client import ChorusProClient
from ..chorus_pro.sandbox.fixtures import (
    DEFAULT_CLIENT_ID,
    DEFAULT_CLIENT_SECRET,
    DEFAULT_LOGIN,
    DEFAULT_PASSWORD,
    TOWN_HALL,
)
from ..chorus_pro.sandbox.samples import SampleInvoice, build_flow
from .test_public_partner import CLIENT_LOGGERS
from .test_transmission import ChorusInvoiceCase

UBL = "IN_DP_E1_UBL_INVOICE"
CII = "IN_DP_E1_CII_16B"
SEARCH = "/cpro/factures/v1/rechercher/fournisseur"
HISTORY = "/cpro/factures/v1/consulter/historique"
REPORT = "/cpro/transverses/v1/consulterCRDetaille"
LONG_AGO = datetime(2026, 1, 1)


class ChorusFollowupCase(ChorusInvoiceCase):
    """Invoices sent to the sandbox, then followed by the follow-up cron."""

    def setUp(self):
        super().setUp()
        self.company.chorus_syntax = UBL
        self.company.chorus_followup_sync_date = False
        self.Move = self.env["account.move"]

    def send(self):
        return self.Move._cron_chorus_send()

    def follow(self, since=None):
        if since:
            self.company.chorus_followup_sync_date = since
        return self.Move._cron_chorus_followup()

    def integrated_invoice(self, **values):
        """An invoice deposited, its flow integrated and its Chorus Pro id known."""
        move = self.make_invoice(**values)
        self.send()
        self.assertEqual(move.chorus_state, "deposited", move.chorus_error)
        self.sandbox_admin(f"flows/{move.chorus_flow_number}/complete")
        self.follow()
        self.assertEqual(move.chorus_state, "integrated")
        self.assertEqual(move.chorus_status, "DEPOSEE")
        self.assertTrue(move.chorus_identifier)
        return move

    def advance(self, move, status, when=None, comment=None):
        body = {"identifiantFactureCPP": int(move.chorus_identifier), "statut": status}
        if when:
            body["dateHeure"] = when
        if comment:
            body["commentaire"] = comment
        return self.sandbox_admin("invoices/advance", body)

    def messages(self, move):
        return move.message_ids.mapped(lambda message: str(message.body))

    def assertLogged(self, move, fragment):
        self.assertTrue(
            any(fragment in body for body in self.messages(move)),
            f"{fragment!r} not in the chatter of {move.name}",
        )

    def activity(self, move, summary):
        activities = move.activity_ids.filtered(lambda a: a.summary == summary)
        self.assertEqual(len(activities), 1, f"one activity {summary!r}")
        self.assertEqual(activities.user_id, move.invoice_user_id or self.env.user)
        return activities


class TestFlowFollowup(ChorusFollowupCase):
    def test_a_pending_flow_then_integrated(self):
        self.sandbox_admin("config", {"flow_polls_before_final": 3})
        move = self.make_invoice()
        self.send()
        deposit = move.chorus_deposit_id
        for pending in (
            "IN_TRAITE_SE_CPP",
            "IN_EN_ATTENTE_TRAITEMENT_CPP",
            "IN_EN_COURS_TRAITEMENT_CPP",
        ):
            self.follow()
            self.assertEqual(move.chorus_state, "deposited", "the flow is pending")
            self.assertEqual(deposit.flow_status, pending)
            self.assertEqual(deposit.state, "pending")
        self.follow()
        self.assertEqual(deposit.state, "integrated")
        self.assertEqual(deposit.flow_status, "IN_INTEGRE")
        self.assertEqual(move.chorus_state, "integrated")
        # The same run found its Chorus Pro id by the status search.
        self.assertEqual(move.chorus_status, "DEPOSEE")
        self.assertTrue(move.chorus_identifier)
        self.assertLogged(move, "integrated the invoice")
        self.assertEqual(move.chorus_status_ids.status, "DEPOSEE")
        self.assertEqual(self.calls(REPORT), 4)
        self.assertEqual(self.calls(HISTORY), 0)

    def test_a_flow_rejected_as_a_whole_can_be_sent_again(self):
        for status in ("IN_REJETE", "QP_IRRECEVABLE"):
            with self.subTest(status=status):
                move = self.make_invoice()
                self.send()
                first_flow = move.chorus_flow_number
                self.sandbox_admin(
                    f"flows/{first_flow}/complete",
                    {
                        "etatCourantDepotFlux": status,
                        "listeErreurTechnique": [
                            {
                                "codeErreur": "F01",
                                "libelleErreur": "Fichier illisible",
                                "natureErreur": "REJET",
                            }
                        ],
                    },
                )
                self.follow()
                self.assertEqual(move.chorus_state, "error")
                self.assertIn("Fichier illisible", move.chorus_error)
                self.assertIn(status, move.chorus_error)
                self.assertEqual(move.chorus_deposit_id.state, "rejected")
                self.assertEqual(move.chorus_deposit_id.flow_status, status)
                self.activity(move, "Chorus Pro: invoice not sent")
                # Once fixed, the user sends it again: never stuck.
                move.action_chorus_retry()
                self.send()
                self.assertEqual(move.chorus_state, "deposited")
                self.assertNotEqual(move.chorus_flow_number, first_flow)

    def test_an_incident_sends_the_flow_again_by_itself(self):
        move = self.make_invoice()
        self.send()
        first_flow = move.chorus_flow_number
        self.sandbox_admin(
            f"flows/{first_flow}/complete", {"etatCourantDepotFlux": "IN_INCIDENTE"}
        )
        self.follow()
        self.assertEqual(move.chorus_state, "to_send")
        self.assertLogged(move, "sent again")
        self.send()
        self.sandbox_admin(f"flows/{move.chorus_flow_number}/complete")
        self.follow()
        self.assertNotEqual(move.chorus_flow_number, first_flow)
        self.assertEqual(move.chorus_state, "integrated")

    def test_a_per_invoice_error_rejects_the_invoice(self):
        self.env["chorus.pro.service"].create(
            {"partner_id": self.town_hall.id, "code": "FERME", "chorus_id": 30020199}
        )
        move = self.make_invoice(buyer_reference="FERME")
        self.send()
        self.sandbox_admin(f"flows/{move.chorus_flow_number}/complete")
        self.follow()
        self.assertEqual(move.chorus_state, "rejected")
        self.assertIn("FERME", move.chorus_error)
        self.assertLogged(move, "Chorus Pro rejected the invoice in flow")
        activity = self.activity(move, "Chorus Pro: invoice rejected")
        self.assertIn("FERME", str(activity.note))
        self.assertIn("Replace", str(activity.note))
        with self.assertRaises(UserError):
            move.button_draft()

    def test_a_flow_of_25_invoices_pages_and_rejects_one(self):
        """One .tar.gz flow of 25 invoices; one has an unknown service: it is
        rejected with Chorus Pro's reason, the others go on. The status search
        pages by 10."""
        self.env["ir.config_parameter"].sudo().set_param(
            "l10n_fr_chorus_admin.search_page_size", "10"
        )
        moves = self.Move
        for _index in range(25):
            moves |= self.make_invoice()
        bad = moves[7]
        samples = [
            SampleInvoice(
                move.name,
                TOWN_HALL.siret,
                service_code="INCONNU" if move == bad else "TECHNIQUE",
                amount=move.amount_untaxed,
            )
            for move in moves
        ]
        content, filename = build_flow(CII, samples, "lot.tar.gz")
        client = self.company._chorus_client()
        answer = client.deposit_flow(content, filename, CII)
        deposit = self.env["chorus.pro.deposit"].create(
            {
                "syntax": CII,
                "filename": filename,
                "flow_number": answer["numeroFluxDepot"],
                "state": "pending",
                "deposit_date": fields.Datetime.now(),
                "move_ids": [(6, 0, moves.ids)],
            }
        )
        moves.write({"chorus_state": "deposited", "chorus_deposit_id": deposit.id})
        self.sandbox_admin(f"flows/{deposit.flow_number}/complete")
        searches = self.calls(SEARCH)
        self.follow()
        self.assertEqual(deposit.state, "partial")
        self.assertEqual(bad.chorus_state, "rejected")
        self.assertIn("INCONNU", bad.chorus_error)
        good = moves - bad
        self.assertEqual(set(good.mapped("chorus_state")), {"integrated"})
        self.assertEqual(len(set(good.mapped("chorus_identifier"))), 24)
        self.assertEqual(self.calls(SEARCH) - searches, 3, "24 invoices, 3 pages")
        # All made available: found again over three pages, one run.
        for move in good:
            self.advance(move, "MISE_A_DISPOSITION")
        searches = self.calls(SEARCH)
        self.follow()
        self.assertEqual(set(good.mapped("chorus_state")), {"available"})
        self.assertEqual(self.calls(SEARCH) - searches, 3)
        self.assertEqual(self.calls(HISTORY), 0)


class TestInvoiceStatuses(ChorusFollowupCase):
    def test_the_usual_path_until_paid(self):
        self.town_hall.chorus_paid_status_reported = True
        move = self.integrated_invoice()
        path = [
            ("EN_COURS_ACHEMINEMENT", "integrated"),
            ("MISE_A_DISPOSITION", "available"),
            ("PRISE_EN_COMPTE_DESTINATAIRE", "available"),
            ("SERVICE_FAIT", "available"),
            ("MANDATEE", "payment_ordered"),
            ("MISE_A_DISPOSITION_COMPTABLE", "payment_ordered"),
            ("COMPTABILISEE", "payment_ordered"),
            ("MISE_EN_PAIEMENT", "paid"),
        ]
        for status, state in path:
            with self.subTest(status=status):
                self.advance(move, status)
                self.follow()
                self.assertEqual(move.chorus_status, status)
                self.assertEqual(move.chorus_state, state)
                self.assertTrue(move.chorus_status_date)
                self.assertEqual(move.chorus_status_ids.sorted("id")[-1].status, status)
        self.assertEqual(len(move.chorus_status_ids), 1 + len(path))
        self.assertLogged(move, "Paid (MISE_EN_PAIEMENT)")
        self.assertEqual(self.calls(HISTORY), 0, "every status was seen")
        # Paid: the follow-up stops, nothing is searched any more.
        self.assertFalse(
            self.Move.search(self.Move._chorus_followed_domain(self.company))
        )
        searches = self.calls(SEARCH)
        self.follow()
        self.assertEqual(self.calls(SEARCH), searches)

    def test_buyers_not_reporting_the_payment_stop_at_the_payment_order(self):
        self.town_hall.chorus_paid_status_reported = False
        move = self.integrated_invoice()
        self.advance(move, "MANDATEE")
        self.follow(since=LONG_AGO)
        self.assertEqual(move.chorus_state, "payment_ordered")
        self.assertNotIn(
            move, self.Move.search(self.Move._chorus_followed_domain(self.company))
        )
        searches = self.calls(SEARCH)
        self.follow()
        self.assertEqual(self.calls(SEARCH), searches, "nothing left to follow")

    def test_exceptions_create_activities(self):
        cases = [
            ("SUSPENDUE", "suspended", "Chorus Pro: invoice suspended", "Complete"),
            ("A_RECYCLER", "to_recycle", "Chorus Pro: invoice to re-route", "recycle"),
            ("REJETEE", "rejected", "Chorus Pro: invoice rejected", "credit note"),
        ]
        for status, state, summary, way_out in cases:
            with self.subTest(status=status):
                move = self.integrated_invoice()
                self.advance(move, status, comment=f"Motif {status}")
                self.follow()
                self.assertEqual(move.chorus_state, state)
                self.assertEqual(move.chorus_status_comment, f"Motif {status}")
                self.assertLogged(move, f"Motif {status}")
                note = str(self.activity(move, summary).note)
                self.assertIn(f"Motif {status}", note)
                self.assertIn(way_out, note)

    def test_abandoned_and_deleted_end_the_follow_up(self):
        for status in ("ABANDONNEE", "SUPPRIMEE"):
            with self.subTest(status=status):
                move = self.integrated_invoice()
                self.advance(move, status)
                self.follow()
                self.assertEqual(move.chorus_state, "cancelled")
                self.assertNotIn(
                    move,
                    self.Move.search(self.Move._chorus_followed_domain(self.company)),
                )

    def test_a_missed_made_available_status_is_read_from_the_history_once(self):
        move = self.integrated_invoice()
        self.advance(move, "SERVICE_FAIT", when="2026-03-02T10:00:00+01:00")
        self.follow(since=LONG_AGO)
        self.assertEqual(move.chorus_state, "available")
        self.assertEqual(move.chorus_available_date, date(2026, 3, 2))
        self.assertEqual(self.calls(HISTORY), 1)
        self.advance(move, "MANDATEE", when="2026-03-20T10:00:00+01:00")
        self.follow(since=LONG_AGO)
        self.assertEqual(self.calls(HISTORY), 1, "the date is known now")

    def test_the_search_covers_only_changes_since_the_last_run(self):
        move = self.integrated_invoice()
        synced = self.company.chorus_followup_sync_date
        self.assertTrue(synced)
        self.follow()
        self.assertGreaterEqual(self.company.chorus_followup_sync_date, synced)
        self.assertEqual(len(move.chorus_status_ids), 1, "no change, nothing logged")

    def test_an_unreachable_chorus_pro_changes_nothing(self):
        move = self.integrated_invoice()
        synced = self.company.chorus_followup_sync_date
        self.advance(move, "MISE_A_DISPOSITION")
        self.sandbox_admin("faults", {"error_500": 1.0})
        self.company.chorus_followup_sync_date = synced
        client = ChorusProClient(
            DEFAULT_CLIENT_ID,
            DEFAULT_CLIENT_SECRET,
            DEFAULT_LOGIN,
            DEFAULT_PASSWORD,
            base_url=self.sandbox.url,
            retries=0,
        )
        with mute_logger(*CLIENT_LOGGERS):
            result = self.Move._chorus_follow_invoices(client, self.company)
        self.assertIsNone(result)
        self.assertEqual(move.chorus_state, "integrated")
        self.assertEqual(self.company.chorus_followup_sync_date, synced)
        self.sandbox_admin("faults", {})
        self.follow()
        self.assertEqual(move.chorus_state, "available")


class TestPaymentDelay(ChorusFollowupCase):
    def test_due_date_follows_the_made_available_date(self):
        move = self.integrated_invoice()
        self.advance(move, "MISE_A_DISPOSITION", when="2026-03-02T09:30:00+01:00")
        self.follow(since=LONG_AGO)
        self.assertEqual(move.chorus_available_date, date(2026, 3, 2))
        self.assertEqual(move.chorus_legal_due_date, date(2026, 4, 1), "30 days")
        self.assertEqual(move.invoice_date_due, date(2026, 4, 1))
        terms = move.line_ids.filtered(lambda line: line.display_type == "payment_term")
        self.assertEqual(set(terms.mapped("date_maturity")), {date(2026, 4, 1)})
        # Tracking is off in accounting tests; on in real use.
        # (and Odoo does not track records created in the same transaction).
        self.env.flush_all()
        self.env.cr.precommit.run()
        tracked_move = move.with_context(tracking_disable=False, mail_notrack=False)
        tracked_move._chorus_set_legal_due_date(date(2026, 4, 2))
        self.env.flush_all()
        self.env.cr.precommit.run()
        tracked = self.env["mail.tracking.value"].search(
            [
                ("mail_message_id.model", "=", "account.move"),
                ("mail_message_id.res_id", "=", move.id),
                ("field_id.name", "=", "chorus_legal_due_date"),
            ]
        )
        self.assertTrue(tracked, "the legal due date is tracked")

    def test_hospital_fifty_days_and_completion_keeps_a_longer_remainder(self):
        hospital_partner = self.town_hall
        hospital_partner.chorus_buyer_category = "health"
        self.assertEqual(hospital_partner.chorus_max_payment_days, 50)
        move = self.integrated_invoice()
        self.advance(move, "MISE_A_DISPOSITION", when="2026-03-02T09:00:00+01:00")
        self.follow(since=LONG_AGO)
        self.assertEqual(move.chorus_legal_due_date, date(2026, 4, 21))
        self.advance(move, "SUSPENDUE", when="2026-03-05T09:00:00+01:00")
        self.follow(since=LONG_AGO)
        self.assertEqual(move.chorus_suspension_remaining_days, 47)
        self.advance(move, "COMPLETEE", when="2026-03-10T09:00:00+01:00")
        self.follow(since=LONG_AGO)
        self.assertEqual(move.chorus_completed_date, date(2026, 3, 10))
        self.assertEqual(move.chorus_legal_due_date, date(2026, 4, 26), "47 days left")

    def test_completion_restarts_thirty_days(self):
        move = self.integrated_invoice()
        self.advance(move, "MISE_A_DISPOSITION", when="2026-03-02T09:00:00+01:00")
        self.advance(move, "SUSPENDUE", when="2026-03-12T09:00:00+01:00")
        self.follow(since=LONG_AGO)
        # Both statuses happened between two runs: the history gives the date.
        self.assertEqual(move.chorus_available_date, date(2026, 3, 2))
        self.assertEqual(move.chorus_state, "suspended")
        self.assertEqual(move.chorus_suspension_remaining_days, 20)
        self.assertFalse(move.chorus_days_late, "no lateness while suspended")
        # Completed then made available again before the next run.
        self.advance(move, "COMPLETEE", when="2026-03-20T09:00:00+01:00")
        self.advance(move, "SERVICE_FAIT", when="2026-03-21T09:00:00+01:00")
        self.follow(since=LONG_AGO)
        self.assertEqual(move.chorus_completed_date, date(2026, 3, 20))
        self.assertEqual(move.chorus_legal_due_date, date(2026, 4, 19))

    def test_a_suspension_completed_between_two_runs(self):
        move = self.integrated_invoice()
        self.advance(move, "MISE_A_DISPOSITION", when="2026-03-02T09:00:00+01:00")
        self.follow(since=LONG_AGO)
        self.assertEqual(move.chorus_legal_due_date, date(2026, 4, 1))
        # Suspended with 10 days left, completed before the follow-up saw it.
        self.advance(move, "SUSPENDUE", when="2026-03-22T09:00:00+01:00")
        self.advance(move, "COMPLETEE", when="2026-03-25T09:00:00+01:00")
        self.follow(since=LONG_AGO)
        self.assertEqual(move.chorus_suspended_date, date(2026, 3, 22))
        self.assertEqual(move.chorus_suspension_remaining_days, 10)
        self.assertEqual(move.chorus_legal_due_date, date(2026, 4, 24), "30 days")


class TestRecoveryActions(ChorusFollowupCase):
    def suspended_invoice(self):
        move = self.integrated_invoice()
        self.advance(move, "MISE_A_DISPOSITION")
        self.advance(move, "SUSPENDUE", comment="Bon de livraison manquant")
        self.follow()
        self.assertEqual(move.chorus_state, "suspended")
        return move

    def test_complete_a_suspended_invoice(self):
        move = self.suspended_invoice()
        attachment = self.env["ir.attachment"].create(
            {"name": "bon_livraison.pdf", "datas": base64.b64encode(b"%PDF-1.4 BL")}
        )
        wizard = self.env["chorus.pro.complete.wizard"].create(
            {
                "move_id": move.id,
                "comment": "Voici le bon de livraison",
                "attachment_ids": [(6, 0, attachment.ids)],
            }
        )
        wizard.action_complete()
        self.assertEqual(move.chorus_state, "available")
        self.assertEqual(move.chorus_status, "COMPLETEE")
        # The day Chorus Pro processed it, a date in Paris.
        today = datetime.now(ZoneInfo("Europe/Paris")).date()
        self.assertEqual(move.chorus_completed_date, today)
        self.assertEqual(move.chorus_legal_due_date, today + timedelta(days=30))
        self.assertFalse(
            move.activity_ids.filtered(
                lambda a: a.summary == "Chorus Pro: invoice suspended"
            ),
            "the activity is done",
        )
        self.assertEqual(attachment.res_id, move.id)
        [on_chorus] = [
            invoice
            for invoice in self.sandbox_admin_get("invoices")
            if invoice["numeroFacture"] == move.name
        ]
        self.assertEqual(on_chorus["statut"], "COMPLETEE")
        self.assertEqual(self.calls("/cpro/transverses/v1/ajouter/fichier"), 1)
        # The buyer takes it again; the follow-up goes on.
        self.advance(move, "MISE_A_DISPOSITION")
        self.follow()
        self.assertEqual(move.chorus_status, "MISE_A_DISPOSITION")

    def test_billing_user_completes_and_reads_the_history(self):
        """An accountant (billing user, Chorus Pro user) completes a suspended
        invoice and reloads its history, though the history stays read-only
        to them."""
        move = self.suspended_invoice()
        billing = new_test_user(
            self.env,
            "chorus_recovery_billing",
            "account.group_account_invoice",
            company_id=self.company.id,
            company_ids=[(6, 0, self.company.ids)],
        )
        move = move.with_user(billing)
        self.env["chorus.pro.complete.wizard"].with_user(billing).create(
            {"move_id": move.id, "comment": "Voici le bon de livraison"}
        ).action_complete()
        self.assertEqual(move.chorus_state, "available")
        self.assertIn("COMPLETEE", move.chorus_status_ids.mapped("status"))
        move.action_chorus_refresh_history()
        self.assertIn("COMPLETEE", move.chorus_status_ids.mapped("status"))
        with self.assertRaises(AccessError):
            move.chorus_status_ids[:1].write({"comment": "edited"})

    def test_completion_refuses_bad_input_and_changes_nothing(self):
        move = self.suspended_invoice()
        long_name = self.env["ir.attachment"].create(
            {"name": "x" * 60 + ".pdf", "datas": base64.b64encode(b"%PDF")}
        )
        cases = [
            ({"comment": "   "}, "comment"),
            ({"comment": "Voici", "attachment_ids": [(6, 0, long_name.ids)]}, "50"),
        ]
        for values, fragment in cases:
            with self.subTest(values=values):
                wizard = self.env["chorus.pro.complete.wizard"].create(
                    dict({"move_id": move.id}, **values)
                )
                with self.assertRaises(UserError) as error:
                    wizard.action_complete()
                self.assertIn(fragment, str(error.exception))
                self.assertEqual(move.chorus_state, "suspended")
        self.assertEqual(self.calls("/cpro/factures/v1/completer"), 0)

    def test_recycle_an_invoice_to_re_route(self):
        culture = self.env["chorus.pro.service"].create(
            {"partner_id": self.town_hall.id, "code": "CULTURE", "chorus_id": 30020103}
        )
        move = self.integrated_invoice()
        self.advance(move, "A_RECYCLER", comment="Mauvais service")
        self.follow()
        wizard = (
            self.env["chorus.pro.recycle.wizard"]
            .with_context(default_move_id=move.id)
            .create({})
        )
        self.assertEqual(wizard.service_id, self.technical, "the current routing")
        with self.assertRaises(UserError):
            wizard.action_recycle()
        wizard.service_id = culture
        wizard.action_recycle()
        self.assertEqual(move.chorus_state, "integrated")
        self.assertEqual(move.buyer_reference, "CULTURE")
        self.assertLogged(move, "Re-routed on Chorus Pro")
        [on_chorus] = [
            invoice
            for invoice in self.sandbox_admin_get("invoices")
            if invoice["numeroFacture"] == move.name
        ]
        self.assertEqual(on_chorus["codeServiceExecutant"], "CULTURE")
        self.assertEqual(on_chorus["statut"], "EN_COURS_ACHEMINEMENT")

    def test_a_refused_routing_changes_nothing(self):
        unknown = self.env["chorus.pro.service"].create(
            {"partner_id": self.town_hall.id, "code": "FERME", "chorus_id": 30020199}
        )
        move = self.integrated_invoice()
        self.advance(move, "A_RECYCLER")
        self.follow()
        wizard = self.env["chorus.pro.recycle.wizard"].create(
            {"move_id": move.id, "service_id": unknown.id}
        )
        with self.assertRaises(UserError) as error:
            wizard.action_recycle()
        self.assertIn("Chorus Pro refused", str(error.exception))
        self.assertEqual(move.chorus_state, "to_recycle")
        self.assertEqual(move.buyer_reference, "TECHNIQUE")

    def test_replace_a_rejected_invoice(self):
        move = self.integrated_invoice()
        self.advance(move, "REJETEE", comment="Montant erroné")
        self.follow()
        action = move.action_chorus_replace()
        new_move = self.Move.browse(action["res_id"])
        credit_note = move.reversal_move_ids
        self.assertEqual(credit_note.move_type, "out_refund")
        self.assertEqual(credit_note.state, "posted")
        self.env.cr.flush()  # the end of the transaction: marks are applied
        self.assertFalse(credit_note.chorus_state, "kept off Chorus Pro")
        self.assertEqual(move.payment_state, "reversed")
        self.assertEqual(move.chorus_replacement_id, new_move)
        self.assertEqual(new_move.state, "draft")
        with self.assertRaises(UserError):
            move.action_chorus_replace()
        new_move.action_post()
        self.env.cr.flush()
        self.assertNotEqual(new_move.name, move.name)
        self.assertEqual(new_move.chorus_state, "to_send")
        self.send()
        self.assertEqual(new_move.chorus_state, "deposited", new_move.chorus_error)
        self.sandbox_admin(f"flows/{new_move.chorus_flow_number}/complete")
        self.follow()
        self.assertEqual(new_move.chorus_state, "integrated")

    def sandbox_admin_get(self, action):
        import json
        import urllib.request

        with urllib.request.urlopen(
            f"{self.sandbox.url}/_sandbox/{action}", timeout=10
        ) as response:
            return json.load(response)["invoices"]


class TestLatePayment(ChorusFollowupCase):
    def late_invoice(self, due, amount=1000.0):
        move = self.make_invoice()
        move.write(
            {
                "chorus_state": "available",
                "chorus_available_date": due - timedelta(days=30),
            }
        )
        move._chorus_set_legal_due_date(due)
        self.assertEqual(move.amount_total, amount * 1.2)
        return move

    def pay(self, move, day):
        self.env["account.payment.register"].with_context(
            active_model="account.move", active_ids=move.ids
        ).create({"payment_date": day})._create_payments()

    def test_interest_with_known_dates_and_rates(self):
        rates = self.env["chorus.ecb.rate"]
        # 11 June 2025: 2.15 %, in force on 1 July 2025 → 10.15 % for H2 2025.
        move = self.late_invoice(date(2025, 6, 30))
        figures = move._chorus_late_figures(date(2025, 7, 30), rates)
        self.assertEqual(figures["days"], 30)
        self.assertAlmostEqual(figures["rate"], 10.15)
        # 1200 × 10.15 % × 30 / 365
        self.assertAlmostEqual(figures["interest"], 10.01)
        self.assertEqual(figures["indemnity"], 40.0)

    def test_lateness_running_into_the_next_half_year_keeps_its_rate(self):
        rates = self.env["chorus.ecb.rate"]
        # Late from 21 June 2025: the rate of 1 January 2025 (3.15 %) applies
        # for the whole delay, also after 1 July.
        move = self.late_invoice(date(2025, 6, 20))
        figures = move._chorus_late_figures(date(2025, 8, 19), rates)
        self.assertEqual(figures["days"], 60)
        self.assertAlmostEqual(figures["rate"], 11.15)
        self.assertAlmostEqual(figures["interest"], 21.99)  # 1200 × 11.15 % × 60/365

    def test_paid_invoices_stop_at_the_payment_and_on_time_owe_nothing(self):
        move = self.late_invoice(date(2025, 6, 30))
        self.pay(move, date(2025, 7, 10))
        self.assertEqual(move.chorus_payment_date, date(2025, 7, 10))
        self.assertEqual(move.chorus_payment_delay, 40)
        self.assertEqual(move.chorus_days_late, 10)
        self.assertAlmostEqual(move.chorus_late_interest, 3.34)  # 1200×10.15%×10/365
        on_time = self.late_invoice(date(2025, 6, 30))
        self.pay(on_time, date(2025, 6, 30))
        self.assertEqual(on_time.chorus_days_late, 0)
        self.assertEqual(on_time.chorus_late_indemnity, 0)

    def test_average_payment_delay_per_customer_counts_paid_invoices(self):
        for due, paid in (
            (date(2025, 6, 30), date(2025, 6, 20)),
            (date(2025, 6, 30), date(2025, 7, 10)),
        ):
            self.pay(self.late_invoice(due), paid)
        self.late_invoice(date(2025, 6, 30))  # not paid: no delay yet
        action = self.env.ref("l10n_fr_chorus_admin.action_chorus_payment_delay")
        domain = safe_eval(action.domain) + [
            ("commercial_partner_id", "=", self.town_hall.id)
        ]
        [(partner, delay, count)] = self.Move._read_group(
            domain, ["commercial_partner_id"], ["chorus_payment_delay:avg", "__count"]
        )
        self.assertEqual(partner, self.town_hall)
        self.assertEqual(count, 2)
        self.assertEqual(delay, 30)  # (20 + 40) / 2, the unpaid one left out

    def test_an_accountant_enters_a_new_rate(self):
        self.env["chorus.ecb.rate"].create({"date_from": "2026-01-01", "rate": 1.90})
        move = self.late_invoice(date(2026, 1, 31))
        figures = move._chorus_late_figures(
            date(2026, 2, 10), self.env["chorus.ecb.rate"]
        )
        self.assertAlmostEqual(figures["rate"], 9.90)

    def test_claim_invoice_follows_the_chorus_pro_path(self):
        move = self.late_invoice(date(2025, 6, 30))
        self.pay(move, date(2025, 7, 30))
        self.assertEqual(move.chorus_days_late, 30)
        action = move.action_chorus_create_claim()
        claim = self.Move.browse(action["res_id"])
        self.assertEqual(claim.chorus_claim_origin_id, move)
        self.assertEqual(claim.partner_id, move.partner_id)
        self.assertEqual(claim.buyer_reference, "TECHNIQUE")
        self.assertEqual(
            sorted(claim.invoice_line_ids.mapped("price_unit")), [10.01, 40.0]
        )
        self.assertEqual(claim.invoice_line_ids.tax_ids.amount, 0.0)
        self.assertAlmostEqual(claim.amount_total, 50.01)
        with self.assertRaises(UserError):
            move.action_chorus_create_claim()
        claim.write({"chorus_legal_due_date": date(2025, 8, 1)})
        self.assertFalse(claim.chorus_days_late, "a claim bears no interest itself")
        with self.assertRaises(UserError):
            claim.action_chorus_create_claim()
        claim.action_post()
        self.env.cr.flush()
        self.assertEqual(claim.chorus_state, "to_send")
        self.send()
        self.assertEqual(claim.chorus_state, "deposited", claim.chorus_error)

    def test_no_claim_without_lateness_or_rate(self):
        move = self.late_invoice(date(2025, 6, 30))
        self.pay(move, date(2025, 6, 25))
        with self.assertRaises(UserError):
            move.action_chorus_create_claim()
        late = self.late_invoice(date(2025, 6, 30))
        self.pay(late, date(2025, 7, 5))
        self.env["chorus.ecb.rate"].search([]).unlink()
        late.invalidate_recordset()
        with self.assertRaises(UserError) as error:
            late.action_chorus_create_claim()
        self.assertIn("Invoicing > Customers > ECB rates", str(error.exception))
        self.assertFalse(late.chorus_claim_ids)


class TestFollowupAccess(ChorusFollowupCase):
    def test_rights_on_the_follow_up_models(self):
        move = self.integrated_invoice()
        billing = new_test_user(
            self.env, "chorus_followup_billing", "account.group_account_invoice"
        )
        salesman = new_test_user(
            self.env, "chorus_followup_sales", "sales_team.group_sale_salesman"
        )
        portal = new_test_user(self.env, "chorus_followup_portal", "base.group_portal")
        # Whoever may open the invoice sees its Chorus Pro history.
        for user in (billing, salesman):
            self.assertEqual(
                move.with_user(user).chorus_status_ids.sudo(False).mapped("status"),
                ["DEPOSEE"],
            )
        with self.assertRaises(AccessError):
            self.env["chorus.pro.invoice.status"].with_user(portal).search([])
        with self.assertRaises(AccessError):
            move.chorus_status_ids.with_user(billing).write({"comment": "x"})
        # Accountants maintain the ECB rates; others only read them.
        rate = (
            self.env["chorus.ecb.rate"]
            .with_user(billing)
            .create({"date_from": "2026-01-01", "rate": 2.0})
        )
        self.assertTrue(rate.with_user(salesman).rate)
        with self.assertRaises(AccessError):
            rate.with_user(salesman).write({"rate": 3.0})
        # The recovery wizards are for billing users.
        with self.assertRaises(AccessError):
            self.env["chorus.pro.complete.wizard"].with_user(salesman).create(
                {"move_id": move.id, "comment": "x"}
            )

    def test_history_is_per_company(self):
        move = self.integrated_invoice()
        other = self.env["res.company"].create({"name": "Other supplier"})
        user = new_test_user(
            self.env,
            "chorus_followup_other",
            "account.group_account_invoice",
            company_id=other.id,
            company_ids=[(6, 0, other.ids)],
        )
        self.assertFalse(
            self.env["chorus.pro.invoice.status"]
            .with_user(user)
            .search([("move_id", "=", move.id)])
        )
