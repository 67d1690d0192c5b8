"""Read Odoo logs the way OCA's CI does: any WARNING, ERROR or CRITICAL fails.

Every Odoo process started by the test command (installation, pytest-odoo, the
servers of the system tests) writes its log into one folder, named by the
environment variable ``CHORUS_TEST_LOG_DIR``; this module scans it.
"""

import re
from pathlib import Path

LOG_DIR_ENV = "CHORUS_TEST_LOG_DIR"

# "2026-11-26 14:47:32,176 12315 WARNING dbname odoo.logger: message"
_LINE = re.compile(
    r"^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d,\d+ \d+ (?P<level>WARNING|ERROR|CRITICAL) "
    r"(?P<db>\S+) (?P<logger>[\w.]+): (?P<message>.*)$"
)

# Known harmless lines: (log file, logger, message) patterns, each with the
# reason it is harmless. Keep it short.
ALLOWED = [
    # pytest-odoo imports Odoo's test framework while it starts, before any test
    # mode flag can be set; Odoo's own runner and the servers never log this.
    (r"pytest-odoo\.log", r"odoo\.tests\.common", r"^Importing test framework"),
]

_RUNNER_SUMMARY = re.compile(
    r"odoo\.tests\.result: (?P<failed>\d+) failed, (?P<errors>\d+) error\(s\) "
    r"of (?P<total>\d+) tests"
)


def _allowed(file_name, logger, message):
    return any(
        re.fullmatch(file_re, file_name)
        and re.fullmatch(logger_re, logger)
        and re.search(message_re, message)
        for file_re, logger_re, message_re in ALLOWED
    )


def bad_lines(path):
    """The WARNING/ERROR/CRITICAL lines of one log file that are not allowed."""
    found = []
    with open(path, encoding="utf-8", errors="replace") as log:
        for line in log:
            match = _LINE.match(line.rstrip("\n"))
            allowed = match and _allowed(
                Path(path).name, match["logger"], match["message"]
            )
            if match and not allowed:
                found.append(f"{Path(path).name}: {line.rstrip()}")
    return found


def scan_directory(log_dir):
    found = []
    for path in sorted(Path(log_dir).glob("*.log")):
        found.extend(bad_lines(path))
    return found


def odoo_runner_summary(path):
    """'N passed, N failed' from the results Odoo's test runner logged."""
    failed = errors = total = 0
    seen = False
    with open(path, encoding="utf-8", errors="replace") as log:
        for line in log:
            match = _RUNNER_SUMMARY.search(line)
            if match:
                seen = True
                failed += int(match["failed"])
                errors += int(match["errors"])
                total += int(match["total"])
    if not seen:
        return "no test result logged"
    return f"{total - failed - errors} passed, {failed + errors} failed"
