"""The chorus_pro package stands alone: no Odoo, relative imports, valid fixtures,
status vocabularies and a thread-safe token cache."""

import os
import subprocess
import sys
import textwrap
import threading
import time
from pathlib import Path

import pytest
from chorus_pro import statuses as st
from chorus_pro.sandbox import fixtures
from chorus_pro.token import TokenCache, cache_key
from stdnum.fr import siren, siret

ADDON_DIR = Path(__file__).resolve().parents[2] / "l10n_fr_chorus_admin"
REPO = ADDON_DIR.parent

# Makes any import of Odoo fail, so that an indirect import cannot go unnoticed.
ODOO_BLOCKER = textwrap.dedent(
    """
    import importlib.abc, sys

    class NoOdoo(importlib.abc.MetaPathFinder):
        def find_spec(self, name, path=None, target=None):
            if name == "odoo" or name.startswith("odoo."):
                raise ImportError("odoo is forbidden in chorus_pro")
            return None

    sys.meta_path.insert(0, NoOdoo())
    """
)


def run_python(code, **kwargs):
    return subprocess.run(
        [sys.executable, "-c", ODOO_BLOCKER + textwrap.dedent(code)],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
        **kwargs,
    )


def test_package_works_without_odoo():
    """Import every module and talk to a sandbox with Odoo unimportable."""
    result = run_python(
        f"""
        import sys
        sys.path.insert(0, {str(ADDON_DIR)!r})
        import chorus_pro, chorus_pro.client, chorus_pro.statuses, chorus_pro.token
        import chorus_pro.sandbox, chorus_pro.sandbox.server, chorus_pro.sandbox.state
        import chorus_pro.sandbox.documents, chorus_pro.sandbox.samples
        import chorus_pro.sandbox.__main__
        from chorus_pro import ChorusProClient
        from chorus_pro.constants import SYNTAX_FACTURX
        from chorus_pro.sandbox import SandboxServer
        from chorus_pro.sandbox.fixtures import PUBLIC_BODY
        from chorus_pro.sandbox.samples import SampleInvoice, build_flow

        with SandboxServer(port=0) as sandbox:
            client = ChorusProClient(
                "sandbox-client", "sandbox-secret", "TECH_sandbox@cpro.fr",
                "sandbox-password", base_url=sandbox.url,
            )
            content, name = build_flow(
                SYNTAX_FACTURX, [SampleInvoice("NOODOO-1", PUBLIC_BODY.siret)]
            )
            number = client.deposit_flow(content, name, SYNTAX_FACTURX)[
                "numeroFluxDepot"
            ]
            client.get_flow_report(number)
            report = client.get_flow_report(number)
            assert report["etatCourantDepotFlux"] == "IN_INTEGRE", report
        loaded = sorted(m for m in sys.modules if m == "odoo" or m.startswith("odoo."))
        assert not loaded, loaded
        print("OK")
        """
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "OK"


def test_blocker_would_catch_an_odoo_import():
    """The blocker above really fails on Odoo (so the test above can fail)."""
    result = run_python("import odoo")
    assert result.returncode != 0
    assert "odoo is forbidden" in result.stderr


def test_relative_imports_only(tmp_path):
    """The package works as a sub-package (as odoo.addons.<addon>.chorus_pro)."""
    addon = tmp_path / "some_addon"
    addon.mkdir()
    (addon / "__init__.py").write_text("")
    (addon / "chorus_pro").symlink_to(ADDON_DIR / "chorus_pro")
    result = run_python(
        f"""
        import sys
        sys.path.insert(0, {str(tmp_path)!r})
        import some_addon.chorus_pro.client, some_addon.chorus_pro.sandbox.server
        assert "chorus_pro" not in sys.modules, "absolute import of chorus_pro"
        print("OK")
        """
    )
    assert result.returncode == 0, result.stderr


def test_tests_run_without_odoo():
    """This folder's contract tests pass in a pytest session where Odoo is
    unimportable (pytest-odoo disabled)."""
    if os.environ.get("CHORUS_PRO_NO_ODOO"):
        pytest.skip("already inside the Odoo-free session")
    env = dict(os.environ, CHORUS_PRO_NO_ODOO="1")
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "pytest",
            "-p",
            "no:odoo",
            "-p",
            "no:cacheprovider",
            "-q",
            str(Path(__file__).with_name("test_cpro_contract.py")),
        ],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    assert " passed" in result.stdout
    assert "odoo modules loaded: none" in result.stdout


@pytest.mark.parametrize("structure", fixtures.STRUCTURES, ids=lambda s: s.name)
def test_fixture_sirets_are_valid(structure):
    assert siret.is_valid(structure.siret)
    assert siren.is_valid(structure.siren)


