"""The attention kernels against a plain float64 reference, and the float32 error bound.

reduction.attention.attend (float64, online log-sum-exp, zero rows and zero tokens in
closed form) must equal softmax(Q [K; 0]^T) [V; 0] computed the obvious way, and
reduction.attention32.attend_float32 must stay within the rounding bound it reports,
falling back to float64 exactly where a decision against tau is not certain
(Lemma L3, docs/theorem.md#l3).
"""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from lowerbound.decoding import tau as decoding_tau
from lowerbound.softmax import gamma
from reduction import attention32
from reduction.attention import attend, record_logits, softmax_rows
from reduction.attention32 import EXP32_REL_ERROR, Float32KV, attend_float32, exp_within
from reduction.keys import sample_keys


def reference(q: np.ndarray, k: np.ndarray, v: np.ndarray, zero_tokens: int = 0) -> np.ndarray:
    """softmax(Q [K; 0]^T) [V; 0] in float64, one dense matrix, no tricks."""
    k_all = np.vstack([k, np.zeros((zero_tokens, k.shape[1]))])
    v_all = np.vstack([v, np.zeros((zero_tokens, v.shape[1]))])
    return softmax_rows(q @ k_all.T) @ v_all


@st.composite
def attention_inputs(draw, max_scale: float = 600.0):  # type: ignore[no-untyped-def]
    """Queries (some zero rows), keys (some zero tokens), values, zero_tokens, chunking."""
    seed = draw(st.integers(0, 2**32 - 1))
    rng = np.random.default_rng(seed)
    nq, nk, d, dv = (draw(st.integers(1, 30)), draw(st.integers(0, 60)),
                     draw(st.integers(1, 12)), draw(st.integers(1, 4)))
    zero_tokens = draw(st.integers(0 if nk else 1, 40))
    scale = draw(st.floats(0.0, max_scale))
    q = rng.normal(size=(nq, d)) * scale / np.sqrt(d)
    q[rng.random(nq) < 0.25] = 0.0
    k = rng.normal(size=(nk, d)) / np.sqrt(d)
    v = rng.normal(size=(nk, dv))
    empty = rng.random(nk) < 0.2  # zero (key, value) tokens inside the cache, too
    k[empty], v[empty] = 0.0, 0.0
    chunks = (draw(st.integers(1, 12)), draw(st.integers(1, 70)))
    return q, k, v, zero_tokens, chunks


@given(attention_inputs())
def test_attend_equals_the_dense_reference(case) -> None:  # type: ignore[no-untyped-def]
    """Online LSE + closed forms (zero queries, zero tokens) = the dense softmax, any C."""
    q, k, v, t0, (qc, kc) = case
    out = attend(q, k, v, zero_tokens=t0, query_chunk=qc, key_chunk=kc)
    assert np.isfinite(out).all()
    np.testing.assert_allclose(out, reference(q, k, v, t0), rtol=1e-9, atol=1e-12)


@given(attention_inputs())
def test_float32_error_stays_within_its_bound(case) -> None:  # type: ignore[no-untyped-def]
    """|Z_32 - Z| <= b_i on every float32 row (the bound of the module docstring)."""
    q, k, v, t0, (qc, kc) = case
    r = attend_float32(q, Float32KV.from_arrays(k, v), zero_tokens=t0, query_chunk=qc,
                       key_chunk=kc)
    ref = reference(q, k, v, t0)
    assert np.isfinite(r.outputs).all()
    kept = np.setdiff1d(np.arange(q.shape[0]), r.recomputed)
    err = np.abs(r.outputs[kept] - ref[kept]).max(axis=1, initial=0.0)
    assert (err <= r.bound[kept]).all(), (err, r.bound[kept])
    np.testing.assert_allclose(r.outputs[r.recomputed], ref[r.recomputed], rtol=1e-9,
                               atol=1e-12)


