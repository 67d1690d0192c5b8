"""Client of the Chorus Pro API through PISTE.

One :class:`ChorusProClient` per (PISTE application, technical user,
environment). It is safe to share between threads: each thread gets its own HTTP
sessions and every client of the process shares the token cache, so one token
request serves many calls.

Reads (searches, consultations, reports, the health check) are retried
automatically on connection errors, read timeouts, HTTP 429 (honouring
``Retry-After`` up to ``max_retry_after``) and 500/502/503/504, with a bounded
exponential backoff. Writes (deposit, complete, recycle, attach) are never
retried: when their outcome is unknown the client raises
:class:`~.exceptions.ChorusProOutcomeUnknownError` and the caller checks whether
the first request arrived before sending it again.

Every method returns the decoded JSON answer (a ``dict``), or for searches the
list of items aggregated over all pages.
"""

import base64
import datetime
import json
import logging
import mimetypes
import threading

import requests
from requests.adapters import HTTPAdapter
from urllib3.exceptions import (
    ConnectTimeoutError,
    InvalidHeader,
    MaxRetryError,
    NewConnectionError,
)
from urllib3.util.retry import Retry

from .constants import (
    API_PREFIX,
    CODE_NOTHING_FOUND,
    ENVIRONMENTS,
    LABEL_NOTHING_FOUND,
    TOKEN_PATH,
)
from .exceptions import (
    ChorusProAuthError,
    ChorusProError,
    ChorusProFunctionalError,
    ChorusProOutcomeUnknownError,
    ChorusProRetryableError,
)
from .token import DEFAULT_TOKEN_CACHE, cache_key

_logger = logging.getLogger(__name__)

#: HTTP statuses worth retrying for a read.
RETRY_STATUSES = frozenset({429, 500, 502, 503, 504})
#: Characters of an answer body kept in logs and error messages.
BODY_EXCERPT = 500
#: Safety net against a server that keeps announcing more pages.
MAX_PAGES = 10000


class _BoundedRetry(Retry):
    """``Retry`` that caps the backoff and refuses to wait for a long
    ``Retry-After``.

    A 429 asking for more than ``max_retry_after`` seconds ends the retries at
    once: the client then raises a retryable error carrying ``retry_after`` so the
    caller (a cron) reschedules instead of blocking a worker. Works with urllib3
    1.26 (Odoo's pin) and 2.x.
    """

    backoff_cap = 10.0
    max_retry_after = 30.0

    def new(self, **kw):
        retry = super().new(**kw)
        retry.backoff_cap = self.backoff_cap
        retry.max_retry_after = self.max_retry_after
        return retry

    def get_backoff_time(self):
        return min(super().get_backoff_time(), self.backoff_cap)

    def increment(self, method=None, url=None, response=None, error=None, **kwargs):
        if response is not None and self.respect_retry_after_header:
            try:
                wait = self.get_retry_after(response)
            except (InvalidHeader, ValueError):  # unparsable: plain backoff
                wait = None
            if wait is not None and wait > self.max_retry_after:
                raise MaxRetryError(kwargs.get("_pool"), url, "Retry-After too long")
        return super().increment(
            method=method, url=url, response=response, error=error, **kwargs
        )


def _read_retry(retries, backoff_factor, backoff_cap, max_retry_after):
    retry = _BoundedRetry(
        total=retries,
        connect=retries,
        read=retries,
        status=retries,
        other=0,
        redirect=0,
        allowed_methods=frozenset({"GET", "POST"}),
        status_forcelist=RETRY_STATUSES,
        backoff_factor=backoff_factor,
        respect_retry_after_header=True,
        raise_on_status=False,
        raise_on_redirect=False,
    )
    retry.backoff_cap = backoff_cap
    retry.max_retry_after = max_retry_after
    return retry


def _no_retry():
    # read=False re-raises transport errors as they are, so they can be told apart.
    return Retry(
        total=0,
        connect=0,
        read=False,
        status=0,
        other=0,
        redirect=0,
        raise_on_status=False,
        raise_on_redirect=False,
    )


def _excerpt(text):
    text = text or ""
    return text if len(text) <= BODY_EXCERPT else text[:BODY_EXCERPT] + "…"


