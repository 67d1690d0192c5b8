#!/usr/bin/env python3
"""Benchmark of the automatic transmission of invoices to Chorus Pro.

    python3 tests/benchmarks/bench_transmission.py --db DB [--baseline-db DB2]
        [--sizes 100,1000] [--syntaxes IN_DP_E1_UBL_INVOICE,...] [--quick]

``DB`` is an existing database where ``l10n_fr_chorus_admin`` is installed;
``DB2``, optional, one with only the add-on's dependencies. Odoo runs in this
process against a local Chorus Pro sandbox (loopback, started here), in
transactions that are all rolled back (the databases are left unchanged, and
vacuumed). It measures, in the same run:

- posting overhead: 500 invoices of a public buyer posted with the sending
  automation active, against the same posting without the add-on (in DB2, or,
  without DB2, with the automation rule switched off), each posting in a
  transaction of its own, with wall-clock and CPU times and SQL queries;
- throughput from posted to deposited, per syntax and size, with the time split
  between building, validating and depositing the documents;
- SQL queries per invoice in a send batch, at two batch sizes.

Figures are printed with their ratios; nothing is asserted (timings belong in
benchmarks, not in tests).
"""

import argparse
import cProfile
import logging
import os
import platform
import pstats
import sys
import threading
import time
from contextlib import contextmanager
from datetime import date
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "setup"))

from odoo_env import addons_path  # noqa: E402

import odoo  # noqa: E402
from odoo import SUPERUSER_ID, Command, api, sql_db  # noqa: E402

SUPPLIER_SIRET = "90000001900019"
SUPPLIER_VAT = "FR25900000019"
SUPPLIER_IBAN = "FR7630006000011234567890189"
TOWN_HALL_SIRET = "21990001600011"
SERVICE_CODE = "TECHNIQUE"
RULE = "l10n_fr_chorus_admin.automation_chorus_send_posted"
UBL = "IN_DP_E1_UBL_INVOICE"
CII = "IN_DP_E1_CII_16B"
FACTURX = "IN_DP_E2_CII_FACTURX"
SYNTAX_NAMES = {UBL: "UBL", CII: "CII", FACTURX: "Factur-X"}
# Factur-X renders one PDF per invoice with wkhtmltopdf (over a second each).
FACTURX_CAP = 100


# Odoo ---------------------------------------------------------------------------


def vacuum(db_name):
    """VACUUM ANALYZE the database: its runs are rolled back, but leave dead
    rows behind, more in the add-on's database (three posting modes) than in
    the baseline one, which would slow its later runs down (seen: 113 MB of
    account_move for no row, against 32 MB)."""
    connection = sql_db.db_connect(db_name).cursor()
    try:
        connection._cnx.autocommit = True
        connection.execute("VACUUM ANALYZE")
    finally:
        connection.close()


def start_odoo(db_names):
    odoo.tools.config.parse_config(
        [
            f"--addons-path={addons_path()}",
            "--db_host=",
            "--log-level=warn",
            "--max-cron-threads=0",
            "--without-demo=all",
            f"--database={db_names[0]}",
        ],
        setup_logging=True,
    )
    # The add-on's crons commit per batch unless a test runner is detected
    # (tools.can_commit); this flag makes them keep everything in the one
    # transaction this benchmark rolls back, and Odoo's own code reads it too.
    threading.current_thread().testing = True
    return {name: odoo.modules.registry.Registry(name) for name in db_names}


@contextmanager
def rolled_back_env(registry):
    """An environment whose whole transaction is rolled back on exit."""
    cr = registry.cursor()
    try:
        yield api.Environment(cr, SUPERUSER_ID, {})
    finally:
        cr.rollback()
        cr.close()


