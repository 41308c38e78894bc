"""Variant S2: s-sparse values. Bits live in the supports; the bound is ~ L log2 C(d, s).

Purpose: docs/theorem.md#s2 (ours). If every value row has exactly s non-zeros among its
d coordinates, a row is one of C(d, s) supports (times 2^s sign patterns when the
non-zeros are +-1). Alice writes b = floor(log2 C(d, s)) uniform bits into each row as
the support of that colex rank (:mod:`caches.combinadic`), plus s sign
bits with ``signed``; keys, queries and passes are those of section 3.

Bob decodes a row by its s largest |Z_l| (the support, ranked back into b bits) and, with
``signed``, their signs. Exact outputs separate: support coordinates have
|Z_l| >= 1/(1+gamma) (unsigned) or >= (1-gamma)/(1+gamma) (signed), the others
<= gamma/(1+gamma); under relative error eta this holds for gamma < (1-eta)/(1+eta)
(unsigned, Lemma L3's condition) and gamma < (1-eta)/2 (signed).

Bound (Fano at the per-token symbol error delta, alphabet M = 2^b):
L (b - H2(delta) - delta log2(M - 1)) bits (lowerbound.sparsity.sparse_values_bound_bits).
Matching cache: ``support`` with option s (ceil(log2 C(d, s)) bits per row + a key hash).
"""

from __future__ import annotations

from collections.abc import Sequence
from fractions import Fraction
from typing import Any

import numpy as np

from caches.combinadic import rank_subset, unrank_subset
from lowerbound.softmax import gamma_target
from lowerbound.sparsity import (
    sparse_values_bound_bits,
    sparse_values_gain,
    support_rank_bits,
    support_symbol_bits,
)
from lowerbound.validation import InvalidArgument, check_int_at_least
from reduction.schedule import Schedule
from variants._common import (
    check_key_dimension,
    check_regime,
    public_keys,
    query_scale,
    report_parameters,
    split_seed,
)
from variants.runner import VariantInstance, VariantReport, attack_suite, run_cache

__all__ = ["check", "make_instance", "run", "default_attack_s", "check_sparsity"]


def check_sparsity(d: int, s: int) -> int:
    """s must be an integer with 1 <= s <= d/2 (the sweep's range; s > d/2 mirrors d - s)."""
    s = check_int_at_least(s, "s", 1)
    if 2 * s > d:
        raise InvalidArgument(f"s={s} must be <= d/2 = {d / 2:g} (C(d, s) = C(d, d - s): larger "
                         "s repeats smaller ones); pick s in 1..d/2")
    return s


def check(schedule: Schedule, d: int, eps: float, eta: float, s: int | None = None) -> None:
    """Refuse bad parameters before any work (ValueError naming the values)."""
    check_regime(eps, eta)
    check_sparsity(d, s if s is not None else default_attack_s(d))
    check_key_dimension(schedule.cached_tokens, d, eps, "S2")


