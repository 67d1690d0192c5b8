#!/usr/bin/env python3
"""A Chorus Pro sending worker in a process of its own, for the reliability
system tests (``test_sending_reliability.py``).

    sending_worker.py DB setup SANDBOX_URL COUNT [--per-flow N]
    sending_worker.py DB send [--batch-size N] [--wait-for FILE]
        [--kill-after-deposits N]

``setup`` creates a French company wired to the sandbox, a town hall and
``COUNT`` invoices posted in one transaction: the automation marks them to
send at its commit, as in production. ``send`` runs the sending cron's method
once, committing per batch as Odoo's cron workers do. ``--wait-for`` makes it
wait, once its registry is loaded, until FILE exists (so that two workers start
sending together); ``--kill-after-deposits N`` kills the process (SIGKILL, no
clean-up) right after the Nth deposit answered, before that deposit's state is
committed: what a crashed or killed Odoo worker leaves behind.

The last line printed is a JSON object: ``{"company_id": …}`` or ``{"sent": …}``.
"""

import argparse
import json
import os
import signal
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent / "setup"))
sys.path.insert(0, str(HERE / "benchmarks"))

import odoo_logs  # noqa: E402
from odoo_env import addons_path  # noqa: E402

import odoo  # noqa: E402
from odoo import SUPERUSER_ID, api  # noqa: E402

# Retried faults are logged as warnings by the client: expected here, and the
# test checks their effect (nothing lost, nothing sent twice) instead.
EXPECTED_WARNINGS = (
    "odoo.addons.l10n_fr_chorus_admin.chorus_pro.client:ERROR",
    "urllib3.connectionpool:ERROR",
)


def start(db, name):
    log_dir = os.environ.get(odoo_logs.LOG_DIR_ENV)
    args = [
        f"--addons-path={addons_path()}",
        "--db_host=",
        "--max-cron-threads=0",
        "--log-level=info",
        f"--database={db}",
        *(f"--log-handler={handler}" for handler in EXPECTED_WARNINGS),
    ]
    if log_dir:
        args.append(f"--logfile={Path(log_dir) / f'{name}.log'}")
    odoo.tools.config.parse_config(args, setup_logging=True)
    return odoo.modules.registry.Registry(db)


def setup(registry, sandbox_url, count, per_flow):
    # The benchmark's world: a French company and a town hall requiring a
    # service code; its invoices are valid for Chorus Pro.
    from bench_transmission import draft_invoices, make_world

    with registry.cursor() as cr:
        env = api.Environment(cr, SUPERUSER_ID, {})
        companies = env["res.company"].search_count([])
        world = make_world(
            env, True, sandbox_url, name=f"Chorus Pro reliability supplier {companies}"
        )
        world["company"].write(
            {
                "chorus_syntax": "IN_DP_E1_UBL_INVOICE",
                "chorus_invoices_per_flow": per_flow,
            }
        )
        moves = draft_invoices(world, count)
        moves.action_post()
        cr.commit()
        return {"company_id": world["company"].id, "invoices": len(moves)}


def send(registry, batch_size, wait_for, kill_after):
    if kill_after:
        from odoo.addons.l10n_fr_chorus_admin.chorus_pro.client import (
            ChorusProClient,
        )

        deposit_flow = ChorusProClient.deposit_flow
        answered = []

        def deposit_then_die(self, *args, **kwargs):
            answer = deposit_flow(self, *args, **kwargs)
            answered.append(answer)
            if len(answered) >= kill_after:
                os.kill(os.getpid(), signal.SIGKILL)
            return answer

        ChorusProClient.deposit_flow = deposit_then_die
    if wait_for:
        print("ready", flush=True)
        while not Path(wait_for).exists():
            time.sleep(0.05)
    with registry.cursor() as cr:
        env = api.Environment(cr, SUPERUSER_ID, {})
        sent = env["account.move"]._cron_chorus_send(batch_size=batch_size)
        cr.commit()
    return {"sent": sent}


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("db")
    commands = parser.add_subparsers(dest="command", required=True)
    setup_parser = commands.add_parser("setup")
    setup_parser.add_argument("sandbox_url")
    setup_parser.add_argument("count", type=int)
    setup_parser.add_argument("--per-flow", type=int, default=1)
    send_parser = commands.add_parser("send")
    send_parser.add_argument("--name", default="sending-worker")
    send_parser.add_argument("--batch-size", type=int, default=20)
    send_parser.add_argument("--wait-for")
    send_parser.add_argument("--kill-after-deposits", type=int)
    args = parser.parse_args()
    if args.command == "setup":
        registry = start(args.db, "sending-worker-setup")
        result = setup(registry, args.sandbox_url, args.count, args.per_flow)
    else:
        registry = start(args.db, args.name)
        result = send(
            registry, args.batch_size, args.wait_for, args.kill_after_deposits
        )
    print(json.dumps(result), flush=True)


if __name__ == "__main__":
    main()