def test_extreme_scores_do_not_overflow() -> None:
    """C in the hundreds (and 10^4): both kernels finite and on the reference."""
    rng = np.random.default_rng(3)
    k = np.sign(rng.normal(size=(50, 16))) / 4.0
    v = rng.integers(0, 2, size=(50, 16)).astype(np.float64)
    for c in (100.0, 500.0, 1e4):
        q = c * k[:10]
        ref = reference(q, k, v, 64)
        np.testing.assert_allclose(attend(q, k, v, zero_tokens=64, key_chunk=7), ref,
                                   rtol=1e-9, atol=1e-12)
        r = attend_float32(q, Float32KV.from_arrays(k, v), zero_tokens=64, key_chunk=7)
        assert np.isfinite(r.outputs).all()
        assert (np.abs(r.outputs - ref).max(axis=1) <= np.nan_to_num(r.bound, nan=1e-9)).all()


def test_the_bound_is_within_a_small_factor_of_a_real_error() -> None:
    """Two keys whose exact scores tie, values 1 and 0 (Z = 1/2), numpy's own arithmetic.

    float32 rounding of the two scores tips the weights; the error observed here is ~5%
    of the bound (found by a random search over small d and n; the bound's exp allowance
    is 64x numpy's stated error). The worst rounding the error model admits reaches the
    bound itself (tests/reduction/test_attention_bound.py).
    """
    q = np.array([[1.605262185286438, -0.7969031872965843, -8.171963377103532]])
    k = np.array([[-0.36806472039308, -0.7019615084474815, 0.7075188120050669],
                  [-0.3507357621731059, 0.5283942716915335, 0.5909425527391717]])
    v = np.array([[1.0], [0.0]])
    r = attend_float32(q, Float32KV.from_arrays(k, v))
    err = abs(r.outputs[0, 0] - reference(q, k, v)[0, 0])
    assert r.recomputed.size == 0
    assert r.bound[0] / 100 <= err <= r.bound[0]


def _bob_like(eta: float, n: int = 300, d: int = 48, t_last: int = 256):  # type: ignore[no-untyped-def]
    """Sign keys, bit values, queries C k_i at the simulation's C; tau for this eta."""
    from fractions import Fraction

    from lowerbound.softmax import gamma_target, scale_for_gamma

    fam = sample_keys(n, d, 0.75, np.random.default_rng(5), require_d_min=False)
    keys = fam.keys.astype(np.float16)
    bits = np.random.default_rng(6).integers(0, 2, size=(n, d)).astype(np.float16)
    c = scale_for_gamma(n, t_last, 0.75, gamma_target(eta) * Fraction(1, 2))
    tau = decoding_tau(gamma(n, t_last, c, 0.75), eta)
    return c * keys.astype(np.float64), keys, bits, tau


def test_float32_path_is_taken_at_the_default_margin() -> None:
    """At eta = 1/4 every row stays float32: the bound is far below L3's margin."""
    q, k, v, tau = _bob_like(0.25)
    r = attend_float32(q, Float32KV.from_arrays(k, v), zero_tokens=256, threshold=tau)
    assert r.recomputed.size == 0
    assert r.bound.max() < 1e-2 < np.abs(r.outputs - tau).min()
    assert np.array_equal(r.outputs > tau, v.astype(bool))


def test_float32_falls_back_when_the_margin_is_too_small() -> None:
    """eta = 1 - 1e-6 puts the 0-bits within ~1e-7 of tau: rows go to float64, bits stay."""
    q, k, v, tau = _bob_like(1 - 1e-6)
    r = attend_float32(q, Float32KV.from_arrays(k, v), zero_tokens=256, threshold=tau)
    assert r.recomputed.size > 0
    exact = attend(q, k, v, zero_tokens=256)
    np.testing.assert_array_equal(r.outputs[r.recomputed], exact[r.recomputed])
    assert np.array_equal(r.outputs > tau, exact > tau)


def test_a_threshold_on_an_output_forces_that_row_to_float64() -> None:
    q, k, v, _ = _bob_like(0.25, n=40)
    first = attend_float32(q, Float32KV.from_arrays(k, v), zero_tokens=16)
    tau = float(first.outputs[7, 3])  # a threshold sitting exactly on one output
    r = attend_float32(q, Float32KV.from_arrays(k, v), zero_tokens=16, threshold=tau)
    assert 7 in r.recomputed and np.isnan(r.bound[7])


