"""HTTP front of the sandbox: PISTE token endpoint, Chorus Pro paths, admin API.

:class:`SandboxServer` runs a :class:`http.server.ThreadingHTTPServer` on a
loopback address, in a background thread (tests) or in the foreground (the
``chorus-sandbox`` command). See :mod:`chorus_pro.sandbox` for the admin API.
"""

import base64
import binascii
import ipaddress
import json
import logging
import socket
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, unquote, urlsplit

from ..constants import API_PREFIX, TOKEN_PATH
from .state import CODE_BAD_REQUEST, Refusal, SandboxState

_logger = logging.getLogger(__name__)

ADMIN_PREFIX = "/_sandbox/"
HEALTH_PATH = "/cpro/transverses/v1/health-check"
MAX_BODY_BYTES = 256 * 1024 * 1024

#: Chorus Pro paths (all ``POST`` but the health check) and their handlers.
ROUTES = {
    "/cpro/structures/v1/rechercher": "search_structures",
    "/cpro/structures/v1/consulter": "get_structure",
    "/cpro/structures/v1/rechercher/services": "search_services",
    "/cpro/structures/v1/consulter/service": "get_service",
    "/cpro/engagementsJuridiques/v1/rechercher": "search_engagements",
    "/cpro/transverses/v1/recuperer/structures/actives/fournisseur": (
        "supplier_structures"
    ),
    "/cpro/factures/v1/deposer/flux": "deposit",
    "/cpro/transverses/v1/consulterCRDetaille": "flow_report",
    "/cpro/factures/v1/rechercher/fournisseur": "search_invoices",
    "/cpro/factures/v1/consulter/historique": "invoice_history",
    "/cpro/factures/v1/consulter/fournisseur": "invoice_detail",
    "/cpro/factures/v1/completer": "complete_invoice",
    "/cpro/factures/v1/recycler": "recycle_invoice",
    "/cpro/transverses/v1/ajouter/fichier": "attach_file",
}


def is_loopback(host):
    """True for ``localhost`` and loopback IP addresses."""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


class _Dropped(Exception):
    """The handler closed the connection without answering."""


