import base64
import io
import logging
import random
import re
import tarfile
import time
from collections import defaultdict
from datetime import timedelta

from stdnum.fr import siret as stdnum_siret

from odoo import Command, api, fields, models
from odoo.exceptions import UserError
from odoo.service.model import (
    MAX_TRIES_ON_CONCURRENCY_FAILURE,
    PG_CONCURRENCY_EXCEPTIONS_TO_RETRY,
)
from odoo.tools import SQL
from odoo.tools.translate import LazyTranslate

from ..chorus_pro import constants
from ..chorus_pro.exceptions import (
    ChorusProError,
    ChorusProOutcomeUnknownError,
    ChorusProRetryableError,
)
from ..chorus_pro.validation import ValidatorError, get_validator
from ..tools import can_commit, first_active_lang
from ..tools.en16931_terms import EN16931_TERMS

_logger = logging.getLogger(__name__)
_lt = LazyTranslate(__name__)

CHORUS_STATES = [
    ("to_send", "To send"),
    ("sending", "Sending"),
    ("unknown", "Outcome unknown"),
    ("deposited", "Deposited"),
    ("error", "Error"),
]
# Letters (accents included), digits, spaces, "-" and "_": what Chorus Pro
# accepts in a service code.
SERVICE_CODE_RE = re.compile(r"^[\w \-]+$")
# A claim older than this is a worker that died between the deposit and its
# commit: the outcome of that deposit is unknown.
STALE_CLAIM = timedelta(minutes=15)
# Backoff of retryable failures (Chorus Pro unreachable, quota...), by attempt.
RETRY_DELAYS = [timedelta(minutes=m) for m in (1, 5, 15, 60, 240)]
# Bytes a .tar.gz member adds to its file's (header, padding), at most.
TAR_OVERHEAD = 1024
# Invoices posted in the current transaction, marked to send at its end.
PENDING_MARKS = "l10n_fr_chorus_admin.pending_marks"
# For writes of the add-on's own fields only, which change neither the journal
# items nor the amounts: account.move.write would otherwise synchronise the
# invoice's lines, check its balance and flag it as edited by hand, a third of
# the cost of marking a batch of posted invoices.
LIGHT_WRITE = {
    "skip_invoice_sync": True,
    "check_move_validity": False,
    "skip_is_manually_modified": True,
}
# Context key of an invoice switched to its readers' language.
FOR_READERS = "chorus_for_readers"
#: Summary of the activity of an invoice stopped before leaving.
ACTIVITY_NOT_SENT = _lt("Chorus Pro: invoice not sent")
ACTIVITY_NOT_SENT_HINT = _lt(
    "Fix the invoice as said above, then click 'Send to Chorus Pro' on it."
)


