"""Where bubblewrap is missing: registered caches run, ``module:Class`` only when asked.

docs/theorem.md#sandbox. The missing tool is simulated (``KVBOUND_BWRAP`` names a file
that does not exist), so these tests run on every machine. A registered cache (our code)
runs in plain worker processes and its record says why it was not sandboxed; a
third-party ``module:Class`` cache is refused (exit 2, naming ``--no-sandbox``) unless
``--no-sandbox`` is given, and then its record and its table say so.
"""

from __future__ import annotations

import json
from collections.abc import Iterator

import pytest

from kvbound.cli import main
from kvbound.exit_codes import EXIT_BAD_INPUT
from reduction.isolation.sandbox import BWRAP_ENV, sandbox_status

SMALL = ["--schedule", "1,2,4", "--d", "32", "--quiet", "--timeout", "60"]


@pytest.fixture(autouse=True)
def _no_bubblewrap(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    monkeypatch.setenv(BWRAP_ENV, "/nonexistent/bwrap")
    sandbox_status.cache_clear()
    yield
    monkeypatch.undo()
    sandbox_status.cache_clear()


def test_a_registered_cache_still_runs_and_says_how(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["verify", *SMALL, "--json"]) == 0
    record = json.loads(capsys.readouterr().out)
    assert record["sandbox"] is False and record["bound_respected"] is True
    assert "not installed" in record["isolation"]["unsandboxed_because"]
    assert main(["verify", *SMALL]) == 0
    assert "NOT sandboxed (bubblewrap (bwrap) is not installed)" in capsys.readouterr().out


def test_a_third_party_cache_needs_no_sandbox_said_explicitly(
        capsys: pytest.CaptureFixture[str]) -> None:
    spec = "caches.exact:ExactCache"  # third-party syntax, whatever the module
    assert main(["verify", *SMALL, "--cache", spec]) == EXIT_BAD_INPUT
    err = capsys.readouterr().err.strip()
    assert "cannot be sandboxed here" in err and "--no-sandbox" in err
    assert len(err.splitlines()) == 1
    assert main(["check-cache", spec, "--fuzz", "3"]) == EXIT_BAD_INPUT
    assert "--no-sandbox" in capsys.readouterr().err
    assert main(["verify", *SMALL, "--cache", spec, "--no-sandbox", "--json"]) == 0
    record = json.loads(capsys.readouterr().out)
    assert record["sandbox"] is False
    assert record["isolation"]["unsandboxed_because"] == "--no-sandbox"
    assert main(["verify", *SMALL, "--cache", spec, "--no-sandbox"]) == 0
    assert "NOT sandboxed (--no-sandbox)" in capsys.readouterr().out
