#!/usr/bin/env python3
"""Benchmark of the Chorus Pro client against the local sandbox.

    python3 tests/benchmarks/bench_client.py [--calls 2000] [--threads 4]

Starts ``setup/chorus-sandbox`` in its own process (so client and server do not
share one interpreter), then measures, in the same run:

- calls per second of the client (token cache shared, keep-alive sessions) on a
  structure consultation and on an invoice search (50 invoices, one page);
- the same from several threads sharing one client;
- token requests per 1,000 calls, counted by the sandbox (target: 1 per token
  lifetime, whatever the number of calls);
- as a baseline, a naive client that asks PISTE for a token before every call.

Results are printed as a table with ratios to the baseline; nothing is asserted
(timings belong in benchmarks, not in tests).
"""

import argparse
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import requests

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "l10n_fr_chorus_admin"))

from chorus_pro import ChorusProClient, TokenCache  # noqa: E402
from chorus_pro.constants import SYNTAX_CII  # noqa: E402
from chorus_pro.sandbox.fixtures import PUBLIC_BODY, TOWN_HALL  # noqa: E402
from chorus_pro.sandbox.samples import SampleInvoice, build_flow  # noqa: E402

CREDENTIALS = (
    "sandbox-client",
    "sandbox-secret",
    "TECH_sandbox@cpro.fr",
    "sandbox-password",
)


class NoTokenCache(TokenCache):
    """The naive baseline: a new token for every call."""

    def acquire(self, key, fetch, margin=300.0):
        token, _expires_in = fetch()
        self.fetch_count += 1
        return token, True


def start_sandbox():
    process = subprocess.Popen(
        [sys.executable, str(ROOT / "setup" / "chorus-sandbox"), "--port", "0"],
        stdout=subprocess.PIPE,
        text=True,
    )
    first = process.stdout.readline()
    if not first.startswith("Chorus Pro sandbox listening on "):
        process.kill()
        raise SystemExit(f"sandbox did not start: {first!r}")
    return process, first.split()[-1]


def tokens_issued(url):
    return requests.get(f"{url}/_sandbox/stats", timeout=5).json()["tokens_issued"]


def measure(url, name, call, count, threads=1):
    """Run ``call`` ``count`` times (spread over ``threads``); return a row."""
    before = tokens_issued(url)
    per_thread = count // threads
    errors = []

    def work():
        try:
            for _ in range(per_thread):
                call()
        except Exception as exc:  # reported in the table
            errors.append(exc)

    workers = [threading.Thread(target=work) for _ in range(threads)]
    started = time.perf_counter()
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()
    elapsed = time.perf_counter() - started
    if errors:
        raise SystemExit(f"{name}: {errors[0]!r}")
    done = per_thread * threads
    tokens = tokens_issued(url) - before
    return {
        "name": name,
        "calls": done,
        "seconds": elapsed,
        "rate": done / elapsed,
        "tokens": tokens,
        "tokens_per_1000": tokens * 1000 / done,
    }


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--calls", type=int, default=2000, help="calls per scenario")
    parser.add_argument("--threads", type=int, default=4, help="threads of the MT run")
    args = parser.parse_args(argv)

    process, url = start_sandbox()
    try:

        def cached_client():
            # A cold token cache: the first call of each scenario fetches the
            # token, so the table counts it.
            return ChorusProClient(*CREDENTIALS, base_url=url, token_cache=TokenCache())

        cached = cached_client()
        naive = ChorusProClient(*CREDENTIALS, base_url=url, token_cache=NoTokenCache())
        invoices = [
            SampleInvoice(f"BENCH-{n:03d}", PUBLIC_BODY.siret) for n in range(50)
        ]
        content, name = build_flow(SYNTAX_CII, invoices)
        cached.deposit_flow(content, name, SYNTAX_CII)
        requests.post(f"{url}/_sandbox/flows/complete", timeout=5).raise_for_status()
        assert len(cached.search_invoices()) == 50
        for _ in range(20):  # warm up the server and the naive client's connection
            naive.get_structure(TOWN_HALL.id)

        calls = args.calls
        consult = cached_client()
        search = cached_client()
        threaded = cached_client()
        rows = [
            measure(
                url,
                "consult, cached token",
                lambda: consult.get_structure(TOWN_HALL.id),
                calls,
            ),
            measure(
                url, "consult, naive", lambda: naive.get_structure(TOWN_HALL.id), calls
            ),
            measure(url, "search, cached token", search.search_invoices, calls),
            measure(url, "search, naive", naive.search_invoices, calls),
            measure(
                url,
                f"consult, cached, {args.threads} threads",
                lambda: threaded.get_structure(TOWN_HALL.id),
                calls,
                args.threads,
            ),
        ]
    finally:
        process.send_signal(signal.SIGINT)
        process.communicate(timeout=10)

    baseline = {"consult": rows[1]["rate"], "search": rows[3]["rate"]}
    header = (
        f"{'scenario':<32} {'calls':>6} {'s':>6} {'calls/s':>8} "
        f"{'tokens':>6} {'tok/1000':>8} {'vs naive':>8}"
    )
    lines = [header, "-" * len(header)]
    for row in rows:
        ratio = row["rate"] / baseline[row["name"].split(",")[0]]
        lines.append(
            f"{row['name']:<32} {row['calls']:>6} {row['seconds']:>6.2f} "
            f"{row['rate']:>8.0f} {row['tokens']:>6} {row['tokens_per_1000']:>8.1f} "
            f"{ratio:>7.2f}x"
        )
    sys.stdout.write("\n".join(lines) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
