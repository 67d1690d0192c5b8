"""A real Odoo 18 server process driven from outside over JSON-RPC.

The system tests start one with :class:`OdooServer`, create their databases
through the database service as an administrator would, and talk to it like
any external client.
"""

import itertools
import json
import os
import subprocess
import tempfile
import time
import urllib.error
import urllib.request
from pathlib import Path

import odoo_env
import odoo_logs

# Odoo's default master password: the test servers use no configuration file.
MASTER_PASSWORD = "admin"


class RpcError(Exception):
    """An error answered by the server, with Odoo's exception name and message."""

    def __init__(self, error):
        data = error.get("data") or {}
        self.name = data.get("name", "")
        self.message = data.get("message") or error.get("message", "")
        super().__init__(f"{self.name}: {self.message}")


class OdooServer:
    """One ``python3 -m odoo`` process with its HTTP port and its own log file."""

    def __init__(self, name, *extra_args):
        self.name = name
        self.port = odoo_env.free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        log_dir = os.environ.get(odoo_logs.LOG_DIR_ENV) or tempfile.mkdtemp()
        self.logfile = Path(log_dir) / f"{name}.log"
        self.extra_args = extra_args
        self.process = None
        self._ids = itertools.count(1)

    def start(self, timeout=120):
        cmd = odoo_env.odoo_command(
            f"--http-port={self.port}",
            "--http-interface=127.0.0.1",
            f"--logfile={self.logfile}",
            "--log-level=info",
            *self.extra_args,
        )
        # What Odoo prints before its logging starts (bad options) goes here.
        with open(self.logfile.with_suffix(".out"), "wb") as output:
            self.process = subprocess.Popen(
                cmd, stdin=subprocess.DEVNULL, stdout=output, stderr=output
            )
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                output = self.logfile.with_suffix(".out").read_text()[-2000:]
                raise RuntimeError(f"Odoo exited at start: {output}")
            try:
                self.call("common", "version")
                return self
            except (OSError, urllib.error.URLError):
                time.sleep(0.5)
        raise TimeoutError(f"Odoo did not answer within {timeout} s")

    def stop(self):
        if self.process and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()

    def log_problems(self):
        """WARNING/ERROR lines of this server's log, the allow-list applied."""
        if not self.logfile.exists():
            return []
        return odoo_logs.bad_lines(self.logfile)

    # JSON-RPC -------------------------------------------------------------

    def call(self, service, method, *args, timeout=900):
        payload = {
            "jsonrpc": "2.0",
            "method": "call",
            "id": next(self._ids),
            "params": {"service": service, "method": method, "args": list(args)},
        }
        request = urllib.request.Request(
            f"{self.url}/jsonrpc",
            data=json.dumps(payload).encode(),
            headers={"Content-Type": "application/json"},
        )
        with urllib.request.urlopen(request, timeout=timeout) as response:
            answer = json.load(response)
        if answer.get("error"):
            raise RpcError(answer["error"])
        return answer["result"]

    def create_database(self, db, demo=False, country_code="fr", lang="en_US"):
        odoo_env.drop_database(db)
        self.call(
            "db",
            "create_database",
            MASTER_PASSWORD,
            db,
            demo,
            lang,
            "admin",
            "admin",
            country_code,
            "",
        )
        return Database(self, db)

    def drop_database(self, db):
        try:
            self.call("db", "drop", MASTER_PASSWORD, db)
        except RpcError:
            odoo_env.drop_database(db)


class Database:
    """A database of an :class:`OdooServer`, used as a given user."""

    def __init__(self, server, name, login="admin", password="admin"):
        self.server = server
        self.name = name
        self.password = password
        self.uid = server.call("common", "login", name, login, password)
        if not self.uid:
            raise RuntimeError(f"cannot log in to {name} as {login}")

    def as_user(self, login, password):
        return Database(self.server, self.name, login, password)

    def execute(self, model, method, *args, **kwargs):
        return self.server.call(
            "object",
            "execute_kw",
            self.name,
            self.uid,
            self.password,
            model,
            method,
            list(args),
            kwargs,
        )

    def ref(self, xmlid):
        module, name = xmlid.split(".", 1)
        found = self.execute(
            "ir.model.data",
            "search_read",
            [("module", "=", module), ("name", "=", name)],
            fields=["model", "res_id"],
        )
        return (found[0]["model"], found[0]["res_id"]) if found else (None, None)

    def module_state(self, name):
        found = self.execute(
            "ir.module.module", "search_read", [("name", "=", name)], fields=["state"]
        )
        return found[0]["state"] if found else None

    def _module_ids(self, names):
        self.execute("ir.module.module", "update_list")
        ids = self.execute("ir.module.module", "search", [("name", "in", names)])
        if len(ids) != len(names):
            raise RuntimeError(f"modules not found among {names}")
        return ids

    def install(self, *names):
        ids = self._module_ids(list(names))
        self.execute("ir.module.module", "button_immediate_install", ids)

    def uninstall(self, *names):
        ids = self._module_ids(list(names))
        self.execute("ir.module.module", "button_immediate_uninstall", ids)