def make_world(env, chorus, sandbox_url=None, name="Chorus Pro benchmark supplier"):
    """A French company (own chart of accounts) invoicing a town hall."""
    company = env["res.company"].create(
        {
            "name": name,
            "country_id": env.ref("base.fr").id,
            "currency_id": env.ref("base.EUR").id,
            "street": "1 rue du Banc d'Essai",
            "zip": "75001",
            "city": "Paris",
            "vat": SUPPLIER_VAT,
        }
    )
    env.user.company_ids |= company
    env = env(context={**env.context, "allowed_company_ids": [company.id]})
    company = company.with_env(env)
    env["account.chart.template"].try_loading("fr", company, install_demo=False)
    company.siret = SUPPLIER_SIRET
    bank = env["res.partner.bank"].create(
        {
            "acc_number": SUPPLIER_IBAN,
            "partner_id": company.partner_id.id,
            "allow_out_payment": True,
        }
    )
    buyer_values = {
        "name": "Mairie de Démoville",
        "is_company": True,
        "siret": TOWN_HALL_SIRET,
        "street": "Place de la Mairie",
        "zip": "99100",
        "city": "Démoville",
        "country_id": env.ref("base.fr").id,
    }
    if chorus:
        from odoo.addons.l10n_fr_chorus_admin.chorus_pro.sandbox import fixtures

        buyer_values.update(chorus_is_public=True, chorus_buyer_category="local")
        company.write(
            {
                "chorus_environment": "qualification",
                "chorus_qualification_client_id": fixtures.DEFAULT_CLIENT_ID,
                "chorus_qualification_client_secret": fixtures.DEFAULT_CLIENT_SECRET,
                "chorus_qualification_login": fixtures.DEFAULT_LOGIN,
                "chorus_qualification_password": fixtures.DEFAULT_PASSWORD,
                "chorus_base_url": sandbox_url,
            }
        )
    buyer = env["res.partner"].create(buyer_values)
    if chorus:
        buyer.chorus_requirement = "service"
        env["chorus.pro.service"].create(
            {"partner_id": buyer.id, "code": SERVICE_CODE, "chorus_id": 30020102}
        )
    return {
        "env": env,
        "company": company,
        "bank": bank,
        "buyer": buyer,
        "tax": company.account_sale_tax_id,
        "count": 0,
    }


def draft_invoices(world, count):
    env, tax = world["env"], world["tax"]
    values = []
    for _index in range(count):
        world["count"] += 1
        values.append(
            {
                "move_type": "out_invoice",
                "partner_id": world["buyer"].id,
                "partner_bank_id": world["bank"].id,
                "invoice_date": date.today(),
                "buyer_reference": SERVICE_CODE,
                "invoice_line_ids": [
                    Command.create(
                        {
                            "name": f"Hosting, month {world['count']}",
                            "quantity": 1,
                            "price_unit": 100.0 + world["count"] % 900,
                            "tax_ids": [Command.set(tax.ids)],
                        }
                    )
                ],
            }
        )
    moves = env["account.move"].create(values)
    env.flush_all()
    env.invalidate_all()
    return moves


def backend_cpu(cr):
    """CPU seconds used so far by the PostgreSQL backend serving ``cr`` (read
    from /proc: the server runs on this machine), or None elsewhere."""
    cr.execute("SELECT pg_backend_pid()")
    try:
        with open(f"/proc/{cr.fetchone()[0]}/stat") as stat:
            fields = stat.read().rsplit(")", 1)[1].split()
    except OSError:
        return None
    # utime and stime, in clock ticks.
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def timed_post(world, count):
    """Post ``count`` new drafts at once, with what the end of the transaction
    does (flush and precommit hooks: chatter tracking, and the add-on's marking
    of the invoices to send). Returns ``(wall seconds, CPU seconds), moves``:
    the CPU time of this process plus its PostgreSQL backend, which other
    loads on a shared machine disturb far less than the wall clock."""
    cr = world["env"].cr
    moves = draft_invoices(world, count)
    backend_before = backend_cpu(cr)
    cpu_before = time.process_time()
    started = time.perf_counter()
    moves.action_post()
    cr.flush()
    wall = time.perf_counter() - started
    cpu = time.process_time() - cpu_before
    backend_after = backend_cpu(cr)
    if backend_before is not None and backend_after is not None:
        cpu += backend_after - backend_before
    return (wall, cpu), moves


