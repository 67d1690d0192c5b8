"""Exactly-once sending under faults, concurrency and crashes (issue 6,
acceptance 3 to 5).

Real processes: the add-on installed in a new database by ``python3 -m odoo``,
sending workers started as separate processes (``sending_worker.py``) that
commit as Odoo's cron workers do, and the Chorus Pro sandbox answering over
HTTP with the faults it is told to inject. Time that would pass in production
(retry back-off, the 15 minutes after which a claim is stale, the grace before
an unknown outcome is sent again) is made to pass by moving the invoices' dates
in the database between runs; Chorus Pro's processing of the flows, by the
sandbox's ``flows/complete``.
"""

import json
import os
import subprocess
import sys
from collections import Counter
from pathlib import Path

import odoo_env
import odoo_logs
import psycopg2
import pytest
from chorus_pro.sandbox import SandboxServer

WORKER = Path(__file__).resolve().parent / "sending_worker.py"
# Rounds of (send, Chorus Pro processes, time passes) before giving up.
MAX_ROUNDS = 40


@pytest.fixture(scope="module")
def database():
    name = f"chorus_reliability_{os.getpid()}"
    odoo_env.drop_database(name)
    log_dir = os.environ.get(odoo_logs.LOG_DIR_ENV)
    logfile = (
        [f"--logfile={Path(log_dir) / 'reliability-install.log'}"] if log_dir else []
    )
    subprocess.run(
        odoo_env.odoo_command(
            "-d",
            name,
            "-i",
            "l10n_fr_chorus_admin",
            "--without-demo=all",
            "--stop-after-init",
            "--log-level=warn",
            *logfile,
        ),
        check=True,
        stdin=subprocess.DEVNULL,
    )
    yield name
    odoo_env.drop_database(name)


@pytest.fixture
def sandbox():
    server = SandboxServer(port=0).start()
    try:
        yield server
    finally:
        server.stop()


def worker(database, *args, wait=True):
    command = [sys.executable, str(WORKER), database, *args]
    process = subprocess.Popen(
        command, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, text=True
    )
    if not wait:
        return process
    output, _ = process.communicate(timeout=900)
    return process.returncode, output


def result(output):
    return json.loads(output.strip().splitlines()[-1])


def sql(database, query, *params):
    with psycopg2.connect(dbname=database) as connection:
        with connection.cursor() as cursor:
            cursor.execute(query, params)
            return cursor.fetchall() if cursor.description else cursor.rowcount


def states(database, company_id):
    return dict(
        sql(
            database,
            "SELECT coalesce(chorus_state, 'none'), count(*) FROM account_move"
            " WHERE company_id = %s AND move_type = 'out_invoice'"
            " GROUP BY chorus_state",
            company_id,
        )
    )


def let_time_pass(database, sandbox):
    """Chorus Pro processes the flows; back-off delays, stale claims and the
    grace of unknown outcomes expire."""
    sandbox.state.complete_all_flows()
    sql(database, "UPDATE account_move SET chorus_next_attempt = NULL")
    sql(
        database,
        "UPDATE account_move SET chorus_claimed_at = chorus_claimed_at"
        " - interval '1 day' WHERE chorus_claimed_at IS NOT NULL",
    )


def setup_invoices(database, sandbox, count, per_flow=1):
    code, output = worker(
        database, "setup", sandbox.url, str(count), f"--per-flow={per_flow}"
    )
    assert code == 0, output
    company_id = result(output)["company_id"]
    assert states(database, company_id) == {"to_send": count}, "marked when posted"
    return company_id


def send_until_done(database, sandbox, company_id, count, *args):
    """Run workers until every invoice is deposited; returns the rounds."""
    for round_ in range(1, MAX_ROUNDS + 1):
        code, output = worker(database, "send", f"--name=worker-round-{round_}", *args)
        assert code == 0, output
        let_time_pass(database, sandbox)
        if states(database, company_id).get("deposited") == count:
            return round_
    pytest.fail(f"not all deposited: {states(database, company_id)}")


