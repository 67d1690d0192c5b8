#!/usr/bin/env python3
"""Benchmark of the document validation layer (XSD + EN 16931 + BR-FR).

    python3 tests/benchmarks/bench_validation.py [--documents 200] [--batch 25]

For each syntax (CII, UBL, Factur-X), with the sample documents of
``chorus_pro.sandbox.samples``, it measures in the same run:

- cold start: a new validator validates one document (process start, saxonche
  start, XSD and stylesheet compilation, then the check);
- warm: the same validator then checks ``--documents`` documents in batches of
  ``--batch`` (stylesheets already compiled), in documents per second;
- as a baseline, a new process for every batch (what compiling per call costs).

Results are printed with ratios; nothing is asserted (timings belong in
benchmarks, not in tests).
"""

import argparse
import sys
import time
from decimal import Decimal
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "l10n_fr_chorus_admin"))

from chorus_pro.constants import SYNTAX_CII, SYNTAX_FACTURX, SYNTAX_UBL  # noqa: E402
from chorus_pro.sandbox.fixtures import TOWN_HALL  # noqa: E402
from chorus_pro.sandbox.samples import SampleInvoice, build_file  # noqa: E402
from chorus_pro.validation import DocumentValidator  # noqa: E402

SYNTAXES = (("CII", SYNTAX_CII), ("UBL", SYNTAX_UBL), ("Factur-X", SYNTAX_FACTURX))


def documents(syntax, count):
    """``count`` distinct sample documents (every tenth one a credit note)."""
    items = []
    for index in range(count):
        invoice = SampleInvoice(
            f"BENCH-{index:05d}",
            TOWN_HALL.siret,
            service_code="SERVICE-INFRA",
            engagement_number=f"EJ-{index:05d}",
            credit_note=index % 10 == 9,
            amount=Decimal(100 + index),
        )
        content, name = build_file(syntax, invoice)
        items.append((syntax, content, name))
    return items


def in_batches(items, size):
    return [items[start : start + size] for start in range(0, len(items), size)]


def measure_syntax(syntax, items, batch_size, baseline_batches):
    batches = in_batches(items, batch_size)
    with DocumentValidator() as validator:
        started = time.perf_counter()
        first = validator.validate(items[:1])
        cold = time.perf_counter() - started
        compiled = validator.stats()["compiled"]
        # One more pass so that the first run of each stylesheet is not counted.
        validator.validate(batches[0])
        started = time.perf_counter()
        checked = 0
        for batch in batches:
            checked += len(validator.validate(batch))
        warm = time.perf_counter() - started
    # Baseline: a new process (start + compile) for every batch.
    baseline_docs = 0
    started = time.perf_counter()
    for batch in batches[:baseline_batches]:
        with DocumentValidator() as validator:
            baseline_docs += len(validator.validate(batch))
    baseline = time.perf_counter() - started
    return {
        "cold": cold,
        "warm_rate": checked / warm,
        "warm_ms": warm / checked * 1000,
        "baseline_rate": baseline_docs / baseline,
        "compile": sum(compiled.values()),
        "rules": first[0].rules() + first[0].rules("br_fr"),
    }


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--documents", type=int, default=200)
    parser.add_argument("--batch", type=int, default=25)
    parser.add_argument(
        "--baseline-batches",
        type=int,
        default=2,
        help="batches run with a new process each (the baseline)",
    )
    args = parser.parse_args()

    rows = []
    for name, syntax in SYNTAXES:
        items = documents(syntax, args.documents)
        rows.append(
            (name, measure_syntax(syntax, items, args.batch, args.baseline_batches))
        )

    out = sys.stdout.write
    out(
        f"{args.documents} documents per syntax, batches of {args.batch}; "
        f"baseline: a new process per batch ({args.baseline_batches} batches)\n\n"
    )
    header = (
        f"{'syntax':<9} {'cold 1st doc':>12} {'compile':>8} {'warm docs/s':>11} "
        f"{'ms/doc':>7} {'new proc/batch':>14} {'warm/new':>8} {'cold/warm doc':>13}\n"
    )
    out(header)
    out("-" * (len(header) - 1) + "\n")
    for name, row in rows:
        speedup = row["warm_rate"] / row["baseline_rate"]
        cold_ratio = row["cold"] * 1000 / row["warm_ms"]
        out(
            f"{name:<9} {row['cold']:>11.2f}s {row['compile']:>7.2f}s "
            f"{row['warm_rate']:>11.1f} {row['warm_ms']:>7.1f} "
            f"{row['baseline_rate']:>12.1f}/s {speedup:>7.1f}x {cold_ratio:>12.0f}x\n"
        )
    out("\nEN 16931 / BR-FR rules the sample documents fail:\n")
    for name, row in rows:
        out(f"  {name}: {', '.join(row['rules']) or 'none'}\n")


if __name__ == "__main__":
    main()
