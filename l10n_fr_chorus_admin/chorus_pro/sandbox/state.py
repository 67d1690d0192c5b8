"""In-memory state of the sandbox: tokens, flows, invoices and their lifecycle.

Every public method takes the decoded JSON body of a request and returns the
JSON answer, or raises :class:`Refusal` (HTTP status, ``codeRetour``,
``libelle`` and a short reason counted in the statistics). One lock guards the
whole state: the sandbox favours being right over being fast.

Return codes the sandbox uses (only 20000, 20001 and 20003 are documented by
Chorus Pro; the others are the sandbox's own, all non-zero as Chorus Pro's):

=====  =====  ===========================================================
code   HTTP   meaning
=====  =====  ===========================================================
20000  200    nothing found (invoice search, label ``TRA_MSG_00.015``)
20001  200    flow over the size limit (label ``GDP_MSG_11.022``)
20002  400    malformed request: not JSON, missing field, wrong JSON type
20003  200    attachment of 10 MB or more
20004  200    attachment name over 50 characters or without extension
20005  200    unknown structure, service, flow, invoice or attachment
20006  200    the invoice's status does not allow this action
20007  200    the new routing of a recycled invoice is invalid
20008  400    unknown ``syntaxeFlux``
20009  400    ``fichierFlux`` / ``pieceJointeFichier`` is not valid base64
20010  400    the file does not parse as its syntax says
20011  200    engagement search for a structure the user is not attached to
=====  =====  ===========================================================
"""

import base64
import binascii
import datetime
import itertools
import random
import secrets
import threading
import time
from dataclasses import asdict, dataclass, field
from typing import ClassVar

from .. import statuses as st
from ..constants import (
    CODE_ATTACHMENT_TOO_LARGE,
    CODE_FILE_TOO_LARGE,
    CODE_NOTHING_FOUND,
    DEFAULT_PAGE_SIZE,
    INVOICE_TYPES,
    LABEL_NOTHING_FOUND,
    LABEL_OK,
    MAX_ATTACHMENT_BYTES,
    MAX_ATTACHMENT_NAME,
    MAX_ENGAGEMENT_NUMBER,
    MAX_FLOW_BYTES,
    MAX_INVOICE_NUMBER,
    MAX_SERVICE_CODE,
    RESERVED_SERVICE_CODE,
    SUPPORTED_SYNTAXES,
    TYPE_INVOICE,
)
from . import fixtures
from .documents import DocumentError, is_archive_name, parse_flow

try:
    from zoneinfo import ZoneInfo

    PARIS = ZoneInfo("Europe/Paris")
except (ImportError, KeyError, OSError):  # no tz database: UTC is coherent too
    PARIS = datetime.timezone.utc

CODE_BAD_REQUEST = 20002
CODE_BAD_ATTACHMENT_NAME = 20004
CODE_UNKNOWN = 20005
CODE_BAD_STATUS = 20006
CODE_BAD_ROUTING = 20007
CODE_UNKNOWN_SYNTAX = 20008
CODE_BAD_BASE64 = 20009
CODE_BAD_FILE = 20010
CODE_NOT_ATTACHED = 20011

#: Pending statuses a flow shows on successive report calls before its final one.
FLOW_PENDING_STEPS = (
    st.FLOW_RECEIVED,
    "IN_TRAITE_SE_CPP",
    "IN_EN_ATTENTE_TRAITEMENT_CPP",
    "IN_EN_COURS_TRAITEMENT_CPP",
)
#: Steps the sandbox walks through when invoices advance by elapsed time.
AUTO_PATH = (
    st.INVOICE_DEPOSITED,
    st.INVOICE_ROUTING,
    st.INVOICE_MADE_AVAILABLE,
    st.INVOICE_SERVICE_DONE,
    st.INVOICE_PAYMENT_ORDERED,
    st.INVOICE_PAID,
)
#: Every step of the usual path the admin API may move an invoice to: the
#: automatic ones and the optional steps some buyers report.
ADMIN_PATH = (
    st.INVOICE_DEPOSITED,
    st.INVOICE_ROUTING,
    st.INVOICE_MADE_AVAILABLE,
    st.INVOICE_TAKEN_OVER,
    st.INVOICE_SERVICE_DONE,
    st.INVOICE_PAYMENT_ORDERED,
    st.INVOICE_MADE_AVAILABLE_ACCOUNTING,
    st.INVOICE_ACCOUNTED,
    st.INVOICE_PAID,
)
#: Where each exceptional status may come from: any status that is not final.
EXCEPTION_STATUSES = (
    st.INVOICE_SUSPENDED,
    st.INVOICE_TO_RECYCLE,
    st.INVOICE_REJECTED,
    st.INVOICE_ABANDONED,
    st.INVOICE_DELETED,
)
SORT_COLUMNS = {
    "identifiantfacturecpp": lambda inv: inv.id,
    "numerofacture": lambda inv: inv.number,
    "datedepot": lambda inv: (inv.deposited_at, inv.id),
    "dateheureetatcourant": lambda inv: (inv.status_at, inv.id),
    "montantttc": lambda inv: (inv.total_including_tax or 0, inv.id),
    "statut": lambda inv: (inv.status, inv.id),
}


class Refusal(Exception):
    """A request the sandbox refuses: answered ``http_status`` with ``code`` and
    ``label``; ``reason`` is the key counted in ``stats.refused``."""

    def __init__(self, http_status, code, label, reason):
        super().__init__(label)
        self.http_status = http_status
        self.code = code
        self.label = label
        self.reason = reason

    def body(self):
        return {"codeRetour": self.code, "libelle": self.label}


def now():
    return datetime.datetime.now(PARIS)


def fmt_datetime(value):
    return value.astimezone(PARIS).isoformat(timespec="milliseconds") if value else None


def fmt_date(value):
    return value.astimezone(PARIS).date().isoformat() if value else None


def ok(**values):
    return dict({"codeRetour": 0, "libelle": LABEL_OK}, **values)


# --- request checking ----------------------------------------------------------

_TYPE_NAMES = {
    int: "entier",
    str: "chaîne",
    bool: "booléen",
    list: "liste",
    dict: "objet",
}


def _get(body, name, kind, required=False, default=None):
    """Read ``body[name]`` strictly: JSON ``true`` is no integer, ``"12"`` no
    number."""
    if name not in body or body[name] is None:
        if required:
            raise Refusal(
                400,
                CODE_BAD_REQUEST,
                f"Paramètre obligatoire absent : {name}",
                "missing_field",
            )
        return default
    value = body[name]
    valid = isinstance(value, kind) and not (kind is int and isinstance(value, bool))
    if not valid:
        raise Refusal(
            400,
            CODE_BAD_REQUEST,
            f"Type invalide pour {name} : {_TYPE_NAMES[kind]} attendu",
            "wrong_type",
        )
    return value