def counted_calls(world, count):
    """Python function calls made by posting ``count`` new drafts (with the
    flush), counted by cProfile: unlike times, the same from one run to the
    next whatever else the machine does, so it shows small differences."""
    moves = draft_invoices(world, count)
    profile = cProfile.Profile()
    profile.enable()
    moves.action_post()
    world["env"].cr.flush()
    profile.disable()
    return sum(calls for _prim, calls, *_rest in pstats.Stats(profile).stats.values())


def queue_invoices(world, count):
    """``count`` posted invoices marked to send. Posting is measured apart: here
    the rule is off and the mark is one write, to keep the run short."""
    env = world["env"]
    rule = env.ref(RULE)
    rule.active = False
    env.flush_all()
    moves = draft_invoices(world, count)
    moves.action_post()
    rule.active = True
    moves.write({"chorus_state": "to_send"})
    env.flush_all()
    env.invalidate_all()
    return moves


def stop_sending(env):
    """Take every invoice out of the sending queue (in the rolled-back
    transaction): the benchmark sends only its own invoices, and nothing of the
    database's own leaves for a real Chorus Pro."""
    moves = env["account.move"].search(
        [("chorus_state", "in", ("to_send", "sending", "unknown"))]
    )
    moves.write({"chorus_state": False})
    env.flush_all()


# Timers around the sending steps -------------------------------------------------


class Timers:
    def __init__(self):
        self.seconds = {}

    def reset(self):
        # Cleared in place: the wrappers hold this very dict.
        self.seconds.clear()

    def wrap(self, cls, name, bucket):
        """Accumulate the time spent in ``cls.name`` into ``bucket``."""
        original = getattr(cls, name)
        seconds = self.seconds

        def timed(*args, **kwargs):
            started = time.perf_counter()
            try:
                return original(*args, **kwargs)
            finally:
                seconds[bucket] = (
                    seconds.get(bucket, 0.0) + time.perf_counter() - started
                )

        setattr(cls, name, timed)


def install_timers(env):
    from odoo.addons.l10n_fr_chorus_admin.chorus_pro import client, validation

    timers = Timers()
    # The registry's class of account.move is the most derived one: wrapping
    # there catches every call, whichever mixin defines the method.
    move_class = type(env["account.move"])
    timers.wrap(move_class, "_chorus_check_errors", "checks")
    timers.wrap(move_class, "_chorus_build_document", "build")
    timers.wrap(validation.DocumentValidator, "validate", "validate")
    timers.wrap(move_class, "_chorus_deposit", "deposit")
    timers.wrap(client.ChorusProClient, "deposit_flow", "http")
    return timers


# Measurements -------------------------------------------------------------------


def set_posting_mode(env, mode):
    """Prepare the add-on's database for ``mode`` (in the current transaction).

    ``with_addon``: the add-on's rule; ``rule_off``: the rule switched off;
    ``null_rule``: the rule off and an empty rule with the same trigger and
    filter, Odoo's own cost of an active rule on invoices (what remains above
    it is the add-on's work)."""
    rule = env.ref(RULE)
    if mode != "with_addon":
        rule.active = False
    if mode == "null_rule":
        env["base.automation"].create(
            {
                "name": "Benchmark: same trigger, empty action",
                "model_id": rule.model_id.id,
                "trigger": rule.trigger,
                "trg_selection_field_id": rule.trg_selection_field_id.id,
                "filter_domain": rule.filter_domain,
                "action_server_ids": [
                    Command.create(
                        {
                            "name": "Nothing",
                            "model_id": rule.model_id.id,
                            "state": "code",
                            "code": "pass",
                            "usage": "base_automation",
                        }
                    )
                ],
            }
        )
    env.flush_all()
    # Odoo patches the models after the active rules when rules change, and a
    # rollback does not undo the patches: make them this mode's.
    automation = env["base.automation"]
    automation._unregister_hook()
    automation._register_hook()