class SandboxRequestHandler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive, as PISTE
    server_version = "ChorusProSandbox/1.0"
    #: Idle keep-alive connections are closed after this many seconds.
    timeout = 30

    def setup(self):
        result = super().setup()
        # Headers and body leave in two writes: without this, Nagle's algorithm
        # and delayed ACKs add ~40 ms to every keep-alive answer.
        self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        return result

    @property
    def state(self):
        return self.server.state

    def log_message(self, fmt, *args):
        _logger.debug("%s %s", self.address_string(), fmt % args)

    # --- plumbing ---------------------------------------------------------------

    def _read_body(self):
        length = self.headers.get("Content-Length")
        if not length:
            return b""
        try:
            size = int(length)
        except ValueError:
            size = -1
        if size < 0 or size > MAX_BODY_BYTES:
            self.close_connection = True
            raise Refusal(
                400, CODE_BAD_REQUEST, "Content-Length invalide", "invalid_json"
            )
        return self.rfile.read(size)

    def _send(self, status, body, headers=None):
        if getattr(self, "_mute", False):
            return  # accept-then-drop: the answer is computed, never sent
        data = json.dumps(body, ensure_ascii=False).encode("utf-8")
        self.send_response(status)
        self.send_header("Content-Type", "application/json;charset=utf-8")
        self.send_header("Content-Length", str(len(data)))
        for name, value in (headers or {}).items():
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(data)

    def _drop(self):
        """Close the connection without a byte of answer."""
        self.close_connection = True
        try:
            self.wfile.flush()
            self.connection.shutdown(socket.SHUT_RDWR)
        except OSError as exc:
            _logger.debug("Connection already gone while dropping it: %s", exc)
        raise _Dropped()

    def _refuse(self, refusal, headers=None):
        self.state.record_refusal(refusal.reason)
        self._send(refusal.http_status, refusal.body(), headers)

    def do_GET(self):
        self._dispatch("GET")

    def do_POST(self):
        self._dispatch("POST")

    def do_PUT(self):
        self._dispatch("PUT")

    def do_DELETE(self):
        self._dispatch("DELETE")

    def _dispatch(self, method):
        path = urlsplit(self.path).path
        self._mute = False
        try:
            try:
                body = self._read_body()
            except Refusal as refusal:
                self._refuse(refusal)
                return
            if path.startswith(ADMIN_PREFIX):
                self._admin(method, path, body)
                return
            self.state.record_call(path)
            latency, fault = self.state.draw_fault(path)
            if latency:
                time.sleep(latency)
            if fault == "drop":
                self._drop()
            if fault == "500":
                self._send(
                    500, {"error": "internal_error", "message": "Erreur interne"}
                )
                return
            if fault in ("429", "retry_after_violation"):
                retry_after = str(self.state.faults.retry_after)
                self._send(
                    429,
                    {"error": "too_many_requests", "message": "Quota dépassé"},
                    {"Retry-After": retry_after},
                )
                return
            # Accept-then-drop: process the request (a deposit is recorded) but
            # close the connection instead of answering.
            self._mute = fault == "accept_then_drop"
            if path == TOKEN_PATH:
                self._token(method, body)
            else:
                self._api(method, path, body)
            if self._mute:
                self._drop()
        except _Dropped:
            return

    # --- PISTE token endpoint -------------------------------------------------------

    def _token(self, method, body):
        if method != "POST":
            self._refuse(Refusal(405, None, "method_not_allowed", "method_not_allowed"))
            return
        form = {k: v[0] for k, v in parse_qs(body.decode("utf-8", "replace")).items()}
        basic = None
        auth = self.headers.get("Authorization", "")
        if auth.startswith("Basic "):
            try:
                pair = base64.b64decode(auth[6:], validate=True).decode("utf-8")
                client_id, _, secret = pair.partition(":")
                basic = (unquote(client_id), unquote(secret))
            except (binascii.Error, UnicodeDecodeError):
                basic = ("", "")
        try:
            answer = self.state.issue_token(form, basic)
        except Refusal as refusal:
            self.state.record_refusal(refusal.reason)
            description = {
                "bad_grant_type": "grant_type must be client_credentials",
                "bad_client_credentials": "Bad client credentials",
            }[refusal.reason]
            self._send(
                refusal.http_status,
                {"error": refusal.label, "error_description": description},
            )
            return
        self._send(200, answer, {"Cache-Control": "no-store"})

    # --- Chorus Pro API ---------------------------------------------------------------

    def _authenticate(self, path):
        """Refuse the request (and return False) unless its credentials are good."""
        auth = self.headers.get("Authorization", "")
        if not auth.startswith("Bearer ") or not auth[7:].strip():
            self._oauth_refusal("missing_token", "Bearer token missing")
            return False
        problem = self.state.token_problem(auth[7:].strip())
        if problem:
            description = (
                "Token expired" if problem == "expired_token" else "Unknown token"
            )
            self._oauth_refusal(problem, description)
            return False
        api = path[len(API_PREFIX) :].split("/", 1)[0]
        if not self.state.api_subscribed(api):
            self.state.record_refusal("forbidden_api")
            self._send(
                403,
                {
                    "error": "access_denied",
                    "error_description": f"API {api} non souscrite par l'application",
                },
            )
            return False
        if path == HEALTH_PATH:
            return True
        account = self.headers.get("cpro-account", "")
        try:
            login, sep, password = (
                base64.b64decode(account, validate=True).decode("utf-8").partition(":")
            )
        except (binascii.Error, UnicodeDecodeError):
            sep = ""
        if not account or not sep or not self.state.account_valid(login, password):
            self._refuse(
                Refusal(
                    401,
                    401,
                    "Compte technique absent ou invalide (en-tête cpro-account)",
                    "bad_cpro_account",
                )
            )
            return False
        return True

    def _oauth_refusal(self, reason, description):
        self.state.record_refusal(reason)
        self._send(
            401,
            {"error": "invalid_token", "error_description": description},
            {
                "WWW-Authenticate": f'Bearer error="invalid_token", '
                f'error_description="{description}"'
            },
        )

    def _api(self, method, path, raw):
        if path == HEALTH_PATH:
            handler, expected = "health", "GET"
        else:
            handler, expected = ROUTES.get(path), "POST"
        if handler is None:
            self.state.record_refusal("unknown_path")
            self._send(404, {"error": "not_found", "message": f"No resource {path}"})
            return
        if method != expected:
            self.state.record_refusal("method_not_allowed")
            self._send(405, {"error": "method_not_allowed"}, {"Allow": expected})
            return
        if not self._authenticate(path):
            return
        body = {}
        try:
            if method == "POST":
                content_type = self.headers.get("Content-Type", "")
                if not content_type.lower().startswith("application/json"):
                    raise Refusal(
                        415,
                        CODE_BAD_REQUEST,
                        "Content-Type application/json attendu",
                        "content_type",
                    )
                try:
                    body = json.loads(raw.decode("utf-8"))
                except (UnicodeDecodeError, ValueError) as exc:
                    raise Refusal(
                        400, CODE_BAD_REQUEST, "Corps JSON invalide", "invalid_json"
                    ) from exc
                if not isinstance(body, dict):
                    raise Refusal(
                        400, CODE_BAD_REQUEST, "Objet JSON attendu", "wrong_type"
                    )
            answer = getattr(self.state, handler)(body)
        except Refusal as refusal:
            self._refuse(refusal)
            return
        self._send(200, answer)

    # --- admin API --------------------------------------------------------------

    def _admin(self, method, path, raw):
        action = path[len(ADMIN_PREFIX) :].strip("/")
        try:
            body = json.loads(raw.decode("utf-8")) if raw.strip() else {}
            if not isinstance(body, dict):
                raise ValueError("a JSON object is expected")  # noqa: TRY004
            answer = self._admin_action(method, action, body)
        except KeyError as exc:
            self._send(404, {"error": f"not found: {exc.args[0] if exc.args else ''}"})
            return
        except (TypeError, ValueError) as exc:
            self._send(400, {"error": str(exc)})
            return
        if answer is None:
            self._send(404, {"error": f"no admin action {method} {action}"})
            return
        self._send(200, answer)

    def _admin_action(self, method, action, body):
        state = self.state
        if action == "stats" and method == "GET":
            return state.stats()
        if action == "reset" and method == "POST":
            state.reset(keep_config=bool(body.get("keep_config")))
            if body.get("config"):
                state.configure(body["config"])
            return {"reset": True}
        if action == "config":
            if method == "POST":
                return state.configure(body)
            return state.config.public() if method == "GET" else None
        if action == "faults":
            if method == "POST":
                return state.set_faults(body)
            return state.faults.public() if method == "GET" else None
        if action == "tokens/expire" and method == "POST":
            return state.expire_tokens()
        if action == "invoices" and method == "GET":
            return {"invoices": state.list_invoices()}
        if action == "invoices/advance" and method == "POST":
            return state.advance_invoice(body)
        if action == "flows" and method == "GET":
            return {"flows": state.list_flows()}
        if action == "flows/complete" and method == "POST":
            return state.complete_all_flows()
        if (
            action.startswith("flows/")
            and action.endswith("/complete")
            and method == "POST"
        ):
            return state.complete_flow(action[len("flows/") : -len("/complete")], body)
        if action == "engagements" and method == "POST":
            return state.add_engagement(body)
        return None