def _get_str_list(body, name):
    values = _get(body, name, list, default=[])
    if not all(isinstance(v, str) for v in values):
        raise Refusal(
            400,
            CODE_BAD_REQUEST,
            f"Type invalide pour {name} : liste de chaînes attendue",
            "wrong_type",
        )
    return values


def _paging(body, key):
    paging = _get(body, key, dict, default={})
    size = _get(paging, "nbResultatsParPage", int, default=DEFAULT_PAGE_SIZE)
    page = _get(paging, "pageResultatDemandee", int, default=1)
    column = _get(paging, "triColonne", str)
    direction = _get(paging, "triSens", str, default="Ascendant")
    if size < 1 or page < 1:
        raise Refusal(
            400,
            CODE_BAD_REQUEST,
            "Pagination invalide : valeurs positives attendues",
            "invalid_value",
        )
    if direction not in ("Ascendant", "Descendant"):
        raise Refusal(
            400,
            CODE_BAD_REQUEST,
            "triSens invalide : Ascendant ou Descendant",
            "invalid_value",
        )
    return size, page, column, direction == "Descendant"


def _page(items, size, page):
    total = len(items)
    pages = (total + size - 1) // size
    chunk = items[(page - 1) * size : page * size]
    return chunk, {
        "nbResultatsParPage": size,
        "pageCourante": page,
        "pages": pages,
        "total": total,
    }


def _parse_period(value, name, end_of_day):
    try:
        if len(value) == 10:
            day = datetime.date.fromisoformat(value)
            moment = datetime.datetime.combine(
                day, datetime.time.max if end_of_day else datetime.time.min
            )
        else:
            moment = datetime.datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError as exc:
        raise Refusal(
            400,
            CODE_BAD_REQUEST,
            f"Date invalide pour {name} : {value}",
            "invalid_value",
        ) from exc
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=PARIS)
    return moment


def _decode_base64(value, name):
    try:
        data = base64.b64decode(value, validate=True)
    except (binascii.Error, ValueError) as exc:
        raise Refusal(
            400,
            CODE_BAD_BASE64,
            f"{name} n'est pas un contenu base64 valide",
            "invalid_base64",
        ) from exc
    if not data:
        raise Refusal(400, CODE_BAD_BASE64, f"{name} est vide", "invalid_base64")
    return data


# --- configuration -------------------------------------------------------------


@dataclass
class SandboxConfig:
    """What the sandbox accepts and how fast things move. Change it with
    ``POST /_sandbox/config``."""

    client_id: str = fixtures.DEFAULT_CLIENT_ID
    client_secret: str = fixtures.DEFAULT_CLIENT_SECRET
    login: str = fixtures.DEFAULT_LOGIN
    password: str = fixtures.DEFAULT_PASSWORD
    #: ``expires_in`` of the tokens issued, in seconds.
    token_lifetime: float = 3600.0
    #: Report calls answering a pending status before the final one.
    flow_polls_before_final: int = 1
    #: Seconds after which a flow is final even if nobody asked (None: never).
    flow_final_after: float | None = None
    #: Seconds per lifecycle step of invoices (None: only the admin moves them).
    invoice_step_after: float | None = None
    #: Validate deposited documents against their XSD.
    check_xsd: bool = True
    #: APIs (``factures``, ``structures``, ``transverses``,
    #: ``engagementsJuridiques``) the PISTE application did not subscribe to: 403.
    unsubscribed_apis: list = field(default_factory=list)
    #: Largest flow accepted, in bytes (Chorus Pro: 120 MB).
    max_flow_bytes: int = MAX_FLOW_BYTES
    #: Days until the technical user's password expires (``structures/v1/consulter``).
    password_expiry_days: int = 90

    _kinds: ClassVar[dict] = {
        "client_id": (str,),
        "client_secret": (str,),
        "login": (str,),
        "password": (str,),
        "token_lifetime": (int, float),
        "flow_polls_before_final": (int,),
        "flow_final_after": (int, float, type(None)),
        "invoice_step_after": (int, float, type(None)),
        "check_xsd": (bool,),
        "unsubscribed_apis": (list,),
        "max_flow_bytes": (int,),
        "password_expiry_days": (int,),
    }

    def update(self, values):
        """Apply a partial configuration; raise ValueError on a bad key or type."""
        for key, value in values.items():
            kinds = self._kinds.get(key)
            if kinds is None:
                raise ValueError(f"unknown configuration key {key!r}")
            if isinstance(value, bool) and bool not in kinds:
                raise TypeError(f"{key}: wrong type")
            if not isinstance(value, kinds):
                raise TypeError(f"{key}: wrong type")
        for key, value in values.items():
            setattr(self, key, value)

    def public(self):
        values = asdict(self)
        values.pop("client_secret")
        values.pop("password")
        return values


@dataclass
class FaultConfig:
    """Faults injected into API calls (``POST /_sandbox/faults``).

    Rates are probabilities in [0, 1] drawn per request in this order: dropped
    connection, HTTP 500, HTTP 429, accept-then-drop. ``count`` bounds how many
    faults are injected (None: no bound); ``paths`` restricts them to paths
    starting with one of the prefixes (default: every ``/cpro/`` path; list
    ``/api/oauth/token`` to include the token endpoint). ``latency`` seconds are
    added before every matching answer.
    """

    error_500: float = 0.0
    error_429: float = 0.0
    retry_after: int = 1
    latency: float = 0.0
    drop: float = 0.0
    accept_then_drop: float = 0.0
    count: int | None = None
    paths: list = field(default_factory=list)
    seed: int | None = None

    _kinds: ClassVar[dict] = {
        "error_500": (int, float),
        "error_429": (int, float),
        "retry_after": (int,),
        "latency": (int, float),
        "drop": (int, float),
        "accept_then_drop": (int, float),
        "count": (int, type(None)),
        "paths": (list,),
        "seed": (int, type(None)),
    }

    @classmethod
    def from_dict(cls, values):
        for key, value in values.items():
            kinds = cls._kinds.get(key)
            if kinds is None:
                raise ValueError(f"unknown fault key {key!r}")
            if isinstance(value, bool) or not isinstance(value, kinds):
                raise TypeError(f"{key}: wrong type")
        config = cls(**values)
        for rate in ("error_500", "error_429", "drop", "accept_then_drop"):
            if not 0 <= getattr(config, rate) <= 1:
                raise ValueError(f"{rate} must be between 0 and 1")
        if config.latency < 0 or config.retry_after < 0:
            raise ValueError("latency and retry_after must not be negative")
        return config

    def matches(self, path):
        if self.paths:
            return any(path.startswith(prefix) for prefix in self.paths)
        return path.startswith("/cpro/")

    def public(self):
        return asdict(self)


# --- records -------------------------------------------------------------------