def measure_posting(registries, db, baseline_db, count, rounds, results):
    """Best of ``rounds`` postings of ``count`` invoices per mode, the order of
    the modes reversed every round so that none always goes first.

    Every posting runs in a transaction of its own on a fresh company, rolled
    back, and the database is vacuumed after it: each mode posts into the same
    clean database (the dead rows of earlier postings would otherwise slow the
    later ones down, and more in the add-on's database, which has three modes).
    """
    modes = ["with_addon", "rule_off", "null_rule"]
    if baseline_db:
        modes.append("baseline")
    timings, queries, marked, calls = {}, {}, [], {}
    # Round -1 warms every registry and mode up (templates, caches) untimed;
    # the last round counts function calls under a profiler, untimed.
    for round_ in range(-1, rounds + 1):
        for mode in modes if round_ % 2 == 0 else modes[::-1]:
            name = baseline_db if mode == "baseline" else db
            with rolled_back_env(registries[name]) as env:
                chorus = mode != "baseline"
                if chorus:
                    stop_sending(env)
                world = make_world(env, chorus, "http://127.0.0.1:9")
                if chorus:
                    set_posting_mode(world["env"], mode)
                timed_post(world, 20)  # warm-up: templates, caches, sequences
                if round_ == rounds:
                    calls[mode] = counted_calls(world, count) / count
                    continue
                before = world["env"].cr.sql_log_count
                timing, moves = timed_post(world, count)
                queries[mode] = (world["env"].cr.sql_log_count - before) / count
                if round_ >= 0:
                    timings.setdefault(mode, []).append(timing)
                if mode == "with_addon":
                    marked.append(sum(m.chorus_state == "to_send" for m in moves))
            vacuum(name)
    posting = {
        "count": count,
        "rounds": rounds,
        "marked": min(marked),
        "queries": queries,
        "calls": calls,
    }
    # Best of the rounds, for the wall clock and the CPU time separately.
    for clock, index in (("wall", 0), ("cpu", 1)):
        runs = {name: [t[index] for t in values] for name, values in timings.items()}
        best = {name: min(values) for name, values in runs.items()}
        best.setdefault("baseline", None)
        best["all"] = runs
        posting[clock] = best
    results["posting"] = posting


def send_all(env, batch_size):
    started = time.perf_counter()
    done = env["account.move"]._cron_chorus_send(batch_size=batch_size)
    env.flush_all()
    return time.perf_counter() - started, done


def measure_throughput(world, syntax, size, batch_size, timers, sandbox, per_flow=1):
    env = world["env"]
    world["company"].chorus_syntax = syntax
    world["company"].chorus_invoices_per_flow = per_flow
    stop_sending(env)
    # Warm-up: the validation process starts and compiles its stylesheets, the
    # client gets its token, the report engine its templates.
    queue_invoices(world, 2 if syntax == FACTURX else 5)
    send_all(env, batch_size)
    moves = queue_invoices(world, size)
    deposits_before = sandbox.stats()["deposits"]
    timers.reset()
    seconds, done = send_all(env, batch_size)
    split = dict(timers.seconds)
    states = {}
    for move in moves:
        states[move.chorus_state] = states.get(move.chorus_state, 0) + 1
    return {
        "syntax": syntax,
        "per_flow": per_flow,
        "size": size,
        "seconds": seconds,
        "done": done,
        "deposited": states.get("deposited", 0),
        "states": states,
        "on_sandbox": sandbox.stats()["deposits"] - deposits_before,
        "split": split,
    }


def measure_queries(world, batch_sizes):
    env = world["env"]
    world["company"].chorus_syntax = UBL
    figures = {}
    for batch in batch_sizes:
        stop_sending(env)
        queue_invoices(world, batch)
        before = sql_db.sql_counter
        done = env["account.move"]._cron_chorus_send(batch_size=batch, limit=batch)
        env.flush_all()
        queries = sql_db.sql_counter - before
        figures[batch] = (queries, done)
    return figures


