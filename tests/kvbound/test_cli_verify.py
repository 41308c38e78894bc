"""``kvbound verify`` and ``python -m kvbound``: output, files, exit codes (issue 2)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from kvbound.cli import EXIT_BOUND_VIOLATED, main

ROOT = Path(__file__).resolve().parents[2]
FIELDS = {
    "schedule", "d", "cached_tokens", "last_scale_tokens", "instance_bits", "message_bits",
    "bit_errors", "lower_bound_bits", "C", "eps", "max_inner_product", "seeds",
    "bound_respected",
}


def test_verify_json_and_files(tmp_path, capsys):
    out, report, fig = tmp_path / "v.json", tmp_path / "r.md", tmp_path / "v.png"
    code = main([
        "verify", "--schedule", "1,2,4", "--d", "32", "--seeds", "2", "--json", "--quiet",
        "--out", str(out), "--report", str(report), "--figure", str(fig),
    ])
    assert code == 0
    record = json.loads(capsys.readouterr().out)
    assert FIELDS <= record.keys()
    assert record["cached_tokens"] == 5 and record["last_scale_tokens"] == 16
    assert record["instance_bits"] == 160 and record["bit_errors"] == 0
    assert record["seeds"] == [0, 1]
    assert json.loads(out.read_text()) == record
    assert "| bits checked | 320 |" in report.read_text()
    assert "| bit errors; error rate p | 0; p = 0 |" in report.read_text()
    assert fig.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_verify_table_and_progress(capsys):
    assert main(["verify", "--schedule", "1,2,3", "--d", "24", "--seeds", "2"]) == 0
    captured = capsys.readouterr()
    first = captured.out.splitlines()[0]
    assert first.startswith("No leak: Bob decoded 120 bits of information from a ")
    assert 'cache "exact" gets every bit right.' in first
    assert "leak (information decoded > message)" in captured.out
    assert "docs/theorem.md#" not in captured.out  # the links come with --explain
    assert "verify [" in captured.err and "2/2" in captured.err


def test_verify_explain_links_every_row(capsys):
    assert main(["verify", "--schedule", "1,2,3", "--d", "24", "--quiet", "--explain"]) == 0
    out = capsys.readouterr().out
    rows = out.split("details:\n", 1)[1].splitlines()
    assert rows and all("docs/theorem.md#" in row for row in rows), rows
    assert "docs/theorem.md#l1" in out and "docs/theorem.md#feasible" in out


def test_multi_index(capsys):
    code = main(["verify", "--schedule", "1,2,4", "--d", "32", "--multi-index", "9",
                 "--json", "--quiet"])
    assert code == 0
    record = json.loads(capsys.readouterr().out)
    assert record["bits_decoded"] == 9 and record["bit_errors"] == 0
    # Alice does not know Bob's indices: the bound stays on all N = 5 * 32 bits (#multi).
    assert record["instance_bits"] == 160 and record["lower_bound_bits"] == 160


def test_leaky_cache_exits_3(tmp_path, capsys, monkeypatch):
    """A cache that keeps its state outside its bytes is caught across processes."""
    monkeypatch.setenv("KVBOUND_LEAK_PATH", str(tmp_path / "leak.npz"))
    code = main(["verify", "--schedule", "1,2,4", "--d", "32", "--quiet", "--json",
                 "--cache", "tests.leaky_cache:LeakyCache", "--no-sandbox"])
    captured = capsys.readouterr()
    assert code == EXIT_BOUND_VIOLATED
    assert json.loads(captured.out)["bound_respected"] is False
    assert "LEAK" in captured.err


def test_python_dash_m_kvbound():
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    proc = subprocess.run(
        [sys.executable, "-m", "kvbound", "verify", "--schedule", "1,2", "--d", "8",
         "--quiet", "--json"],
        capture_output=True, text=True, env=env, cwd=ROOT, timeout=120,
    )
    assert proc.returncode == 0, proc.stderr
    assert json.loads(proc.stdout)["bit_errors"] == 0
    bad = subprocess.run(
        [sys.executable, "-m", "kvbound", "verify", "--eps", "7"],
        capture_output=True, text=True, env=env, cwd=ROOT, timeout=120,
    )
    assert bad.returncode == 2
    assert bad.stderr.strip() == "kvbound: error: eps=7.0 must lie in the open interval (0, 1)"