class _HTTPServer(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True
    block_on_close = False

    def handle_error(self, request, client_address):
        # A client that gave up (read timeout) makes our late answer fail: normal.
        _logger.debug(
            "Sandbox connection error with %s: %r", client_address, sys.exc_info()[1]
        )


class SandboxServer:
    """A running sandbox.

    >>> with SandboxServer(port=0) as sandbox:
    ...     client = ChorusProClient(..., base_url=sandbox.url)

    :param host: a loopback address (the sandbox accepts fixed demo credentials).
    :param port: 0 picks a free port; read it from :attr:`port` / :attr:`url`.
    :param config: a :class:`~.state.SandboxConfig` (defaults: demo credentials,
        tokens valid one hour, flows final on the second report call).
    """

    def __init__(self, host="127.0.0.1", port=0, config=None):
        if not is_loopback(host):
            raise ValueError(
                f"The sandbox only listens on loopback addresses, not {host}"
            )
        self.state = SandboxState(config)
        server_class = _HTTPServer
        if ":" in host:
            server_class = type(
                "_HTTPServer6", (_HTTPServer,), {"address_family": socket.AF_INET6}
            )
        self._httpd = server_class((host, port), SandboxRequestHandler)
        self._httpd.state = self.state
        self._thread = None

    @property
    def host(self):
        return self._httpd.server_address[0]

    @property
    def port(self):
        return self._httpd.server_address[1]

    @property
    def url(self):
        host = self.host
        if ":" in host:
            host = f"[{host}]"
        return f"http://{host}:{self.port}"

    def start(self):
        """Serve in a daemon thread; return self."""
        self._thread = threading.Thread(
            target=self._httpd.serve_forever, name="chorus-pro-sandbox", daemon=True
        )
        self._thread.start()
        return self

    def serve_forever(self):
        """Serve in the calling thread until :meth:`stop` or KeyboardInterrupt."""
        self._httpd.serve_forever()

    def stop(self):
        self._httpd.shutdown()
        self._httpd.server_close()
        if self._thread:
            self._thread.join(timeout=5)

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.stop()
