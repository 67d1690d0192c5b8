#!/usr/bin/env python3
"""Run every test of the project on real Odoo 18 and PostgreSQL.

    python3 setup/run_tests.py [--keep-db] [--skip-lint] [--skip-odoo-runner]
                               [-- extra pytest arguments]

1. installs the Python requirements if one is missing;
2. lints (ruff, pylint-odoo's mandatory checks);
3. creates a throwaway database as the demo command does (a French company,
   demo data) and installs the add-on with its dependencies and demo data,
   running the add-on's tests with Odoo's own runner (``--test-enable``), as
   OCA's CI does;
4. runs the add-on's tests again with pytest-odoo, then the system tests of
   ``tests/`` (real Odoo server processes and the Chorus Pro sandbox), in one
   pytest session;
5. fails when any Odoo log written meanwhile holds a WARNING, ERROR or
   CRITICAL line that the allow-list of ``odoo_logs.py`` does not excuse;
6. drops the databases it created.

The exit status is non-zero on any failure; pytest's summary line is printed.
"""

import argparse
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
ADDON = "l10n_fr_chorus_admin"
sys.path.insert(0, str(HERE))

import odoo_env  # noqa: E402
import odoo_logs  # noqa: E402
import run_demo  # noqa: E402


def step(title):
    print(f"\n=== {title}", flush=True)


def run(cmd, **kwargs):
    print("$ " + " ".join(str(c) for c in cmd), flush=True)
    return subprocess.run([str(c) for c in cmd], check=False, **kwargs).returncode


def lint():
    """Ruff and pylint-odoo; return the number of failing linters."""
    failures = 0
    targets = [ADDON, "tests", "setup", "conftest.py"]
    if run([sys.executable, "-m", "ruff", "check", *targets], cwd=ROOT):
        failures += 1
    if run([sys.executable, "-m", "ruff", "format", "--check", *targets], cwd=ROOT):
        failures += 1
    pylint = [
        sys.executable,
        "-m",
        "pylint",
        "--rcfile=.pylintrc-mandatory",
        "--score=n",
        ADDON,
    ]
    if run(pylint, cwd=ROOT):
        failures += 1
    return failures


def install_addon(db, log_dir, odoo_runner):
    """Install the add-on (and its tests when asked) in a fresh database,
    created as the demo command creates it: the tests that walk through the
    README's demo run on the same company as the demo. Its users read English,
    the language the tests' texts are written in (the French ones set French
    themselves)."""
    run_demo.create_database(db, "en_US")
    cmd = odoo_env.odoo_command(
        "-d",
        db,
        "-i",
        ADDON,
        "--stop-after-init",
        "--log-level=info",
        f"--logfile={log_dir / 'install.log'}",
        f"--http-port={odoo_env.free_port()}",
    )
    if odoo_runner:
        cmd += ["--test-enable", f"--test-tags=/{ADDON}"]
    started = time.monotonic()
    code = run(cmd, cwd=ROOT)
    print(f"installation took {time.monotonic() - started:.0f} s", flush=True)
    if odoo_runner:
        summary = odoo_logs.odoo_runner_summary(log_dir / "install.log")
        print(f"Odoo's test runner: {summary}", flush=True)
    return code


PYTEST_SUMMARY = re.compile(r"^=+ .*\bin [\d.]+s\b.* =+$")


def run_pytest(db, log_dir, extra):
    conf = log_dir / "pytest-odoo.conf"
    conf.write_text(
        "[options]\n"
        f"addons_path = {odoo_env.addons_path()}\n"
        f"db_name = {db}\n"
        f"logfile = {log_dir / 'pytest-odoo.log'}\n"
        "log_level = info\n"
        "max_cron_threads = 0\n"
    )
    cmd = [
        sys.executable,
        "-m",
        "pytest",
        f"--odoo-config={conf}",
        f"--odoo-database={db}",
        "--odoo-log-level=info",
        "--odoo-http",
        "-p",
        "no:cacheprovider",
        # Given arguments replace the default selection (pytest.ini's testpaths).
        *(extra or [f"{ADDON}/tests", "tests"]),
    ]
    env = {**os.environ, odoo_logs.LOG_DIR_ENV: str(log_dir)}
    print("$ " + " ".join(cmd), flush=True)
    summary = ""
    # Echo pytest's output as it comes, keeping its summary line to repeat it
    # last, after the log check, where CI and people look for it.
    with subprocess.Popen(
        cmd, cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT
    ) as process:
        for raw in process.stdout:
            line = raw.decode("utf-8", errors="replace")
            sys.stdout.write(line)
            sys.stdout.flush()
            if PYTEST_SUMMARY.match(line.strip()):
                summary = line.strip()
    return process.returncode, summary


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--keep-db", action="store_true", help="keep the database")
    parser.add_argument("--skip-lint", action="store_true", help="do not lint")
    parser.add_argument(
        "--skip-odoo-runner",
        action="store_true",
        help="install without running the tests under Odoo's own runner",
    )
    parser.add_argument("pytest_args", nargs="*", help="passed on to pytest")
    args = parser.parse_args(argv)

    step("Python requirements")
    odoo_env.ensure_requirements(ROOT / "requirements.txt")
    odoo_env.check_odoo()

    failures = []
    summary = ""
    if not args.skip_lint:
        step("Lint")
        if lint():
            failures.append("lint")

    db = f"chorus_test_{os.getpid()}"
    log_dir = Path(tempfile.mkdtemp(prefix="chorus-test-logs-"))
    try:
        step(f"Install {ADDON} in the new database {db}")
        odoo_env.drop_database(db)
        if install_addon(db, log_dir, not args.skip_odoo_runner):
            failures.append("installation / Odoo's test runner")
        step("pytest: add-on tests (pytest-odoo) and system tests")
        pytest_code, summary = run_pytest(db, log_dir, args.pytest_args)
        if pytest_code:
            failures.append(f"pytest (exit {pytest_code})")
        step("Odoo logs")
        bad_lines = odoo_logs.scan_directory(log_dir)
        for line in bad_lines:
            print(line)
        if bad_lines:
            failures.append(f"{len(bad_lines)} WARNING/ERROR line(s) in the Odoo logs")
        else:
            print("no WARNING or ERROR in the Odoo logs")
    finally:
        if not args.keep_db:
            odoo_env.drop_database(db)
            shutil.rmtree(odoo_env.filestore(db), ignore_errors=True)
        if failures:
            print(f"(logs kept in {log_dir})")
        else:
            shutil.rmtree(log_dir, ignore_errors=True)

    if failures:
        print("\nFAILED: " + "; ".join(failures), flush=True)
    else:
        print("\nAll checks passed.", flush=True)
    print(summary or "pytest printed no summary line", flush=True)
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
