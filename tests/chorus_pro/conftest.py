"""Fixtures of the Chorus Pro client and sandbox tests (no Odoo involved).

One sandbox serves the whole session on a free loopback port; it is reset before
every test through its admin API, so tests stay independent.
"""

import importlib.abc
import logging
import os
import sys
from pathlib import Path

import pytest
import requests

ADDON_DIR = Path(__file__).resolve().parents[2] / "l10n_fr_chorus_admin"
if str(ADDON_DIR) not in sys.path:
    # Appended, not prepended: the add-on's other folders (models, tests...) must
    # not shadow anything.
    sys.path.append(str(ADDON_DIR))

#: Set by test_cpro_package to re-run tests in a session where Odoo cannot load.
NO_ODOO = bool(os.environ.get("CHORUS_PRO_NO_ODOO"))


class _NoOdoo(importlib.abc.MetaPathFinder):
    def find_spec(self, name, path=None, target=None):
        if name == "odoo" or name.startswith("odoo."):
            raise ImportError(f"{name}: Odoo must not be imported by chorus_pro")
        return None


if NO_ODOO:
    sys.meta_path.insert(0, _NoOdoo())

from chorus_pro import ChorusProClient, TokenCache  # noqa: E402
from chorus_pro.sandbox import SandboxServer  # noqa: E402
from chorus_pro.sandbox.fixtures import (  # noqa: E402
    DEFAULT_CLIENT_ID,
    DEFAULT_CLIENT_SECRET,
    DEFAULT_LOGIN,
    DEFAULT_PASSWORD,
)
from chorus_pro.sandbox.samples import build_flow  # noqa: E402


class Admin:
    """The sandbox's admin API, over HTTP."""

    def __init__(self, url):
        self.url = url
        self.http = requests.Session()

    def get(self, action):
        response = self.http.get(f"{self.url}/_sandbox/{action}", timeout=5)
        response.raise_for_status()
        return response.json()

    def post(self, action, body=None, expect=200):
        response = self.http.post(
            f"{self.url}/_sandbox/{action}", json=body or {}, timeout=5
        )
        assert response.status_code == expect, response.text
        return response.json()

    def stats(self):
        return self.get("stats")

    def calls(self, path):
        return self.stats()["calls"].get(path, 0)

    def config(self, **values):
        return self.post("config", values)

    def faults(self, **values):
        return self.post("faults", values)

    def advance(self, invoice_id, status, **extra):
        return self.post(
            "invoices/advance",
            dict(extra, identifiantFactureCPP=invoice_id, statut=status),
        )


def _drop_record(_record):
    return False


@pytest.fixture(autouse=True)
def _keep_logs_out_of_odoo():
    """Warnings these tests provoke on purpose (faults, broken files, unknown
    statuses) stay with pytest: under pytest-odoo the same process also logs to
    the Odoo log file, which the test command requires to be free of warnings.
    Every root handler that is not pytest's own ignores records meanwhile."""
    handlers = [
        handler
        for handler in logging.getLogger().handlers
        if not type(handler).__module__.startswith("_pytest")
    ]
    for handler in handlers:
        handler.addFilter(_drop_record)
    yield
    for handler in handlers:
        handler.removeFilter(_drop_record)


@pytest.fixture(scope="session")
def sandbox():
    server = SandboxServer(port=0).start()
    yield server
    server.stop()


@pytest.fixture
def admin(sandbox):
    admin = Admin(sandbox.url)
    admin.post("reset")
    yield admin
    admin.http.close()


@pytest.fixture
def make_client(sandbox, admin):
    """Build clients on the sandbox; each test gets its own token cache."""
    cache = TokenCache()
    clients = []

    def make(**options):
        settings = {
            "base_url": sandbox.url,
            "connect_timeout": 2.0,
            "read_timeout": 5.0,
            "deposit_timeout": 10.0,
            "retries": 2,
            "backoff_factor": 0.01,
            "token_cache": cache,
        }
        settings.update(options)
        credentials = (
            settings.pop("client_id", DEFAULT_CLIENT_ID),
            settings.pop("client_secret", DEFAULT_CLIENT_SECRET),
            settings.pop("login", DEFAULT_LOGIN),
            settings.pop("password", DEFAULT_PASSWORD),
        )
        client = ChorusProClient(*credentials, **settings)
        clients.append(client)
        return client

    yield make
    for client in clients:
        client.close()


@pytest.fixture
def client(make_client):
    return make_client()


@pytest.fixture
def deposit(client, admin):
    """Deposit sample invoices and make the flow final; return its report."""

    def run(syntax, invoices, final=True):
        content, name = build_flow(syntax, invoices)
        answer = client.deposit_flow(content, name, syntax)
        number = answer["numeroFluxDepot"]
        if final:
            admin.post(f"flows/{number}/complete")
        return client.get_flow_report(number)

    return run


def pytest_terminal_summary(terminalreporter):
    if NO_ODOO:
        loaded = sorted(m for m in sys.modules if m == "odoo" or m.startswith("odoo."))
        terminalreporter.write_line(
            "odoo modules loaded: " + (", ".join(loaded) or "none")
        )


# pytest-odoo (installed with the add-on's test requirements) loads an Odoo
# registry for every test through autouse fixtures, which needs a database. These
# tests never touch Odoo: the overrides below apply to this folder only, so a
# plain ``python3 -m pytest tests/chorus_pro`` runs without any database, and a
# full pytest-odoo session still loads Odoo for the other tests.
@pytest.fixture(scope="session")
def load_registry():
    yield


@pytest.fixture(scope="session")
def load_http():
    yield
