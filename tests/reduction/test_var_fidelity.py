"""Fidelity to the released VAR code (FoundationVision/VAR models/basic_var.py at 78b9539,
docs/theorem.md#var-head and #c2): every number computed here, none copied.

* the clamp is exp(fl32(ln 100)) in float32, 100.0000076, and a head realises only
  scales fl32(exp(theta)) for a float32 theta: at var-256 the target C = 29.0053799 would
  be 29.0053771 (29.0053768 after rounding), so runs use the least realisable scale >= C;
* F.normalize in pure float16 turns a zero key into NaN and every output with it; under
  autocast (float32 norm) or in bfloat16 the zero key stays zero;
* under float16 autocast the cache holds K at float32 and V at float16: 1.5 x the fp16
  figure, 63.75 MiB for VAR-d16; classifier-free guidance doubles it per image;
* one real layer: H - 2 heads carry independent values when the weights are chosen (a
  construction with H = 4 decodes every bit of two heads through one qkv projection);
* learned q and v biases change nothing Bob cannot undo; Infinity's 2-D RoPE after the
  normalisation leaves the construction's logits as they are.
"""

from __future__ import annotations

import json
import math

import numpy as np
import pytest

from kvbound.cli import main
from lowerbound.bound import autocast_cache_bits, fp16_cache_bits
from lowerbound.models import CFG_SEQUENCES, model_spec, realisable_value_heads
from reduction.attention import attend
from reduction.decode import decode_bits
from reduction.keys import sample_keys
from reduction.public import PublicParams
from reduction.schedule import Schedule
from reduction.var_head import (
    VAR_SCALE_CAP_FLOAT32,
    clamped_scale,
    l2_normalise,
    normalise_as,
    realisable_scale,
)

VAR256 = Schedule.parse("var-256")


def test_the_float32_clamp() -> None:
    theta = np.float32(np.log(np.float32(100.0)))  # max_scale_mul, a float32 ln 100
    exact = math.exp(float(theta))  # exp of the float32 parameter, before rounding
    cap = float(np.float32(exact))
    assert round(exact, 7) == 100.0000064 and round(cap, 7) == 100.0000076
    assert cap == VAR_SCALE_CAP_FLOAT32 == clamped_scale(10.0)


def test_the_scale_a_head_applies_at_var_256() -> None:
    c = PublicParams(VAR256, 64, 0.75, 0.25, 0).scale  # the simulation's C, no VAR head
    theta = float(np.float32(math.log(c)))
    assert round(c, 7) == 29.0053799
    assert round(math.exp(theta), 7) == 29.0053771  # fl32(ln C): below C
    assert round(clamped_scale(math.log(c)), 7) == 29.0053768
    var = PublicParams(VAR256, 64, 0.75, 0.25, 0, var_head=True)
    assert var.scale == realisable_scale(c) and c <= var.scale <= c * (1 + 2.0**-21)
    assert clamped_scale(math.log(var.scale)) == var.scale  # realised exactly by a theta
    assert var.gamma < 0.5 * (1 - 0.25) / (1 + 0.25)


def test_fp16_normalise_of_a_zero_key_poisons_the_head() -> None:
    """Bob's last scale has zero keys: in pure float16 F.normalize gives NaN and so does
    every output of the head; with the float32 norm of autocast they score 0."""
    fam = sample_keys(20, 64, 0.75, np.random.default_rng(0))
    raw = np.vstack([fam.signs.astype(float), np.zeros((5, 64))])
    x = np.random.default_rng(1).integers(0, 2, (20, 64)).astype(float)
    values = np.vstack([x, np.zeros((5, 64))])
    queries = 30.0 * l2_normalise(fam.signs.astype(float))
    half = normalise_as(raw, "float16")
    assert np.isnan(half[20:]).all() and not np.isnan(half[:20]).any()
    with np.errstate(invalid="ignore"):
        z = attend(queries, half, values)
    assert np.isnan(z).all()
    for mode in ("autocast", "bfloat16", "float32"):
        keys = normalise_as(raw, mode)
        assert not keys[20:].any()
        tau = 0.5
        assert np.array_equal(decode_bits(attend(queries, keys, values), tau), x)


def test_autocast_cache_and_cfg() -> None:
    m = model_spec("var-d16")
    k32, v16 = np.dtype(np.float32).itemsize, np.dtype(np.float16).itemsize
    bytes_per_seq = m.depth * m.heads * m.head_dim * m.total_tokens * (k32 + v16)
    assert autocast_cache_bits(m.depth, m.heads, m.head_dim, m.total_tokens) == 8 * bytes_per_seq
    assert bytes_per_seq / 2**20 == 63.75
    assert 2 * bytes_per_seq == 3 * fp16_cache_bits(m.depth, m.heads, m.head_dim,
                                                   m.total_tokens) // 8


