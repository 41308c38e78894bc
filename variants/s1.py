"""Variant S1: sparse attention. The hard instance keeps the promise on every row.

Purpose: docs/theorem.md#s1 (ours). Promise (k, xi): in every row of every attention
matrix the k largest weights sum to at least 1 - xi. The reduction runs under it with
xi = gamma/(1+gamma) for every k >= 1, changing only queries nobody reads (the
theorem's Proposition S1): Alice's query for token j is C k_j instead of 0, and Bob's
unused query rows repeat a used one. Lemma L2 then puts weight >= 1/(1+gamma) on one
token in every row (Alice's row of scale k sees L_k <= L sign keys; Bob's sees the L
cached keys and T_K zero keys), so

* the mass outside the top-k set is <= gamma/(1+gamma) (and the top-k truncated,
  renormalised output differs from the dense one by at most that much per entry);
* a row's entropy is <= H2(w0) + (1 - w0) log2(m - 1), w0 = 1/(1+gamma), m = L + T_K.

So the bound (1 - H2(delta)) d L_{K-1} holds for caches that only need to be correct on
inputs keeping the promise. This module measures the promise on the instance (Alice's
and Bob's rows: the weight on the target against 1/(1+gamma), the mass outside the top k
against xi, the entropy in bits; for Bob's rows also the number of weights above a tiny
tolerance and the top-k truncation error) and runs the packer (the matching cache,
docs/theorem.md#tight) and ``topk-attention`` (a cache that uses the promise: it stores
everything, attends to the top k only, decodes every bit, and stays above the bound).

Promise check (``--sparse-attention k``): kept when every row's mass outside its top k is
<= xi = gamma/(1+gamma). Also reported (the stricter forms): at most k weights of a Bob
row above ``tol`` (default 1e-9), and the top-k truncation error against eta.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import numpy as np

from lowerbound.softmax import gamma_target
from lowerbound.sparsity import (
    attention_entropy_bound_bits,
    certified_fano_bits,
    off_target_mass_bound,
)
from lowerbound.validation import check_int_at_least
from reduction.attention import softmax_rows
from reduction.schedule import Schedule
from variants._common import (
    check_key_dimension,
    check_regime,
    public_keys,
    query_scale,
    report_parameters,
    split_seed,
    threshold_decoder,
)
from variants.runner import VariantInstance, VariantReport, attack_suite, run_cache

__all__ = ["check", "make_instance", "attention_profile", "run", "DEFAULT_TOL"]

DEFAULT_TOL = 1e-9
_ROWS = 256


def check(schedule: Schedule, d: int, eps: float, eta: float, k: int = 1) -> None:
    """Refuse bad parameters before any work (ValueError naming the values)."""
    check_regime(eps, eta)
    check_int_at_least(k, "k", 1)
    check_key_dimension(schedule.cached_tokens, d, eps, "S1")


def make_instance(schedule: Schedule, d: int, eps: float, eta: float,
                  seed: int) -> VariantInstance:
    """The hard instance of section 3: L sign keys / sqrt(d), uniform 0/1 values."""
    check_regime(eps, eta)
    n = schedule.cached_tokens
    keys = public_keys(n, d, eps, seed)
    bit_rng = split_seed(seed)[0]
    bits = bit_rng.integers(0, 2, size=(n, d), dtype=np.uint8)
    c, g = query_scale(n, schedule.last_scale_tokens, eps, gamma_target(eta))
    _, decode = threshold_decoder(g, eta)
    return VariantInstance("s1", schedule, d, keys, bits.astype(np.float64), np.arange(n), c,
                           bits, 1, decode, certified_fano_bits(n * d, 0), g,
                           alice_scale=c, fill_unused=True)


def _outside_top_k(w: np.ndarray, k: int) -> np.ndarray:
    """Per row, the attention mass outside its k largest weights."""
    cut = w.shape[1] - min(k, w.shape[1])
    return 1.0 - np.partition(w, cut, axis=1)[:, cut:].sum(axis=1)


def _alice_rows(inst: VariantInstance, k: int) -> tuple[float, float]:
    """(min target weight, max mass outside the top k) over Alice's rows, scale by scale."""
    min_target, max_out = 1.0, 0.0
    for start, stop in inst.schedule.block_bounds[:-1]:
        w = softmax_rows(inst.alice_scale * inst.keys[start:stop] @ inst.keys[:stop].T)
        min_target = min(min_target, float(w[np.arange(stop - start), np.arange(start, stop)]
                                           .min()))
        max_out = max(max_out, float(_outside_top_k(w, k).max()))
    return min_target, max_out