def test_every_threshold_is_checked_not_only_the_first() -> None:
    """Lemma PREC's 2^b - 1 thresholds: an output on the second one forces float64."""
    q, k, v, _ = _bob_like(0.25, n=40)
    first = attend_float32(q, Float32KV.from_arrays(k, v), zero_tokens=16)
    on_output = float(first.outputs[7, 3])
    with record_logits() as rec:
        r = attend_float32(q, Float32KV.from_arrays(k, v), zero_tokens=16,
                           threshold=(-5.0, on_output))
    assert 7 in r.recomputed and np.isnan(r.bound[7])
    assert rec.count == 40 * (40 + 16)  # rows redone in float64 are not counted twice


@given(attention_inputs())
def test_both_kernels_record_every_score(case) -> None:  # type: ignore[no-untyped-def]
    """The logit record sees every score, closed forms included: q (n + T) of them, the
    largest |<q, k>| among them (0 for zero rows and zero tokens)."""
    q, k, v, t0, (qc, kc) = case
    want = float(np.abs(q @ k.T).max(initial=0.0))
    count = q.shape[0] * (k.shape[0] + t0)
    with record_logits() as rec:
        attend(q, k, v, zero_tokens=t0, query_chunk=qc, key_chunk=kc)
    assert rec.count == count
    assert rec.max_abs == pytest.approx(want, rel=1e-12, abs=1e-300)
    with record_logits() as rec32:
        attend_float32(q, Float32KV.from_arrays(k, v), zero_tokens=t0, query_chunk=qc,
                       key_chunk=kc)
    assert rec32.count == count
    # float64 logits at the float32 extremes: off only by float32 near-ties (scores within
    # the rounding of R = |q| max|k|, or below float32's range)
    reach = float(np.sqrt((q**2).sum(1)).max(initial=0.0) * np.sqrt((k**2).sum(1)).max(
        initial=0.0))
    assert rec32.max_abs == pytest.approx(want, rel=1e-6, abs=1e-5 * reach + 1e-38)


def test_workers_give_bit_identical_outputs() -> None:
    q, k, v, tau = _bob_like(0.25, n=700)
    kv = Float32KV.from_arrays(k, v)
    runs = [attend_float32(q, kv, zero_tokens=256, threshold=tau, workers=w, query_chunk=64)
            for w in (1, 2, 3)]
    for r in runs[1:]:
        np.testing.assert_array_equal(r.outputs, runs[0].outputs)


def test_the_exp_guard_accepts_numpy_and_refuses_a_bad_kernel(monkeypatch) -> None:  # type: ignore[no-untyped-def]
    """The bound assumes numpy's float32 exp within EXP32_REL_ERROR (2^-16, 64x what
    numpy's source states for its SIMD kernel); the guard checks rho/8 on fixed probes,
    and when it fails every row is computed in float64, never trusted."""
    assert EXP32_REL_ERROR <= 2.0**-16  # the allowance is not vacuous: ~1e-5 relative
    assert exp_within(np.exp, EXP32_REL_ERROR / 8)
    assert not exp_within(lambda x: np.exp(x) * np.float32(1 + 2**-17), EXP32_REL_ERROR / 8)
    assert not exp_within(lambda x: np.where(x < -80, np.float32(1e-30), np.exp(x)),
                          EXP32_REL_ERROR)  # wrong only below the normal range
    q, k, v, tau = _bob_like(0.25, n=40)
    monkeypatch.setattr(attention32, "exp32_is_trusted", lambda: False)
    r = attend_float32(q, Float32KV.from_arrays(k, v), zero_tokens=16, threshold=tau)
    assert r.recomputed.size == q.shape[0] and np.isnan(r.bound).all()
    np.testing.assert_array_equal(r.outputs, attend(q, k, v, zero_tokens=16))


@pytest.mark.parametrize("bad", [{"workers": 0}, {"query_chunk": 0}, {"zero_tokens": -1}])
def test_float32_kernel_rejects_bad_parameters(bad: dict) -> None:
    kv = Float32KV.from_arrays(np.eye(2), np.eye(2))
    with pytest.raises(ValueError):
        attend_float32(np.ones((1, 2)), kv, **bad)
