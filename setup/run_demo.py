#!/usr/bin/env python3
"""Start the demo: the local Chorus Pro sandbox and Odoo 18 with the add-on.

    python3 setup/run_demo.py [--db chorus_demo] [--port 8069] [--reset]

Creates the database (a French company, with demo data) when it does not
exist, otherwise updates the add-on in it; starts the Chorus Pro sandbox on
http://127.0.0.1:8899, where the demo company's Chorus Pro settings point; then
serves Odoo on http://localhost:PORT until Ctrl-C, which stops both.
"""

import argparse
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

LOGINS = [
    ("administrator", "admin", "admin"),
]

CREATE_DATABASE = """
import sys
import odoo
from odoo.service import db
odoo.tools.config.parse_config(sys.argv[1:])
# What the database manager does: a French company, demo data, admin/admin.
db.exp_create_database(odoo.tools.config["db_name"], True, "en_US", "admin",
                       "admin", "fr")
"""


def database_exists(name):
    result = subprocess.run(
        ["psql", "-lqtA", "-F", "\t"], capture_output=True, text=True, check=True
    )
    return any(line.split("\t")[0] == name for line in result.stdout.splitlines())


def prepare_database(db, reset):
    if reset:
        odoo_env.drop_database(db)
    if database_exists(db):
        print(f"Updating {odoo_env.ADDON} in the existing database {db}", flush=True)
        action = ["-u", odoo_env.ADDON]
    else:
        print(f"Creating the database {db} (French company, demo data)", flush=True)
        command = odoo_env.odoo_command("-d", db)
        # Only the options matter to the creation script, not "-m odoo".
        subprocess.run(
            [sys.executable, "-c", CREATE_DATABASE, *command[3:]], check=True
        )
        action = ["-i", odoo_env.ADDON]
    subprocess.run(
        odoo_env.odoo_command("-d", db, *action, "--stop-after-init"), check=True
    )


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--db", default="chorus_demo", help="database name")
    parser.add_argument("--port", type=int, default=8069, help="HTTP port of Odoo")
    parser.add_argument(
        "--reset", action="store_true", help="drop the database and start afresh"
    )
    args = parser.parse_args(argv)

    odoo_env.check_odoo()
    odoo_env.ensure_requirements(odoo_env.ROOT / "requirements.txt")
    prepare_database(args.db, args.reset)

    from chorus_pro.sandbox import SandboxServer  # noqa: PLC0415 (after requirements)

    try:
        sandbox = SandboxServer(port=SANDBOX_PORT).start()
    except OSError as error:
        sys.exit(f"Cannot start the Chorus Pro sandbox on port {SANDBOX_PORT}: {error}")

    url = f"http://localhost:{args.port}"
    print("\n" + "=" * 72)
    print(f"Odoo with {odoo_env.ADDON} and demo data: {url}/odoo?db={args.db}")
    for role, login, password in LOGINS:
        print(f"  {role:<16} login {login!r:<12} password {password!r}")
    print(f"Chorus Pro sandbox: {sandbox.url} (state: {sandbox.url}/_sandbox/stats)")
    print("Try first: Contacts > Mairie de Démoville > Public administration >")
    print(
        "'Look up on Chorus Pro'; Invoicing > Configuration > Settings > Chorus Pro >"
    )
    print("'Test connection'.")
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