def default_attack_s(d: int) -> int:
    """The s at which ``kvbound structure --variant s2`` runs the attack suite: max(1, d/8)."""
    return max(1, d // 8)


def _int_bits(values: list[int], width: int) -> np.ndarray:
    out = np.zeros((len(values), width), dtype=np.uint8)
    for j, v in enumerate(values):
        if width:
            out[j] = np.frombuffer(format(v, f"0{width}b").encode(), np.uint8) - ord("0")
    return out


def make_instance(schedule: Schedule, d: int, s: int, eps: float, eta: float, seed: int,
                  *, signed: bool = False) -> VariantInstance:
    """L sign keys; row i = the support of rank (first b bits of x_i), signs = last s bits."""
    check_regime(eps, eta)
    s = check_sparsity(d, s)
    n = schedule.cached_tokens
    b = support_symbol_bits(d, s)
    width = b + (s if signed else 0)
    keys = public_keys(n, d, eps, seed)
    bit_rng = split_seed(seed)[0]
    bits = bit_rng.integers(0, 2, size=(n, width), dtype=np.uint8)
    weights = 1 << np.arange(b - 1, -1, -1, dtype=object)
    values = np.zeros((n, d))
    for i in range(n):
        rank = int((bits[i, :b].astype(object) * weights).sum())
        support = list(unrank_subset(rank, s, d))
        values[i, support] = 1.0 - 2.0 * bits[i, b:] if signed else 1.0
    target = (1 - Fraction(eta)) / 2 if signed else gamma_target(eta)
    c, g = query_scale(n, schedule.last_scale_tokens, eps, target)

    def decode(z: np.ndarray) -> np.ndarray:
        z = np.asarray(z, dtype=np.float64)
        top = np.sort(np.argpartition(-np.abs(z), s - 1, axis=1)[:, :s], axis=1)
        ranks = [rank_subset(tuple(row)) % (1 << b) for row in top.tolist()]
        out = _int_bits(ranks, b)
        if signed:
            out = np.hstack([out, (np.take_along_axis(z, top, axis=1) < 0).astype(np.uint8)])
        return out

    return VariantInstance("s2", schedule, d, keys, values, np.arange(n), c, bits, width,
                           decode, sparse_values_bound_bits(n, d, s, 0, signed=signed), g)


def _point(schedule: Schedule, d: int, s: int, eps: float, eta: float, seed: int,
           signed: bool, caches: Sequence[str] | None, attack: bool) -> tuple[dict[str, Any], Any]:
    cache_rng = split_seed(seed)[2]
    inst = make_instance(schedule, d, s, eps, eta, seed, signed=signed)
    match_rng, attack_rng = cache_rng.spawn(2)
    run_ = run_cache(inst, "support", {"s": s, "signed": signed}, match_rng)
    row = {
        "s": s,
        "symbol_bits": inst.symbol_bits,
        "rank_bits": support_rank_bits(d, s) + (s if signed else 0),
        "bound_bits": float(inst.bound_bits),
        "dense_bits": schedule.cached_tokens * d,
        "cache": "support",
        "message_bits": run_.message_bits,
        "bit_errors": run_.bit_errors,
        "symbol_errors": run_.symbol_errors,
        "ratio": (run_.message_bits or 0) / float(inst.bound_bits),
        "within_match": run_.within_match,
    }
    suite = attack_suite(inst, attack_rng, caches) if attack else ()
    return row, (inst, run_, suite)


def run(schedule: Schedule, d: int, eps: float = 0.75, eta: float = 0.25, seed: int = 0, *,
        s: int | None = None, s_values: Sequence[int] | None = None, signed: bool = False,
        caches: Sequence[str] | None = None, attack: bool = True) -> VariantReport:
    """S2 end to end: the support cache at every s of the sweep (default 1 .. d/2), the
    attack suite at ``s`` (default max(1, d/8))."""
    check(schedule, d, eps, eta, s)
    s_main = check_sparsity(d, s if s is not None else default_attack_s(d))
    sweep_s = list(range(1, d // 2 + 1)) if s_values is None else [
        check_sparsity(d, x) for x in s_values]
    rows = [_point(schedule, d, x, eps, eta, seed, signed, caches, False)[0]
            for x in sweep_s if x != s_main]
    row, (inst, matching, suite) = _point(schedule, d, s_main, eps, eta, seed, signed, caches,
                                          attack)
    rows = sorted([*rows, row], key=lambda r: r["s"])
    gain = sparse_values_gain(d, s_main)
    approx = d / (s_main * np.log2(d / s_main)) if d > s_main else float("inf")
    return VariantReport(
        variant="s2",
        title=f"S2 s-sparse values: bits in the supports (s = {s_main} of d = {d})",
        parameters=report_parameters(schedule, d, eps, eta, seed, inst.scale, inst.gamma,
                                     s=s_main, signed=signed),
        bound_bits=inst.bound_bits,
        bound_formula="L (b - H2(delta) - delta log2(2^b - 1)), b = floor(log2 C(d, s))"
                      + (" + s" if signed else ""),
        matching=matching,
        attack=suite,
        measurements={"s": s_main, "symbol_bits": inst.symbol_bits,
                      "rank_bits": row["rank_bits"], "dense_bits": row["dense_bits"],
                      "gain": float(gain), "gain_exact": str(gain), "gain_approx": approx},
        practice={
            "sentence": (f"If a real cache's value rows were s-sparse (s = {s_main} of "
                         f"d = {d}), the bound would drop by d/floor(log2 C(d, s)) = "
                         f"{float(gain):.2f} (~ d/(s log2(d/s)) = {approx:.2f}), and a "
                         "support-storing cache would realise it."),
            "name": "bound reduction factor d / floor(log2 C(d, s))",
            "number": float(gain),
        },
        checks={"every_s_decodes_and_matches": all(
            r["bit_errors"] == 0 and r["within_match"] for r in rows)},
        sweep=tuple(rows),
    )