def _parse_retry_after(value):
    """Seconds from a ``Retry-After`` header (delta or HTTP date), or None."""
    if not value:
        return None
    value = value.strip()
    if value.replace(".", "", 1).isdigit():
        return float(value)
    try:
        from email.utils import parsedate_to_datetime

        when = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=datetime.timezone.utc)
    now = datetime.datetime.now(datetime.timezone.utc)
    return max((when - now).total_seconds(), 0.0)


def _request_never_sent(exc):
    """True when a transport error happened before the request left the client
    (connection refused, connect timeout, name resolution)."""
    if isinstance(exc, requests.exceptions.ConnectTimeout):
        return True
    seen = set()
    pending = [exc]
    while pending:
        err = pending.pop()
        if err is None or id(err) in seen:
            continue
        seen.add(id(err))
        if isinstance(err, NewConnectionError | ConnectTimeoutError):
            return True
        if isinstance(err, MaxRetryError):
            pending.append(err.reason)
        pending.extend(a for a in getattr(err, "args", ()) if isinstance(a, Exception))
        pending.append(err.__cause__)
        pending.append(err.__context__)
    return False


def _format_period(value):
    """Chorus Pro dates: ``YYYY-MM-DD``; date-times in ISO 8601."""
    if value is None or isinstance(value, str):
        return value
    if isinstance(value, datetime.datetime):
        return value.isoformat(timespec="milliseconds")
    if isinstance(value, datetime.date):
        return value.isoformat()
    raise TypeError(f"Expected a date, a datetime or a string, got {value!r}")


def _passage_key(entry):
    """Sort key of a history entry: its date-time, offsets taken into account."""
    value = entry.get("histoStatutDatePassage") or ""
    try:
        moment = datetime.datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return (1, value)
    if moment.tzinfo is None:
        return (0, moment.isoformat())
    return (
        0,
        moment.astimezone(datetime.timezone.utc).replace(tzinfo=None).isoformat(),
    )


def history_status_dates(history):
    """Map each status of an invoice history answer to the first date-time (as
    given by Chorus Pro) the invoice entered it.

    ``history`` is the answer of :meth:`ChorusProClient.get_invoice_history`; the
    ``MISE_A_DISPOSITION`` entry starts the legal payment period.
    """
    entries = ((history or {}).get("historiquesDesStatuts") or {}).get("histoStatut")
    dates = {}
    for entry in sorted(entries or [], key=_passage_key):
        code = entry.get("histoStatutCode")
        if code and code not in dates:
            dates[code] = entry.get("histoStatutDatePassage")
    return dates