@dataclass
class Flow:
    number: str
    syntax: str
    file_name: str
    deposited_at: datetime.datetime
    status: str
    status_at: datetime.datetime
    polls_left: int
    final_status: str
    accepted: list
    dp_errors: list
    technical_errors: list


@dataclass
class Invoice:
    id: int
    number: str
    invoice_type: str
    flow_number: str
    buyer: fixtures.Structure
    service: fixtures.Service | None
    engagement_number: str
    market_number: str
    issue_date: str
    currency: str
    total_excluding_tax: object
    total_including_tax: object
    amount_due: object
    deposited_at: datetime.datetime
    status: str
    status_at: datetime.datetime
    comment: str = ""
    history: list = field(default_factory=list)
    #: Names of the embedded supporting documents.
    attachments: list = field(default_factory=list)

    def set_status(self, status, when, comment=""):
        self.status = status
        self.status_at = when
        self.comment = comment
        self.history.append((status, when, comment))


class SandboxState:
    """The whole state of one sandbox; thread-safe."""

    def __init__(self, config=None):
        self.lock = threading.RLock()
        self.initial_config = SandboxConfig(**asdict(config or SandboxConfig()))
        self.reset()

    # --- administration ---------------------------------------------------------

    def reset(self, keep_config=False):
        """Forget everything but the fixtures (and the configuration if asked)."""
        with self.lock:
            if not keep_config:
                self.config = SandboxConfig(**asdict(self.initial_config))
            self.faults = FaultConfig()
            self._rng = random.Random()
            self._retry_window_until = 0.0
            self.tokens = {}
            self.flows = {}
            self.invoices = {}
            self.attachments = {}
            self.engagements = [list(e) for e in fixtures.ENGAGEMENTS]
            #: (supplier SIRET, invoice number) of invoices accepted or about to be.
            self.live_numbers = {}
            self._flow_seq = itertools.count(1)
            self._invoice_seq = itertools.count(7000001)
            self._attachment_seq = itertools.count(9000001)
            self._history_seq = itertools.count(1)
            self.counters = {
                "calls": {},
                "refused": {},
                "faults_injected": {},
                "deposits_per_invoice": {},
                "duplicate_numbers": {},
            }
            self.totals = {
                "deposits": 0,
                "invoices_deposited": 0,
                "duplicates": 0,
                "tokens_issued": 0,
                "retry_after_violations": 0,
            }

    def configure(self, values):
        with self.lock:
            self.config.update(values)
            return self.config.public()

    def set_faults(self, values):
        with self.lock:
            self.faults = FaultConfig.from_dict(values)
            self._rng = random.Random(self.faults.seed)
            return self.faults.public()

    def expire_tokens(self):
        with self.lock:
            for token in self.tokens:
                self.tokens[token] = 0.0
            return {"expired": len(self.tokens)}

    def _count(self, bucket, key, amount=1):
        counter = self.counters[bucket]
        counter[key] = counter.get(key, 0) + amount

    def record_call(self, path):
        with self.lock:
            self._count("calls", path)

    def record_refusal(self, reason):
        with self.lock:
            self._count("refused", reason)

    def draw_fault(self, path):
        """Decide the fault of one request: ``(latency, kind)``, kind among
        ``None``, ``"drop"``, ``"500"``, ``"429"``, ``"accept_then_drop"``,
        ``"retry_after_violation"``."""
        with self.lock:
            faults = self.faults
            if not faults.matches(path):
                return 0.0, None
            if time.monotonic() < self._retry_window_until:
                # The quota is per application: asking again before Retry-After
                # is refused again, and counted.
                self.totals["retry_after_violations"] += 1
                self._count("faults_injected", "retry_after_violation")
                return faults.latency, "retry_after_violation"
            kind = None
            if faults.count is None or faults.count > 0:
                for name, rate in (
                    ("drop", faults.drop),
                    ("500", faults.error_500),
                    ("429", faults.error_429),
                    ("accept_then_drop", faults.accept_then_drop),
                ):
                    if rate and self._rng.random() < rate:
                        kind = name
                        break
            if kind:
                if faults.count is not None:
                    faults.count -= 1
                self._count("faults_injected", kind)
                if kind == "429":
                    self._retry_window_until = time.monotonic() + faults.retry_after
            return faults.latency, kind

    def stats(self):
        with self.lock:
            flows, invoices = {}, {}
            for flow in self.flows.values():
                flows[flow.status] = flows.get(flow.status, 0) + 1
            for invoice in self.invoices.values():
                invoices[invoice.status] = invoices.get(invoice.status, 0) + 1
            per_invoice = self.counters["deposits_per_invoice"]
            return dict(
                self.totals,
                distinct_invoices=len(per_invoice),
                deposits_per_invoice=dict(per_invoice),
                duplicate_numbers=dict(self.counters["duplicate_numbers"]),
                flows=flows,
                invoices=invoices,
                refused=dict(self.counters["refused"]),
                calls=dict(self.counters["calls"]),
                faults_injected=dict(self.counters["faults_injected"]),
            )

    # --- authentication -------------------------------------------------------------

    def issue_token(self, form, basic_auth=None):
        """OAuth2 client credentials; ``form`` is the decoded form body."""
        with self.lock:
            if form.get("grant_type") != "client_credentials":
                raise Refusal(400, None, "unsupported_grant_type", "bad_grant_type")
            client_id, client_secret = basic_auth or (
                form.get("client_id"),
                form.get("client_secret"),
            )
            if (client_id, client_secret) != (
                self.config.client_id,
                self.config.client_secret,
            ):
                raise Refusal(401, None, "invalid_client", "bad_client_credentials")
            token = secrets.token_urlsafe(32)
            lifetime = self.config.token_lifetime
            self.tokens[token] = time.monotonic() + lifetime
            self.totals["tokens_issued"] += 1
            expires_in = int(lifetime) if float(lifetime).is_integer() else lifetime
            return {
                "access_token": token,
                "token_type": "Bearer",
                "expires_in": expires_in,
                "scope": "openid",
            }

    def token_problem(self, token):
        """None for a valid token, else the refusal reason."""
        with self.lock:
            expires = self.tokens.get(token)
            if expires is None:
                return "invalid_token"
            if time.monotonic() >= expires:
                return "expired_token"
            return None

    def account_valid(self, login, password):
        with self.lock:
            return (login, password) == (self.config.login, self.config.password)

    def api_subscribed(self, api):
        with self.lock:
            return api not in self.config.unsubscribed_apis

    # --- lifecycle ----------------------------------------------------------------

    def tick(self):
        """Apply elapsed-time progress (flows and invoices), if configured."""
        with self.lock:
            moment = now()
            final_after = self.config.flow_final_after
            if final_after is not None:
                for flow in self.flows.values():
                    if not st.is_final_flow_status(flow.status):
                        due = flow.deposited_at + datetime.timedelta(
                            seconds=final_after
                        )
                        if moment >= due:
                            self._finalize(flow, due)
            step = self.config.invoice_step_after
            if step:
                delta = datetime.timedelta(seconds=step)
                for invoice in self.invoices.values():
                    while moment - invoice.status_at >= delta:
                        following = self._next_auto_status(invoice)
                        if following is None:
                            break
                        invoice.set_status(following, invoice.status_at + delta)

    @staticmethod
    def _next_auto_status(invoice):
        status = invoice.status
        if status == st.INVOICE_COMPLETED:
            return st.INVOICE_MADE_AVAILABLE
        if status not in AUTO_PATH or status == AUTO_PATH[-1]:
            return None
        following = AUTO_PATH[AUTO_PATH.index(status) + 1]
        if following == st.INVOICE_PAID and invoice.buyer.payment_status_not_reported:
            return None
        return following

    def _finalize(self, flow, when=None):
        when = when or now()
        flow.status = flow.final_status
        flow.status_at = when
        for parsed, buyer, service in flow.accepted:
            invoice = Invoice(
                id=next(self._invoice_seq),
                number=parsed.number,
                invoice_type=parsed.invoice_type,
                flow_number=flow.number,
                buyer=buyer,
                service=service,
                engagement_number=parsed.engagement_number,
                market_number=parsed.market_number,
                issue_date=parsed.issue_date,
                currency=parsed.currency,
                total_excluding_tax=parsed.total_excluding_tax,
                total_including_tax=parsed.total_including_tax,
                amount_due=parsed.amount_due,
                deposited_at=flow.deposited_at,
                status=st.INVOICE_DEPOSITED,
                status_at=flow.deposited_at,
                attachments=[item["name"] for item in parsed.attachments],
            )
            invoice.history.append((st.INVOICE_DEPOSITED, flow.deposited_at, ""))
            self.invoices[invoice.id] = invoice

    def complete_flow(self, number, body=None):
        """Make a flow final now. ``body`` may force the outcome:
        ``etatCourantDepotFlux`` (a final flow status) and, for a failed one,
        ``listeErreurTechnique`` (``[{"codeErreur", "libelleErreur",
        "natureErreur"}]``). A failed flow integrates none of its invoices and
        frees their numbers, as Chorus Pro does."""
        body = body or {}
        with self.lock:
            flow = self.flows.get(number)
            if flow is None:
                raise KeyError(number)
            forced = body.get("etatCourantDepotFlux")
            errors = body.get("listeErreurTechnique")
            if forced is not None and not st.is_final_flow_status(forced):
                raise ValueError(f"{forced!r} is not a final flow status")
            if errors is not None and not (
                isinstance(errors, list)
                and all(isinstance(error, dict) for error in errors)
            ):
                raise TypeError("listeErreurTechnique must be a list of objects")
            if st.is_final_flow_status(flow.status):
                if forced:
                    raise ValueError(f"flow {number} is already final ({flow.status})")
            elif forced and st.is_failed_flow_status(forced):
                for parsed, _buyer, _service in flow.accepted:
                    self.live_numbers.pop(
                        (fixtures.SUPPLIER.siret, parsed.number), None
                    )
                flow.accepted = []
                flow.final_status = forced
                flow.technical_errors = list(errors or []) or [
                    {
                        "codeErreur": "TECH",
                        "libelleErreur": "Incident technique lors du traitement",
                        "natureErreur": "REJET",
                    }
                ]
                self._finalize(flow)
            else:
                if forced:
                    flow.final_status = forced
                self._finalize(flow)
            return {"numeroFluxDepot": number, "etatCourantDepotFlux": flow.status}

    def complete_all_flows(self):
        with self.lock:
            done = [
                self.complete_flow(flow.number)
                for flow in list(self.flows.values())
                if not st.is_final_flow_status(flow.status)
            ]
            return {"completed": done}

    def _find_invoice(self, body):
        if "identifiantFactureCPP" in body:
            invoice = self.invoices.get(body["identifiantFactureCPP"])
        else:
            number = body.get("numeroFacture")
            matches = [i for i in self.invoices.values() if i.number == number]
            invoice = matches[-1] if matches else None
        if invoice is None:
            raise KeyError("invoice")
        return invoice

    def advance_invoice(self, body):
        """Admin: move an invoice to ``statut`` (intermediate steps of the usual
        path are recorded too), optionally at ``dateHeure`` with
        ``commentaire``."""
        with self.lock:
            self.tick()
            invoice = self._find_invoice(body)
            target = body.get("statut")
            comment = body.get("commentaire") or ""
            if not isinstance(comment, str):
                raise TypeError("commentaire must be a string")
            when = now()
            if body.get("dateHeure"):
                when = _parse_period(body["dateHeure"], "dateHeure", False)
            if st.is_final_invoice_status(
                invoice.status, not invoice.buyer.payment_status_not_reported
            ):
                raise ValueError(f"invoice is final ({invoice.status})")
            if target in EXCEPTION_STATUSES or (
                target == st.INVOICE_COMPLETED
                and invoice.status == st.INVOICE_SUSPENDED
            ):
                invoice.set_status(target, when, comment)
            elif target in ADMIN_PATH:
                if (
                    target == st.INVOICE_PAID
                    and invoice.buyer.payment_status_not_reported
                ):
                    raise ValueError("this buyer never reports MISE_EN_PAIEMENT")
                current = invoice.status
                if current == st.INVOICE_COMPLETED:
                    current = st.INVOICE_ROUTING
                if current not in ADMIN_PATH:
                    raise ValueError(f"cannot go from {invoice.status} to {target}")
                start, end = ADMIN_PATH.index(current), ADMIN_PATH.index(target)
                if end <= start:
                    raise ValueError(f"{target} is not after {invoice.status}")
                # Optional steps are recorded only when asked for.
                for status in ADMIN_PATH[start + 1 : end]:
                    if status in AUTO_PATH:
                        invoice.set_status(status, when)
                invoice.set_status(target, when, comment)
            else:
                raise ValueError(f"unknown or unreachable status {target!r}")
            return self._invoice_summary(invoice)

    def add_engagement(self, body):
        with self.lock:
            number = body.get("numeroEngagementJuridique")
            buyer = body.get("siretAcheteur", fixtures.STATE_MINISTRY.siret)
            state = body.get("etat", "COMMANDE")
            if not all(isinstance(v, str) and v for v in (number, buyer, state)):
                raise ValueError(
                    "numeroEngagementJuridique, siretAcheteur, etat: strings"
                )
            self.engagements.append([number, buyer, fixtures.SUPPLIER.siret, state])
            return {"engagements": len(self.engagements)}

    def load_invoices(self, items):
        """Know invoices deposited before this sandbox started (the demo
        database's), so that they can be read, completed, re-routed and
        advanced. Each item: ``id``, ``number``, ``buyer_siret``, ``flow_number``,
        ``deposited_at`` and ``history`` ((status, datetime, comment), oldest
        first), optionally ``invoice_type``, ``service_code``,
        ``engagement_number``, ``market_number``, ``issue_date`` and amounts."""
        with self.lock:
            for item in items:
                buyer = fixtures.structure_by_siret(item["buyer_siret"])
                if buyer is None:
                    raise ValueError(f"unknown buyer SIRET {item['buyer_siret']!r}")
                service_code = item.get("service_code") or ""
                invoice = Invoice(
                    id=int(item["id"]),
                    number=item["number"],
                    invoice_type=item.get("invoice_type", TYPE_INVOICE),
                    flow_number=item["flow_number"],
                    buyer=buyer,
                    service=buyer.service_by_code(service_code),
                    engagement_number=item.get("engagement_number") or "",
                    market_number=item.get("market_number") or "",
                    issue_date=item.get("issue_date", ""),
                    currency=item.get("currency", "EUR"),
                    total_excluding_tax=item.get("total_excluding_tax"),
                    total_including_tax=item.get("total_including_tax"),
                    amount_due=item.get("amount_due"),
                    deposited_at=item["deposited_at"],
                    status=st.INVOICE_DEPOSITED,
                    status_at=item["deposited_at"],
                )
                invoice.history.append((st.INVOICE_DEPOSITED, invoice.deposited_at, ""))
                for status, when, comment in item["history"]:
                    invoice.set_status(status, when, comment or "")
                self.invoices[invoice.id] = invoice
                key = (fixtures.SUPPLIER.siret, invoice.number)
                self.live_numbers[key] = invoice.flow_number
            # New invoices and flows must not take the numbers of known ones.
            ids = [invoice_id + 1 for invoice_id in self.invoices]
            self._invoice_seq = itertools.count(max([next(self._invoice_seq), *ids]))
            flows = [
                int(item["flow_number"][7:]) + 1
                for item in items
                if item["flow_number"][7:].isdigit()
            ]
            self._flow_seq = itertools.count(max([next(self._flow_seq), *flows]))
            return len(items)

    def list_flows(self):
        with self.lock:
            return [self._flow_report(flow) for flow in self.flows.values()]

    def list_invoices(self):
        """Every invoice, as searches return them, with the names of its
        supporting documents (admin listing only)."""
        with self.lock:
            return [
                {**self._invoice_summary(inv), "attachments": list(inv.attachments)}
                for inv in self.invoices.values()
            ]

    # --- structures -----------------------------------------------------------------

    def _structure(self, structure_id):
        structure = fixtures.structure_by_id(structure_id)
        if structure is None:
            raise Refusal(
                200,
                CODE_UNKNOWN,
                f"Structure {structure_id} inconnue",
                "unknown_structure",
            )
        return structure

    def search_structures(self, body):
        criteria = _get(body, "structure", dict, default={})
        identifier = _get(criteria, "identifiantStructure", str)
        id_type = _get(criteria, "typeIdentifiantStructure", str)
        name = _get(criteria, "raisonSocialeStructure", str)
        restrict = _get(body, "restreindreStructuresPrivees", bool, default=False)
        size, page, _column, descending = _paging(body, "parametres")
        found = []
        for structure in fixtures.STRUCTURES:
            if restrict and structure.private:
                continue
            if identifier:
                if id_type in (None, "SIRET") and structure.siret != identifier:
                    continue
                if id_type == "SIREN" and structure.siren != identifier:
                    continue
                if id_type not in (None, "SIRET", "SIREN"):
                    continue
            if name and name.lower() not in structure.name.lower():
                continue
            found.append(structure)
        if descending:
            found.reverse()
        chunk, info = _page(found, size, page)
        return ok(
            listeStructures=[
                {
                    "idStructureCPP": s.id,
                    "identifiantStructure": s.siret,
                    "typeIdentifiantStructure": "SIRET",
                    "designationStructure": s.name,
                    "statut": "ACTIF",
                }
                for s in chunk
            ],
            parametresRetour=info,
        )

    def get_structure(self, body):
        structure = self._structure(_get(body, "idStructureCPP", int, required=True))
        _get(body, "codeLangue", str)
        general = {
            "identifiantStructure": structure.siret,
            "typeIdentifiantStructure": "SIRET",
            "raisonSociale": structure.name,
            "libelleStructure": structure.name,
            "statutStructure": "ACTIF",
            "estMOA": False,
            "estMOAUniquement": False,
        }
        if structure is fixtures.SUPPLIER:
            with self.lock:
                days = self.config.password_expiry_days
            expiry = datetime.date.today() + datetime.timedelta(days=days)
            general["dateExpirationMotPasseCompteTech"] = expiry.isoformat()
        not_reported = structure.payment_status_not_reported
        return ok(
            idStructureCPP=structure.id,
            informationGenerales=general,
            parametres={
                "codeServiceDoitEtreRenseigne": structure.service_required,
                "numeroEJDoitEtreRenseigne": structure.engagement_required,
                "gestionNumeroEJOuCodeService": structure.either_required,
                "statutMiseEnPaiementNestPasRemonte": not_reported,
                "gestionStatutMiseEnPaiement": not not_reported,
            },
            adressePostaleDuSiege={
                "adresse": structure.street,
                "codePostal": structure.postcode,
                "ville": structure.city,
                "pays": "France",
                "codePays": "FR",
            },
        )

    def search_services(self, body):
        structure = self._structure(_get(body, "idStructure", int, required=True))
        size, page, _column, descending = _paging(
            body, "parametresRechercherServicesStructure"
        )
        services = list(structure.services)
        if descending:
            services.reverse()
        chunk, info = _page(services, size, page)
        return ok(
            listeServices=[
                {
                    "idService": s.id,
                    "codeService": s.code,
                    "libelleService": s.label,
                    "estActif": s.active,
                    "statutService": "ACTIF" if s.active else "INACTIF",
                }
                for s in chunk
            ],
            parametresRetour=info,
        )

    def get_service(self, body):
        structure = self._structure(_get(body, "idStructure", int, required=True))
        service_id = _get(body, "idService", int, required=True)
        service = structure.service_by_id(service_id)
        if service is None:
            raise Refusal(
                200,
                CODE_UNKNOWN,
                f"Service {service_id} inconnu pour cette structure",
                "unknown_service",
            )
        return ok(
            idService=service.id,
            codeService=service.code,
            libelleService=service.label,
            estActif=service.active,
            parametres={
                "numeroEngagement": service.engagement_required,
                "miseEnPaiement": not structure.payment_status_not_reported,
                "dateDebutValidite": "2020-01-01",
                "dateFinValidite": None if service.active else "2024-12-31",
            },
        )

    def search_engagements(self, body):
        receiver = _get(
            body, "structureReceptriceEngagementJuridique", str, required=True
        )
        number = _get(body, "numeroEngagementJuridique", str)
        state = _get(body, "etatCourantEngagementJuridique", str)
        if receiver != str(fixtures.SUPPLIER.id):
            raise Refusal(
                200,
                CODE_NOT_ATTACHED,
                "L'utilisateur n'est pas rattaché à la structure réceptrice",
                "not_attached",
            )
        with self.lock:
            engagements = [list(e) for e in self.engagements]
        found = []
        for ej_number, buyer_siret, _supplier, ej_state in engagements:
            if number and ej_number != number:
                continue
            if state and ej_state != state:
                continue
            buyer = fixtures.structure_by_siret(buyer_siret)
            found.append(
                {
                    "numeroEngagementJuridique": ej_number,
                    "etatCourantEngagementJuridique": ej_state,
                    "identifiantStructureEmettrice": buyer_siret,
                    "designationStructureEmettrice": buyer.name if buyer else "",
                    "idStructureReceptrice": fixtures.SUPPLIER.id,
                }
            )
        return ok(listeEngagementJuridique=found)

    def supplier_structures(self, body):
        supplier = fixtures.SUPPLIER
        return ok(
            listeStructures=[
                {
                    "idStructureCPP": supplier.id,
                    "identifiant": supplier.siret,
                    "designationStructure": supplier.name,
                }
            ]
        )

    # --- deposits -------------------------------------------------------------------

    def _routing_errors(self, buyer_siret, service_code, engagement_number):
        """Check a routing against the buyer's requirements.

        :return: ``(errors, buyer, service)``.
        """
        errors = []
        buyer = fixtures.structure_by_siret(buyer_siret)
        if buyer is None or buyer.private:
            return (
                [f"Destinataire {buyer_siret or '?'} inconnu de Chorus Pro"],
                None,
                None,
            )
        service = None
        if service_code:
            service = buyer.service_by_code(service_code)
            if len(service_code) > MAX_SERVICE_CODE:
                errors.append(
                    f"Code service trop long (> {MAX_SERVICE_CODE} caractères)"
                )
            elif service_code == RESERVED_SERVICE_CODE:
                errors.append(
                    f"Le service {RESERVED_SERVICE_CODE} est réservé aux factures "
                    "entre entités publiques"
                )
            elif service is None:
                errors.append(f"Service {service_code} inconnu pour {buyer.name}")
            elif not service.active:
                errors.append(f"Service {service_code} inactif")
        if engagement_number and len(engagement_number) > MAX_ENGAGEMENT_NUMBER:
            errors.append(
                f"Numéro d'engagement trop long (> {MAX_ENGAGEMENT_NUMBER} caractères)"
            )
        if buyer.service_required and not service_code:
            errors.append("Le code service est obligatoire pour ce destinataire")
        if not engagement_number and (
            buyer.engagement_required or (service and service.engagement_required)
        ):
            errors.append("Le numéro d'engagement est obligatoire pour ce destinataire")
        if buyer.either_required and not service_code and not engagement_number:
            errors.append(
                "Le code service ou le numéro d'engagement est obligatoire pour ce "
                "destinataire"
            )
        if engagement_number and buyer.checks_engagement_registry:
            known = any(
                e[0] == engagement_number and e[1] == buyer.siret and e[3] == "COMMANDE"
                for e in self.engagements
            )
            if not known:
                errors.append(f"Numéro d'engagement {engagement_number} inconnu")
        return errors, buyer, service

    def deposit(self, body):
        content_b64 = _get(body, "fichierFlux", str, required=True)
        file_name = _get(body, "nomFichier", str, required=True)
        syntax = _get(body, "syntaxeFlux", str, required=True)
        _get(body, "avecSignature", bool)
        _get(body, "idUtilisateurCourant", int)
        if syntax not in SUPPORTED_SYNTAXES:
            raise Refusal(
                400,
                CODE_UNKNOWN_SYNTAX,
                f"Syntaxe de flux inconnue : {syntax}",
                "unknown_syntax",
            )
        if "." not in file_name:
            raise Refusal(
                400,
                CODE_BAD_REQUEST,
                "nomFichier doit comporter une extension",
                "invalid_value",
            )
        with self.lock:
            max_bytes = self.config.max_flow_bytes
            check_xsd = self.config.check_xsd
        if len(content_b64) * 3 // 4 > max_bytes + 3:
            raise Refusal(
                200,
                CODE_FILE_TOO_LARGE,
                "GDP_MSG_11.022 : fichier trop volumineux",
                "file_too_large",
            )
        content = _decode_base64(content_b64, "fichierFlux")
        if len(content) > max_bytes:
            raise Refusal(
                200,
                CODE_FILE_TOO_LARGE,
                "GDP_MSG_11.022 : fichier trop volumineux",
                "file_too_large",
            )
        try:
            parsed = parse_flow(content, file_name, syntax, check_xsd=check_xsd)
        except DocumentError as exc:
            raise Refusal(
                400, CODE_BAD_FILE, f"Fichier invalide : {exc}", "invalid_file"
            ) from exc
        with self.lock:
            return self._record_deposit(parsed, file_name, syntax)

    def _record_deposit(self, parsed, file_name, syntax):
        supplier = fixtures.SUPPLIER
        moment = now()
        number = f"CPP{moment.year}{next(self._flow_seq):09d}"
        single = not is_archive_name(file_name)
        accepted, dp_errors, technical_errors = [], [], []
        for invoice in parsed:
            errors = list(invoice.problems)
            format_errors = len(errors)
            if len(invoice.number) > MAX_INVOICE_NUMBER:
                errors.append(f"Numéro de facture trop long (> {MAX_INVOICE_NUMBER})")
            if invoice.seller_siret and invoice.seller_siret != supplier.siret:
                errors.append(
                    f"Le fournisseur {invoice.seller_siret} n'est pas rattaché au "
                    "compte technique"
                )
            routing, buyer, service = self._routing_errors(
                invoice.buyer_siret, invoice.service_code, invoice.engagement_number
            )
            errors += routing
            if invoice.number:
                self.totals["invoices_deposited"] += 1
                self._count("deposits_per_invoice", invoice.number)
                key = (supplier.siret, invoice.number)
                if key in self.live_numbers:
                    self.totals["duplicates"] += 1
                    self._count("duplicate_numbers", invoice.number)
                    errors.append(
                        f"Facture en doublon : le numéro {invoice.number} a déjà été "
                        f"déposé (flux {self.live_numbers[key]})"
                    )
            if not errors:
                self.live_numbers[(supplier.siret, invoice.number)] = number
                accepted.append((invoice, buyer, service))
            elif single and format_errors and format_errors == len(errors):
                technical_errors.extend(
                    {
                        "codeErreur": "FORMAT",
                        "libelleErreur": e,
                        "natureErreur": "REJET",
                    }
                    for e in errors
                )
            else:
                dp_errors.append(
                    {
                        "numeroDP": invoice.number or invoice.file_name,
                        "identifiantFournisseur": invoice.seller_siret,
                        "identifiantDestinataire": invoice.buyer_siret,
                        "libelleErreurDP": " ; ".join(errors),
                    }
                )
        if not accepted:
            final = st.FLOW_REJECTED
        elif len(accepted) < len(parsed):
            final = st.FLOW_PARTIALLY_INTEGRATED
        else:
            final = st.FLOW_INTEGRATED
        flow = Flow(
            number=number,
            syntax=syntax,
            file_name=file_name,
            deposited_at=moment,
            status=st.FLOW_RECEIVED,
            status_at=moment,
            polls_left=self.config.flow_polls_before_final,
            final_status=final,
            accepted=accepted,
            dp_errors=dp_errors,
            technical_errors=technical_errors,
        )
        self.flows[number] = flow
        self.totals["deposits"] += 1
        return ok(
            numeroFluxDepot=number,
            dateDepot=fmt_date(moment),
            syntaxeFlux=syntax,
        )

    def _flow_report(self, flow):
        final = st.is_final_flow_status(flow.status)
        return ok(
            numeroFluxDepot=flow.number,
            syntaxeFlux=flow.syntax,
            nomFichier=flow.file_name,
            dateDepotFlux=fmt_datetime(flow.deposited_at),
            etatCourantDepotFlux=flow.status,
            dateHeureEtatCourantFlux=fmt_datetime(flow.status_at),
            listeErreurDP=list(flow.dp_errors) if final else [],
            listeErreurTechnique=list(flow.technical_errors) if final else [],
        )

    def flow_report(self, body):
        number = _get(body, "numeroFluxDepot", str, required=True)
        syntax = _get(body, "syntaxeFlux", str)
        if syntax is not None and syntax not in SUPPORTED_SYNTAXES:
            raise Refusal(
                400,
                CODE_UNKNOWN_SYNTAX,
                f"Syntaxe de flux inconnue : {syntax}",
                "unknown_syntax",
            )
        with self.lock:
            self.tick()
            flow = self.flows.get(number)
            if flow is None:
                raise Refusal(
                    200, CODE_UNKNOWN, f"Flux {number} inconnu", "unknown_flow"
                )
            if not st.is_final_flow_status(flow.status):
                if flow.polls_left > 0:
                    flow.polls_left -= 1
                    index = FLOW_PENDING_STEPS.index(flow.status)
                    following = FLOW_PENDING_STEPS[
                        min(index + 1, len(FLOW_PENDING_STEPS) - 1)
                    ]
                    if following != flow.status:
                        flow.status, flow.status_at = following, now()
                else:
                    self._finalize(flow)
            return self._flow_report(flow)

    # --- invoices -------------------------------------------------------------------

    def _invoice_summary(self, invoice):
        service = invoice.service
        return {
            "identifiantFactureCPP": invoice.id,
            "numeroFacture": invoice.number,
            "typeFacture": invoice.invoice_type,
            "statut": invoice.status,
            "dateHeureEtatCourant": fmt_datetime(invoice.status_at),
            "commentaireEtatCourant": invoice.comment,
            "numeroFluxDepot": invoice.flow_number,
            "dateDepot": fmt_date(invoice.deposited_at),
            "dateFacture": invoice.issue_date,
            "devise": invoice.currency,
            "montantHT": _number(invoice.total_excluding_tax),
            "montantTTC": _number(invoice.total_including_tax),
            "montantAPayer": _number(invoice.amount_due),
            "idDestinataire": invoice.buyer.id,
            "codeDestinataire": invoice.buyer.siret,
            "designationDestinataire": invoice.buyer.name,
            "idServiceExecutant": service.id if service else None,
            "codeServiceExecutant": service.code if service else "",
            "nomServiceExecutant": service.label if service else "",
            "numeroBonCommande": invoice.engagement_number,
            "numeroMarche": invoice.market_number,
            "codeFournisseur": fixtures.SUPPLIER.siret,
            "designationFournisseur": fixtures.SUPPLIER.name,
        }

    def _invoice(self, invoice_id):
        invoice = self.invoices.get(invoice_id)
        if invoice is None:
            raise Refusal(
                200, CODE_UNKNOWN, f"Facture {invoice_id} inconnue", "unknown_invoice"
            )
        return invoice

    def search_invoices(self, body):
        flow_number = _get(body, "numeroFluxDepot", str)
        number = _get(body, "numeroFacture", str)
        wanted = _get_str_list(body, "statutCourant")
        invoice_type = _get(body, "typeFacture", str)
        if invoice_type is not None and invoice_type not in INVOICE_TYPES:
            raise Refusal(
                400,
                CODE_BAD_REQUEST,
                f"typeFacture invalide : {invoice_type}",
                "invalid_value",
            )
        bounds = []
        for name, end in (
            ("periodeDateHeureEtatCourantDu", False),
            ("periodeDateHeureEtatCourantAu", True),
            ("periodeDateDepotDu", False),
            ("periodeDateDepotAu", True),
        ):
            value = _get(body, name, str)
            bounds.append(_parse_period(value, name, end) if value else None)
        status_from, status_to, deposit_from, deposit_to = bounds
        size, page, column, descending = _paging(body, "rechercheFactureParFournisseur")
        sort_key = SORT_COLUMNS.get((column or "IdentifiantFactureCPP").lower())
        if sort_key is None:
            raise Refusal(
                400,
                CODE_BAD_REQUEST,
                f"triColonne invalide : {column}",
                "invalid_value",
            )
        with self.lock:
            self.tick()
            found = [
                inv
                for inv in self.invoices.values()
                if (not flow_number or inv.flow_number == flow_number)
                and (not number or inv.number == number)
                and (not wanted or inv.status in wanted)
                and (not invoice_type or inv.invoice_type == invoice_type)
                and (not status_from or inv.status_at >= status_from)
                and (not status_to or inv.status_at <= status_to)
                and (not deposit_from or inv.deposited_at >= deposit_from)
                and (not deposit_to or inv.deposited_at <= deposit_to)
            ]
            found.sort(key=sort_key, reverse=descending)
            chunk, info = _page(found, size, page)
            items = [self._invoice_summary(inv) for inv in chunk]
        if not found:
            return {
                "codeRetour": CODE_NOTHING_FOUND,
                "libelle": LABEL_NOTHING_FOUND,
                "listeFactures": [],
                "parametresRetour": info,
            }
        return ok(listeFactures=items, parametresRetour=info)

    def invoice_history(self, body):
        invoice_id = _get(body, "idFacture", int, required=True)
        with self.lock:
            self.tick()
            invoice = self._invoice(invoice_id)
            entries = [
                {
                    "histoStatutId": index,
                    "histoStatutCode": status,
                    "histoStatutDatePassage": fmt_datetime(when),
                    "histoStatutCommentaire": comment,
                    "histoStatutUtilisateurNom": "Sandbox",
                }
                for index, (status, when, comment) in enumerate(invoice.history, 1)
            ]
            return ok(
                idFacture=invoice.id,
                numeroFacture=invoice.number,
                statutCourantCode=invoice.status,
                historiquesDesStatuts={"histoStatut": entries},
            )

    def invoice_detail(self, body):
        invoice_id = _get(body, "identifiantFactureCPP", int, required=True)
        with self.lock:
            self.tick()
            invoice = self._invoice(invoice_id)
            summary = self._invoice_summary(invoice)
            service = invoice.service
            facture = {
                "identifiantFactureCPP": invoice.id,
                "numeroFacture": invoice.number,
                "typeFacture": invoice.invoice_type,
                "statut": invoice.status,
                "commentaireEtatCourant": invoice.comment,
                "dateFacture": invoice.issue_date,
                "dateDepot": summary["dateDepot"],
                "numeroFluxDepot": invoice.flow_number,
                "fournisseur": {
                    "idFournisseur": fixtures.SUPPLIER.id,
                    "codeFournisseur": fixtures.SUPPLIER.siret,
                    "raisonSociale": fixtures.SUPPLIER.name,
                },
                "destinataire": {
                    "idDestinataire": invoice.buyer.id,
                    "codeDestinataire": invoice.buyer.siret,
                    "libelleDestinataire": invoice.buyer.name,
                    "idServiceExecutant": service.id if service else None,
                    "codeServiceExecutant": service.code if service else "",
                    "libelleServiceExecutant": service.label if service else "",
                },
                "references": {
                    "numeroBonCommande": invoice.engagement_number,
                    "numeroMarche": invoice.market_number,
                    "numeroDpMandat": f"DP{invoice.id}",
                    "deviseFacture": invoice.currency,
                    "typeFacture": invoice.invoice_type,
                },
                "montantTotal": {
                    "montantHtTotal": summary["montantHT"],
                    "montantTtcTotal": summary["montantTTC"],
                    "montantAPayer": summary["montantAPayer"],
                },
            }
            return ok(facture=facture)

    def complete_invoice(self, body):
        invoice_id = _get(body, "identifiantFactureCPP", int, required=True)
        comment = _get(body, "commentaire", str, default="")
        attachments = _get(body, "pieceJointeComplementaire", list, default=[])
        ids = []
        for item in attachments:
            if not isinstance(item, dict):
                raise Refusal(
                    400,
                    CODE_BAD_REQUEST,
                    "pieceJointeComplementaire : objets attendus",
                    "wrong_type",
                )
            ids.append(_get(item, "pieceJointeComplementaireId", int, required=True))
        with self.lock:
            self.tick()
            invoice = self._invoice(invoice_id)
            for attachment_id in ids:
                if attachment_id not in self.attachments:
                    raise Refusal(
                        200,
                        CODE_UNKNOWN,
                        f"Pièce jointe {attachment_id} inconnue",
                        "unknown_attachment",
                    )
            if invoice.status != st.INVOICE_SUSPENDED:
                raise Refusal(
                    200,
                    CODE_BAD_STATUS,
                    f"{invoice.status} : seule une facture SUSPENDUE se complète",
                    "invalid_status",
                )
            moment = now()
            invoice.set_status(st.INVOICE_COMPLETED, moment, comment)
            return ok(
                identifiantFactureCPP=invoice.id,
                numeroFacture=invoice.number,
                dateTraitement=fmt_date(moment),
            )

    def recycle_invoice(self, body):
        invoice_id = _get(body, "identifiantFactureCPP", int, required=True)
        recipient = _get(body, "destinataire", dict, default={})
        reference = _get(body, "reference", dict, default={})
        comment = _get(body, "commentaire", str, default="")
        buyer_siret = _get(recipient, "codeDestinataire", str)
        service_code = _get(recipient, "codeServiceExecutant", str)
        engagement = _get(reference, "numeroBonCommande", str)
        market = _get(reference, "numeroMarche", str)
        with self.lock:
            self.tick()
            invoice = self._invoice(invoice_id)
            if invoice.status != st.INVOICE_TO_RECYCLE:
                raise Refusal(
                    200,
                    CODE_BAD_STATUS,
                    f"{invoice.status} : seule une facture A_RECYCLER se recycle",
                    "invalid_status",
                )
            buyer_siret = buyer_siret or invoice.buyer.siret
            if service_code is None:
                service_code = invoice.service.code if invoice.service else ""
            if engagement is None:
                engagement = invoice.engagement_number
            errors, buyer, service = self._routing_errors(
                buyer_siret, service_code, engagement
            )
            if errors:
                raise Refusal(
                    200, CODE_BAD_ROUTING, " ; ".join(errors), "invalid_routing"
                )
            invoice.buyer, invoice.service = buyer, service
            invoice.engagement_number = engagement
            if market is not None:
                invoice.market_number = market
            invoice.set_status(st.INVOICE_ROUTING, now(), comment)
            return ok(
                identifiantFactureCPP=invoice.id,
                numeroFacture=invoice.number,
                statutFacture=invoice.status,
                dateDepot=fmt_date(invoice.deposited_at),
            )

    def attach_file(self, body):
        content_b64 = _get(body, "pieceJointeFichier", str, required=True)
        name = _get(body, "pieceJointeNom", str, required=True)
        mime = _get(body, "pieceJointeTypeMime", str, required=True)
        extension = _get(body, "pieceJointeExtension", str, required=True)
        if len(content_b64) * 3 // 4 >= MAX_ATTACHMENT_BYTES + 3:
            raise Refusal(
                200,
                CODE_ATTACHMENT_TOO_LARGE,
                "La pièce jointe dépasse 10 Mo",
                "attachment_too_large",
            )
        content = _decode_base64(content_b64, "pieceJointeFichier")
        if len(content) >= MAX_ATTACHMENT_BYTES:
            raise Refusal(
                200,
                CODE_ATTACHMENT_TOO_LARGE,
                "La pièce jointe dépasse 10 Mo",
                "attachment_too_large",
            )
        if (
            len(name) > MAX_ATTACHMENT_NAME
            or "." not in name
            or not extension
            or name.rsplit(".", 1)[1].lower() != extension.lower().lstrip(".")
        ):
            raise Refusal(
                200,
                CODE_BAD_ATTACHMENT_NAME,
                f"Nom de pièce jointe invalide (≤ {MAX_ATTACHMENT_NAME} caractères, "
                "avec l'extension annoncée)",
                "invalid_attachment_name",
            )
        with self.lock:
            attachment_id = next(self._attachment_seq)
            self.attachments[attachment_id] = (name, mime, len(content))
        return ok(pieceJointeId=attachment_id)

    def health(self, body=None):
        return ok(statut="OK")


def _number(value):
    return float(value) if value is not None else None
