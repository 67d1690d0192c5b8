"""Follow-up of the invoices deposited on Chorus Pro until their payment:
flow reports, invoice statuses, the actions they call for and the legal
payment delay. Kept apart from the sending (account_move.py) on purpose."""

import datetime
import logging
from datetime import timedelta

from odoo import Command, api, fields, models
from odoo.exceptions import UserError
from odoo.tools.misc import format_date, format_datetime, formatLang
from odoo.tools.translate import LazyTranslate

from ..chorus_pro import statuses as st
from ..chorus_pro.client import history_status_dates
from ..chorus_pro.exceptions import ChorusProError
from ..tools import can_commit

_logger = logging.getLogger(__name__)
_lt = LazyTranslate(__name__)

#: What each Chorus Pro invoice status means for the invoice.
STATUS_STATE = {
    st.INVOICE_DEPOSITED: "integrated",
    st.INVOICE_ROUTING: "integrated",
    st.INVOICE_MADE_AVAILABLE: "available",
    st.INVOICE_TAKEN_OVER: "available",
    st.INVOICE_SERVICE_DONE: "available",
    st.INVOICE_COMPLETED: "available",
    st.INVOICE_PAYMENT_ORDERED: "payment_ordered",
    st.INVOICE_MADE_AVAILABLE_ACCOUNTING: "payment_ordered",
    st.INVOICE_ACCOUNTED: "payment_ordered",
    st.INVOICE_PAID: "paid",
    st.INVOICE_SUSPENDED: "suspended",
    st.INVOICE_TO_RECYCLE: "to_recycle",
    st.INVOICE_REJECTED: "rejected",
    st.INVOICE_ABANDONED: "cancelled",
    st.INVOICE_DELETED: "cancelled",
}
CHORUS_STATUSES = [
    (st.INVOICE_DEPOSITED, "Deposited (DEPOSEE)"),
    (st.INVOICE_ROUTING, "Being routed (EN_COURS_ACHEMINEMENT)"),
    (st.INVOICE_MADE_AVAILABLE, "Made available (MISE_A_DISPOSITION)"),
    (st.INVOICE_TAKEN_OVER, "Taken over (PRISE_EN_COMPTE_DESTINATAIRE)"),
    (st.INVOICE_SERVICE_DONE, "Service done (SERVICE_FAIT)"),
    (st.INVOICE_SUSPENDED, "Suspended (SUSPENDUE)"),
    (st.INVOICE_COMPLETED, "Completed (COMPLETEE)"),
    (st.INVOICE_TO_RECYCLE, "To re-route (A_RECYCLER)"),
    (st.INVOICE_PAYMENT_ORDERED, "Payment ordered (MANDATEE)"),
    (
        st.INVOICE_MADE_AVAILABLE_ACCOUNTING,
        "Sent to the accountant (MISE_A_DISPOSITION_COMPTABLE)",
    ),
    (st.INVOICE_ACCOUNTED, "Accounted (COMPTABILISEE)"),
    (st.INVOICE_PAID, "Paid (MISE_EN_PAIEMENT)"),
    (st.INVOICE_REJECTED, "Rejected (REJETEE)"),
    (st.INVOICE_ABANDONED, "Abandoned (ABANDONNEE)"),
    (st.INVOICE_DELETED, "Deleted (SUPPRIMEE)"),
]
#: Statuses at which the buyer has been notified: the payment period runs.
PERIOD_STARTED = frozenset(
    {
        st.INVOICE_MADE_AVAILABLE,
        st.INVOICE_TAKEN_OVER,
        st.INVOICE_SERVICE_DONE,
        st.INVOICE_SUSPENDED,
        st.INVOICE_COMPLETED,
        st.INVOICE_PAYMENT_ORDERED,
        st.INVOICE_MADE_AVAILABLE_ACCOUNTING,
        st.INVOICE_ACCOUNTED,
        st.INVOICE_PAID,
    }
)
#: What the buyer sees in the portal: our own sending steps (queued, being
#: sent, outcome unknown, stopped by an error, waiting for the flow report)
#: are internal and all read "being sent"; Chorus Pro's statuses are public.
#: The states Chorus Pro gives the invoice once it has integrated it.
CHORUS_PRO_STATES = [
    ("integrated", "Integrated"),
    ("available", "Made available"),
    ("suspended", "Suspended"),
    ("to_recycle", "To re-route"),
    ("payment_ordered", "Payment ordered"),
    ("paid", "Paid"),
    ("rejected", "Rejected"),
    ("cancelled", "Cancelled on Chorus Pro"),
]
PORTAL_STATES = [("sending", "Being sent to Chorus Pro"), *CHORUS_PRO_STATES]
SENDING_STATES = frozenset({"to_send", "sending", "unknown", "error", "deposited"})
#: Invoice states still followed on Chorus Pro.
FOLLOWED_STATES = ("integrated", "available", "suspended", "to_recycle")
#: Days of a new payment period after a suspension is completed, at least.
PERIOD_AFTER_COMPLETION = 30
#: Days after the invoice date when Chorus Pro recorded no availability date.
DAYS_WITHOUT_AVAILABILITY = 2
#: Flat recovery indemnity per late invoice (Code de la commande publique).
RECOVERY_INDEMNITY = 40.0
#: Points added to the ECB rate for the late-payment interest.
INTEREST_MARGIN = 8.0
#: Overlap of two status searches, for clocks apart (the periods Chorus Pro
#: searches are whole days anyway).
SYNC_OVERLAP = timedelta(hours=1)
PARIS = "Europe/Paris"
#: Status changes applied per transaction by the cron.
COMMIT_EVERY = 100
#: Summaries of the activities asking the salesperson to act.
ACTIVITY_REJECTED = _lt("Chorus Pro: invoice rejected")
ACTIVITY_SUSPENDED = _lt("Chorus Pro: invoice suspended")
ACTIVITY_TO_RECYCLE = _lt("Chorus Pro: invoice to re-route")