def attention_profile(inst: VariantInstance, k: int, eta: float,
                      tol: float = DEFAULT_TOL) -> dict[str, Any]:
    """How one-hot the run's exact attention rows are, and whether they keep the promise.

    Bob's rows: softmax(C k_i [K; 0]^T) over the L cached keys and the T_K zero keys of
    his scale; Alice's rows: softmax(C k_j K_{<=k}^T) in her scale k (docs/theorem.md#l2).
    Truncation: the output of a Bob row's top-k weights, renormalised, against the dense
    output, entrywise, on the instance's values.
    """
    k = check_int_at_least(k, "k", 1)
    t_last = inst.schedule.last_scale_tokens
    keys = np.vstack([inst.keys, np.zeros((t_last, inst.d))])
    values = np.vstack([inst.values, np.zeros((t_last, inst.d))])
    m = keys.shape[0]
    min_target, max_entropy, sum_entropy, max_above, max_trunc = 1.0, 0.0, 0.0, 0, 0.0
    max_out = 0.0
    for start in range(0, inst.carriers, _ROWS):
        rows = inst.bob_tokens[start : start + _ROWS]
        w = softmax_rows(inst.scale * inst.keys[rows] @ keys.T)
        min_target = min(min_target, float(w[np.arange(rows.size), rows].min()))
        logs = np.log2(np.where(w > 0, w, 1.0))
        entropy = -(w * logs).sum(axis=1)
        max_entropy = max(max_entropy, float(entropy.max()))
        sum_entropy += float(entropy.sum())
        max_above = max(max_above, int((w > tol).sum(axis=1).max()))
        max_out = max(max_out, float(_outside_top_k(w, k).max()))
        top = np.argpartition(-w, min(k, m) - 1, axis=1)[:, : min(k, m)]
        wk = np.take_along_axis(w, top, axis=1)
        zk = np.einsum("rk,rkd->rd", wk / wk.sum(axis=1, keepdims=True), values[top])
        max_trunc = max(max_trunc, float(np.abs(w @ values - zk).max()))
    g = inst.gamma
    xi = float(off_target_mass_bound(g))
    alice_target, alice_out = _alice_rows(inst, k)
    return {
        "k": k,
        "tolerance": tol,
        "rows": inst.carriers,
        "attended_keys": m,
        "min_target_weight": min_target,
        "target_weight_bound": 1.0 / (1.0 + g),
        "max_off_target_mass": 1.0 - min_target,
        "off_target_mass_bound": xi,
        "max_outside_top_k": max_out,
        "alice_min_target_weight": alice_target,
        "alice_max_outside_top_k": alice_out,
        "max_entropy_bits": max_entropy,
        "mean_entropy_bits": sum_entropy / max(1, inst.carriers),
        "entropy_bound_bits": float(attention_entropy_bound_bits(g, m)),
        "uniform_entropy_bits": math.log2(m),
        "max_weights_above_tol": max_above,
        "truncation_error": max_trunc,
        "truncation_within_eta": max_trunc <= eta,
        "promise_kept": max(max_out, alice_out) <= xi,
    }


def run(schedule: Schedule, d: int, eps: float = 0.75, eta: float = 0.25, seed: int = 0, *,
        k: int = 1, tol: float = DEFAULT_TOL, caches: Sequence[str] | None = None,
        attack: bool = True) -> VariantReport:
    """S1 end to end: promise measured, packer (matching), top-k cache, attack suite."""
    check(schedule, d, eps, eta, k)
    cache_rng = split_seed(seed)[2]
    inst = make_instance(schedule, d, eps, eta, seed)
    profile = attention_profile(inst, k, eta, tol)
    match_rng, topk_rng, attack_rng = cache_rng.spawn(3)
    matching = run_cache(inst, "packer", {}, match_rng)
    topk = run_cache(inst, "topk-attention", {"k": k}, topk_rng)
    suite = attack_suite(inst, attack_rng, caches) if attack else ()
    checks = {
        "promise_kept": bool(profile["promise_kept"]),
        "target_weight_at_least_1/(1+gamma)":
            min(profile["min_target_weight"], profile["alice_min_target_weight"])
            >= profile["target_weight_bound"],
        "entropy_within_certified_bound":
            profile["max_entropy_bits"] <= profile["entropy_bound_bits"],
        "topk_decodes_every_bit": topk.decoded_all,
        "topk_message_at_least_bound": (topk.message_bits or 0) >= inst.bound_bits,
    }
    return VariantReport(
        variant="s1",
        title=f"S1 sparse attention: a {k}-sparse promise, kept by the hard instance",
        parameters=report_parameters(schedule, d, eps, eta, seed, inst.scale, inst.gamma,
                                     k=k),
        bound_bits=inst.bound_bits,
        bound_formula="(1 - H2(delta)) d L_{K-1}: the theorem's bound, unchanged",
        matching=matching,
        attack=suite,
        measurements={**profile, "topk_cache": topk.to_json(),
                      "topk_message_over_bound": (topk.message_bits or 0)
                      / float(inst.bound_bits)},
        practice={
            "sentence": (f"Attention sparsity buys no memory: Bob's rows are already "
                         f"{k}-sparse (max entropy {profile['max_entropy_bits']:.3g} of "
                         f"{profile['uniform_entropy_bits']:.3g} bits), so the bound is "
                         "unchanged; sparse attention saves compute, not cache."),
            "name": "max attention entropy (bits)",
            "number": profile["max_entropy_bits"],
        },
        checks=checks,
    )
