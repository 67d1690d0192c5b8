#!/usr/bin/env python3
"""Regenerate the screenshots of the README and of the add-on's description.

    python3 setup/screenshots.py [--db chorus_screenshots] [--port 8590]
                                 [--sandbox-port 8591] [--keep]
                                 [--lang en_US] [--output DIR]

Creates the demo database afresh (as setup/run_demo.py does, so that the
images show the demo story as of today; in English for the README unless
--lang fr_FR), starts the Chorus Pro sandbox and
Odoo wired to it, drives headless Chromium over it as each demo user, and
writes the PNG files into l10n_fr_chorus_admin/static/description/. Scheduled
actions do not run meanwhile, so every image shows the demo data as loaded.
Needs Chromium (Debian: /usr/bin/chromium) and websocket-client.
"""

import argparse
import base64
import json
import shutil
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
sys.path.insert(0, str(HERE.parent / "l10n_fr_chorus_admin"))

import odoo_env  # noqa: E402
import run_demo  # noqa: E402

OUTPUT = HERE.parent / "l10n_fr_chorus_admin" / "static" / "description"
WIDTH, HEIGHT = 1440, 1200
ADDON = "l10n_fr_chorus_admin"

# JavaScript run in the page: true once the web client has rendered a view and
# holds no pending request.
READY = """(() => {
    if (document.querySelector('.o_loading_indicator, .o_blockUI')) return false;
    if (location.pathname.startsWith('/my')) return document.readyState === 'complete';
    return !!document.querySelector(
        '.o_form_view .o_form_sheet, .o_list_view table, .o_settings_container,'
        + ' .o_graph_renderer canvas, .o_pivot table, .modal .o_form_view');
})()"""

# (file, user, path or (xmlid of an action, xmlid of a record), steps, what it
# shows); a tab is named by its page's name, whatever the language.
SHOTS = [
    (
        "settings.png",
        "admin",
        "/odoo/action-account.action_account_config",
        [("scroll", "#chorus_pro_connection")],
        "the Chorus Pro settings of the company",
    ),
    (
        "public_customer.png",
        "admin",
        ("account.res_partner_action_customer", "partner_demo_town_hall"),
        [("tab", "chorus_public_administration")],
        "a public customer: category, Chorus Pro structure, services",
    ),
    (
        "quotations.png",
        "commerciale",
        "/odoo/action-sale.action_quotations_with_onboarding",
        [],
        "quotations and orders in every mandate state",
    ),
    (
        "mandate_order.png",
        "approbateur",
        ("sale.action_quotations_with_onboarding", "sale_order_demo_mandate_received"),
        [("tab", "chorus_mandate")],
        "an order whose signed mandate form is to approve",
    ),
    (
        "followup.png",
        "comptable",
        "/odoo/action-l10n_fr_chorus_admin.action_chorus_invoice_followup",
        [],
        "the Chorus Pro follow-up of the invoices",
    ),
    (
        "invoice_suspended.png",
        "comptable",
        ("account.action_move_out_invoice_type", "invoice_demo_chorus_suspended"),
        [("tab", "chorus_pro")],
        "a suspended invoice: status, history, legal due date, the way out",
    ),
    (
        "invoice_late.png",
        "comptable",
        ("account.action_move_out_invoice_type", "invoice_demo_chorus_late"),
        [("tab", "chorus_pro")],
        "an overdue invoice: days late, interest, indemnity",
    ),
    (
        "invoice_error.png",
        "comptable",
        ("account.action_move_out_invoice_type", "invoice_demo_chorus_error"),
        [("tab", "chorus_pro")],
        "an invoice stopped before sending, and what to fix",
    ),
    (
        "deposits.png",
        "comptable",
        "/odoo/action-l10n_fr_chorus_admin.action_chorus_pro_deposit",
        [],
        "the deposit history (flows)",
    ),
    (
        "reporting.png",
        "comptable",
        "/odoo/action-l10n_fr_chorus_admin.action_chorus_invoice_analysis",
        [],
        "amounts per Chorus Pro status and customer",
    ),
    (
        "portal_invoices.png",
        "acheteur",
        "/my/invoices",
        [],
        "the portal customer's invoices with their Chorus Pro state",
    ),
]