def _parse_moment(value):
    """A Chorus Pro date-time as a naive UTC datetime (Odoo's storage) and the
    calendar day it had in France."""
    if not value:
        return None, None
    moment = datetime.datetime.fromisoformat(value.replace("Z", "+00:00"))
    day = moment.date()
    if moment.tzinfo is not None:
        moment = moment.astimezone(datetime.timezone.utc).replace(tzinfo=None)
    return moment, day


def _reason(text):
    """Chorus Pro's comment, to quote in a sentence (without its final dot)."""
    return (text or "").strip().rstrip(".").strip() or "-"


def half_year_start(day):
    """First day of the calendar half-year holding ``day``."""
    return datetime.date(day.year, 1 if day.month <= 6 else 7, 1)


# Kept apart from account_move.py (the sending) so that both evolve without
# conflicts; to be merged into it once the transmission work settles.
class AccountMove(models.Model):
    _inherit = "account.move"  # pylint: disable=consider-merging-classes-inherited

    chorus_state = fields.Selection(
        selection_add=CHORUS_PRO_STATES,
        ondelete={
            "integrated": "set null",
            "available": "set null",
            "suspended": "set null",
            "to_recycle": "set null",
            "payment_ordered": "set null",
            "paid": "set null",
            "rejected": "set null",
            "cancelled": "set null",
        },
        help="To send → Sending → Deposited (the flow waits for Chorus Pro) → "
        "Integrated (DEPOSEE, EN_COURS_ACHEMINEMENT) → Made available "
        "(MISE_A_DISPOSITION: the legal payment period starts; SERVICE_FAIT, "
        "COMPLETEE) → Payment ordered (MANDATEE, COMPTABILISEE) → Paid "
        "(MISE_EN_PAIEMENT). On the way: Suspended (SUSPENDUE: complete it), To "
        "re-route (A_RECYCLER: recycle it), Rejected (by the flow report or "
        "REJETEE: replace it by a credit note and a new invoice), Cancelled "
        "(ABANDONNEE, SUPPRIMEE). Outcome unknown: the deposit is looked up before "
        "any new sending; Error: fix the invoice and send it again. Paid, "
        "Rejected and Cancelled end the follow-up, and so does Payment ordered "
        "for buyers that never report the payment.",
    )
    chorus_portal_state = fields.Selection(
        PORTAL_STATES,
        string="Chorus Pro state for the buyer",
        compute="_compute_chorus_portal_state",
        help="The Chorus Pro state shown to the customer in the portal: the "
        "transmission steps before Chorus Pro integrates the invoice are shown "
        "as one.",
    )
    chorus_identifier = fields.Char(
        "Chorus Pro invoice id", copy=False, readonly=True, index=True
    )
    chorus_status = fields.Selection(
        CHORUS_STATUSES, string="Chorus Pro status", copy=False, readonly=True
    )
    chorus_status_date = fields.Datetime(
        "Chorus Pro status date", copy=False, readonly=True
    )
    chorus_status_comment = fields.Text("Chorus Pro comment", copy=False, readonly=True)
    chorus_status_ids = fields.One2many(
        "chorus.pro.invoice.status",
        "move_id",
        string="Chorus Pro status history",
        readonly=True,
    )
    chorus_available_date = fields.Date(
        "Made available on",
        copy=False,
        readonly=True,
        tracking=True,
        help="The date Chorus Pro notified the buyer: the legal payment period "
        "starts on it.",
    )
    chorus_legal_due_date = fields.Date(
        "Legal due date",
        copy=False,
        readonly=True,
        tracking=True,
        help="Made available date plus the buyer's legal maximum payment delay, "
        "moved by a suspension and its completion.",
    )
    chorus_suspended_date = fields.Date("Suspended on", copy=False, readonly=True)
    chorus_suspension_remaining_days = fields.Integer(
        "Days left at suspension", copy=False, readonly=True
    )
    chorus_completed_date = fields.Date("Completed on", copy=False, readonly=True)
    chorus_payment_date = fields.Date(
        "Paid on",
        compute="_compute_chorus_payment",
        store=True,
        help="Date of the last payment that settled the invoice.",
    )
    chorus_payment_delay = fields.Integer(
        "Payment delay (days)",
        compute="_compute_chorus_payment",
        store=True,
        aggregator="avg",
        help="Days from the made available date to the payment.",
    )
    chorus_days_late = fields.Integer("Days late", compute="_compute_chorus_late")
    chorus_late_rate = fields.Float(
        "Late-payment interest rate (%)",
        compute="_compute_chorus_late",
        digits=(16, 2),
    )
    chorus_late_interest = fields.Monetary(
        "Late-payment interest", compute="_compute_chorus_late"
    )
    chorus_late_indemnity = fields.Monetary(
        "Recovery indemnity", compute="_compute_chorus_late"
    )
    chorus_late_rate_missing = fields.Boolean(
        "No ECB rate known", compute="_compute_chorus_late"
    )
    chorus_claim_origin_id = fields.Many2one(
        "account.move",
        string="Late-payment claim of",
        copy=False,
        readonly=True,
        index="btree_not_null",
        check_company=True,
    )
    chorus_claim_ids = fields.One2many(
        "account.move", "chorus_claim_origin_id", string="Late-payment claims"
    )
    chorus_replacement_id = fields.Many2one(
        "account.move",
        string="Replaced by",
        copy=False,
        readonly=True,
        check_company=True,
    )

    # Computes -------------------------------------------------------------

    def _has_to_be_paid(self):
        # No "Pay Now" in the portal for an invoice sent through Chorus Pro:
        # the buyer's public accountant pays it by transfer once the service
        # has certified it, never by an online payment.
        return super()._has_to_be_paid() and not self.chorus_state

    @api.depends("chorus_state")
    def _compute_chorus_portal_state(self):
        public = {value for value, _label in PORTAL_STATES}
        for move in self:
            state = move.chorus_state
            if state in SENDING_STATES:
                move.chorus_portal_state = "sending"
            else:
                move.chorus_portal_state = state if state in public else False

    @api.depends(
        "payment_state", "chorus_available_date", "line_ids.matched_credit_ids"
    )
    def _compute_chorus_payment(self):
        for move in self:
            paid_on = False
            if move.chorus_available_date and move.payment_state in (
                "paid",
                "in_payment",
            ):
                # The date of the money (or credit note) that settled it.
                partials = move.line_ids.matched_credit_ids
                paid_on = max(partials.credit_move_id.mapped("date"), default=False)
            move.chorus_payment_date = paid_on
            move.chorus_payment_delay = (
                (paid_on - move.chorus_available_date).days if paid_on else 0
            )

    @api.depends(
        "chorus_legal_due_date",
        "chorus_state",
        "chorus_claim_origin_id",
        "chorus_payment_date",
        "amount_total",
        "payment_state",
    )
    def _compute_chorus_late(self):
        today = fields.Date.context_today(self)
        rates = self.env["chorus.ecb.rate"]
        for move in self:
            values = move._chorus_late_figures(today, rates)
            move.chorus_days_late = values["days"]
            move.chorus_late_rate = values["rate"]
            move.chorus_late_interest = values["interest"]
            move.chorus_late_indemnity = values["indemnity"]
            move.chorus_late_rate_missing = values["rate_missing"]

    def _chorus_late_figures(self, today, rates):
        """Legal late-payment interest and indemnity of an invoice to a public
        buyer: from the day after its legal due date until it is paid (today
        while unpaid), at the ECB rate in force on the first day of the
        half-year lateness started in, plus 8 points, on the amount including
        VAT; 40 € once late. None while suspended (the period is on hold)."""
        values = {
            "days": 0,
            "rate": 0.0,
            "interest": 0.0,
            "indemnity": 0.0,
            "rate_missing": False,
        }
        due = self.chorus_legal_due_date
        if (
            not due
            or self.move_type != "out_invoice"
            or self.chorus_claim_origin_id
            or self.chorus_state in ("suspended", "rejected", "cancelled")
        ):
            return values
        if self.payment_state in ("paid", "in_payment"):
            end = self.chorus_payment_date or today
        else:
            end = today
        days = (end - due).days
        if days <= 0:
            return values
        ecb = rates._rate_on(half_year_start(due + timedelta(days=1)))
        rate = (ecb.rate + INTEREST_MARGIN) if ecb else 0.0
        values.update(
            days=days,
            rate=rate,
            interest=self.currency_id.round(
                self.amount_total * rate / 100.0 * days / 365.0
            ),
            indemnity=RECOVERY_INDEMNITY,
            rate_missing=not ecb,
        )
        return values

    # Flow reports -----------------------------------------------------------------

    @api.model
    def _chorus_follow_flows(self, client, company):
        """Read the detailed report of every pending flow of the company and
        settle its invoices. Returns the number of flows that became final."""
        deposits = self.env["chorus.pro.deposit"].search(
            [
                ("company_id", "=", company.id),
                ("state", "=", "pending"),
                ("flow_number", "!=", False),
            ],
            order="id",
        )
        done = 0
        for deposit in deposits:
            try:
                report = client.get_flow_report(deposit.flow_number, deposit.syntax)
            except ChorusProError as error:
                _logger.info(
                    "Chorus Pro: report of flow %s unavailable: %s",
                    deposit.flow_number,
                    error,
                )
                continue
            done += self._chorus_apply_flow_report(deposit, report)
            if can_commit(self.env):
                self.env.cr.commit()  # pylint: disable=invalid-commit
        return done

    @api.model
    def _chorus_apply_flow_report(self, deposit, report):
        """Settle the invoices of a flow from its detailed report: those with a
        per-invoice error (listeErreurDP) are rejected with Chorus Pro's
        reason, the others are integrated; a flow that failed as a whole puts
        its invoices back where they can be sent again. Returns 1 when the flow
        became final."""
        status = report.get("etatCourantDepotFlux") or report.get("etatCourantFlux")
        kind = st.flow_status_kind(status)
        if kind == "pending":
            if status != deposit.flow_status:
                deposit.flow_status = status
            return 0
        dp_errors = {
            str(error.get("numeroDP") or ""): error.get("libelleErreurDP") or ""
            for error in report.get("listeErreurDP") or []
        }
        technical = "\n".join(
            f"{error.get('codeErreur') or '-'}: {error.get('libelleErreur') or ''}"
            for error in report.get("listeErreurTechnique") or []
        )
        moves = deposit.move_ids.filtered(
            lambda move: (
                move.chorus_state == "deposited" and move.chorus_deposit_id == deposit
            )
        )
        rejected = moves.filtered(lambda move: move.name in dp_errors)
        for move in rejected:
            reader = move._chorus_for_readers()
            reader.message_post(
                body=reader.env._(
                    "Chorus Pro rejected the invoice in flow %(flow)s: %(reason)s",
                    flow=deposit.flow_number,
                    reason=dp_errors[move.name],
                )
            )
            reader._chorus_reject(dp_errors[move.name])
        others = moves - rejected
        if kind in ("success", "partial"):
            others._chorus_integrated(deposit.flow_number)
        elif others:
            others._chorus_flow_failed(
                deposit.flow_number,
                status,
                technical or "-",
                resend=status == st.FLOW_INCIDENT,
            )
        errors = "\n".join(
            [f"{number}: {reason}" for number, reason in dp_errors.items()]
            + ([technical] if technical else [])
        )
        deposit.write(
            {
                "flow_status": status,
                "state": {
                    "success": "integrated",
                    "partial": "partial",
                    "failed": "rejected",
                }[kind],
                "error": errors or False,
            }
        )
        return 1

    def _chorus_integrated(self, flow_number):
        for move in self:
            reader = move._chorus_for_readers()
            reader.write({"chorus_state": "integrated", "chorus_error": False})
            reader.message_post(
                body=reader.env._(
                    "Chorus Pro integrated the invoice (flow %(flow)s).",
                    flow=flow_number,
                )
            )

    def _chorus_reject(self, reason):
        """The invoice will never be paid as it is: show Chorus Pro's reason
        and ask the responsible user to replace it."""
        self.ensure_one()
        self.write(
            {
                "chorus_state": "rejected",
                "chorus_error": reason,
                "chorus_status_comment": reason,
            }
        )
        self._chorus_schedule_activity(
            ACTIVITY_REJECTED,
            _lt(
                "Chorus Pro rejected the invoice: %(reason)s. Way out: click "
                "'Replace' on the invoice: a credit note cancels it and a new "
                "invoice is prepared, with a new number; correct it and confirm "
                "it to send it.",
                reason=_reason(reason),
            ),
        )

    def _chorus_flow_failed(self, flow, status, errors, resend):
        """The whole flow failed: nothing of it reached the buyer. Either Chorus
        Pro had an incident (sent again as it is) or the file must be fixed
        first (sent again from the invoice)."""
        for move in self:
            reader = move._chorus_for_readers()
            message = reader.env._(
                "Chorus Pro did not integrate the flow %(flow)s (%(status)s): "
                "%(errors)s",
                flow=flow,
                status=status,
                errors=errors,
            )
            if not resend:
                reader._chorus_fail([message])
                continue
            reader.write(
                {
                    "chorus_state": "to_send",
                    "chorus_error": message,
                    "chorus_next_attempt": False,
                }
            )
            reader.message_post(
                body=reader.env._(
                    "Chorus Pro could not process the flow (%(reason)s): the "
                    "invoice is sent again.",
                    reason=message,
                )
            )
        if resend:
            self.env.ref("l10n_fr_chorus_admin.ir_cron_chorus_send")._trigger()

    # Invoice statuses -------------------------------------------------------------

    @api.model
    def _chorus_followed_domain(self, company):
        return [
            ("company_id", "=", company.id),
            ("move_type", "in", ("out_invoice", "out_refund")),
            "|",
            ("chorus_state", "in", FOLLOWED_STATES),
            "&",
            ("chorus_state", "=", "payment_ordered"),
            ("commercial_partner_id.chorus_paid_status_reported", "=", True),
        ]

    @api.model
    def _chorus_follow_invoices(self, client, company):
        """Search the supplier's invoices whose status changed since the last
        synchronisation (page by page) and apply what changed. Returns the
        number of invoices whose status changed, or None when the search
        failed (the synchronisation date then stays where it was)."""
        moves = self.search(self._chorus_followed_domain(company))
        if not moves:
            return 0
        started = fields.Datetime.now()
        starts = [company.sudo().chorus_followup_sync_date]
        # Invoices not matched yet went through their first statuses when
        # their flow was deposited, maybe before the last synchronisation.
        starts += [
            move.chorus_deposit_id.deposit_date or move.create_date
            for move in moves
            if not move.chorus_identifier
        ]
        starts = [start for start in starts if start]
        since = min(starts) if starts else min(moves.mapped("create_date"))
        day = fields.Datetime.context_timestamp(
            self.with_context(tz=PARIS), since - SYNC_OVERLAP
        ).date()
        try:
            items = client.search_invoices(
                date_from=day, page_size=self._chorus_search_page_size()
            )
        except ChorusProError as error:
            _logger.info("Chorus Pro: invoice search failed: %s", error)
            return None
        by_identifier = {
            move.chorus_identifier: move for move in moves if move.chorus_identifier
        }
        by_number = {
            (move.name, move.chorus_flow_number): move
            for move in moves
            if not move.chorus_identifier
        }
        changed, failed = 0, False
        for item in items:
            identifier = str(item.get("identifiantFactureCPP") or "")
            move = by_identifier.get(identifier) or by_number.get(
                (item.get("numeroFacture"), item.get("numeroFluxDepot"))
            )
            if not move:
                continue
            try:
                applied = move._chorus_for_readers()._chorus_apply_status(item, client)
                changed += applied
                if applied and changed % COMMIT_EVERY == 0 and can_commit(self.env):
                    # Applying a status twice changes nothing: a crash after
                    # this only makes the next run read these pages again.
                    self.env.cr.commit()  # pylint: disable=invalid-commit
            except ChorusProError as error:
                failed = True
                _logger.info(
                    "Chorus Pro: status of invoice %s not applied: %s", move.id, error
                )
        if not failed:
            company.sudo().chorus_followup_sync_date = started
        return changed

    @api.model
    def _chorus_search_page_size(self):
        """Invoices per page of the status search (Chorus Pro's default, 10, is
        small; its maximum is not published)."""
        value = (
            self.env["ir.config_parameter"]
            .sudo()
            .get_param("l10n_fr_chorus_admin.search_page_size", "100")
        )
        try:
            return max(int(value), 1)
        except ValueError:
            return 100

    def _chorus_apply_status(self, item, client):
        """Apply one search result to this invoice. Reads the status history
        only when a date it needs was not seen (the invoice went past
        MISE_A_DISPOSITION or the completion between two synchronisations).
        Returns 1 when the status changed."""
        self.ensure_one()
        status = item.get("statut")
        identifier = str(item.get("identifiantFactureCPP") or "") or False
        moment, day = _parse_moment(item.get("dateHeureEtatCourant"))
        if identifier and identifier != self.chorus_identifier:
            self.chorus_identifier = identifier
        if status not in STATUS_STATE:
            if status != self.chorus_status:
                _logger.info(
                    "Chorus Pro: invoice %s has an unknown status %r, ignored",
                    self.id,
                    status,
                )
            return 0
        if status == self.chorus_status and moment == self.chorus_status_date:
            return 0
        day = day or fields.Date.context_today(self)
        history = None

        def history_dates():
            nonlocal history
            if history is None:
                history = history_status_dates(
                    client.get_invoice_history(int(self.chorus_identifier))
                )
            return history

        # Every HTTP call happens before the first write: a failure changes
        # nothing and the status is applied on the next run.
        available = completed = None
        if status in PERIOD_STARTED and not self.chorus_available_date:
            if status == st.INVOICE_MADE_AVAILABLE:
                available = day
            else:
                available = _parse_moment(
                    history_dates().get(st.INVOICE_MADE_AVAILABLE)
                )[1] or (self.invoice_date or day) + timedelta(
                    days=DAYS_WITHOUT_AVAILABILITY
                )
        suspended = None
        if status == st.INVOICE_COMPLETED and not self._chorus_suspension_open():
            # Suspended and completed between two runs: the suspension date
            # gives what was left of the period.
            suspended = _parse_moment(history_dates().get(st.INVOICE_SUSPENDED))[1]
        if (self._chorus_suspension_open() or suspended) and (
            status != st.INVOICE_SUSPENDED
            and STATUS_STATE[status] not in ("rejected", "cancelled")
        ):
            if status == st.INVOICE_COMPLETED:
                completed = day
            else:
                completed = (
                    _parse_moment(history_dates().get(st.INVOICE_COMPLETED))[1] or day
                )
        comment = item.get("commentaireEtatCourant") or ""
        previous = self.chorus_status
        self.write(
            {
                "chorus_status": status,
                "chorus_status_date": moment,
                "chorus_status_comment": comment,
                "chorus_state": STATUS_STATE[status],
                "chorus_error": False,
                "chorus_status_ids": [
                    Command.create(
                        {"status": status, "date": moment, "comment": comment}
                    )
                ],
            }
        )
        if available:
            self._chorus_start_period(available)
        if status == st.INVOICE_SUSPENDED:
            self._chorus_suspend(day)
        elif suspended:
            self._chorus_suspend(suspended)
        if completed:
            self._chorus_restart_period(completed)
        self._chorus_log_status(status, previous, moment, comment)
        return 1

    def _chorus_log_status(self, status, previous, moment, comment):
        """Tell the chatter (and the salesperson, when Chorus Pro waits for
        them) that the invoice changed status on Chorus Pro."""
        self.ensure_one()
        move = self._chorus_for_readers()
        env = move.env
        labels = dict(move._fields["chorus_status"]._description_selection(env))
        # Chorus Pro dates its statuses in French time.
        when = format_datetime(env, moment, tz=PARIS) if moment else "-"
        body = env._(
            "Chorus Pro status: %(status)s (%(date)s).",
            status=labels.get(status, status),
            date=when,
        )
        if previous:
            body = env._(
                "Chorus Pro status: %(previous)s → %(status)s (%(date)s).",
                previous=labels.get(previous, previous),
                status=labels.get(status, status),
                date=when,
            )
        if comment:
            body += " " + env._("Reason: %(reason)s", reason=comment)
        move.message_post(body=body)
        reason = _reason(comment)
        if status == st.INVOICE_REJECTED:
            move._chorus_reject(comment)
        elif status == st.INVOICE_SUSPENDED:
            move._chorus_schedule_activity(
                ACTIVITY_SUSPENDED,
                _lt(
                    "The buyer suspended the invoice: %(reason)s. Way out: click "
                    "'Complete on Chorus Pro' on the invoice, add a comment and "
                    "the missing documents and send the completion; a new "
                    "payment period then starts.",
                    reason=reason,
                ),
            )
        elif status == st.INVOICE_TO_RECYCLE:
            move._chorus_schedule_activity(
                ACTIVITY_TO_RECYCLE,
                _lt(
                    "The buyer asks to re-route the invoice: %(reason)s. Way out: "
                    "click 'Re-route on Chorus Pro' on the invoice, pick the right "
                    "service or engagement number and recycle it (same number).",
                    reason=reason,
                ),
            )

    # Payment delay ----------------------------------------------------------------

    def _chorus_set_legal_due_date(self, due):
        """The invoice's due date (and its receivable lines') follows the
        legal payment period."""
        self.ensure_one()
        self.write({"chorus_legal_due_date": due})
        if self.move_type != "out_invoice":
            return
        terms = self.line_ids.filtered(lambda line: line.display_type == "payment_term")
        terms.with_context(check_move_validity=False).write({"date_maturity": due})
        self.invoice_date_due = due

    def _chorus_start_period(self, available):
        self.ensure_one()
        days = self.commercial_partner_id.chorus_max_payment_days
        self.chorus_available_date = available
        # Credit notes are not paid by the buyer: no payment period.
        if days and self.move_type == "out_invoice":
            self._chorus_set_legal_due_date(available + timedelta(days=days))

    def _chorus_suspension_open(self):
        self.ensure_one()
        return bool(self.chorus_suspended_date) and (
            not self.chorus_completed_date
            or self.chorus_completed_date < self.chorus_suspended_date
        )

    def _chorus_suspend(self, day):
        """The buyer suspended the period: remember what was left of it."""
        self.ensure_one()
        due = self.chorus_legal_due_date
        remaining = (
            (due - day).days
            if due
            else self.commercial_partner_id.chorus_max_payment_days
        )
        self.write(
            {
                "chorus_suspended_date": day,
                "chorus_suspension_remaining_days": max(remaining, 0),
            }
        )

    def _chorus_restart_period(self, day):
        """Completed: a new period of 30 days starts, or of what was left at
        the suspension if longer."""
        self.ensure_one()
        if not self._chorus_suspension_open():
            return
        days = max(PERIOD_AFTER_COMPLETION, self.chorus_suspension_remaining_days)
        self.chorus_completed_date = day
        self._chorus_set_legal_due_date(day + timedelta(days=days))

    # Cron -----------------------------------------------------------------

    @api.model
    def _cron_chorus_followup(self):
        """Follow what was deposited: flow reports first (they settle the
        invoices of a flow), then the statuses of the followed invoices, company
        by company. Commits per flow and per company outside tests."""
        Deposit = self.env["chorus.pro.deposit"]
        companies = (
            Deposit.search([("state", "=", "pending")]).company_id
            | self.search(
                [
                    ("chorus_state", "in", FOLLOWED_STATES + ("payment_ordered",)),
                ]
            ).company_id
        )
        totals = {"flows": 0, "invoices": 0}
        for index, company in enumerate(companies, 1):
            try:
                client = company._chorus_client()
            except UserError as error:
                _logger.info(
                    "Chorus Pro follow-up skipped for %s: %s", company.name, error
                )
                continue
            totals["flows"] += self._chorus_follow_flows(client, company)
            changed = self._chorus_follow_invoices(client, company)
            totals["invoices"] += changed or 0
            if can_commit(self.env):
                self.env.cr.commit()  # pylint: disable=invalid-commit
            self.env["ir.cron"]._notify_progress(
                done=index, remaining=len(companies) - index
            )
        return totals

    # Actions --------------------------------------------------------------

    def action_chorus_refresh_history(self):
        """Read the full status history from Chorus Pro (one call)."""
        self.ensure_one()
        if not self.chorus_identifier:
            raise UserError(
                self.env._(
                    "This invoice is not known on Chorus Pro yet: its history "
                    "can be read once Chorus Pro has integrated it (the hourly "
                    "follow-up records it)."
                )
            )
        try:
            answer = self.company_id._chorus_client().get_invoice_history(
                int(self.chorus_identifier)
            )
        except ChorusProError as error:
            raise UserError(self.company_id._chorus_user_error(error)) from error
        entries = (answer.get("historiquesDesStatuts") or {}).get("histoStatut") or []
        known = dict(CHORUS_STATUSES)
        commands = [Command.clear()]
        for entry in entries:
            code = entry.get("histoStatutCode")
            if code not in known:
                continue
            commands.append(
                Command.create(
                    {
                        "status": code,
                        "date": _parse_moment(entry.get("histoStatutDatePassage"))[0],
                        "comment": entry.get("histoStatutCommentaire") or "",
                    }
                )
            )
        # The history is what Chorus Pro says: any user following the invoice
        # may reload it, none may edit it by hand (no write access).
        self.check_access("write")
        self.sudo().chorus_status_ids = commands
        return True

    def action_chorus_complete(self):
        self.ensure_one()
        return self._chorus_wizard_action(
            "chorus.pro.complete.wizard",
            self.env._("Complete on Chorus Pro"),
        )

    def action_chorus_recycle(self):
        self.ensure_one()
        return self._chorus_wizard_action(
            "chorus.pro.recycle.wizard", self.env._("Re-route on Chorus Pro")
        )

    def _chorus_wizard_action(self, model, name):
        return {
            "type": "ir.actions.act_window",
            "name": name,
            "res_model": model,
            "view_mode": "form",
            "target": "new",
            "context": {"default_move_id": self.id},
        }

    def action_chorus_replace(self):
        """A rejected invoice is replaced: a credit note cancels it in the books
        (Chorus Pro already closed it, so the credit note is not deposited) and
        a new draft invoice, with a new number once confirmed, is opened."""
        self.ensure_one()
        if self.chorus_replacement_id:
            raise UserError(
                self.env._(
                    "%(invoice)s is already replaced by %(replacement)s: open "
                    "that one.",
                    invoice=self.name,
                    replacement=self.chorus_replacement_id.display_name,
                )
            )
        if self.chorus_state != "rejected":
            raise UserError(
                self.env._(
                    "Only an invoice rejected by Chorus Pro can be replaced: to "
                    "correct %(invoice)s, issue a credit note, then a new "
                    "invoice.",
                    invoice=self.name,
                )
            )
        if self.payment_state not in ("not_paid", "partial"):
            raise UserError(
                self.env._(
                    "%(invoice)s is already settled: it cannot be cancelled by a "
                    "credit note. Unreconcile its payments first, then click "
                    "'Replace' again.",
                    invoice=self.name,
                )
            )
        reversal = (
            self.env["account.move.reversal"]
            .with_context(active_model="account.move", active_ids=self.ids)
            .create(
                {
                    "journal_id": self.journal_id.id,
                    "reason": self.env._(
                        "Rejected on Chorus Pro: %(reason)s",
                        reason=self.chorus_status_comment or self.chorus_error or "-",
                    ),
                }
            )
        )
        action = reversal.modify_moves()
        new_move = self.browse(action.get("res_id"))
        credit_note = self.reversal_move_ids.filtered(
            lambda move: move.move_type == "out_refund"
        )
        # Posted by the wizard, the credit note would be sent: Chorus Pro
        # already closed the invoice it cancels.
        credit_note._chorus_keep_off()
        self.chorus_replacement_id = new_move
        self._chorus_done_activities(
            ACTIVITY_REJECTED,
            self.env._("Replaced by a credit note and a new invoice."),
        )
        self.message_post(
            body=self.env._(
                "Cancelled by the credit note %(credit_note)s (kept off Chorus Pro, "
                "which already rejected the invoice); replaced by a new invoice.",
                credit_note=", ".join(credit_note.mapped("name")),
            )
        )
        return action

    def action_chorus_create_claim(self):
        """Invoice the late-payment interest and the recovery indemnity of this
        late invoice; the claim goes to Chorus Pro as any invoice once
        confirmed."""
        self.ensure_one()
        if self.chorus_claim_origin_id:
            raise UserError(
                self.env._(
                    "%(invoice)s is itself a late-payment claim: it bears no "
                    "late-payment interest, there is nothing to claim.",
                    invoice=self.name,
                )
            )
        if self.move_type != "out_invoice" or not self.chorus_days_late:
            raise UserError(
                self.env._(
                    "%(invoice)s is not paid late: there is nothing to claim "
                    "before the day after its legal due date.",
                    invoice=self.name,
                )
            )
        if self.chorus_late_rate_missing:
            raise UserError(
                self.env._(
                    "No ECB rate is known for the half-year in which %(invoice)s "
                    "became late: add it in Invoicing > Customers > ECB rates, "
                    "then claim again.",
                    invoice=self.name,
                )
            )
        if self.chorus_claim_ids.filtered(lambda move: move.state != "cancel"):
            raise UserError(
                self.env._(
                    "A late-payment claim already exists for %(invoice)s: open "
                    "it from the invoice's Chorus Pro page, or cancel it to "
                    "claim again.",
                    invoice=self.name,
                )
            )
        account = self.journal_id.default_account_id
        tax = self._chorus_claim_tax()
        lines = [
            Command.create(
                {
                    "name": self.env._(
                        "Late-payment interest on invoice %(invoice)s: %(days)s days "
                        "late from %(start)s, at %(rate)s %% on %(amount)s",
                        invoice=self.name,
                        days=self.chorus_days_late,
                        start=format_date(
                            self.env, self.chorus_legal_due_date + timedelta(days=1)
                        ),
                        rate=format(self.chorus_late_rate, ".2f"),
                        amount=formatLang(
                            self.env, self.amount_total, currency_obj=self.currency_id
                        ),
                    ),
                    "quantity": 1,
                    "price_unit": self.chorus_late_interest,
                    "account_id": account.id,
                    "tax_ids": [Command.set(tax.ids)],
                }
            ),
            Command.create(
                {
                    "name": self.env._(
                        "Flat recovery indemnity for invoice %(invoice)s",
                        invoice=self.name,
                    ),
                    "quantity": 1,
                    "price_unit": self.chorus_late_indemnity,
                    "account_id": account.id,
                    "tax_ids": [Command.set(tax.ids)],
                }
            ),
        ]
        claim = self.create(
            {
                "move_type": "out_invoice",
                "partner_id": self.partner_id.id,
                "journal_id": self.journal_id.id,
                "company_id": self.company_id.id,
                "currency_id": self.currency_id.id,
                "partner_bank_id": self.partner_bank_id.id,
                "invoice_payment_term_id": self.invoice_payment_term_id.id,
                "buyer_reference": self.buyer_reference,
                "purchase_order_reference": self.purchase_order_reference,
                "contract_reference": self.contract_reference,
                "invoice_origin": self.name,
                "chorus_claim_origin_id": self.id,
                "invoice_line_ids": lines,
            }
        )
        return {
            "type": "ir.actions.act_window",
            "res_model": "account.move",
            "res_id": claim.id,
            "view_mode": "form",
        }

    def _chorus_claim_tax(self):
        """Late-payment interest and the recovery indemnity bear no VAT, but
        an EN 16931 invoice line needs a tax: the company's 0 % exempt sales
        tax for services."""
        self.ensure_one()
        tax = (
            self.env["account.chart.template"]
            .with_company(self.company_id)
            .ref("tva_sale_service_0", raise_if_not_found=False)
        )
        if not tax:
            tax = self.env["account.tax"].search(
                [
                    *self.env["account.tax"]._check_company_domain(self.company_id),
                    ("type_tax_use", "=", "sale"),
                    ("amount_type", "=", "percent"),
                    ("amount", "=", 0.0),
                ],
                limit=1,
            )
        if not tax:
            raise UserError(
                self.env._(
                    "Create a zero-rate exempt sales tax for %(company)s "
                    "(Invoicing > Configuration > Accounting > Taxes, billing "
                    "administrators), "
                    "then claim again: the late-payment interest and indemnity "
                    "bear no VAT.",
                    company=self.company_id.name,
                )
            )
        return tax

    # Overrides ----------------------------------------------------------------

    def button_draft(self):
        # Once on Chorus Pro, an invoice changes only through a credit note.
        on_chorus = self.filtered(
            lambda move: (
                move.chorus_state
                in (
                    "integrated",
                    "available",
                    "suspended",
                    "to_recycle",
                    "payment_ordered",
                    "paid",
                    "rejected",
                    "cancelled",
                )
            )
        )
        if on_chorus:
            raise UserError(
                self.env._(
                    "%(moves)s already went to Chorus Pro and cannot be reset to "
                    "draft: issue a credit note, then a new invoice.",
                    moves=", ".join(on_chorus.mapped("name")),
                )
            )
        return super().button_draft()
