"""The ``setup/chorus-sandbox`` command starts a sandbox the client can use."""

import signal
import subprocess
import sys
from pathlib import Path

from chorus_pro import ChorusProClient, TokenCache

SCRIPT = Path(__file__).resolve().parents[2] / "setup" / "chorus-sandbox"


def test_command_starts_a_sandbox():
    process = subprocess.Popen(
        [str(SCRIPT), "--port", "0", "--flow-polls", "0"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        banner = [process.stdout.readline() for _ in range(7)]
        assert banner[0].startswith("Chorus Pro sandbox listening on http://127.0.0.1:")
        url = banner[0].split()[-1]
        assert "sandbox-client" in banner[2] and "sandbox-secret" in banner[3]
        assert "TECH_sandbox@cpro.fr" in banner[4] and "sandbox-password" in banner[5]
        client = ChorusProClient(
            "sandbox-client",
            "sandbox-secret",
            "TECH_sandbox@cpro.fr",
            "sandbox-password",
            base_url=url,
            token_cache=TokenCache(),
        )
        assert client.health_check()["codeRetour"] == 0
        assert client.get_supplier_structures()[0]["identifiant"] == "90000001900019"
    finally:
        process.send_signal(signal.SIGINT)
        out, err = process.communicate(timeout=10)
    assert process.returncode == 0, err
    assert "stopped" in out


def test_command_refuses_other_than_loopback():
    result = subprocess.run(
        [sys.executable, str(SCRIPT), "--host", "0.0.0.0", "--port", "0"],
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
    )
    assert result.returncode == 2
    assert "loopback" in result.stderr