def test_constants_reports_the_real_cache(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["constants", "--model", "var-d16", "--json"]) == 0
    r = json.loads(capsys.readouterr().out)
    whole = r["whole_model"]
    assert whole["autocast_cache_mib"] == 63.75
    assert whole["per_image_cfg_mib"] == CFG_SEQUENCES * 63.75
    assert r["real_layer"]["value_heads"] == 14
    assert r["real_layer"]["bound_bits"] == 14 * r["per_head"]["bound_bits"]
    assert r["scale_cap_float32"] == VAR_SCALE_CAP_FLOAT32


def _layer_weights(heads: int, d: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """W_q, W_k, W_v (H d x H d each) of one layer, chosen: every head's key reads input
    slice 0, every head's query slice 1, head h < H - 2 its value from slice h + 2."""
    width = heads * d
    wq, wk, wv = (np.zeros((width, width)) for _ in range(3))
    eye = np.eye(d)
    for h in range(heads):
        rows = slice(h * d, (h + 1) * d)
        wk[rows, 0:d] = eye
        wq[rows, d : 2 * d] = eye
        if h < heads - 2:
            wv[rows, (h + 2) * d : (h + 3) * d] = eye
    return wq, wk, wv


def test_one_real_layer_carries_h_minus_2_heads() -> None:
    """Through ONE qkv projection of an H d-wide input (the released layer's shape), with
    weights chosen, H - 2 heads decode every bit; the input is used to the last column."""
    heads, d, n, t = 4, 16, 12, 8
    assert realisable_value_heads(heads) == 2
    wq, wk, wv = _layer_weights(heads, d)
    fam = sample_keys(n, d, 0.75, np.random.default_rng(3))
    sig = fam.signs.astype(float)
    bits = np.random.default_rng(4).integers(0, 2, (heads - 2, n, d)).astype(float)
    alice = np.zeros((n, heads * d))
    alice[:, :d] = sig
    for h in range(heads - 2):
        alice[:, (h + 2) * d : (h + 3) * d] = bits[h]
    bob = np.zeros((n, heads * d))
    bob[:, d : 2 * d] = sig

    def split(w: np.ndarray, x: np.ndarray) -> np.ndarray:
        """The projection of each row, viewed as (rows, H, d) like the layer's qkv."""
        return (x @ w.T).reshape(len(x), heads, d)

    c = 30.0
    for h in range(heads - 2):
        k = np.vstack([l2_normalise(split(wk, alice)[:, h]), split(wk, bob)[:, h]])
        v = np.vstack([split(wv, alice)[:, h], split(wv, bob)[:, h]])
        k = np.vstack([k, np.zeros((t, d))])  # the rest of Bob's block: zero tokens
        v = np.vstack([v, np.zeros((t, d))])
        q = c * l2_normalise(split(wq, bob)[:, h])
        assert not split(wk, bob).any() and not split(wv, bob).any()
        assert np.array_equal(decode_bits(attend(q, k, v), 0.5), bits[h])
    assert np.linalg.matrix_rank(np.vstack([wk[:d], wq[:d], wv[: (heads - 2) * d]])) == \
        heads * d


def test_biases_are_undone_by_bob() -> None:
    """Learned q and v biases (k's is zero): Bob aims his raw query at sigma_i - b_q and
    subtracts b_v from his outputs (the softmax weights sum to 1)."""
    rng = np.random.default_rng(5)
    fam = sample_keys(10, 32, 0.75, rng)
    sig = fam.signs.astype(float)
    x = rng.integers(0, 2, (10, 32)).astype(float)
    b_q, b_v = rng.normal(size=32), rng.normal(size=32)
    k = l2_normalise(sig)
    q = 30.0 * l2_normalise((sig - b_q) + b_q)
    z = attend(q, k, x + b_v) - b_v
    assert np.array_equal(decode_bits(z, 0.5), x)


def test_rope_after_normalising_keeps_the_logits() -> None:
    """Infinity rotates q and k after normalising (adjacent channel pairs, an angle per
    position and pair): raw inputs rotated back by the public angles give the cached key
    k_i and Bob's query C k_i exactly, so every logit is the construction's."""
    rng = np.random.default_rng(6)
    n, d, c = 16, 32, 25.0
    sig = sample_keys(n, d, 0.75, rng).signs.astype(float)
    angles = rng.uniform(0, 2 * np.pi, (2 * n, d // 2))  # positions of Alice, then Bob

    def rotate(x: np.ndarray, a: np.ndarray) -> np.ndarray:
        out = np.empty_like(x)
        cos, sin = np.cos(a), np.sin(a)
        out[:, 0::2] = cos * x[:, 0::2] - sin * x[:, 1::2]
        out[:, 1::2] = sin * x[:, 0::2] + cos * x[:, 1::2]
        return out

    keys = rotate(l2_normalise(rotate(sig, -angles[:n])), angles[:n])
    queries = rotate(c * l2_normalise(rotate(sig, -angles[n:])), angles[n:])
    np.testing.assert_allclose(keys, sig / np.sqrt(d), atol=1e-13)
    np.testing.assert_allclose(queries @ keys.T, c * (sig @ sig.T) / d, atol=1e-11)