class AccountMove(models.Model):
    _inherit = "account.move"

    chorus_state = fields.Selection(
        CHORUS_STATES,
        string="Chorus Pro transmission",
        copy=False,
        readonly=True,
        index=True,
        tracking=True,
    )
    chorus_error = fields.Text("Chorus Pro errors", copy=False, readonly=True)
    chorus_attempts = fields.Integer("Sending attempts", copy=False, readonly=True)
    chorus_next_attempt = fields.Datetime("Next attempt", copy=False, readonly=True)
    chorus_claimed_at = fields.Datetime(
        "Taken for sending at", copy=False, readonly=True
    )
    chorus_deposit_id = fields.Many2one(
        "chorus.pro.deposit", string="Chorus Pro flow", copy=False, readonly=True
    )
    chorus_deposit_ids = fields.Many2many(
        "chorus.pro.deposit",
        "chorus_pro_deposit_account_move_rel",
        "move_id",
        "deposit_id",
        string="Chorus Pro deposits",
        copy=False,
        readonly=True,
    )
    chorus_flow_number = fields.Char(related="chorus_deposit_id.flow_number")

    # Language of what is written for later ------------------------------------

    def _chorus_reader_lang(self):
        """The language of the people who read what the add-on writes on this
        invoice (chatter, activities, errors): its salesperson's, else its
        company's."""
        self.ensure_one()
        return first_active_lang(
            self.env, self.invoice_user_id.lang, self.company_id.partner_id.lang
        )

    def _chorus_for_readers(self):
        """This invoice in its readers' language when nobody's language is
        known: scheduled actions (and the loading of demo data) run without
        one, which would write English. When a user acts, as is: in theirs."""
        self.ensure_one()
        if self.env.lang:
            return self
        lang = self._chorus_reader_lang()
        return self.with_context(lang=lang, **{FOR_READERS: True}) if lang else self

    def _chorus_schedule_activity(self, summary, note, hint=None):
        """Ask the invoice's salesperson to act, in their language: ``summary``
        and ``note`` are lazy terms (``_lt``), or ``note`` a text already
        written; ``hint``, a lazy term, says what to do after it."""
        self.ensure_one()
        user = self.invoice_user_id or self.env.user
        lang = first_active_lang(self.env, user.lang, self.env.lang)
        env = self.with_context(lang=lang).env if lang else self.env
        note = note if isinstance(note, str) else env._(note)
        if hint:
            note = f"{note}\n{env._(hint)}"
        self.activity_schedule(
            "mail.mail_activity_data_todo",
            summary=env._(summary),
            note=note,
            user_id=user.id,
        )

    def _chorus_done_activities(self, summary, feedback):
        """Mark done the activities asking for ``summary`` (a lazy term),
        whatever the language they were written in."""
        summaries = {
            self.with_context(lang=code).env._(summary)
            for code, _name in self.env["res.lang"].get_installed()
        } | {self.with_context(lang="en_US").env._(summary)}
        activities = self.activity_ids.filtered(lambda a: a.summary in summaries)
        if activities:
            activities.action_feedback(feedback=feedback)

    def _track_finalize(self):
        # Tracked changes are labelled in the language of the environment that
        # made the first of them. Without a user's language (scheduled
        # actions), each invoice's changes are labelled in its readers'.
        if self.env.lang and not self.env.context.get(FOR_READERS):
            return super()._track_finalize()
        key = f"mail.tracking.{self._name}"
        initial_values = self.env.cr.precommit.data.get(key) or {}
        by_lang = defaultdict(dict)
        changed = [id_ for id_, values in initial_values.items() if values]
        for move in self.browse(changed).sudo():
            by_lang[move._chorus_reader_lang()][move.id] = initial_values[move.id]
        if len(by_lang) <= 1:
            lang = next(iter(by_lang), None)
            return super(
                AccountMove, self.with_context(lang=lang) if lang else self
            )._track_finalize()
        for lang, values in by_lang.items():
            self.env.cr.precommit.data[key] = values
            super(
                AccountMove, self.with_context(lang=lang) if lang else self
            )._track_finalize()
        return None

    # Which invoices go to Chorus Pro -------------------------------------------

    def _chorus_is_eligible(self):
        """A posted customer invoice or credit note of a public customer, not
        (or not successfully) sent to Chorus Pro yet: what may be sent."""
        self.ensure_one()
        return (
            self.state == "posted"
            and self.move_type in ("out_invoice", "out_refund")
            and self.commercial_partner_id.chorus_is_public
            and self.chorus_state in (False, "error")
        )

    def _chorus_is_applicable(self):
        """Eligible, and the customer is invoiced through Chorus Pro (its
        sending method, stored per company): sent without anyone asking."""
        self.ensure_one()
        partner = self.commercial_partner_id.with_company(self.company_id)
        return (
            self._chorus_is_eligible()
            and partner.invoice_sending_method == "chorus_pro"
        )

    def _chorus_queue_posted(self):
        """Called by the automation rule, once per posted invoice: note the
        invoice; all of the transaction's invoices are marked in one write
        just before it commits (a write per invoice would cost more than the
        posting itself), or when the sending cron runs in the same transaction.
        """
        pending = self.env.cr.precommit.data.setdefault(PENDING_MARKS, set())
        if not pending:
            self.env.cr.precommit.add(self.env["account.move"]._chorus_mark_pending)
        pending.update(self.ids)

    @api.model
    def _chorus_mark_pending(self):
        ids = self.env.cr.precommit.data.pop(PENDING_MARKS, None)
        if ids:
            self.sudo().browse(sorted(ids)).exists()._chorus_mark_to_send()
            # Precommit hooks run after the transaction's last flush.
            self.env.flush_all()

    def _chorus_keep_off(self):
        """Never send these invoices (e.g. a credit note cancelling an invoice
        Chorus Pro rejected): out of the queue, marks pending in this
        transaction included."""
        pending = self.env.cr.precommit.data.get(PENDING_MARKS)
        if pending:
            pending.difference_update(self.ids)
        self.filtered(lambda move: move.chorus_state == "to_send").write(
            {"chorus_state": False}
        )

    def _chorus_mark_to_send(self, manual=False):
        """Mark the invoices to send and wake the sending cron. No HTTP here.

        Called by the automation rule in the posting transaction, and with
        ``manual`` by Send & Print, where the user chose Chorus Pro whatever
        the customer's usual sending method."""
        to_send = self.filtered(
            lambda move: (
                move._chorus_is_eligible() if manual else move._chorus_is_applicable()
            )
        )
        if not to_send:
            return
        # Not tracked in the chatter: it coincides with the posting (or the
        # user's choice), and a message per invoice would double the posting
        # time; what follows (deposited, error...) is tracked.
        to_send.with_context(tracking_disable=True, **LIGHT_WRITE).write(
            {
                "chorus_state": "to_send",
                "chorus_error": False,
                "chorus_next_attempt": False,
            }
        )
        # Wake the cron once per transaction (the queue's data ends with it).
        data = self.env.cr.precommit.data
        if not data.get("chorus_send_triggered"):
            data["chorus_send_triggered"] = True
            self.env.ref("l10n_fr_chorus_admin.ir_cron_chorus_send")._trigger()

    # Checks before anything leaves ----------------------------------------------

    def _chorus_check_errors(self):
        """What prevents this invoice from being accepted by Chorus Pro, as
        messages naming the field to fix. Empty when it can be sent."""
        self.ensure_one()
        errors = []
        partner = self.commercial_partner_id
        company = self.company_id
        if not stdnum_siret.is_valid((company.siret or "").replace(" ", "")):
            errors.append(
                self.env._(
                    "The company %(company)s has no valid SIRET: correct it in "
                    "Settings > Users & Companies > Companies.",
                    company=company.name,
                )
            )
        if not stdnum_siret.is_valid((partner.siret or "").replace(" ", "")):
            errors.append(
                self.env._(
                    "The customer %(partner)s has no valid SIRET: correct it on "
                    "the customer's form.",
                    partner=partner.display_name,
                )
            )
        if self.currency_id.name != "EUR":
            errors.append(
                self.env._(
                    "Chorus Pro only accepts invoices in euros, not in "
                    "%(currency)s: reset the invoice to draft and set its "
                    "currency to EUR.",
                    currency=self.currency_id.name,
                )
            )
        if len(self.name or "") > constants.MAX_INVOICE_NUMBER:
            errors.append(
                self.env._(
                    "The invoice number %(number)s is longer than %(max)s "
                    "characters: shorten the journal's sequence prefix.",
                    number=self.name,
                    max=constants.MAX_INVOICE_NUMBER,
                )
            )
        errors += self._chorus_check_references()
        errors += self._chorus_attachment_errors()
        if self.move_type == "out_invoice" and (
            not self.partner_bank_id or self.partner_bank_id.acc_type != "iban"
        ):
            errors.append(
                self.env._(
                    "Public buyers pay by bank transfer: set the company's IBAN "
                    "as the invoice's recipient bank (Other Info tab)."
                )
            )
        return errors

    @api.model
    def _chorus_service_code_errors(self, service_code, field_label=None):
        """What Chorus Pro refuses in a service code whatever the buyer: the
        reserved code, characters, length. Shared with the mandate approval,
        which names its own field (``field_label``, translated)."""
        if not service_code:
            return []
        field_label = field_label or self.env._("the Buyer Reference (Other Info tab)")
        if service_code == constants.RESERVED_SERVICE_CODE:
            return [
                self.env._(
                    "The service %(code)s is reserved to invoices between "
                    "public entities: ask the buyer for its own service code "
                    "and enter it in %(field)s.",
                    code=service_code,
                    field=field_label,
                )
            ]
        if not SERVICE_CODE_RE.match(service_code) or (
            len(service_code) > constants.MAX_SERVICE_CODE
        ):
            return [
                self.env._(
                    "The service code %(code)s may only hold letters, digits, "
                    "spaces, '-' and '_' (%(max)s characters at most): correct "
                    "%(field)s.",
                    code=service_code,
                    max=constants.MAX_SERVICE_CODE,
                    field=field_label,
                )
            ]
        return []

    def _chorus_check_references(self):
        """Service code and engagement number against what the buyer's
        structure and service require."""
        errors = []
        partner = self.commercial_partner_id
        service_code = (self.buyer_reference or "").strip()
        engagement = (self.purchase_order_reference or "").strip()
        requirement = partner.chorus_requirement or "none"
        service = self.env["chorus.pro.service"]
        format_errors = self._chorus_service_code_errors(service_code)
        errors += format_errors
        if service_code and not format_errors:
            # Once the buyer's services are known, the code must be one of its
            # active services.
            known = partner.with_context(active_test=False).chorus_service_ids
            service = known.filtered(lambda s: s.code == service_code and s.active)
            if known and not service:
                errors.append(
                    self.env._(
                        "%(partner)s has no active Chorus Pro service "
                        "%(code)s: enter one of its services in the Buyer "
                        "Reference (Other Info tab), or click 'Look up on "
                        "Chorus Pro' on the customer if the buyer created it "
                        "lately.",
                        partner=partner.display_name,
                        code=service_code,
                    )
                )
        if len(engagement) > constants.MAX_ENGAGEMENT_NUMBER:
            errors.append(
                self.env._(
                    "The engagement number %(number)s is longer than %(max)s "
                    "characters: correct the Purchase Order Reference (Other "
                    "Info tab).",
                    number=engagement,
                    max=constants.MAX_ENGAGEMENT_NUMBER,
                )
            )
        needs_service = requirement in ("service", "service_and_engagement")
        needs_engagement = requirement in (
            "engagement",
            "service_and_engagement",
        ) or bool(service.engagement_required)
        if needs_service and not service_code:
            errors.append(
                self.env._(
                    "%(partner)s requires a service code on every invoice: fill "
                    "in the Buyer Reference (Other Info tab).",
                    partner=partner.display_name,
                )
            )
        if needs_engagement and not engagement:
            errors.append(
                self.env._(
                    "%(partner)s requires an engagement number on this invoice: "
                    "fill in the Purchase Order Reference (Other Info tab).",
                    partner=partner.display_name,
                )
            )
        if requirement == "service_or_engagement" and not (service_code or engagement):
            errors.append(
                self.env._(
                    "%(partner)s requires a service code or an engagement number "
                    "on every invoice: fill in the Buyer Reference or the "
                    "Purchase Order Reference (Other Info tab).",
                    partner=partner.display_name,
                )
            )
        return errors

    # Sending ----------------------------------------------------------------------

    def _chorus_fail(self, errors):
        """Stop: show why on the invoice and ask its responsible user to act
        (``errors``: messages written for the invoice's readers)."""
        self.ensure_one()
        message = "\n".join(errors)
        self.write({"chorus_state": "error", "chorus_error": message})
        self._chorus_schedule_activity(
            ACTIVITY_NOT_SENT, message, hint=ACTIVITY_NOT_SENT_HINT
        )

    @api.model
    def _chorus_claim(self, limit):
        """Take a batch of invoices to send that no other worker holds, and
        mark them as being sent (committed before anything leaves)."""
        now = fields.Datetime.now()
        self.flush_model(["chorus_state", "chorus_next_attempt"])
        rows = self.env.execute_query(
            SQL(
                """
                SELECT id FROM account_move
                 WHERE chorus_state = 'to_send'
                   AND (chorus_next_attempt IS NULL OR chorus_next_attempt <= %s)
                 ORDER BY id
                 LIMIT %s
                   FOR UPDATE SKIP LOCKED
                """,
                now,
                limit,
            )
        )
        moves = self.browse(row[0] for row in rows)
        for attempts, claimed in moves.grouped("chorus_attempts").items():
            claimed.with_context(**LIGHT_WRITE).write(
                {
                    "chorus_state": "sending",
                    "chorus_claimed_at": now,
                    "chorus_attempts": attempts + 1,
                }
            )
        return moves

    def _chorus_retry_later(self, error):
        """Put the invoice back in the queue after a transient failure of
        Chorus Pro or of the document validation."""
        self.ensure_one()
        delay = RETRY_DELAYS[min(self.chorus_attempts, len(RETRY_DELAYS)) - 1]
        if getattr(error, "retry_after", None):
            delay = max(delay, timedelta(seconds=error.retry_after))
        reader = self._chorus_for_readers()
        if isinstance(error, ChorusProError):
            message = reader.env._(
                "Chorus Pro cannot be reached right now (%(reason)s): the invoice "
                "is sent again automatically (Next attempt); nothing to do.",
                reason=reader.company_id._chorus_error_detail(error),
            )
        else:
            message = reader.env._(
                "The document could not be checked right now: the invoice is "
                "sent again automatically (Next attempt); nothing to do."
            )
        self.write(
            {
                "chorus_state": "to_send",
                "chorus_next_attempt": fields.Datetime.now() + delay,
                "chorus_error": message,
            }
        )

    def _chorus_prepare_documents(self):
        """Check, build and validate the documents of these invoices; the
        invoices that fail are stopped with the reasons. Returns the documents
        that may leave, by invoice."""
        documents, readers = {}, {}
        for move in self:
            # What stops an invoice is written for its readers.
            reader = move._chorus_for_readers()
            errors = reader._chorus_check_errors()
            if errors:
                reader._chorus_fail(errors)
            else:
                readers[move] = reader
        pdfs = (
            self.browse(move.id for move in readers)
            .filtered(lambda move: move._chorus_syntax() == constants.SYNTAX_FACTURX)
            ._chorus_render_pdfs()
        )
        for move, reader in readers.items():
            try:
                document = reader._chorus_build_document(
                    move._chorus_syntax(), pdf=pdfs.get(move.id)
                )
            except UserError as error:
                reader._chorus_fail([str(error)])
                continue
            if len(document["content"]) > constants.MAX_FLOW_BYTES:
                reader._chorus_fail(
                    [
                        reader.env._(
                            "The document of %(move)s weighs %(size)s MB, over "
                            "the %(max)s MB Chorus Pro accepts in a flow: remove "
                            "what makes its PDF so large (pictures).",
                            move=move.name,
                            size=len(document["content"]) // (1024 * 1024),
                            max=constants.MAX_FLOW_BYTES // (1024 * 1024),
                        )
                    ]
                )
                continue
            documents[move] = document
        if not documents:
            return documents
        try:
            results = get_validator().validate(
                [
                    (document["syntax"], document["content"], move.name)
                    for move, document in documents.items()
                ]
            )
        except ValidatorError as error:
            # The validator itself failed: nothing leaves unchecked; retried.
            _logger.warning("Chorus Pro document validation unavailable: %s", error)
            for move in documents:
                move._chorus_retry_later(error)
            return {}
        for (move, _document), result in zip(
            list(documents.items()), results, strict=True
        ):
            if not result.ok:
                reader = move._chorus_for_readers()
                reader._chorus_fail(reader._chorus_validation_messages(result))
                del documents[move]
        return documents

    def _chorus_validation_messages(self, result):
        """What a user can act on: the field concerned, not an XPath."""
        messages = [
            self.env._("The document could not be checked: %(error)s", error=error)
            for error in result.errors
        ]
        messages += [
            self.env._("Invalid document structure: %(error)s", error=error)
            for error in result.xsd_errors
        ]
        messages += [
            self.env._(
                "EN 16931 rule %(rule)s (%(field)s): %(message)s",
                rule=failure.rule or "-",
                field=(
                    self.env._(EN16931_TERMS[failure.term])
                    if failure.term in EN16931_TERMS
                    else failure.field or failure.term or "-"
                ),
                # The rule's own text, as the standard words it.
                message=failure.message,
            )
            for failure in result.en16931
            if failure.flag == "fatal"
        ]
        if messages:
            messages.append(
                self.env._(
                    "Correct what these checks name on the invoice, its "
                    "customer or the company; if they name nothing you can "
                    "change, give them to your administrator."
                )
            )
        return messages

    def _chorus_deposit(self, client, document):
        """Deposit these invoices' document (one invoice's file, or a .tar.gz of
        several) as one flow."""
        syntax = document["syntax"]
        deposit = self.env["chorus.pro.deposit"].create(
            {
                "company_id": self.company_id.id,
                "syntax": syntax,
                "filename": document["filename"],
                "file": base64.b64encode(document["content"]),
                "attempts": 1,
                "move_ids": [Command.set(self.ids)],
            }
        )
        self.chorus_deposit_id = deposit
        if can_commit(self.env):
            # The deposit record and the 'sending' state are known before the
            # request leaves: a crash now is recoverable without a duplicate.
            self.env.cr.commit()  # pylint: disable=invalid-commit
        try:
            answer = client.deposit_flow(
                document["content"], document["filename"], syntax
            )
        except ChorusProOutcomeUnknownError as error:
            for move in self:
                move.write(
                    {
                        "chorus_state": "unknown",
                        "chorus_error": move._chorus_unknown_outcome_message(error),
                    }
                )
            deposit.write(
                {
                    "state": "unknown",
                    "error": self[0]._chorus_unknown_outcome_message(error),
                }
            )
            return
        except ChorusProRetryableError as error:
            for move in self:
                move._chorus_retry_later(error)
            deposit.write({"state": "error", "error": self[0].chorus_error})
            return
        except ChorusProError as error:
            for move in self:
                reader = move._chorus_for_readers()
                reader._chorus_fail([reader.company_id._chorus_user_error(error)])
            deposit.write({"state": "error", "error": self[0].chorus_error})
            return
        deposit.write(
            {
                "state": "pending",
                "flow_number": answer["numeroFluxDepot"],
                "deposit_date": fields.Datetime.now(),
            }
        )
        self._chorus_mark_deposited()

    def _chorus_mark_deposited(self):
        """Chorus Pro has the invoices: what asked to fix them is done."""
        self.write({"chorus_state": "deposited", "chorus_error": False})
        for move in self.filtered("activity_ids"):
            reader = move._chorus_for_readers()
            reader._chorus_done_activities(
                ACTIVITY_NOT_SENT, reader.env._("Sent to Chorus Pro.")
            )

    def _chorus_unknown_outcome_message(self, error):
        """Why an invoice waits in 'Outcome unknown', for its readers."""
        self.ensure_one()
        reader = self._chorus_for_readers()
        return reader.env._(
            "Chorus Pro's answer to the deposit was lost (%(reason)s): the "
            "invoice is looked up on Chorus Pro and sent again only if it is "
            "not there; nothing to do, do not send it by hand.",
            reason=reader.company_id._chorus_error_detail(error),
        )

    @api.model
    def _chorus_flows(self, documents, per_flow):
        """Group validated documents into flows: one per invoice, or .tar.gz
        archives of at most ``per_flow`` invoices of one syntax and 120 MB.
        Yields ``(invoices, document)``."""
        if per_flow <= 1:
            for move, document in documents.items():
                yield move, document
            return
        by_syntax = defaultdict(list)
        for move, document in documents.items():
            by_syntax[document["syntax"]].append((move, document))
        for syntax, items in by_syntax.items():
            chunk, size = [], 0
            for move, document in items:
                # Uncompressed sizes: an upper bound of the archive's size.
                length = len(document["content"]) + TAR_OVERHEAD
                if chunk and (
                    len(chunk) >= per_flow or size + length > constants.MAX_FLOW_BYTES
                ):
                    yield self._chorus_archive(syntax, chunk)
                    chunk, size = [], 0
                chunk.append((move, document))
                size += length
            if chunk:
                yield self._chorus_archive(syntax, chunk)

    @api.model
    def _chorus_archive(self, syntax, items):
        """One invoice alone as it is; several in a .tar.gz of their files."""
        if len(items) == 1:
            return items[0]
        buffer = io.BytesIO()
        with tarfile.open(fileobj=buffer, mode="w:gz") as archive:
            for _move, document in items:
                member = tarfile.TarInfo(document["filename"])
                member.size = len(document["content"])
                member.mtime = int(time.time())
                archive.addfile(member, io.BytesIO(document["content"]))
        moves = self.browse().union(*(move for move, _document in items))
        stamp = fields.Datetime.now().strftime("%Y%m%d%H%M%S")
        filename = f"FLUX_{moves[0].id}_{len(moves)}_{stamp}.tar.gz"
        return moves, {
            "syntax": syntax,
            "filename": filename[: constants.MAX_ATTACHMENT_NAME],
            "content": buffer.getvalue(),
        }

    def _chorus_syntax(self):
        self.ensure_one()
        partner = self.commercial_partner_id
        return partner.chorus_syntax or self.company_id.chorus_syntax

    def _chorus_send_claimed(self):
        """Send invoices this worker claimed, company by company: every
        document is checked and validated (in one batch) before any leaves."""
        for company in self.company_id:
            moves = self.filtered(
                lambda move, company=company: move.company_id == company
            )
            if company._chorus_configuration_error():
                for move in moves:
                    reader = move._chorus_for_readers()
                    reader._chorus_fail(
                        [reader.company_id._chorus_configuration_error()]
                    )
                continue
            client = company._chorus_client()
            documents = moves._chorus_prepare_documents()
            per_flow = company.chorus_invoices_per_flow
            for flow_moves, document in self._chorus_flows(documents, per_flow):
                flow_moves._chorus_deposit(client, document)
                if can_commit(self.env):
                    self.env.cr.commit()  # pylint: disable=invalid-commit

    @api.model
    def _chorus_recover_stale_claims(self):
        """A worker that died after claiming invoices left them 'sending': their
        deposit may have reached Chorus Pro, so their outcome is unknown."""
        stale = self.search(
            [
                ("chorus_state", "=", "sending"),
                ("chorus_claimed_at", "<", fields.Datetime.now() - STALE_CLAIM),
            ]
        )
        # The draft deposit is committed just before the request leaves: without
        # one made for this claim, nothing left and the invoice is simply sent.
        left = stale.filtered(
            lambda move: (
                move.chorus_deposit_id.state == "draft"
                and move.chorus_deposit_id.create_date >= move.chorus_claimed_at
            )
        )
        left.write({"chorus_state": "unknown"})
        left.chorus_deposit_id.write({"state": "unknown"})
        (stale - left).write({"chorus_state": "to_send", "chorus_next_attempt": False})
        return stale

    def _chorus_resolve_unknown(self, client):
        """Look an invoice whose deposit outcome is unknown up on Chorus Pro by
        its number: found, it was deposited; not found once Chorus Pro has had
        time to process any flow, it is sent again."""
        self.ensure_one()
        found = [
            invoice
            for invoice in client.search_invoices(invoice_number=self.name)
            if invoice.get("numeroFacture") == self.name
        ]
        if found:
            flow_number = found[0].get("numeroFluxDepot")
            deposit = self.chorus_deposit_id
            if deposit:
                deposit.write({"state": "pending", "flow_number": flow_number or False})
            self._chorus_mark_deposited()
            return
        grace = timedelta(
            minutes=int(
                self.env["ir.config_parameter"]
                .sudo()
                .get_param("l10n_fr_chorus_admin.unknown_outcome_grace_minutes", 60)
            )
        )
        if (self.chorus_claimed_at or self.write_date) + grace <= fields.Datetime.now():
            self.write({"chorus_state": "to_send", "chorus_next_attempt": False})

    @api.model
    def _chorus_in_new_transaction(self, step):
        """Run ``step`` first in a transaction of its own, and again in a new
        one when PostgreSQL refuses it because another worker changed the same
        invoices since it began (serialization failure, lock, deadlock), as
        Odoo does for requests. Under tests, which never commit, just run it.
        """
        if not can_commit(self.env):
            return step()
        for attempt in range(1, MAX_TRIES_ON_CONCURRENCY_FAILURE + 1):
            self.env.cr.commit()  # pylint: disable=invalid-commit
            try:
                return step()
            except PG_CONCURRENCY_EXCEPTIONS_TO_RETRY:
                if attempt == MAX_TRIES_ON_CONCURRENCY_FAILURE:
                    raise
                self.env.cr.rollback()
                _logger.info("Chorus Pro: concurrent update, attempt %s", attempt + 1)
                time.sleep(random.uniform(0.1, 0.5) * attempt)  # noqa: S311
        return None

    @api.model
    def _cron_chorus_send(self, batch_size=50, limit=None):
        """Send every invoice marked to send, in batches claimed with row locks
        that other workers skip; each batch is committed."""
        # Sending writes only the add-on's fields of the invoices.
        self = self.with_context(**LIGHT_WRITE)
        self._chorus_mark_pending()
        self._chorus_in_new_transaction(self._chorus_recover_stale_claims)
        clients = {}
        for move in self.search([("chorus_state", "=", "unknown")]):
            try:
                if move.company_id not in clients:
                    clients[move.company_id] = move.company_id._chorus_client()
                move._chorus_resolve_unknown(clients[move.company_id])
            except (ChorusProError, UserError) as error:
                _logger.info("Chorus Pro: invoice %s still unknown: %s", move.id, error)
        done = 0
        while limit is None or done < limit:
            moves = self._chorus_in_new_transaction(
                lambda: self._chorus_claim(batch_size)
            )
            if not moves:
                break
            if can_commit(self.env):
                self.env.cr.commit()  # pylint: disable=invalid-commit
            moves._chorus_send_claimed()
            done += len(moves)
            remaining = self.search_count([("chorus_state", "=", "to_send")])
            self.env["ir.cron"]._notify_progress(done=done, remaining=remaining)
        return done

    def action_chorus_retry(self):
        """Send again invoices stopped by an error, once fixed."""
        for move in self:
            errors = move._chorus_check_errors()
            if errors:
                raise UserError("\n".join(errors))
        self.write({"chorus_state": False})
        self._chorus_mark_to_send()

    @api.depends("chorus_state")
    def _compute_show_reset_to_draft_button(self):
        # Hidden once Chorus Pro may hold the invoice (button_draft refuses).
        result = super()._compute_show_reset_to_draft_button()
        for move in self:
            if move.chorus_state not in (False, "to_send", "error"):
                move.show_reset_to_draft_button = False
        return result

    def button_draft(self):
        # A document Chorus Pro may hold cannot change any more: the way out is
        # a credit note. One not sent yet simply stops being sent.
        sent = self.filtered(
            lambda move: move.chorus_state not in (False, "to_send", "error")
        )
        if sent:
            raise UserError(
                self.env._(
                    "%(moves)s already went to Chorus Pro and cannot be reset to "
                    "draft: issue a credit note, then a new invoice.",
                    moves=", ".join(sent.mapped("name")),
                )
            )
        self.filtered(lambda move: move.chorus_state in ("to_send", "error")).write(
            {"chorus_state": False, "chorus_error": False}
        )
        return super().button_draft()