def assert_each_deposited_once(database, sandbox, company_id, count):
    sandbox.state.complete_all_flows()
    stats = sandbox.state.stats()
    assert stats["duplicates"] == 0, stats["duplicate_numbers"]
    numbers = [
        number
        for (number,) in sql(
            database,
            "SELECT name FROM account_move WHERE company_id = %s"
            " AND move_type = 'out_invoice'",
            company_id,
        )
    ]
    on_chorus = Counter(
        invoice["numeroFacture"] for invoice in sandbox.state.list_invoices()
    )
    assert len(numbers) == count
    missing = [number for number in numbers if not on_chorus[number]]
    twice = [number for number in numbers if on_chorus[number] > 1]
    assert not missing, f"never reached Chorus Pro: {missing}"
    assert not twice, f"deposited twice: {twice}"
    # Each invoice belongs to exactly one flow that Chorus Pro took.
    per_invoice = sql(
        database,
        "SELECT m.name, count(d.id) FROM account_move m"
        " JOIN chorus_pro_deposit_account_move_rel r ON r.move_id = m.id"
        " JOIN chorus_pro_deposit d ON d.id = r.deposit_id"
        " WHERE m.company_id = %s AND d.state = 'pending' GROUP BY m.name",
        company_id,
    )
    assert len(per_invoice) == count
    assert {deposits for _name, deposits in per_invoice} == {1}
    return stats


def test_faults_on_220_invoices_lose_none_and_send_none_twice(database, sandbox):
    count = 220
    company_id = setup_invoices(database, sandbox, count)
    sandbox.state.set_faults(
        {
            "drop": 0.05,
            "error_500": 0.08,
            "error_429": 0.04,
            "retry_after": 1,
            "accept_then_drop": 0.08,
            "latency": 0.01,
            "seed": 20261126,
        }
    )
    rounds = send_until_done(database, sandbox, company_id, count, "--batch-size=25")
    stats = assert_each_deposited_once(database, sandbox, company_id, count)
    injected = stats["faults_injected"]
    for kind in ("drop", "500", "429", "accept_then_drop"):
        assert injected.get(kind), f"no {kind} injected: {injected}"
    print(f"220 invoices, {rounds} rounds, faults injected: {injected}")


def test_two_workers_at_once_deposit_each_invoice_once(database, sandbox, tmp_path):
    count = 120
    # Multi-invoice flows too: a flow is built from one worker's claim only.
    company_id = setup_invoices(database, sandbox, count, per_flow=4)
    go = tmp_path / "go"
    workers = [
        worker(
            database,
            "send",
            f"--name=worker-{index}",
            "--batch-size=6",
            f"--wait-for={go}",
            wait=False,
        )
        for index in (1, 2)
    ]
    for process in workers:
        assert process.stdout.readline().strip() == "ready"
    go.touch()
    sent = []
    for process in workers:
        output, _ = process.communicate(timeout=900)
        assert process.returncode == 0, output
        sent.append(result(output)["sent"])
    assert sum(sent) == count, sent
    assert all(sent), f"both workers sent: {sent}"
    assert states(database, company_id) == {"deposited": count}
    stats = assert_each_deposited_once(database, sandbox, company_id, count)
    assert stats["deposits"] == len(
        sql(
            database,
            "SELECT DISTINCT d.id FROM chorus_pro_deposit d"
            " WHERE d.company_id = %s AND d.state = 'pending'",
            company_id,
        )
    ), "one request per flow"


def test_a_worker_killed_after_the_deposit_is_recovered_without_duplicate(
    database, sandbox
):
    count = 12
    company_id = setup_invoices(database, sandbox, count)
    process = worker(
        database, "send", "--name=worker-killed", "--kill-after-deposits=3", wait=False
    )
    process.communicate(timeout=900)
    assert process.returncode == -9, "killed by SIGKILL"
    assert sandbox.state.stats()["deposits"] == 3, "3 deposits reached Chorus Pro"
    left = states(database, company_id)
    # The third deposit's answer was never committed: the invoice is still
    # claimed ('sending'), like the rest of the batch the worker held.
    assert left.get("deposited") == 2, left
    assert left.get("sending"), left
    send_until_done(database, sandbox, company_id, count)
    stats = assert_each_deposited_once(database, sandbox, company_id, count)
    assert stats["deposits"] == count, "the killed worker's deposit was not repeated"