class SandboxAdmin:
    def __init__(self, url):
        self.url = url

    def stats(self):
        import json
        import urllib.request

        with urllib.request.urlopen(f"{self.url}/_sandbox/stats", timeout=10) as r:
            return json.load(r)


# Report ---------------------------------------------------------------------------


def machine_facts(env):
    env.cr.execute("SHOW server_version")
    postgres = env.cr.fetchone()[0]
    load = os.getloadavg()
    return (
        f"{platform.node()}: {os.cpu_count()} cores, load average "
        f"{load[0]:.2f} {load[1]:.2f} {load[2]:.2f}; Python "
        f"{platform.python_version()}, Odoo {odoo.release.version}, "
        f"PostgreSQL {postgres}"
    )


def rate(count, seconds):
    return count / seconds if seconds else float("inf")


def print_posting(results, baseline_db):
    count = results["count"]
    print(
        f"\n1. Posting {count} invoices at once (action_post, writes flushed), "
        f"best of {results['rounds']} rounds in alternating order"
    )
    print(f"   invoices marked to send by the rule: {results['marked']}/{count}")
    print(
        "   SQL queries per posted invoice: "
        + ", ".join(f"{mode} {value:.2f}" for mode, value in results["queries"].items())
    )
    reference = results["calls"].get("baseline") or results["calls"]["rule_off"]
    print(
        "   Python function calls per posted invoice (cProfile, repeatable): "
        + ", ".join(
            f"{mode} {value:,.0f} ({value / reference:.3f})"
            for mode, value in results["calls"].items()
        )
    )
    for clock, title in (
        ("wall", "wall-clock seconds"),
        ("cpu", "CPU seconds of this process and its PostgreSQL backend"),
    ):
        print(f"\n   {title}")
        print_posting_clock(results[clock], count, baseline_db)


def print_posting_clock(posting, count, baseline_db):
    print(f"   {'':38} {'seconds':>9} {'inv/s':>9} {'ratio':>7}")
    rows = [("with the add-on, automation active", posting["with_addon"])]
    if posting["baseline"] is not None:
        rows.append((f"without the add-on ({baseline_db})", posting["baseline"]))
    rows.append(("add-on installed, automation rule off", posting["rule_off"]))
    rows.append(("rule off, empty rule, same trigger", posting["null_rule"]))
    reference = posting["baseline"] or posting["rule_off"]
    for label, seconds in rows:
        print(
            f"   {label:38} {seconds:9.2f} {rate(count, seconds):9.1f} "
            f"{seconds / reference:7.3f}"
        )
    for name, values in posting["all"].items():
        print(f"   {name} rounds: " + ", ".join(f"{value:.2f} s" for value in values))
    if posting["baseline"] is None:
        print(
            "   FALLBACK: no --baseline-db, so 'without the add-on' is the same "
            "database with the automation rule switched off (the add-on's other "
            "overrides still run)."
        )
    ratio = posting["with_addon"] / reference
    print(f"   ratio with / without: {ratio:.3f} (target <= 1.10)")
    print(
        "   of which Odoo's base_automation on account.move (empty rule vs rule "
        f"off): {posting['null_rule'] / posting['rule_off']:.3f}; the add-on's "
        "marking (its rule vs the empty rule): "
        f"{posting['with_addon'] / posting['null_rule']:.3f}"
    )


