"""System tests: real Odoo server processes driven from outside."""

import os
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
# The scripts' helpers (odoo_env, odoo_logs) start Odoo the same way everywhere.
sys.path.insert(0, str(ROOT / "setup"))
sys.path.insert(0, str(Path(__file__).resolve().parent))
# The add-on folder: its chorus_pro package (client, sandbox) needs no Odoo.
sys.path.append(str(ROOT / "l10n_fr_chorus_admin"))

from odoo_server import OdooServer  # noqa: E402


@pytest.fixture(scope="session")
def odoo_server():
    """One Odoo server for the system tests; its log must stay clean."""
    server = OdooServer("system-tests").start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
def db_name(request):
    """A database name unique to this test and process; dropped afterwards."""
    name = f"chorus_sys_{os.getpid()}_{request.node.name}".lower()[:60]
    yield name
    if "odoo_server" in request.fixturenames:
        request.getfixturevalue("odoo_server").drop_database(name)
