"""The precision construction run end to end (docs/theorem.md#prec).

Values on 2^b levels m 2^-b carry b bits per coordinate; Bob decodes with Lemma PREC's
2^b - 1 thresholds; the bound is L d b bits (Fano for 2^b symbols at delta = 0) and the
leak check is Fano at the observed symbol error rate, whatever it is.
"""

from __future__ import annotations

import json
from fractions import Fraction
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from kvbound.cli import EXIT_BOUND_VIOLATED, main
from lowerbound.precision import bits_per_value_auto, levels_separate
from reduction.decode import decode_bits, decode_symbols, decoding_margin, symbol_margin
from reduction.instance import load_instance, make_instance, save_instance
from reduction.protocol import PublicParams, run_verification
from reduction.schedule import Schedule
from tests.strategies import valid_regimes

SMALL = Schedule.parse("1,2,3,4")  # L = 14


def _json(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, dict]:
    code = main(["verify", "--quiet", "--json", "--isolation", "inline", *argv])
    return code, json.loads(capsys.readouterr().out)


def test_must_show_b11_exact_fp16(capsys: pytest.CaptureFixture[str]) -> None:
    """b = 11 with the exact fp16 cache: every symbol decoded, bound 11 N, ratio < 3."""
    code, r = _json(capsys, "--bits-per-value", "11", "--cache", "exact-fp16",
                    "--schedule", "var-256", "--d", "64")
    assert code == 0 and r["symbol_errors"] == 0 and r["bit_errors"] == 0
    assert r["lower_bound_bits"] == 11 * 424 * 64 >= 298_000
    assert r["message_bits"] / r["lower_bound_bits"] < 3
    assert len(r["thresholds"]) == 2**11 - 1 and r["tau"] is None


def test_must_show_auto_at_eta_001(capsys: pytest.CaptureFixture[str]) -> None:
    code, r = _json(capsys, "--bits-per-value", "auto", "--eta", "0.01")
    assert code == 0 and r["bits_per_value"] == 5 and r["symbol_errors"] == 0
    assert r["lower_bound_bits"] == 5 * r["instance_bits"] // 5


@given(eta=st.fractions(Fraction(1, 5000), Fraction(1, 4)), seed=st.integers(0, 2**16))
@settings(max_examples=8, deadline=None)
def test_auto_b_is_the_largest_that_separates(eta: Fraction, seed: int) -> None:
    """b + 1 levels fail Lemma PREC's separation even at gamma = 0 (exact arithmetic);
    b levels decode every symbol end to end with the exact float64 cache."""
    b = bits_per_value_auto(eta, dtype="float64")
    assert b >= 1
    assert not levels_separate(b + 1, 0, eta) and levels_separate(b, 0, eta)
    b = min(b, 16)
    r = run_verification(SMALL, 32, 0.75, float(eta), [seed], cache="exact-fp64",
                         isolation="inline", bits_per_value=b)
    assert r.runs[0].symbol_errors == 0 and r.lower_bound_bits == 14 * 32 * b


@given(regime=valid_regimes(), b=st.integers(1, 6), seed=st.integers(0, 2**16))
@settings(max_examples=12, deadline=None)
def test_exact_cache_decodes_every_level(regime, b: int, seed: int) -> None:
    schedule, d, eps, eta = regime
    eta = min(eta, 0.5 / 2 ** (b + 1))  # below Lemma PREC's limit 1/(2^(b+1) - 3)
    r = run_verification(schedule, d, eps, eta, [seed], cache="exact-fp64",
                         isolation="inline", bits_per_value=b)
    assert r.runs[0].symbol_errors == 0 and r.runs[0].decoding_margin > 0


def test_too_many_levels_for_eta_is_refused() -> None:
    with pytest.raises(ValueError, match="need eta < "):
        PublicParams(SMALL, 32, 0.75, 0.01, 0, bits_per_value=6)


def test_a_quantiser_coarser_than_the_levels_loses_symbols(
    capsys: pytest.CaptureFixture[str],
) -> None:
    """2-bit min-max quantisation cannot hold 16 levels: it loses symbols, honestly."""
    code, r = _json(capsys, "--bits-per-value", "4", "--eta", "0.01", "--cache", "uniform-q2")
    assert code == 0 and r["symbol_errors"] > 0 and r["bound_respected"]