def print_throughput(runs, batch_size, capped):
    print(
        f"\n2. From posted to deposited: _cron_chorus_send(batch_size={batch_size}),"
        " real HTTP to the sandbox"
    )
    header = (
        f"   {'syntax':9} {'flow':>4} {'invoices':>8} {'seconds':>8} {'inv/s':>7} "
        f"{'build':>6} {'valid.':>6} {'deposit':>7} {'(http)':>6} "
        f"{'checks':>6} {'other':>6}  deposited"
    )
    print(header)
    for run in runs:
        split = run["split"]
        known = sum(split.get(key, 0.0) for key in ("checks", "build", "validate"))
        known += split.get("deposit", 0.0)
        share = {
            key: 100 * split.get(key, 0.0) / run["seconds"]
            for key in ("build", "validate", "deposit", "http", "checks")
        }
        other = 100 * (run["seconds"] - known) / run["seconds"]
        states = ", ".join(f"{k}: {v}" for k, v in run["states"].items() if k)
        print(
            f"   {SYNTAX_NAMES[run['syntax']]:9} {run['per_flow']:4d} {run['size']:8d} "
            f"{run['seconds']:8.1f} {rate(run['size'], run['seconds']):7.1f} "
            f"{share['build']:5.0f}% {share['validate']:5.0f}% "
            f"{share['deposit']:6.0f}% {share['http']:5.0f}% "
            f"{share['checks']:5.0f}% {other:5.0f}%  "
            f"{run['deposited']}/{run['size']} ({states}; "
            f"{run['on_sandbox']} flows on the sandbox)"
        )
    by_syntax = {}
    for run in runs:
        by_syntax.setdefault((run["syntax"], run["per_flow"]), []).append(run)
    for (syntax, per_flow), items in by_syntax.items():
        if len(items) >= 2:
            small, large = items[0], items[-1]
            ratio = rate(large["size"], large["seconds"]) / rate(
                small["size"], small["seconds"]
            )
            print(
                f"   {SYNTAX_NAMES[syntax]}, {per_flow} per flow: inv/s at "
                f"{large['size']} / at {small['size']}: {ratio:.2f}"
            )
    singles = {
        (run["syntax"], run["size"]): run for run in runs if run["per_flow"] == 1
    }
    for run in runs:
        single = singles.get((run["syntax"], run["size"]))
        if single and run["per_flow"] > 1:
            ratio = rate(run["size"], run["seconds"]) / rate(
                single["size"], single["seconds"]
            )
            print(
                f"   {SYNTAX_NAMES[run['syntax']]}, {run['size']} invoices: inv/s "
                f"in flows of {run['per_flow']} / one per flow: {ratio:.2f}"
            )
    print(
        "   Split in % of the wall time: build = _chorus_build_document (PDF "
        "included for Factur-X), valid. = XSD + schematrons, deposit = "
        "_chorus_deposit (record + HTTP), (http) = its deposit request, checks = "
        "_chorus_check_errors, other = claim, ORM, flush."
    )
    if capped:
        print(
            f"   Factur-X capped at {FACTURX_CAP} invoices (one wkhtmltopdf PDF "
            "per invoice); --facturx-full lifts the cap."
        )


def print_queries(figures):
    print("\n3. SQL queries in one send batch (UBL), _cron_chorus_send(B, limit=B)")
    per_invoice = {}
    for batch, (queries, done) in figures.items():
        per_invoice[batch] = queries / done if done else float("nan")
        print(
            f"   B = {batch:4d}: {queries:6d} queries for {done} invoices, "
            f"{per_invoice[batch]:6.1f} per invoice"
        )
    small, large = min(per_invoice), max(per_invoice)
    print(
        f"   per invoice at B={large} / at B={small}: "
        f"{per_invoice[large] / per_invoice[small]:.3f} (must not exceed 1)"
    )


# Main -----------------------------------------------------------------------------