class ChorusProClient:
    """Talk to Chorus Pro as one supplier's technical user.

    :param client_id: PISTE application client id.
    :param client_secret: PISTE application client secret.
    :param login: Chorus Pro technical user login (``TECH_...``).
    :param password: Chorus Pro technical user password.
    :param environment: ``"qualification"`` or ``"production"``: picks the built-in
        PISTE URLs.
    :param base_url: API origin overriding the environment's (the local sandbox, a
        proxy); paths ``/cpro/...`` are appended to it.
    :param token_url: token endpoint overriding the environment's; when only
        ``base_url`` is given, ``base_url + "/api/oauth/token"``.
    :param connect_timeout: seconds to establish a connection.
    :param read_timeout: seconds to wait for an answer to a read or a small write.
    :param deposit_timeout: seconds to wait for the answer to a deposit (large
        uploads).
    :param retries: automatic retries of a read (0 disables them).
    :param backoff_factor: exponential backoff base between retries, in seconds.
    :param backoff_max: cap of one backoff sleep, in seconds.
    :param max_retry_after: longest ``Retry-After`` honoured by waiting; a longer
        one raises :class:`ChorusProRetryableError` with ``retry_after`` at once.
    :param token_margin: refresh a token this many seconds before it expires
        (capped at half its lifetime).
    :param page_size: page size asked for by searches that page.
    :param token_cache: a :class:`~.token.TokenCache`; the process-wide one by
        default.
    """

    def __init__(
        self,
        client_id,
        client_secret,
        login,
        password,
        environment="qualification",
        *,
        base_url=None,
        token_url=None,
        connect_timeout=10.0,
        read_timeout=60.0,
        deposit_timeout=180.0,
        retries=3,
        backoff_factor=0.5,
        backoff_max=10.0,
        max_retry_after=30.0,
        token_margin=300.0,
        page_size=100,
        token_cache=None,
    ):
        if environment not in ENVIRONMENTS:
            raise ValueError(
                f"Unknown environment {environment!r}: "
                f"expected one of {', '.join(sorted(ENVIRONMENTS))}"
            )
        for name, value in (
            ("client_id", client_id),
            ("client_secret", client_secret),
            ("login", login),
            ("password", password),
        ):
            if not value or not isinstance(value, str):
                raise ValueError(f"{name} is required")
        for name, value in (
            ("connect_timeout", connect_timeout),
            ("read_timeout", read_timeout),
            ("deposit_timeout", deposit_timeout),
        ):
            if not value or value <= 0:
                raise ValueError(f"{name} must be a positive number of seconds")
        self.environment = environment
        defaults = ENVIRONMENTS[environment]
        self.base_url = (base_url or defaults["base_url"]).rstrip("/")
        if token_url:
            self.token_url = token_url
        elif base_url:
            self.token_url = self.base_url + TOKEN_PATH
        else:
            self.token_url = defaults["token_url"]
        self.client_id = client_id
        self._client_secret = client_secret
        account = f"{login}:{password}".encode()
        self._cpro_account = base64.b64encode(account).decode("ascii")
        self.login = login
        self.connect_timeout = float(connect_timeout)
        self.read_timeout = float(read_timeout)
        self.deposit_timeout = float(deposit_timeout)
        self.retries = int(retries)
        self.backoff_factor = float(backoff_factor)
        self.backoff_max = float(backoff_max)
        self.max_retry_after = float(max_retry_after)
        self.token_margin = float(token_margin)
        self.page_size = int(page_size)
        self._token_cache = token_cache or DEFAULT_TOKEN_CACHE
        self._token_key = cache_key(self.token_url, client_id, client_secret)
        self._local = threading.local()

    def __repr__(self):
        # Never show secrets.
        return (
            f"<ChorusProClient {self.environment} {self.base_url} "
            f"client_id={self.client_id!r} login={self.login!r}>"
        )

    # --- HTTP plumbing -----------------------------------------------------------

    def _session(self, write):
        """The calling thread's session for reads (with retries) or writes."""
        attr = "write_session" if write else "read_session"
        session = getattr(self._local, attr, None)
        if session is None:
            session = requests.Session()
            retry = (
                _no_retry()
                if write
                else _read_retry(
                    self.retries,
                    self.backoff_factor,
                    self.backoff_max,
                    self.max_retry_after,
                )
            )
            adapter = HTTPAdapter(max_retries=retry)
            session.mount("http://", adapter)
            session.mount("https://", adapter)
            setattr(self._local, attr, session)
        return session

    def close(self):
        """Close the calling thread's connections."""
        for attr in ("read_session", "write_session"):
            session = getattr(self._local, attr, None)
            if session is not None:
                session.close()
                setattr(self._local, attr, None)

    def _transport_error(self, exc, endpoint, write):
        message = f"Chorus Pro {endpoint}: {exc.__class__.__name__}: {exc}"
        _logger.warning("%s", message)
        if write and not _request_never_sent(exc):
            return ChorusProOutcomeUnknownError(message, endpoint=endpoint)
        return ChorusProRetryableError(message, endpoint=endpoint)

    def _fetch_token(self):
        """Ask PISTE for a token: ``(access_token, expires_in)``."""
        endpoint = TOKEN_PATH
        try:
            response = self._session(write=False).post(
                self.token_url,
                data={
                    "grant_type": "client_credentials",
                    "client_id": self.client_id,
                    "client_secret": self._client_secret,
                    "scope": "openid",
                },
                headers={"Accept": "application/json"},
                timeout=(self.connect_timeout, self.read_timeout),
            )
        except requests.exceptions.RequestException as exc:
            raise self._transport_error(exc, endpoint, write=False) from exc
        status = response.status_code
        try:
            answer = response.json()
        except ValueError:
            answer = None
        if status == 200 and isinstance(answer, dict) and answer.get("access_token"):
            try:
                expires_in = float(answer.get("expires_in") or 0)
            except (TypeError, ValueError):
                expires_in = 0.0
            return answer["access_token"], expires_in
        _logger.warning(
            "PISTE token request answered HTTP %s: %s", status, _excerpt(response.text)
        )
        if status == 429 or status >= 500:
            raise ChorusProRetryableError(
                f"PISTE token endpoint answered HTTP {status}",
                retry_after=_parse_retry_after(response.headers.get("Retry-After")),
                http_status=status,
                endpoint=endpoint,
            )
        if status in (400, 401, 403):
            reason = None
            if isinstance(answer, dict):
                reason = answer.get("error_description") or answer.get("error")
            raise ChorusProAuthError(
                f"PISTE refused the client credentials (HTTP {status}): {reason}",
                reason=reason,
                http_status=status,
                endpoint=endpoint,
            )
        raise ChorusProError(
            f"Unexpected answer of the PISTE token endpoint (HTTP {status})",
            http_status=status,
            endpoint=endpoint,
        )

    def _token(self):
        return self._token_cache.acquire(
            self._token_key, self._fetch_token, self.token_margin
        )

    def invalidate_token(self):
        """Forget the cached token of this application (next call fetches one)."""
        self._token_cache.invalidate(self._token_key)

    def _call(
        self, method, path, body=None, *, write=False, search=False, timeout=None
    ):
        """Send one API call and decode its answer.

        A 401 on a cached token (expired or revoked early) invalidates it and the
        call is sent once more with a fresh token: the gateway refused the first
        request, so this is safe even for writes.
        """
        url = self.base_url + API_PREFIX + path
        read_timeout = timeout or self.read_timeout
        for attempt in (1, 2):
            token, fresh = self._token()
            headers = {
                "Authorization": f"Bearer {token}",
                "cpro-account": self._cpro_account,
                "Accept": "application/json",
            }
            data = None
            if method == "POST":
                headers["Content-Type"] = "application/json;charset=utf-8"
                data = json.dumps(body if body is not None else {}).encode("utf-8")
            try:
                response = self._session(write).request(
                    method,
                    url,
                    data=data,
                    headers=headers,
                    timeout=(self.connect_timeout, read_timeout),
                )
            except requests.exceptions.RequestException as exc:
                raise self._transport_error(exc, path, write) from exc
            if response.status_code == 401 and attempt == 1 and not fresh:
                _logger.info(
                    "Chorus Pro refused a cached token on %s: refreshing", path
                )
                self._token_cache.invalidate(self._token_key, token)
                continue
            return self._decode(response, path, write=write, search=search)
        raise AssertionError("unreachable")  # pragma: no cover

    def _decode(self, response, endpoint, *, write, search):
        status = response.status_code
        try:
            answer = response.json()
        except ValueError:
            answer = None
        if status == 200 and isinstance(answer, dict):
            code = answer.get("codeRetour", 0)
            if isinstance(code, str) and code.strip().lstrip("-").isdigit():
                code = int(code)
            if code == 0:
                return answer
            label = answer.get("libelle")
            if search and (code == CODE_NOTHING_FOUND or label == LABEL_NOTHING_FOUND):
                return answer
            _logger.info("Chorus Pro %s refused: %s %s", endpoint, code, label)
            raise ChorusProFunctionalError(
                f"Chorus Pro refused {endpoint}: {code} {label}",
                code=code,
                label=label,
                payload=answer,
                http_status=status,
                endpoint=endpoint,
            )
        _logger.warning(
            "Chorus Pro %s answered HTTP %s: %s",
            endpoint,
            status,
            _excerpt(response.text),
        )
        if status == 429 or status >= 500:
            error_class = ChorusProRetryableError
            if write and status != 429:
                # A server error after the request arrived: it may have been
                # recorded. A 429 is refused by the gateway before processing.
                error_class = ChorusProOutcomeUnknownError
            raise error_class(
                f"Chorus Pro {endpoint} answered HTTP {status}",
                retry_after=_parse_retry_after(response.headers.get("Retry-After")),
                http_status=status,
                endpoint=endpoint,
            )
        if status in (401, 403):
            reason = None
            if isinstance(answer, dict):
                reason = (
                    answer.get("error_description")
                    or answer.get("libelle")
                    or answer.get("error")
                    or answer.get("message")
                )
            reason = reason or _excerpt(response.text) or None
            raise ChorusProAuthError(
                f"Chorus Pro refused the credentials on {endpoint} "
                f"(HTTP {status}): {reason}",
                reason=reason,
                http_status=status,
                endpoint=endpoint,
            )
        if 400 <= status < 500 and isinstance(answer, dict) and "codeRetour" in answer:
            code = answer.get("codeRetour")
            label = answer.get("libelle")
            raise ChorusProFunctionalError(
                f"Chorus Pro refused {endpoint} (HTTP {status}): {code} {label}",
                code=code,
                label=label,
                payload=answer,
                http_status=status,
                endpoint=endpoint,
            )
        if status == 200:
            # HTTP 200 whose body is not a JSON object: for a write, nobody knows
            # whether it was recorded.
            error_class = ChorusProOutcomeUnknownError if write else ChorusProError
            raise error_class(
                f"Chorus Pro {endpoint} answered HTTP 200 without a JSON object",
                http_status=status,
                endpoint=endpoint,
            )
        raise ChorusProError(
            f"Chorus Pro {endpoint} answered HTTP {status}",
            http_status=status,
            endpoint=endpoint,
        )

    def _search_all(self, path, body, paging_key, list_key, page_size=None, sort=None):
        """Collect ``list_key`` over every page of a search."""
        size = int(page_size or self.page_size)
        results = []
        page = 1
        while True:
            paging = {"nbResultatsParPage": size, "pageResultatDemandee": page}
            if sort:
                paging["triColonne"], paging["triSens"] = sort
            answer = self._call(
                "POST", path, dict(body, **{paging_key: paging}), search=True
            )
            items = answer.get(list_key) or []
            results.extend(items)
            info = answer.get("parametresRetour") or {}
            try:
                pages = int(info.get("pages") or 1)
            except (TypeError, ValueError):
                pages = 1
            if not items or page >= pages:
                return results
            page += 1
            if page > MAX_PAGES:
                raise ChorusProError(f"Chorus Pro {path}: more than {MAX_PAGES} pages")

    # --- Structures --------------------------------------------------------------

    def search_structures(
        self,
        identifier,
        identifier_type="SIRET",
        *,
        restrict_private=False,
        page_size=None,
    ):
        """Find structures by identifier (``structures/v1/rechercher``).

        :return: every matching ``listeStructures`` item (``idStructureCPP``,
            ``identifiantStructure``, ``designationStructure``, ``statut``...);
            an empty list when nothing matches.
        """
        body = {
            "structure": {
                "identifiantStructure": identifier,
                "typeIdentifiantStructure": identifier_type,
            },
            "restreindreStructuresPrivees": bool(restrict_private),
        }
        return self._search_all(
            "structures/v1/rechercher", body, "parametres", "listeStructures", page_size
        )

    def find_structure(self, siret):
        """Return the structure whose SIRET is ``siret``, or None."""
        for structure in self.search_structures(siret):
            if structure.get("identifiantStructure") == siret:
                return structure
        return None

    def get_structure(self, structure_id, language=None):
        """A structure's details (``structures/v1/consulter``).

        :return: the answer: ``parametres`` (``codeServiceDoitEtreRenseigne``,
            ``numeroEJDoitEtreRenseigne``, ``gestionNumeroEJOuCodeService``,
            ``statutMiseEnPaiementNestPasRemonte``), ``informationGenerales``
            (with ``dateExpirationMotPasseCompteTech`` for the supplier's own
            structure), ``adressePostaleDuSiege``...
        """
        body = {"idStructureCPP": int(structure_id)}
        if language:
            body["codeLangue"] = language
        return self._call("POST", "structures/v1/consulter", body)

    def search_services(self, structure_id, *, page_size=None):
        """Every service of a structure, over all pages
        (``structures/v1/rechercher/services``).

        :return: ``listeServices`` items (``idService``, ``codeService``,
            ``libelleService``, ``estActif``...), inactive ones included.
        """
        return self._search_all(
            "structures/v1/rechercher/services",
            {"idStructure": int(structure_id)},
            "parametresRechercherServicesStructure",
            "listeServices",
            page_size,
        )

    def get_service(self, structure_id, service_id):
        """A service's parameters (``structures/v1/consulter/service``).

        :return: the answer; ``parametres.numeroEngagement`` is True when this
            service requires an engagement number.
        """
        body = {"idStructure": int(structure_id), "idService": int(service_id)}
        return self._call("POST", "structures/v1/consulter/service", body)

    def search_engagements(
        self, engagement_number, supplier_structure_id, state="COMMANDE"
    ):
        """Look an engagement number up (``engagementsJuridiques/v1/rechercher``).

        :param supplier_structure_id: the supplier's own ``idStructureCPP``.
        :return: ``listeEngagementJuridique`` items; empty when unknown.
        """
        body = {
            "structureReceptriceEngagementJuridique": str(supplier_structure_id),
            "numeroEngagementJuridique": engagement_number,
        }
        if state:
            body["etatCourantEngagementJuridique"] = state
        answer = self._call(
            "POST", "engagementsJuridiques/v1/rechercher", body, search=True
        )
        return answer.get("listeEngagementJuridique") or []

    def get_supplier_structures(self):
        """The technical user's active supplier structures
        (``transverses/v1/recuperer/structures/actives/fournisseur``).

        :return: ``listeStructures`` items (``idStructureCPP``, ``identifiant``,
            ``designationStructure``).
        """
        answer = self._call(
            "POST",
            "transverses/v1/recuperer/structures/actives/fournisseur",
            {},
            search=True,
        )
        return answer.get("listeStructures") or []

    # --- Flows -------------------------------------------------------------------

    def deposit_flow(self, content, filename, syntax, *, with_signature=False):
        """Deposit a file (``factures/v1/deposer/flux``). Never retried.

        :param content: the file as bytes (XML, Factur-X PDF or ``.tar.gz``).
        :param filename: its name, with the extension.
        :param syntax: the ``syntaxeFlux`` (see :mod:`.constants`).
        :return: the answer: ``numeroFluxDepot``, ``dateDepot``, ``syntaxeFlux``.
        :raises ChorusProOutcomeUnknownError: the request may have arrived.
        """
        if not isinstance(content, bytes | bytearray):
            raise TypeError("content must be bytes")
        if not content:
            raise ValueError("content must not be empty")
        if "." not in (filename or ""):
            raise ValueError("filename must have an extension")
        body = {
            "fichierFlux": base64.b64encode(content).decode("ascii"),
            "nomFichier": filename,
            "syntaxeFlux": syntax,
            "avecSignature": bool(with_signature),
        }
        path = "factures/v1/deposer/flux"
        answer = self._call(
            "POST", path, body, write=True, timeout=self.deposit_timeout
        )
        if not answer.get("numeroFluxDepot"):
            raise ChorusProOutcomeUnknownError(
                "Chorus Pro accepted a deposit without giving a flow number",
                http_status=200,
                endpoint=path,
            )
        return answer

    def get_flow_report(self, flow_number, syntax=None):
        """Detailed report of a flow (``transverses/v1/consulterCRDetaille``).

        :return: the answer: ``etatCourantDepotFlux``, ``listeErreurDP`` (per
            invoice), ``listeErreurTechnique`` (whole flow)...
        """
        body = {"numeroFluxDepot": flow_number}
        if syntax:
            body["syntaxeFlux"] = syntax
        return self._call("POST", "transverses/v1/consulterCRDetaille", body)

    # --- Invoices ----------------------------------------------------------------

    def search_invoices(
        self,
        *,
        flow_number=None,
        invoice_number=None,
        statuses=None,
        invoice_type=None,
        date_from=None,
        date_to=None,
        page_size=None,
        sort=None,
        **criteria,
    ):
        """The supplier's invoices, over all pages
        (``factures/v1/rechercher/fournisseur``). Credit notes are included unless
        ``invoice_type`` says otherwise.

        :param date_from: start of ``periodeDateHeureEtatCourantDu`` (date,
            datetime or string): the invoices whose current status changed since.
        :param date_to: end of the period (``periodeDateHeureEtatCourantAu``).
        :param sort: optional ``(triColonne, triSens)``.
        :param criteria: further Chorus Pro criteria, passed as they are.
        :return: ``listeFactures`` items (``identifiantFactureCPP``,
            ``numeroFacture``, ``statut``, ``dateHeureEtatCourant``,
            ``numeroFluxDepot``, ``montantTTC``, ``typeFacture``...), each once.
        """
        body = dict(criteria)
        if flow_number:
            body["numeroFluxDepot"] = flow_number
        if invoice_number:
            body["numeroFacture"] = invoice_number
        if statuses:
            body["statutCourant"] = (
                [statuses] if isinstance(statuses, str) else list(statuses)
            )
        if invoice_type:
            body["typeFacture"] = invoice_type
        if date_from:
            body["periodeDateHeureEtatCourantDu"] = _format_period(date_from)
        if date_to:
            body["periodeDateHeureEtatCourantAu"] = _format_period(date_to)
        items = self._search_all(
            "factures/v1/rechercher/fournisseur",
            body,
            "rechercheFactureParFournisseur",
            "listeFactures",
            page_size,
            sort,
        )
        # Statuses may change while paging: keep each invoice once.
        unique, seen = [], set()
        for item in items:
            key = item.get("identifiantFactureCPP")
            if key is not None and key in seen:
                continue
            seen.add(key)
            unique.append(item)
        return unique

    def get_invoice_history(self, invoice_id):
        """Status history of an invoice (``factures/v1/consulter/historique``).

        :return: the answer: ``statutCourantCode`` and
            ``historiquesDesStatuts.histoStatut`` (``histoStatutCode``,
            ``histoStatutDatePassage``, ``histoStatutCommentaire``); see
            :func:`history_status_dates`.
        """
        return self._call(
            "POST", "factures/v1/consulter/historique", {"idFacture": int(invoice_id)}
        )

    def get_invoice(self, invoice_id):
        """An invoice as its supplier sees it (``factures/v1/consulter/fournisseur``).

        :return: the answer, with the invoice under ``facture``.
        """
        return self._call(
            "POST",
            "factures/v1/consulter/fournisseur",
            {"identifiantFactureCPP": int(invoice_id)},
        )

    def complete_invoice(self, invoice_id, comment, attachment_ids=()):
        """Complete a ``SUSPENDUE`` invoice (``factures/v1/completer``). Never
        retried.

        :param attachment_ids: ids returned by :meth:`attach_file`.
        :return: the answer (``identifiantFactureCPP``, ``numeroFacture``,
            ``dateTraitement``).
        """
        body = {"identifiantFactureCPP": int(invoice_id), "commentaire": comment or ""}
        if attachment_ids:
            body["pieceJointeComplementaire"] = [
                {"pieceJointeComplementaireId": int(att)} for att in attachment_ids
            ]
        return self._call("POST", "factures/v1/completer", body, write=True)

    def recycle_invoice(
        self,
        invoice_id,
        *,
        buyer_siret=None,
        service_code=None,
        engagement_number=None,
        market_number=None,
        comment=None,
    ):
        """Re-route an ``A_RECYCLER`` invoice (``factures/v1/recycler``). Never
        retried.

        :return: the answer (``identifiantFactureCPP``, ``numeroFacture``,
            ``statutFacture``...).
        """
        body = {"identifiantFactureCPP": int(invoice_id)}
        recipient = {}
        if buyer_siret:
            recipient["codeDestinataire"] = buyer_siret
        if service_code:
            recipient["codeServiceExecutant"] = service_code
        if recipient:
            body["destinataire"] = recipient
        reference = {}
        if engagement_number:
            reference["numeroBonCommande"] = engagement_number
        if market_number:
            reference["numeroMarche"] = market_number
        if reference:
            body["reference"] = reference
        if comment:
            body["commentaire"] = comment
        return self._call("POST", "factures/v1/recycler", body, write=True)

    def attach_file(self, content, filename, mime_type=None):
        """Upload an attachment (``transverses/v1/ajouter/fichier``). Never
        retried.

        Chorus Pro refuses files of 10 MB or more and names over 50 characters.

        :return: the answer, whose ``pieceJointeId`` is the attachment's id.
        """
        if not isinstance(content, bytes | bytearray):
            raise TypeError("content must be bytes")
        if "." not in (filename or ""):
            raise ValueError("filename must have an extension")
        extension = filename.rsplit(".", 1)[1]
        mime_type = mime_type or mimetypes.guess_type(filename)[0]
        body = {
            "pieceJointeFichier": base64.b64encode(content).decode("ascii"),
            "pieceJointeNom": filename,
            "pieceJointeTypeMime": mime_type or "application/octet-stream",
            "pieceJointeExtension": extension.upper(),
        }
        return self._call("POST", "transverses/v1/ajouter/fichier", body, write=True)

    # --- Misc --------------------------------------------------------------------

    def health_check(self):
        """``GET transverses/v1/health-check``: the decoded answer."""
        return self._call("GET", "transverses/v1/health-check")
