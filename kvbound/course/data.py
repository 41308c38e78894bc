"""The data behind the eight course figures, as JSON-ready dicts.

Purpose: every number a course figure draws comes from here, and every number here comes
from ``lowerbound/`` (exact constants) or from a measured run of the reduction (``reduction/``),
never from a literal. ``kvbound figures`` saves each dict as JSON next to its image and a
test recomputes it from the library.

Figures, in the order of the course unit (docs/course/unit.md):
1. T_k and L_k per scale (docs/theorem.md#model);
2. key inner products against eps (Lemma L1, docs/theorem.md#l1);
3. target weight 1/(1 + gamma) against C (Lemma L2, docs/theorem.md#l2; the cap, #cap);
4. Bob's outputs against tau, measured (Lemma L3, docs/theorem.md#l3);
5. error rate against message bits / N with Fano's frontier, measured (#l4, #feasible);
6. the bound against the real fp16 cache of the released VAR models (#c2);
7. the bound against d: L d against L' d (#thm, #c1);
8. d_min against n beside the real head dimensions (#asymptotics).
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from fractions import Fraction
from typing import Any

import numpy as np

from kvbound.experiments import DEFAULT_BUDGETS, run_sweep
from lowerbound.bound import (
    fp16_cache_bits,
    low_dimension_bound_bits,
    model_bound_bits,
    theorem_bound_bits,
)
from lowerbound.decoding import one_range, zero_range
from lowerbound.defaults import DEFAULTS
from lowerbound.entropy import binary_entropy_inverse
from lowerbound.jl import d_min, d_min_exact, max_keys
from lowerbound.models import MODELS, VAR_LOGIT_CAP
from lowerbound.softmax import gamma, gamma_target
from reduction.keys import sample_keys
from reduction.protocol import PublicParams, run_verification
from reduction.schedule import PRESETS, Schedule

__all__ = [
    "SlideParams",
    "FRONTIER_CACHES",
    "schedule_data",
    "inner_product_data",
    "concentration_data",
    "outputs_data",
    "frontier_data",
    "models_data",
    "dimension_data",
    "dmin_vs_n_data",
    "public_key_seed",
]

#: One cache per family for figure 5 (eviction, quantisation, low rank, clustering, the
#: exact and instance-optimal references, Quest's control).
FRONTIER_CACHES: tuple[str, ...] = ("exact", "packer", "quest", "uniform", "kivi", "lowrank",
                                    "random", "streaming-llm", "h2o", "subgen")
MIB = 8 * 2**20


@dataclass(frozen=True)
class SlideParams:
    """Parameters of the figures (defaults: the course's running example)."""

    schedule: str = DEFAULTS.schedule
    d: int = DEFAULTS.d
    eps: float = float(DEFAULTS.eps)
    eta: float = float(DEFAULTS.eta)
    seed: int = 0
    cache: str = "noisy"
    options: Mapping[str, Any] = field(default_factory=dict)
    frontier_caches: Sequence[str] = FRONTIER_CACHES
    isolation: str = "process"
    frontier_budgets: Sequence[float] = (0.02, *DEFAULT_BUDGETS)
    n_ratio: float = 2.0  # geometric(n, 2), the ratio the unit's section 7 uses
    n_max: int = 4096

    @property
    def parsed(self) -> Schedule:
        return Schedule.parse(self.schedule)


def public_key_seed(seed: int) -> int:
    """The public key seed of run ``seed``, derived as the protocol derives it.

    (``reduction.protocol.run_seed``: ``default_rng(seed).spawn(3)`` gives Alice's bits,
    the public coins and the cache's coins; the public stream draws one 63-bit seed.)
    """
    _, public_rng, _ = np.random.default_rng(seed).spawn(3)
    return int(public_rng.integers(0, 2**63 - 1))


def schedule_data(p: SlideParams) -> dict[str, Any]:
    """Figure 1: T_k, L_k, L_{K-1}, T_K and the number of Bob's passes."""
    s = p.parsed
    return {
        "schedule": s.name,
        "shapes": [list(x) for x in s.shapes],
        "tokens": list(s.tokens),
        "cumulative": list(s.cumulative),
        "cached_tokens": s.cached_tokens,
        "last_scale_tokens": s.last_scale_tokens,
        "passes": math.ceil(s.cached_tokens / s.last_scale_tokens),
    }


def inner_product_data(p: SlideParams) -> dict[str, Any]:
    """Figure 2: the histogram of <k_i, k_j> over all pairs of the run's key family."""
    s = p.parsed
    key_seed = public_key_seed(p.seed)
    family = sample_keys(s.cached_tokens, p.d, p.eps, np.random.default_rng(key_seed))
    signs = family.signs.astype(np.int64)
    gram = signs @ signs.T
    upper = gram[np.triu_indices(signs.shape[0], k=1)]
    values, counts = np.unique(upper, return_counts=True)
    return {
        "L": s.cached_tokens,
        "d": p.d,
        "eps": float(p.eps),
        "key_seed": key_seed,
        "repair_rounds": family.rounds,
        "pairs": int(upper.size),
        "inner_products": [int(v) / p.d for v in values],
        "counts": [int(c) for c in counts],
        "max_inner_product": family.max_inner_product,
    }


def concentration_data(p: SlideParams, points: int = 400) -> dict[str, Any]:
    """Figure 3: 1/(1 + gamma(C)) on a grid of C, with C_min, the C used and the cap."""
    s = p.parsed
    public = PublicParams(s, p.d, p.eps, p.eta, 0)
    c_top = 1.1 * max(float(VAR_LOGIT_CAP), public.scale)
    grid = [c_top * (i + 1) / points for i in range(points)]
    target = gamma_target(p.eta)
    return {
        "L": s.cached_tokens,
        "T_K": s.last_scale_tokens,
        "eps": float(p.eps),
        "eta": float(p.eta),
        "C": grid,
        "weight": [1.0 / (1.0 + gamma(s.cached_tokens, s.last_scale_tokens, c, p.eps))
                   for c in grid],
        "C_min": public.c_min,
        "C_used": public.scale,
        "logit_cap": float(VAR_LOGIT_CAP),
        "weight_needed": float(1 / (1 + target)),
        "weight_at_C_used": 1.0 / (1.0 + public.gamma),
    }


def outputs_data(p: SlideParams, bins: int = 80) -> dict[str, Any]:
    """Figure 4: a measured run's outputs for 0 and 1 bits (histograms), tau and L3's ranges."""
    s = p.parsed
    seen: list[tuple[np.ndarray, np.ndarray]] = []
    result = run_verification(
        s, p.d, p.eps, p.eta, [p.seed], cache=p.cache, options=dict(p.options),
        isolation=p.isolation, observe=lambda pub, z, t: seen.append((z, t)),
    )
    z = np.concatenate([o.ravel() for o, _ in seen])
    t = np.concatenate([b.ravel() for _, b in seen])
    pub, run = result.public, result.runs[0]
    lo, hi = min(0.0, float(z.min())), max(1.0, float(z.max()))
    edges = np.linspace(lo, hi, bins + 1)
    return {
        "schedule": s.name,
        "d": p.d,
        "cache": p.cache,
        "options": dict(pub.cache_params.options),
        "seed": p.seed,
        "eta": float(p.eta),
        "C": pub.scale,
        "gamma": pub.gamma,
        "tau": pub.tau,
        "zero_range_top": zero_range(pub.gamma, float(p.eta)),
        "one_range_bottom": one_range(pub.gamma, float(p.eta)),
        "bit_errors": run.bit_errors,
        "n_bits": run.n_bits,
        "margin": run.decoding_margin,
        "edges": edges.tolist(),
        "counts_0": np.histogram(z[t == 0], edges)[0].tolist(),
        "counts_1": np.histogram(z[t == 1], edges)[0].tolist(),
    }


def frontier_data(p: SlideParams, grid: int = 200) -> dict[str, Any]:
    """Figure 5: a measured sweep (error rate, message bits / N) and Fano's frontier."""
    s = p.parsed
    result = run_sweep(s, p.d, p.eps, p.eta, caches=list(p.frontier_caches),
                       budgets=p.frontier_budgets, seeds=[p.seed], isolation=p.isolation)
    points = [{
        "cache": q.cache,
        "setting": None if q.option is None else f"{q.option}={q.budget:g}"
        if isinstance(q.budget, float) else f"{q.option}={q.budget}",
        "bits_per_N": q.ratio,
        "error_rate": q.error_rate,
        "feasible": q.feasible,
    } for q in result.measured]
    xs = [10 ** (-1.5 + 1.5 * i / grid) for i in range(grid + 1)]  # 0.03 .. 1
    return {
        "schedule": s.name,
        "d": p.d,
        "n_bits": result.n_bits,
        "seed": p.seed,
        "points": points,
        "frontier_bits_per_N": xs,
        "frontier_error_rate": [binary_entropy_inverse(1.0 - x) for x in xs],
        "all_feasible": result.all_feasible,
    }


def models_data(p: SlideParams) -> dict[str, Any]:
    """Figure 6: the bound against the real fp16 cache (one guidance branch), in MiB."""
    rows = []
    for spec in MODELS.values():
        if not (spec.released and spec.name.startswith("var-")):
            continue
        bound = model_bound_bits(spec.depth, spec.heads, spec.head_dim, spec.cached_tokens,
                                 p.eps)
        fp16 = fp16_cache_bits(spec.depth, spec.heads, spec.head_dim, spec.total_tokens)
        rows.append({"model": spec.name, "resolution": spec.resolution,
                     "bound_mib": bound / MIB, "fp16_mib": fp16 / MIB, "ratio": fp16 / bound})
    return {"eps": float(p.eps), "models": rows}


def dimension_data(p: SlideParams) -> dict[str, Any]:
    """Figure 7: bits against d: L d (the theorem, d >= d_min) and L' d (C1, every d)."""
    s = p.parsed
    n = s.cached_tokens
    need = d_min(n, p.eps)
    ds = list(range(1, max(2 * need, 2 * p.d) + 1))
    return {
        "L": n,
        "eps": float(p.eps),
        "d_min": need,
        "d_min_exact": d_min_exact(n, p.eps),
        "d_real": p.d,
        "d": ds,
        "theorem_bits": [n * d for d in ds],
        "low_dimension_bits": [low_dimension_bound_bits(d, n, p.eps) for d in ds],
        "keys_guaranteed": [max_keys(d, p.eps, cap=n) for d in ds],
        "bound_at_d_real": theorem_bound_bits(p.d, n, p.eps) if p.d >= need
        else low_dimension_bound_bits(p.d, n, p.eps),
    }


def dmin_vs_n_data(p: SlideParams) -> dict[str, Any]:
    """Figure 8: d_min(L_{K-1}(n), eps) for geometric(n, ratio) schedules and the presets."""
    ns = []
    n = 16
    while n <= p.n_max:
        ns.append(n)
        n *= 2
    eps_values = [Fraction(3, 4), Fraction(1, 2)]
    curves = []
    for e in eps_values:
        cached = [Schedule.geometric(m, p.n_ratio).cached_tokens for m in ns]
        curves.append({"eps": str(e), "cached_tokens": cached,
                       "d_min": [d_min(c, e) for c in cached]})
    presets = []
    for name, sides in PRESETS.items():
        s = Schedule.preset(name)
        presets.append({"schedule": name, "n": sides[-1], "cached_tokens": s.cached_tokens,
                        "d_min": {str(e): d_min(s.cached_tokens, e) for e in eps_values}})
    head_dims = sorted({spec.head_dim for spec in MODELS.values() if spec.released})
    return {"ratio": p.n_ratio, "n": ns, "curves": curves, "presets": presets,
            "real_head_dims": head_dims}