def parse_args():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--db", required=True, help="database with the add-on")
    parser.add_argument(
        "--baseline-db", help="database with only the add-on's dependencies"
    )
    parser.add_argument("--sizes", help="throughput sizes (default 100,1000)")
    parser.add_argument(
        "--syntaxes",
        default=",".join((UBL, CII, FACTURX)),
        help="Chorus Pro flow syntaxes, comma separated",
    )
    parser.add_argument("--posting", type=int, help="invoices posted (default 500)")
    parser.add_argument(
        "--rounds", type=int, default=2, help="posting rounds (best kept)"
    )
    parser.add_argument("--batch-size", type=int, default=50, help="cron batch")
    parser.add_argument(
        "--per-flow",
        default="1",
        help="invoices per flow, comma separated (e.g. 1,25: single-invoice "
        "flows against .tar.gz flows of 25, in the same run)",
    )
    parser.add_argument("--query-batches", help="two send batches (default 10,100)")
    parser.add_argument(
        "--facturx-full",
        action="store_true",
        help=f"Factur-X at every size (capped at {FACTURX_CAP} otherwise)",
    )
    parser.add_argument(
        "--quick", action="store_true", help="small default sizes: a smoke run"
    )
    parser.add_argument(
        "--posting-only", action="store_true", help="measure the posting only"
    )
    args = parser.parse_args()
    defaults = ("20,50", 50, "5,20") if args.quick else ("100,1000", 500, "10,100")
    args.sizes = args.sizes or defaults[0]
    args.posting = args.posting or defaults[1]
    args.query_batches = args.query_batches or defaults[2]
    args.sizes = [int(size) for size in args.sizes.split(",")]
    args.syntaxes = [syntax.strip() for syntax in args.syntaxes.split(",")]
    args.query_batches = [int(size) for size in args.query_batches.split(",")]
    args.per_flow = [int(value) for value in args.per_flow.split(",")]
    return args


def main():
    args = parse_args()
    names = [args.db] + ([args.baseline_db] if args.baseline_db else [])
    started = time.perf_counter()
    registries = start_odoo(names)
    for name in names:
        vacuum(name)
    # The factur-x library sets its own logger to INFO (the sandbox reads every
    # Factur-X deposit with it): keep the output to the table.
    logging.getLogger("factur-x").setLevel(logging.WARNING)
    # wkhtmltopdf warns for every Factur-X PDF that it cannot fetch the report's
    # CSS: no Odoo HTTP server runs in this process (stated in the output).
    logging.getLogger("odoo.addons.base.models.ir_actions_report").setLevel(
        logging.ERROR
    )

    from odoo.addons.l10n_fr_chorus_admin.chorus_pro.sandbox import SandboxServer

    sandbox = SandboxServer(port=0).start()
    admin = SandboxAdmin(sandbox.url)
    results = {}
    try:
        measure_posting(
            registries, args.db, args.baseline_db, args.posting, args.rounds, results
        )
        with rolled_back_env(registries[args.db]) as env:
            facts = machine_facts(env)
            stop_sending(env)
            world = make_world(env, chorus=True, sandbox_url=sandbox.url)
            timers = install_timers(world["env"])
            runs, capped, queries = [], False, None
            for syntax in [] if args.posting_only else args.syntaxes:
                for size in args.sizes:
                    if syntax == FACTURX and not args.facturx_full:
                        if size > FACTURX_CAP:
                            capped = True
                            continue
                    for per_flow in args.per_flow:
                        runs.append(
                            measure_throughput(
                                world,
                                syntax,
                                size,
                                args.batch_size,
                                timers,
                                admin,
                                per_flow,
                            )
                        )
            if not args.posting_only:
                queries = measure_queries(world, args.query_batches)
            facts_end = machine_facts(env)
    finally:
        sandbox.stop()

    print("\nChorus Pro transmission benchmark (all figures from this one run)")
    baseline = f", baseline database {args.baseline_db}" if args.baseline_db else ""
    print(f"   database {args.db}{baseline}")
    print(f"   at start: {facts}")
    print(f"   at end:   {facts_end}")
    print_posting(results["posting"], args.baseline_db)
    if not args.posting_only:
        print_throughput(runs, args.batch_size, capped)
        print_queries(queries)
    print(
        f"\n   Total run time {time.perf_counter() - started:.0f} s; every "
        "transaction rolled back, the databases are unchanged."
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
