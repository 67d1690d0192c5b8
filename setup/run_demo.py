#!/usr/bin/env python3
"""Start the demo: the local Chorus Pro sandbox and Odoo 18 with the add-on.

    python3 setup/run_demo.py [--db chorus_demo] [--port 8069]
                              [--sandbox-port 8899] [--lang fr_FR] [--reset]

Creates the database (a French company, with demo data, in French unless
--lang en_US) when it does not exist, otherwise updates the add-on in it;
starts the Chorus Pro sandbox on http://127.0.0.1:8899, where the demo
company's Chorus Pro settings point, and loads into it the invoices the
database has on Chorus Pro; then serves Odoo on http://localhost:PORT until
Ctrl-C, which stops both.
"""

import argparse
import datetime
import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
# The sandbox is plain Python inside the add-on (no Odoo import).
sys.path.insert(0, str(HERE.parent / "l10n_fr_chorus_admin"))

import odoo_env  # noqa: E402

# The demo data sets this address as the company's Chorus Pro URL.
SANDBOX_PORT = 8899
# The demo users are French people of a French company.
LANG = "fr_FR"

# Demo users (login = password), created by demo/chorus_users_demo.xml.
LOGINS = [
    ("administrator", "admin", "configuration, automation, everything"),
    ("salesperson", "commerciale", "quotations and mandate requests"),
    ("mandate approver", "approbateur", "approves or refuses signed mandates"),
    ("accountant", "comptable", "invoices, Chorus Pro follow-up, late payment"),
    ("portal customer", "acheteur", "buyer of Mairie de Démoville (portal)"),
]

TRY_FIRST = """\
What to try first:
 1. As comptable: Invoicing > Customers > Chorus Pro follow-up: the invoices
    awaiting payment (remove the filter for the paid, rejected and stopped
    ones). Open the suspended one (Université de Démo) and click 'Complete on
    Chorus Pro'; open the overdue ministry invoice (filter 'Chorus Pro:
    overdue') and click 'Claim late-payment interest'.
 2. Open the invoice in Error (Mairie de Démoville): the red banner says what
    is missing and where. Set the Buyer Reference (Other Info tab) to
    TECHNIQUE, then 'Send to Chorus Pro': the invoice is deposited on the
    sandbox within a minute (scheduled action 'Chorus Pro: send invoices').
 3. As commerciale: Sales > Orders > Quotations: one order in every mandate
    state; 'Send mandate request' on the Syndicat intercommunal's quotation.
 4. As approbateur: Sales > Orders > Quotations, filter 'Signed form received'
    (remove 'My Quotations'): the Centre hospitalier's order has its signed
    form: 'Approve mandate' (service DSI, any engagement number) creates and
    posts the invoice, which goes to Chorus Pro.
 5. As acheteur (portal): My Account > Your Invoices, then Quotations to
    review (the town hall's quotation waiting for its signed mandate form).
 6. Move an invoice on Chorus Pro and see it followed (hourly scheduled action
    'Chorus Pro: follow deposited invoices'; or as admin in developer mode,
    Settings > Technical > Scheduled Actions, open it, 'Run Manually'):
      curl -X POST {sandbox}/_sandbox/invoices/advance \\
           -d '{{"numeroFacture": "<number>", "statut": "MISE_A_DISPOSITION"}}'
"""

LOAD_INVOICES = """
SELECT m.id, m.name, m.move_type, m.chorus_identifier, m.chorus_status,
       m.chorus_status_date, m.chorus_status_comment, p.siret,
       m.buyer_reference, m.purchase_order_reference, m.contract_reference,
       m.invoice_date, m.amount_untaxed, m.amount_total, m.amount_residual,
       d.flow_number, COALESCE(d.deposit_date, m.create_date)
  FROM account_move m
  JOIN res_partner p ON p.id = m.commercial_partner_id
  JOIN chorus_pro_deposit d ON d.id = m.chorus_deposit_id
 WHERE m.chorus_identifier ~ '^[0-9]+$' AND d.flow_number IS NOT NULL
"""
LOAD_HISTORY = """
SELECT move_id, status, date, comment FROM chorus_pro_invoice_status
 WHERE move_id = ANY(%s) ORDER BY date, id
"""

CREATE_DATABASE = """
import sys
import odoo
from odoo.service import db
lang = sys.argv.pop(1)
odoo.tools.config.parse_config(sys.argv[1:])
# What the database manager does: a French company, demo data, admin/admin;
# the language is every user's (the only one installed).
db.exp_create_database(odoo.tools.config["db_name"], True, lang, "admin",
                       "admin", "fr")
"""


def database_exists(name):
    result = subprocess.run(
        ["psql", "-lqtA", "-F", "\t"], capture_output=True, text=True, check=True
    )
    return any(line.split("\t")[0] == name for line in result.stdout.splitlines())


def create_database(db, lang=LANG):
    """A new database with a French company and demo data in ``lang``, without
    the add-on (shared with setup/run_tests.py)."""
    command = odoo_env.odoo_command("-d", db)
    # Only the options matter to the creation script, not "-m odoo".
    subprocess.run(
        [sys.executable, "-c", CREATE_DATABASE, lang, *command[3:]], check=True
    )


