"""Structured errors through the real CLI: every one is a certified leak, exit 3.

docs/theorem.md#certificate: the error rate undercounts what Bob knows when his errors
have structure, and a cheater chooses the structure. The caches of
tests/structured_caches.py learn X with no side channel (seed recovery) and answer with
exact and guessed tokens, relabelled symbols, a guessed low bit plane, or guessed
coordinates; each run below ends in exit 3 with the code that certified it, and where the
message sits above the threshold of the former error-rate rule (docs/theorem.md#fano, its
confidence form) the test shows that rule would have passed it. A leak certified on seed
0 outranks Bob's crash on seed 1, in ``verify`` and in ``attack``.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from kvbound.cli import EXIT_BOUND_VIOLATED, main
from lowerbound.fano import fano_information_lower_confidence

MODULE = "tests.structured_caches"
# L = 91 cached tokens (T_K = 64), d = 32: N = 2912 bits at b = 1
BASE = ["--schedule", "1,2,3,4,5,6,8", "--d", "32", "--quiet", "--timeout", "120"]


def _bits(b: int) -> list[str]:
    return [] if b == 1 else ["--bits-per-value", str(b), "--eta", "0"]


def _attack_record(out: Path) -> dict:
    """The JSON record ``kvbound attack --out out`` wrote (in its run's own directory)."""
    (path,) = out.rglob("attack.json")
    return json.loads(path.read_text())


def _old_rule_passes(record: dict) -> bool:
    """The former verdict on the run's own numbers: message >= Fano at the CP end."""
    b = record["bits_per_value"] or 1
    n = record["bits_decoded"] // b
    lcb = fano_information_lower_confidence(record["symbol_errors"], n, b, 1e-6)
    return record["message_bits"] >= lcb


@pytest.mark.parametrize("cache, b, pad, code", [  # the three cases, and one more
    ("HalfTokens", 1, 21, "tokens-exact"),
    ("Relabelled", 8, 1, "confusion"),
    ("LowPlane", 4, 40, "bit-planes"),
    ("HalfCoordinates", 1, 21, "lzma"),
])
def test_verify_certifies_structured_errors(cache: str, b: int, pad: int, code: str,
                                            capsys: pytest.CaptureFixture[str]) -> None:
    rc = main(["verify", *BASE, *_bits(b), "--json", "--cache", f"{MODULE}:{cache}",
               "--option", f"pad_percent={pad}"])
    out, err = capsys.readouterr()
    record = json.loads(out)
    assert rc == EXIT_BOUND_VIOLATED and record["bound_respected"] is False
    cert = record["certificate"]
    assert cert["leak"] and cert["code"] == code and cert["margin_bits"] > 0
    assert f"code {code}" in err and "LEAK" in err
    assert _old_rule_passes(record)  # the error-rate rule let every one of these pass


@pytest.mark.parametrize("b", [1, 4, 8])
def test_attack_certifies_every_structure(b: int, tmp_path: Path,
                                          capsys: pytest.CaptureFixture[str]) -> None:
    caches = ["HalfTokens", "Relabelled", "LowPlane", "HalfCoordinates"]
    rc = main(["attack", *BASE, *_bits(b), "--seeds", "1", "--no-plot", "--out",
               str(tmp_path), "--caches", ",".join(f"{MODULE}:{c}" for c in caches)])
    _, err = capsys.readouterr()
    assert rc == EXIT_BOUND_VIOLATED
    points = {p["cache"].partition(":")[2]: p for p in _attack_record(tmp_path)["points"]}
    leaking = {c for c, p in points.items() if p["leak"]}
    # at b = 1 the lowest plane is the only one: guessing it reveals nothing, no leak
    assert leaking == set(caches) - ({"LowPlane"} if b == 1 else set())
    for c in leaking:
        assert points[c]["certificate"]["leak"] and f"{MODULE}:{c}" in err


@pytest.mark.parametrize("cache, code", [
    ("HalfTokens", "tokens-exact"), ("Relabelled", "confusion"), ("LowPlane", "bit-planes"),
])
def test_multi_index_certifies_structured_errors(cache: str, code: str,
                                                 capsys: pytest.CaptureFixture[str]) -> None:
    """Bob is asked for 1500 of the 2912 symbols (b = 4); their tokens group them."""
    rc = main(["verify", *BASE, *_bits(4), "--json", "--multi-index", "1500",
               "--cache", f"{MODULE}:{cache}", "--option", "pad_percent=1"])
    record = json.loads(capsys.readouterr().out)
    assert rc == EXIT_BOUND_VIOLATED and record["bits_decoded"] == 1500 * 4
    assert record["certificate"]["code"] == code and record["certificate"]["leak"]


def test_a_leak_outranks_a_later_failure(tmp_path: Path,
                                         capsys: pytest.CaptureFixture[str]) -> None:
    """Seed 0 leaks, Bob crashes on seed 1: exit 3 reporting the leak (and the crash)."""
    rc = main(["verify", *BASE, "--seeds", "2", "--json", "--cache", f"{MODULE}:LeakThenFail"])
    out, err = capsys.readouterr()
    record = json.loads(out)
    assert rc == EXIT_BOUND_VIOLATED and record["bound_respected"] is False
    assert record["certificate"]["scope"] == "seed 0" and len(record["runs"]) == 1
    assert "seed 1" in record["failure_after_leak"] and "gives up" in err
    rc = main(["attack", *BASE, "--seeds", "2", "--no-plot", "--out", str(tmp_path),
               "--caches", f"{MODULE}:LeakThenFail"])
    _, err = capsys.readouterr()
    point = _attack_record(tmp_path)["points"][0]
    assert rc == EXIT_BOUND_VIOLATED and point["leak"] and point["error"] is None
    assert "seed 1" in point["failure_after_leak"] and "LEAK" in err