def test_fixture_sirets_are_unique_and_requirements_covered():
    sirets = [s.siret for s in (fixtures.SUPPLIER,) + fixtures.BUYERS]
    assert len(set(sirets)) == len(sirets)
    # ... but for the deliberately ambiguous pair.
    assert len({s.siret for s in fixtures.AMBIGUOUS}) == 1
    assert len({s.id for s in fixtures.AMBIGUOUS}) == 2
    kinds = {b.requirement for b in fixtures.BUYERS}
    assert kinds == {"none", "service", "engagement", "both", "either"}
    for buyer in fixtures.BUYERS:
        assert buyer.service_by_code("FACTURES_PUBLIQUES")
    assert any(not s.active for b in fixtures.BUYERS for s in b.services)


def test_flow_status_vocabulary():
    assert st.flow_status_kind("IN_INTEGRE") == "success"
    assert st.flow_status_kind("IN_INTEGRE_PARTIEL") == "partial"
    for status in ("IN_REJETE", "IN_INCIDENTE", "QP_IRRECEVABLE"):
        assert st.flow_status_kind(status) == "failed"
        assert st.is_final_flow_status(status)
    for status in st.FLOW_PENDING:
        assert st.flow_status_kind(status) == "pending"
        assert not st.is_final_flow_status(status)
    # Unknown values are pending: following them goes on.
    assert st.flow_status_kind("IN_NOUVEAU_STATUT") == "pending"


def test_invoice_status_vocabulary():
    assert st.is_final_invoice_status("MISE_EN_PAIEMENT")
    assert st.is_final_invoice_status("REJETEE")
    assert not st.is_final_invoice_status("MANDATEE")
    assert st.is_final_invoice_status("MANDATEE", payment_status_reported=False)
    assert not st.is_final_invoice_status("MISE_A_DISPOSITION", False)
    assert st.invoice_needs_action("SUSPENDUE")
    assert st.invoice_needs_action("A_RECYCLER")
    assert not st.invoice_needs_action("DEPOSEE")
    assert st.is_failed_invoice_status("REJETEE")
    assert not st.is_failed_invoice_status("MISE_EN_PAIEMENT")


class FakeClock:
    def __init__(self):
        self.now = 1000.0

    def __call__(self):
        return self.now


def test_token_cache_reuses_then_refreshes_before_expiry():
    clock = FakeClock()
    cache = TokenCache(clock=clock)
    issued = []

    def fetch():
        issued.append(f"token-{len(issued) + 1}")
        return issued[-1], 3600

    key = cache_key("https://oauth.example/token", "app", "secret")
    assert cache.get(key, fetch, margin=300) == "token-1"
    clock.now += 3299
    assert cache.get(key, fetch, margin=300) == "token-1"
    clock.now += 2  # within the 300 s margin: refreshed before it expires
    assert cache.get(key, fetch, margin=300) == "token-2"
    assert cache.fetch_count == 2


def test_token_cache_keys_apart_environments_and_secrets():
    cache = TokenCache(clock=FakeClock())
    counter = iter(range(100))

    def fetch():
        return f"t{next(counter)}", 3600

    qualif = cache_key("https://sandbox-oauth/token", "app", "s1")
    prod = cache_key("https://oauth/token", "app", "s1")
    other_secret = cache_key("https://oauth/token", "app", "s2")
    tokens = {cache.get(k, fetch) for k in (qualif, prod, other_secret)}
    assert len(tokens) == 3
    assert "s1" not in repr(qualif)


def test_token_cache_invalidate_keeps_a_newer_token():
    cache = TokenCache(clock=FakeClock())
    tokens = iter(["old", "new"])
    key = ("u", "c", "h")
    assert cache.get(key, lambda: (next(tokens), 60)) == "old"
    cache.invalidate(key, "old")
    assert cache.get(key, lambda: (next(tokens), 60)) == "new"
    cache.invalidate(key, "old")  # a late refusal of the old token
    assert cache.get(key, lambda: ("never", 60)) == "new"


def test_token_cache_single_fetch_under_contention():
    cache = TokenCache()
    calls = []
    start = threading.Barrier(24)

    def fetch():
        calls.append(1)
        time.sleep(0.05)  # a slow token endpoint widens the race window
        return "shared", 3600

    results = []

    def worker():
        start.wait()
        results.append(cache.get(("u", "c", "h"), fetch))

    threads = [threading.Thread(target=worker) for _ in range(24)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert results == ["shared"] * 24
    assert len(calls) == 1