def prepare_database(db, reset, lang=LANG):
    """Create the demo database in ``lang`` (its users' language), or update
    the add-on in it when it exists (its language stays what it was)."""
    if reset:
        odoo_env.drop_database(db)
    if database_exists(db):
        print(f"Updating {odoo_env.ADDON} in the existing database {db}", flush=True)
        action = ["-u", odoo_env.ADDON]
    else:
        print(
            f"Creating the database {db} (French company, demo data, {lang})",
            flush=True,
        )
        create_database(db, lang)
        action = ["-i", odoo_env.ADDON]
    subprocess.run(
        odoo_env.odoo_command("-d", db, *action, "--stop-after-init"), check=True
    )


def _utc(value):
    return value.replace(tzinfo=datetime.timezone.utc) if value else None


def wire_sandbox(db, sandbox, fixtures):
    """Point the demo company at this sandbox, and load into the sandbox the
    invoices the database has on Chorus Pro (the demo story, and those sent in
    earlier demo sessions), so that they can be read, completed, re-routed."""
    import psycopg2  # noqa: PLC0415 (Odoo's requirement, checked by then)

    with psycopg2.connect(dbname=db) as connection, connection.cursor() as cr:
        cr.execute(
            "UPDATE res_company SET chorus_base_url = %s"
            " WHERE chorus_base_url LIKE 'http://127.0.0.1:%%'",
            [sandbox.url],
        )
        cr.execute(LOAD_INVOICES)
        rows = cr.fetchall()
        cr.execute(LOAD_HISTORY, [[row[0] for row in rows]])
        history = {}
        for move_id, status, date, comment in cr.fetchall():
            history.setdefault(move_id, []).append((status, _utc(date), comment))
    connection.close()
    items = []
    for row in rows:
        (move_id, number, move_type, identifier, status, status_date, comment,
         siret, service, engagement, contract, invoice_date, untaxed, total,
         residual, flow_number, deposited_at) = row  # fmt: skip
        if not fixtures.structure_by_siret(siret or ""):
            continue  # a buyer the sandbox does not know
        steps = history.get(move_id) or []
        if status and (not steps or steps[-1][0] != status):
            steps.append((status, _utc(status_date) or _utc(deposited_at), comment))
        items.append(
            {
                "id": identifier,
                "number": number,
                "invoice_type": "AVOIR" if move_type == "out_refund" else "FACTURE",
                "buyer_siret": siret,
                "service_code": service,
                "engagement_number": engagement,
                "market_number": contract,
                "issue_date": invoice_date.isoformat() if invoice_date else "",
                "total_excluding_tax": untaxed,
                "total_including_tax": total,
                "amount_due": residual,
                "flow_number": flow_number,
                "deposited_at": _utc(deposited_at),
                # The sandbox records DEPOSEE itself.
                "history": [step for step in steps if step[0] != "DEPOSEE"],
            }
        )
    return sandbox.state.load_invoices(items)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--db", default="chorus_demo", help="database name")
    parser.add_argument("--port", type=int, default=8069, help="HTTP port of Odoo")
    parser.add_argument(
        "--sandbox-port",
        type=int,
        default=SANDBOX_PORT,
        help="port of the Chorus Pro sandbox (the demo company is pointed at it)",
    )
    parser.add_argument(
        "--lang",
        default=LANG,
        help="language of the demo users when the database is created "
        "(default fr_FR; en_US for an English demo)",
    )
    parser.add_argument(
        "--reset", action="store_true", help="drop the database and start afresh"
    )
    args = parser.parse_args(argv)

    odoo_env.check_odoo()
    odoo_env.ensure_requirements(odoo_env.ROOT / "requirements.txt")
    prepare_database(args.db, args.reset, args.lang)

    # After the requirements check.
    from chorus_pro.sandbox import SandboxServer, fixtures  # noqa: PLC0415

    try:
        sandbox = SandboxServer(port=args.sandbox_port).start()
    except OSError as error:
        sys.exit(
            f"Cannot start the Chorus Pro sandbox on port {args.sandbox_port}: {error}"
        )
    loaded = wire_sandbox(args.db, sandbox, fixtures)

    url = f"http://localhost:{args.port}"
    print("\n" + "=" * 72)
    print(f"Odoo with {odoo_env.ADDON} and demo data: {url}/odoo?db={args.db}")
    print("Logins (the password is the login):")
    for role, login, what in LOGINS:
        print(f"  {role:<17} {login:<12} {what}")
    print(
        f"Chorus Pro sandbox: {sandbox.url} ({loaded} invoices of the database "
        f"loaded; state: {sandbox.url}/_sandbox/stats)"
    )
    if args.lang.startswith("fr"):
        print(
            "The demo users speak French (--lang en_US --reset for English):\n"
            "Invoicing > Customers > Chorus Pro follow-up is Facturation > "
            "Clients > Suivi Chorus Pro, the Buyer reference is the Service\n"
            "exécutant, Other Info is Autres informations, and so on."
        )
    print(TRY_FIRST.format(sandbox=sandbox.url), end="")
    print("Ctrl-C stops the demo (Odoo and the sandbox).")
    print("=" * 72 + "\n", flush=True)
    server = odoo_env.odoo_command(
        "-d",
        args.db,
        f"--db-filter=^{args.db}$",
        f"--http-port={args.port}",
        # The scheduled actions (sending, follow-up) run in the demo.
        "--max-cron-threads=1",
    )
    try:
        return subprocess.run(server, check=False).returncode
    except KeyboardInterrupt:
        return 0
    finally:
        sandbox.stop()


if __name__ == "__main__":
    sys.exit(main())
