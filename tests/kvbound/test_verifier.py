"""The verifier is ready before any cache runs (kvbound.verifier, docs/theorem.md#sandbox).

Each command that starts workers runs in a fresh Python process under an audit hook
(``sys.addaudithook``): from the moment the first worker process is started, every
module the verifier loads is recorded. The list must be empty: a module loaded after
Alice answered would be read from a disk a cache may have written. The same process
reports whether it ended non-dumpable (``prctl(PR_GET_DUMPABLE)``).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
_WATCH = r'''
import ctypes, json, sys
late, started = [], []
def hook(event, args):
    if event == "subprocess.Popen" and any("boot.py" in str(a) for a in (args[1] or [])):
        started.append(True)
    elif event == "import" and started and args[0] not in sys.modules:
        late.append(args[0])
sys.addaudithook(hook)
from kvbound.cli import main
code = main(sys.argv[1:])
dumpable = ctypes.CDLL(None).prctl(3, 0, 0, 0, 0)  # PR_GET_DUMPABLE
print(json.dumps({"code": code, "workers": bool(started), "late": sorted(set(late)),
                  "dumpable": dumpable}), file=sys.stderr)
'''
SMALL = ["--schedule", "1,2,4", "--d", "32", "--quiet"]


def _watched(args: list[str], cwd: Path) -> dict:
    proc = subprocess.run([sys.executable, "-c", _WATCH, *args], cwd=cwd, capture_output=True,
                          text=True, timeout=300,
                          env={**os.environ, "PYTHONPATH": str(ROOT)})
    return json.loads(proc.stderr.strip().splitlines()[-1])


@pytest.mark.parametrize("command", ["verify", "attack", "check-cache"])
def test_nothing_is_imported_after_the_first_worker_starts(tmp_path: Path,
                                                           command: str) -> None:
    args = {
        "verify": ["verify", *SMALL, "--out", str(tmp_path / "r.json"), "--report",
                   str(tmp_path / "r.md"), "--figure", str(tmp_path / "r.svg")],
        "attack": ["attack", *SMALL, "--seeds", "1", "--caches", "exact,h2o", "--out",
                   str(tmp_path / "sweep")],
        "check-cache": ["check-cache", "h2o", "--option", "budget=0.5", "--fuzz", "7"],
    }[command]
    seen = _watched(args, tmp_path)
    assert seen["workers"], "no worker was started: the test saw nothing"
    assert seen["late"] == []
    assert seen["dumpable"] == 0  # ptrace and /proc/<pid>/mem closed to the same user
    assert seen["code"] == 0
