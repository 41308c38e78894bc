"""Variant S4: keys confined to an r-dimensional subspace (the C1 regime for the keys).

Purpose: docs/theorem.md#s4 (ours). With keys of rank r, Lemma L1 guarantees only
L'(r) = max_keys(r, eps, cap=L) near-orthogonal keys (docs/theorem.md#c1 with d -> r for
the keys); values stay d-dimensional. The instance: L' sign vectors sigma_c in {+-1}^r
(certified: every <sigma_c, sigma_c'> <= eps r), embedded as the first r coordinates and
rotated by a public random orthogonal d x d matrix Q: codeword keys
k_c = Q [sigma_c; 0] / sqrt(r), unit vectors spanning an r-dimensional subspace. The L
cached tokens are spread over the L' codewords (token j has key k_{j mod L'}) and every
member of cluster c carries the same value row x_c, so the keys cluster.

Bob queries C k_c for each codeword: the cluster's n_c tokens score C, every other
cached token at most C eps, the T_K zero keys 0, so the cluster's weight is
>= 1/(1+gamma) with gamma = (L-1) e^{-C(1-eps)} + T_K e^{-C} (Lemma L2), and Lemma L3
decodes x_c. Bound: (1 - H2(delta)) d L'(r): e^{Theta(r)} below r* = d_min(L, eps), L d
from r* on. Matching cache: ``cluster`` (orthant clusters, one sampled row each).

Public coins: Q is redrawn (independently of Alice's bits) until the L' codewords lie in
distinct orthants of R^d, which holds with probability close to 1.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import numpy as np

from lowerbound.softmax import gamma_target
from lowerbound.sparsity import low_rank_bound_bits, low_rank_keys, low_rank_switch
from lowerbound.validation import InvalidArgument, check_int_at_least
from reduction.keys import sample_keys
from reduction.schedule import Schedule
from variants._common import (
    check_regime,
    query_scale,
    report_parameters,
    split_seed,
    threshold_decoder,
)
from variants.runner import VariantInstance, VariantReport, attack_suite, run_cache

__all__ = ["check", "make_instance", "run", "default_rank", "sweep_ranks", "codeword_keys"]

_ROTATION_TRIES = 100


def check_rank(d: int, r: int) -> int:
    r = check_int_at_least(r, "r", 1)
    if r > d:
        raise InvalidArgument(f"rank r={r} must be <= d={d}")
    return r


def check(schedule: Schedule, d: int, eps: float, eta: float, r: int | None = None) -> None:
    """Refuse bad parameters before any work (ValueError naming the values)."""
    check_regime(eps, eta)
    check_rank(d, r if r is not None else default_rank(schedule, d, eps))


def default_rank(schedule: Schedule, d: int, eps: float) -> int:
    """ceil(r*/2), r* = d_min(L, eps), capped at d: a rank inside the e^{Theta(r)} regime."""
    return min(d, max(1, math.ceil(low_rank_switch(schedule.cached_tokens, eps) / 2)))


def sweep_ranks(schedule: Schedule, d: int, eps: float) -> list[int]:
    """Ranks at which the cluster cache is run for the figure: powers of two, r*, d."""
    star = low_rank_switch(schedule.cached_tokens, eps)
    ranks = {1 << j for j in range(d.bit_length())} | {star, d, default_rank(schedule, d, eps)}
    return sorted(r for r in ranks if 1 <= r <= d)


def codeword_keys(n_codes: int, r: int, d: int, eps: float,
                  rng: np.random.Generator) -> tuple[np.ndarray, float]:
    """(L' x d unit keys of rank r in distinct orthants, max <sigma, sigma'>/r)."""
    family = sample_keys(n_codes, r, eps, rng, require_d_min=False)
    sigma = np.zeros((n_codes, d))
    sigma[:, :r] = family.signs / math.sqrt(r)
    for _ in range(_ROTATION_TRIES):
        q, upper = np.linalg.qr(rng.standard_normal((d, d)))
        q *= np.sign(np.diag(upper))  # Haar-distributed rotation
        keys = sigma @ q.T
        if (keys != 0).all() and np.unique(keys < 0, axis=0).shape[0] == n_codes:
            return keys, family.max_inner_product  # -inf for a single codeword
    raise InvalidArgument(f"no rotation put the {n_codes} codewords of rank r={r} in distinct "
                     f"orthants of R^{d} after {_ROTATION_TRIES} tries; raise d")


def make_instance(schedule: Schedule, d: int, r: int, eps: float, eta: float,
                  seed: int) -> tuple[VariantInstance, dict[str, Any]]:
    """The clustered rank-r instance and its key facts (rank, L', max inner product)."""
    check_regime(eps, eta)
    bit_rng, key_rng, _ = split_seed(seed)
    r = check_rank(d, r)
    n = schedule.cached_tokens
    n_codes = low_rank_keys(r, eps, n)
    codes, max_ip = codeword_keys(n_codes, r, d, eps, key_rng)
    bits = bit_rng.integers(0, 2, size=(n_codes, d), dtype=np.uint8)
    cluster = np.arange(n) % n_codes
    c, g = query_scale(n, schedule.last_scale_tokens, eps, gamma_target(eta))
    _, decode = threshold_decoder(g, eta)
    inst = VariantInstance("s4", schedule, d, codes[cluster], bits[cluster].astype(np.float64),
                           np.arange(n_codes), c, bits, 1, decode,
                           low_rank_bound_bits(r, d, n, eps), g)
    facts = {"r": r, "codewords": n_codes, "keys_rank": int(np.linalg.matrix_rank(inst.keys)),
             "max_codeword_inner_product": max_ip if math.isfinite(max_ip) else None,
             "tokens_per_cluster_max": int(np.bincount(cluster).max())}
    return inst, facts


def run(schedule: Schedule, d: int, eps: float = 0.75, eta: float = 0.25, seed: int = 0, *,
        r: int | None = None, r_values: Sequence[int] | None = None,
        caches: Sequence[str] | None = None, attack: bool = True) -> VariantReport:
    """S4 end to end at rank r (cluster cache, attack suite), the bound at every r = 1..d
    and the cluster cache at the ranks of :func:`sweep_ranks`."""
    check(schedule, d, eps, eta, r)
    r_main = check_rank(d, r if r is not None else default_rank(schedule, d, eps))
    n = schedule.cached_tokens
    star = low_rank_switch(n, eps)
    measured = {check_rank(d, x) for x in (
        sweep_ranks(schedule, d, eps) if r_values is None else r_values)}
    rows: list[dict[str, Any]] = []
    main: tuple[VariantInstance, dict[str, Any], Any] | None = None
    for x in range(1, d + 1):
        row: dict[str, Any] = {"r": x, "codewords": low_rank_keys(x, eps, n),
                               "bound_bits": float(low_rank_bound_bits(x, d, n, eps)),
                               "regime": "L" if x >= star else "e^Theta(r)"}
        if x in measured or x == r_main:
            inst, facts = make_instance(schedule, d, x, eps, eta, seed)
            match_rng, attack_rng = split_seed(seed)[2].spawn(2)
            run_ = run_cache(inst, "cluster", {}, match_rng)
            row.update(cache="cluster", message_bits=run_.message_bits,
                       bit_errors=run_.bit_errors, within_match=run_.within_match,
                       keys_rank=facts["keys_rank"])
            if x == r_main:
                main = (inst, facts, (run_, attack_rng))
        rows.append(row)
    assert main is not None
    inst, facts, (matching, attack_rng) = main
    suite = attack_suite(inst, attack_rng, caches) if attack else ()
    factor = n / facts["codewords"]
    return VariantReport(
        variant="s4",
        title=f"S4 keys of rank r = {r_main} in d = {d} (switch at r* = {star})",
        parameters=report_parameters(schedule, d, eps, eta, seed, inst.scale, inst.gamma,
                                     r=r_main),
        bound_bits=inst.bound_bits,
        bound_formula="(1 - H2(delta)) d L'(r), L'(r) = max_keys(r, eps, cap=L)",
        matching=matching,
        attack=suite,
        measurements={**facts, "cached_tokens": n, "switch_rank": star,
                      "regime": "L" if r_main >= star else "e^Theta(r)",
                      "bound_drop": factor},
        practice={
            "sentence": (f"If a real VAR head's keys had rank r = {r_main}, attention could "
                         f"tell apart only L'(r) = {facts['codewords']} of the {n} cached "
                         f"tokens: the bound drops by L/L' = {factor:.1f}x, and a clustering "
                         "cache (SubGen-style) realises it when the keys cluster."),
            "name": "bound reduction factor L / L'(r)",
            "number": factor,
        },
        checks={"keys_have_rank_at_most_r": facts["keys_rank"] <= r_main,
                "codewords_near_orthogonal": facts["max_codeword_inner_product"] is None
                or facts["max_codeword_inner_product"] <= eps,
                "every_measured_rank_decodes_and_matches": all(
                    row.get("bit_errors", 0) == 0 and row.get("within_match", True)
                    for row in rows)},
        sweep=tuple(rows),
    )
