#!/usr/bin/env python3
"""Benchmark of the Chorus Pro status follow-up: HTTP requests per followed
invoice per follow-up run.

    python3 tests/benchmarks/bench_followup.py --db DB [--invoices 1000]

``DB`` is an existing database where ``l10n_fr_chorus_admin`` is installed.
Odoo runs in this process against a local Chorus Pro sandbox (loopback, started
here), in one transaction rolled back at the end: the database is unchanged.

``--invoices`` posted invoices of a town hall are deposited on the sandbox in
flows of 100 (built directly, the sending is measured by
``bench_transmission.py``) and integrated. Then, in the same run, several
follow-up runs are measured, each after the sandbox moved some invoices:

- the add-on's follow-up (``_chorus_follow_invoices``: one paginated search of
  the invoices changed since the last run, the status history only when a date
  was missed);
- the one-call-per-invoice approach it replaces (one status history read per
  followed invoice).

Requests are counted by the sandbox (every ``/cpro/`` call, token requests
apart); the target is at most 0.05 request per followed invoice per run.
Nothing is asserted.
"""

import argparse
import logging
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from bench_transmission import (  # noqa: E402
    SERVICE_CODE,
    TOWN_HALL_SIRET,
    machine_facts,
    make_world,
    queue_invoices,
    rolled_back_env,
    start_odoo,
    stop_sending,
)

from odoo import fields  # noqa: E402

CII = "IN_DP_E1_CII_16B"
FLOW_SIZE = 100


class Sandbox:
    def __init__(self, url):
        self.url = url

    def _call(self, action, body=None):
        import json
        import urllib.request

        data = json.dumps(body).encode() if body is not None else None
        request = urllib.request.Request(
            f"{self.url}/_sandbox/{action}",
            data=data,
            headers={"Content-Type": "application/json"},
        )
        with urllib.request.urlopen(request, timeout=30) as response:
            return json.load(response)

    def api_calls(self):
        calls = self._call("stats")["calls"]
        return sum(count for path, count in calls.items() if path.startswith("/cpro/"))

    def advance(self, identifier, status):
        self._call(
            "invoices/advance",
            {"identifiantFactureCPP": int(identifier), "statut": status},
        )


def deposit_in_flows(env, moves, client):
    """Deposit the invoices on the sandbox in flows of FLOW_SIZE, as the
    multi-invoice sending does, and record the deposits."""
    from odoo.addons.l10n_fr_chorus_admin.chorus_pro.sandbox.samples import (
        SampleInvoice,
        build_flow,
    )

    for start in range(0, len(moves), FLOW_SIZE):
        chunk = moves[start : start + FLOW_SIZE]
        samples = [
            SampleInvoice(
                move.name,
                TOWN_HALL_SIRET,
                service_code=SERVICE_CODE,
                amount=move.amount_untaxed,
            )
            for move in chunk
        ]
        content, filename = build_flow(CII, samples, f"lot{start}.tar.gz")
        answer = client.deposit_flow(content, filename, CII)
        deposit = env["chorus.pro.deposit"].create(
            {
                "company_id": chunk.company_id.id,
                "syntax": CII,
                "filename": filename,
                "flow_number": answer["numeroFluxDepot"],
                "state": "pending",
                "deposit_date": fields.Datetime.now(),
                "move_ids": [(6, 0, chunk.ids)],
            }
        )
        chunk.write({"chorus_state": "deposited", "chorus_deposit_id": deposit.id})


def followup_run(env, company, client, sandbox):
    """One run of the add-on's follow-up; returns (requests, seconds, changed)."""
    Move = env["account.move"]
    before = sandbox.api_calls()
    started = time.perf_counter()
    Move._chorus_follow_flows(client, company)
    changed = Move._chorus_follow_invoices(client, company)
    env.flush_all()
    seconds = time.perf_counter() - started
    return sandbox.api_calls() - before, seconds, changed