def test_a_file_leak_at_b8_is_caught(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                     capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setenv("KVBOUND_LEAK_PATH", str(tmp_path / "hidden.npz"))
    code = main(["verify", "--quiet", "--json", "--schedule", "1,2,4", "--d", "32",
                 "--bits-per-value", "8", "--cache", "tests.leaky_cache:LeakyCache",
                 "--no-sandbox"])  # the file crosses only between unsandboxed workers
    r = json.loads(capsys.readouterr().out)
    assert r["symbol_errors"] == 0 and r["message_bits"] == 64
    assert code == EXIT_BOUND_VIOLATED and r["bound_respected"] is False


@given(st.lists(st.floats(-1, 2, allow_nan=False), min_size=1, max_size=40),
       st.floats(0.01, 0.99))
def test_one_threshold_is_the_one_bit_decoder(z: list[float], tau: float) -> None:
    out = np.array([z])
    bits = (np.arange(len(z)) % 2).reshape(1, -1)
    np.testing.assert_array_equal(decode_symbols(out, (tau,)), decode_bits(out, tau))
    assert symbol_margin(out, bits, (tau,)) == decoding_margin(out, bits, tau)


@pytest.mark.parametrize("b", [1, 3, 11, 16])
def test_multilevel_instance_round_trip(tmp_path: Path, b: int) -> None:
    inst = make_instance(37, 11, np.random.default_rng(b), num_queries=5, bits_per_value=b)
    assert inst.n_bits == 37 * 11 * b and int(inst.bits.max()) < 2**b
    path = tmp_path / "inst.npz"
    save_instance(path, inst)
    back = load_instance(path)
    assert back == inst and back.bits_per_value == b
    np.testing.assert_array_equal(back.bits, inst.bits)


@pytest.mark.parametrize("b", [2, 4, 8, 11])
def test_packer_at_b_bits_decodes_within_one_plus_twelve_over_d(b: int) -> None:
    """The packer stores b-bit codes: every symbol decodes, and its largest state over all
    scale boundaries is within 1 + 12/d of Lemma PREC's bound L d b (docs/theorem.md#tight)."""
    d = 64
    r = run_verification(Schedule.preset("var-256"), d, 0.75, 0.0, [0, 1], cache="packer",
                         isolation="inline", bits_per_value=b)
    assert r.bit_errors == 0 and all(run.symbol_errors == 0 for run in r.runs)
    assert r.lower_bound_bits == 424 * d * b
    assert r.message_bits <= (1 + 12 / d) * r.lower_bound_bits


def test_packer_refuses_values_off_the_levels() -> None:
    from caches.matching.packer import PackerCache
    from reduction.cache import CacheParams

    cache = PackerCache(CacheParams(4, SMALL, {"bits_per_value": 3}))
    with pytest.raises(ValueError, match="levels m 2"):
        cache.process(np.zeros((1, 4)), np.ones((1, 4)), np.full((1, 4), 0.3))


def test_constants_refuses_levels_no_gamma_can_separate(
    capsys: pytest.CaptureFixture[str],
) -> None:
    """b = 6 at eta = 0.01 fails Lemma PREC for every gamma: one clear error, exit 2."""
    assert main(["constants", "--bits-per-value", "6", "--eta", "0.01", "--json"]) == 2
    assert "need eta < 0.008" in capsys.readouterr().err.replace("needs", "need")
    assert main(["constants", "--model", "var-d16", "--bits-per-value", "11"]) == 2
    assert "--precision-table" in capsys.readouterr().err


def test_must_show_attack_at_four_bits_per_value(
    tmp_path: Path, capsys: pytest.CaptureFixture[str],
) -> None:
    """At b = 4, the 2-bit quantisers (KIVI-2, uniform-q2) lose symbols, every point is on
    the feasible side of the multi-level bound, and the packer decodes everything within
    1 + 12/d of L d b (docs/theorem.md#prec, #tight, #feasible)."""
    code = main(["attack", "--bits-per-value", "4", "--json", "--seeds", "1", "--quiet",
                 "--isolation", "inline", "--out", str(tmp_path), "--no-plot",
                 "--caches", "kivi-q2,uniform-q2,uniform-q4,exact,packer,support"])
    assert code == 2  # support stores 0/1 values only: refused when named
    assert "stores 0/1 values only" in capsys.readouterr().err
    code = main(["attack", "--bits-per-value", "4", "--json", "--seeds", "1", "--quiet",
                 "--isolation", "inline", "--out", str(tmp_path), "--no-plot",
                 "--caches", "kivi-q2,uniform-q2,uniform-q4,exact,packer"])
    r = json.loads(capsys.readouterr().out)
    assert code == 0 and r["all_feasible"] and not r["failures"]
    assert r["lower_bound_bits"] == 424 * 64 * 4
    rate = {p["cache"]: p["error_rate"] for p in r["points"]}
    assert rate["kivi-q2"] > 0 and rate["uniform-q2"] > 0
    assert rate["exact"] == 0 and rate["packer"] == 0
    assert r["packer"]["bit_errors"] == 0 and r["packer"]["ratio"] <= 1 + 12 / 64