class Browser:
    """Headless Chromium driven over the DevTools protocol."""

    def __init__(self):
        import websocket  # noqa: PLC0415 (a test requirement)

        self.profile = tempfile.mkdtemp(prefix="chorus-shots-")
        port = odoo_env.free_port()
        executable = shutil.which("chromium") or shutil.which("chromium-browser")
        if not executable:
            sys.exit("Chromium is needed (Debian: apt-get install chromium)")
        self.process = subprocess.Popen(
            [
                executable,
                "--headless=new",
                "--no-sandbox",
                "--disable-gpu",
                "--hide-scrollbars",
                "--no-first-run",
                f"--user-data-dir={self.profile}",
                f"--remote-debugging-port={port}",
                "--remote-allow-origins=*",
                f"--window-size={WIDTH},{HEIGHT}",
                "about:blank",
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        pages = _wait(lambda: _json(f"http://127.0.0.1:{port}/json/list"), 30)
        page = next(p for p in pages if p.get("type") == "page")
        self.ws = websocket.create_connection(
            page["webSocketDebuggerUrl"], suppress_origin=True
        )
        self.seq = 0
        self.call(
            "Emulation.setDeviceMetricsOverride",
            width=WIDTH,
            height=HEIGHT,
            deviceScaleFactor=1,
            mobile=False,
        )

    def call(self, method, **params):
        self.seq += 1
        self.ws.send(json.dumps({"id": self.seq, "method": method, "params": params}))
        while True:
            message = json.loads(self.ws.recv())
            if message.get("id") == self.seq:
                if "error" in message:
                    raise RuntimeError(f"{method}: {message['error']}")
                return message.get("result", {})

    def evaluate(self, expression):
        result = self.call(
            "Runtime.evaluate", expression=expression, returnByValue=True
        )
        return result.get("result", {}).get("value")

    def login(self, url, db, login):
        self.call("Network.enable")
        self.call("Network.clearBrowserCookies")
        body = json.dumps(
            {
                "jsonrpc": "2.0",
                "params": {"db": db, "login": login, "password": login},
            }
        ).encode()
        request = urllib.request.Request(
            f"{url}/web/session/authenticate",
            data=body,
            headers={"Content-Type": "application/json"},
        )
        with urllib.request.urlopen(request, timeout=60) as answer:
            if json.load(answer).get("error"):
                sys.exit(f"Cannot log in as {login}")
            cookie = answer.headers["Set-Cookie"].split(";")[0].split("=", 1)[1]
        self.call("Network.setCookie", name="session_id", value=cookie, url=url)

    def goto(self, url):
        self.call("Page.enable")
        self.call("Page.navigate", url=url)
        time.sleep(1)
        _wait(lambda: self.evaluate(READY), 60)

    def click_tab(self, name):
        found = self.evaluate(
            "(() => { const tab = [...document.querySelectorAll('.o_notebook "
            "a.nav-link')].find(a => a.getAttribute('name') === "
            f"{json.dumps(name)}); if (tab) tab.click(); return !!tab; }})()"
        )
        if not found:
            raise RuntimeError(f"no tab {name!r} on {self.evaluate('location.href')}")
        time.sleep(0.5)

    def scroll(self, selector):
        _wait(
            lambda: self.evaluate(f"!!document.querySelector({json.dumps(selector)})"),
            30,
        )
        time.sleep(0.5)
        self.evaluate(
            f"document.querySelector({json.dumps(selector)})"
            ".scrollIntoView({block: 'start'})"
        )

    def screenshot(self, path):
        time.sleep(1)
        _wait(lambda: self.evaluate(READY), 30)
        data = self.call("Page.captureScreenshot", format="png")["data"]
        path.write_bytes(base64.b64decode(data))

    def close(self):
        try:
            self.ws.close()
        finally:
            self.process.terminate()
            self.process.wait(timeout=30)
            shutil.rmtree(self.profile, ignore_errors=True)


def _json(url):
    try:
        with urllib.request.urlopen(url, timeout=5) as answer:
            return json.load(answer)
    except OSError:
        return None


def _wait(probe, timeout):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = probe()
        if value:
            return value
        time.sleep(0.3)
    raise TimeoutError("the page did not get ready in time")


def record_id(db, xmlid):
    import psycopg2  # noqa: PLC0415 (Odoo's requirement)

    module, name = xmlid.split(".") if "." in xmlid else (ADDON, xmlid)
    with psycopg2.connect(dbname=db) as connection, connection.cursor() as cr:
        cr.execute(
            "SELECT res_id FROM ir_model_data WHERE module = %s AND name = %s",
            [module, name],
        )
        row = cr.fetchone()
    connection.close()
    if not row:
        sys.exit(f"No record {xmlid} in {db}: was it created with demo data?")
    return row[0]


def take(url, db, shots, output=OUTPUT):
    browser = Browser()
    try:
        current = None
        for filename, user, target, steps, _what in shots:
            if user != current:
                browser.login(url, db, user)
                current = user
            if isinstance(target, tuple):
                action, record = target
                target = f"/odoo/action-{action}/{record_id(db, record)}"
            browser.goto(f"{url}{target}")
            for step, argument in steps:
                if step == "tab":
                    browser.click_tab(argument)
                elif step == "scroll":
                    browser.scroll(argument)
            browser.screenshot(output / filename)
            print(f"  {output / filename}", flush=True)
    finally:
        browser.close()


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--db", default="chorus_screenshots", help="database name")
    parser.add_argument("--port", type=int, default=8590, help="HTTP port of Odoo")
    parser.add_argument("--sandbox-port", type=int, default=0, help="sandbox port")
    parser.add_argument(
        "--keep", action="store_true", help="reuse the database if it exists"
    )
    parser.add_argument("--only", nargs="*", help="file names to regenerate")
    parser.add_argument(
        "--lang",
        default="en_US",
        help="language of the demo users (default en_US, as in the README)",
    )
    parser.add_argument(
        "--output", type=Path, default=OUTPUT, help=f"folder (default {OUTPUT})"
    )
    args = parser.parse_args(argv)
    args.output.mkdir(parents=True, exist_ok=True)

    odoo_env.check_odoo()
    odoo_env.ensure_requirements(odoo_env.ROOT / "requirements.txt")
    run_demo.prepare_database(args.db, reset=not args.keep, lang=args.lang)

    from chorus_pro.sandbox import SandboxServer, fixtures  # noqa: PLC0415

    url = f"http://localhost:{args.port}"
    with SandboxServer(port=args.sandbox_port) as sandbox:
        run_demo.wire_sandbox(args.db, sandbox, fixtures)
        server = subprocess.Popen(
            odoo_env.odoo_command(
                "-d",
                args.db,
                f"--db-filter=^{args.db}$",
                f"--http-port={args.port}",
                "--max-cron-threads=0",
                "--log-level=warn",
            )
        )
        try:
            _wait(lambda: _http_ok(f"{url}/web/login"), 120)
            shots = [s for s in SHOTS if not args.only or s[0] in args.only]
            print(f"Writing {len(shots)} screenshots:", flush=True)
            take(url, args.db, shots, args.output)
        finally:
            server.terminate()
            server.wait(timeout=60)
    return 0


def _http_ok(url):
    try:
        with urllib.request.urlopen(url, timeout=5) as answer:
            return answer.status == 200
    except OSError:
        return False


if __name__ == "__main__":
    sys.exit(main())
