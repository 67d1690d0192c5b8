"""How the project's scripts and system tests find and start Odoo 18.

Shared by ``run_tests.py``, ``run_demo.py`` and the system tests of ``tests/``
so that they all start Odoo the same way.
"""

import importlib.metadata
import importlib.util
import os
import socket
import subprocess
import sys
from pathlib import Path

from packaging.requirements import InvalidRequirement, Requirement

ROOT = Path(__file__).resolve().parent.parent
ADDON = "l10n_fr_chorus_admin"


def check_odoo():
    """Stop with a clear message unless Odoo 18 is importable by this Python."""
    probe = "import odoo.release as r; print(r.version_info[0])"
    result = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, check=False
    )
    if result.returncode != 0 or result.stdout.strip() != "18":
        sys.exit(
            f"Odoo 18.0 is not importable by {sys.executable}: install an Odoo 18.0 "
            "community source tree into this Python (pip install -e <odoo-18 tree>) "
            "so that `python3 -c 'import odoo'` works. See README.md, Prerequisites."
        )


def _unmet(requirements_file):
    unmet = []
    for raw in Path(requirements_file).read_text().splitlines():
        line = raw.split("#", 1)[0].strip()
        if not line:
            continue
        try:
            requirement = Requirement(line)
        except InvalidRequirement:
            unmet.append(line)
            continue
        if requirement.marker and not requirement.marker.evaluate():
            continue
        try:
            version = importlib.metadata.version(requirement.name)
        except importlib.metadata.PackageNotFoundError:
            unmet.append(line)
            continue
        if not requirement.specifier.contains(version, prereleases=True):
            unmet.append(line)
    return unmet


def ensure_requirements(requirements_file):
    """pip-install the requirements file when one of its lines is not met."""
    unmet = _unmet(requirements_file)
    if not unmet:
        print("all Python requirements are met")
        return
    print("installing missing Python requirements: " + ", ".join(unmet), flush=True)
    subprocess.run(
        [sys.executable, "-m", "pip", "install", "-q", "-r", str(requirements_file)],
        check=True,
    )


def addons_path():
    """The repository (holding the add-on) after Odoo's own add-ons folders."""
    spec = importlib.util.find_spec("odoo")
    if spec is None or not spec.submodule_search_locations:
        check_odoo()
    odoo_dir = Path(next(iter(spec.submodule_search_locations))).resolve()
    # A packaged Odoo keeps every add-on in odoo/addons; a git checkout also
    # has addons/ beside the odoo package.
    candidates = [odoo_dir / "addons", odoo_dir.parent / "addons"]
    paths = [str(path) for path in candidates if path.is_dir()]
    return ",".join([*paths, str(ROOT)])


def odoo_command(*args):
    """``python3 -m odoo`` with the add-ons path and the local database."""
    return [
        sys.executable,
        "-m",
        "odoo",
        f"--addons-path={addons_path()}",
        "--db_host=",
        "--max-cron-threads=0",
        *args,
    ]


def free_port():
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def drop_database(name):
    subprocess.run(
        ["dropdb", "--if-exists", "--force", name],
        check=False,
        capture_output=True,
    )


def filestore(db_name):
    """Odoo's default filestore folder of a database (data_dir not overridden)."""
    base = os.environ.get("XDG_DATA_HOME") or os.path.expanduser("~/.local/share")
    return Path(base) / "Odoo" / "filestore" / db_name