def per_invoice_run(env, company, client, sandbox):
    """The approach the add-on avoids: read each followed invoice's status
    (its history) on every run. Nothing is written."""
    Move = env["account.move"]
    moves = Move.search(Move._chorus_followed_domain(company))
    before = sandbox.api_calls()
    started = time.perf_counter()
    for move in moves:
        client.get_invoice_history(int(move.chorus_identifier))
    seconds = time.perf_counter() - started
    return sandbox.api_calls() - before, seconds, len(moves)


def measure(args):
    registry = start_odoo([args.db])[args.db]
    logging.getLogger("odoo.addons.l10n_fr_chorus_admin").setLevel(logging.WARNING)

    from odoo.addons.l10n_fr_chorus_admin.chorus_pro.sandbox import SandboxServer

    server = SandboxServer(port=0).start()
    sandbox = Sandbox(server.url)
    rows = []
    try:
        with rolled_back_env(registry) as env:
            facts = machine_facts(env)
            stop_sending(env)
            world = make_world(env, chorus=True, sandbox_url=server.url)
            env = world["env"]
            company = world["company"]
            client = company._chorus_client()
            moves = queue_invoices(world, args.invoices)
            moves.write({"chorus_state": False})
            deposit_in_flows(env, moves, client)
            sandbox._call("flows/complete", {})
            first = followup_run(env, company, client, sandbox)
            followed = env["account.move"].search_count(
                env["account.move"]._chorus_followed_domain(company)
            )
            rows.append(("first run after deposit (flows integrated)", first))
            identifiers = moves.mapped("chorus_identifier")
            scenarios = [
                ("no status changed", []),
                (
                    "2 % made available",
                    [(i, "MISE_A_DISPOSITION") for i in identifiers[::50]],
                ),
                (
                    "10 % made available",
                    [(i, "MISE_A_DISPOSITION") for i in identifiers[1::10]],
                ),
                (
                    "2 % past MISE_A_DISPOSITION unseen (history read)",
                    [(i, "SERVICE_FAIT") for i in identifiers[2::50]],
                ),
                (
                    "every invoice made available",
                    [(i, "MISE_A_DISPOSITION") for i in identifiers[3:]],
                ),
            ]
            baseline = None
            for name, moves_to_advance in scenarios:
                for identifier, status in moves_to_advance:
                    try:
                        sandbox.advance(identifier, status)
                    except Exception:  # noqa: BLE001 already further: skip
                        continue
                result = followup_run(env, company, client, sandbox)
                rows.append((name, result))
                if baseline is None:
                    baseline = per_invoice_run(env, company, client, sandbox)
            facts_end = machine_facts(env)
    finally:
        server.stop()
    return facts, facts_end, followed, rows, baseline


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--db", required=True, help="database with the add-on")
    parser.add_argument("--invoices", type=int, default=1000)
    args = parser.parse_args()
    started = time.perf_counter()
    facts, facts_end, followed, rows, baseline = measure(args)
    print("\nChorus Pro follow-up benchmark (all figures from this one run)")
    print(f"   database {args.db}; at start: {facts}")
    print(f"   at end: {facts_end}")
    print(f"   {followed} invoices followed, in flows of {FLOW_SIZE}\n")
    base_requests, base_seconds, base_count = baseline
    base_per = base_requests / base_count
    print(
        f"   {'follow-up run':<52} {'requests':>8} {'per invoice':>11} "
        f"{'vs 1/invoice':>12} {'seconds':>8}"
    )
    for name, (requests, seconds, _changed) in rows:
        per = requests / followed
        print(
            f"   {name:<52} {requests:>8} {per:>11.4f} "
            f"{per / base_per:>11.2%} {seconds:>8.2f}"
        )
    print(
        f"   {'one call per invoice (baseline, same run)':<52} {base_requests:>8} "
        f"{base_per:>11.4f} {1:>11.0%} {base_seconds:>8.2f}"
    )
    print(
        "\n   Target: at most 0.05 request per followed invoice per run; "
        f"total run time {time.perf_counter() - started:.0f} s, the database "
        "is unchanged (rolled back)."
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
