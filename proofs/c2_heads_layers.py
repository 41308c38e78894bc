"""C2 -- heads and layers: the bits add up; comparison with the real fp16 cache.

Purpose: the registry entry and checks of Corollary C2 (docs/theorem.md#c2), evaluated on the
model table of :mod:`lowerbound.models`.

Main statement (C2): H independent heads in each of D layers need
D H (1 - H2(delta)) d_head L_{K-1} bits (Alice embeds an independent Index instance in
every head), against the real fp16 cache of 2 D L_K H d_head 16 bits. Their ratio
32 L_K / ((1 - H2(delta)) L_{K-1}) does not depend on D, H or d_head.

References: docs/theorem.md#c2; arXiv 2503.14881 (lemma number unknown); model sizes from
FoundationVision/VAR (see lowerbound.models).
"""

from __future__ import annotations

from collections.abc import Callable
from fractions import Fraction

import sympy as sp

from lowerbound.bound import fp16_cache_bits, model_bound_bits
from lowerbound.intervals import IV, enclose, iv_binary_entropy, iv_fraction
from lowerbound.jl import d_min
from lowerbound.models import MODELS
from proofs._perturb import all_caught
from proofs.registry import Check, CheckResult, Lemma
from reduction.schedule import Schedule

__all__ = ["LEMMAS"]

#: fp16 cache per image, one guidance branch, MiB, as published for these models (1 decimal).
PUBLISHED_FP16_MIB = {("var-d16", 256): "42.5", ("var-d20", 256): "66.4",
                      ("var-d24", 256): "95.6", ("var-d30", 256): "149.4",
                      ("var-d36", 512): "708.8"}


def check_ratio_symbolic() -> CheckResult:
    """C2: the documented formulas give fp16 / bound = 32 L_K / ((1-h) L), free of D, H, d."""
    dd, hh, d, lk, n_keys, h = sp.symbols("D H d L_K L h", positive=True)
    fp16 = 2 * dd * lk * hh * d * 16
    bound = dd * hh * (1 - h) * d * n_keys
    ratio = sp.simplify(fp16 / bound)
    ok = sp.simplify(ratio - 32 * lk / ((1 - h) * n_keys)) == 0 and not (
        ratio.free_symbols & {dd, hh, d})
    return CheckResult.of(ok, f"ratio = {ratio}, free of D, H, d")


_GRID = tuple((depth, heads, dim) for depth in (1, 16, 36) for heads in (1, 16, 30)
              for dim in (0, 64, 128))  # dim 0 stands for d_min(L, 3/4)


def _ratio_grid(fp16: Callable[[int, int, int, int], int],
                bound: Callable[..., float]) -> CheckResult:
    """fp16(D, H, d, L_K) / bound(D, H, d, L, 3/4, delta) from the given functions, on var-256
    and var-512 over the grid of model sizes: one value per (schedule, delta), equal to
    32 L_K / ((1 - H2(delta)) L) -- exactly at delta = 0 (integers), inside an enclosure of
    H2 widened by float rounding (1e-12 relative) at delta = 1/10."""
    lines = []
    for name in ("var-256", "var-512"):
        sched = Schedule.preset(name)
        n, n_all = sched.cached_tokens, sched.total_tokens
        for delta in (Fraction(0), Fraction(1, 10)):
            want = enclose(32 * iv_fraction(n_all) / ((1 - iv_binary_entropy(delta)) * n))
            ratios = []
            for depth, heads, dim in _GRID:
                d = dim or d_min(n, Fraction(3, 4))
                ratios.append(Fraction(fp16(depth, heads, d, n_all))
                              / Fraction(bound(depth, heads, d, n, 0.75, float(delta))))
            lo, hi = min(ratios), max(ratios)
            slack = 0 if delta == 0 else Fraction(1, 10**12)
            ok = (hi - lo <= slack * hi and want.lo * (1 - slack) <= lo
                  and hi <= want.hi * (1 + slack))
            lines.append(f"{name} delta={delta}: {len(ratios)} sizes, ratio in "
                         f"[{float(lo):.10g}, {float(hi):.10g}] vs {want}")
            if not ok:
                return CheckResult.of(False, "; ".join(lines))
    return CheckResult.of(True, "; ".join(lines))


def check_ratio_code() -> CheckResult:
    """C2: lowerbound.bound's fp16 / bound is one number per schedule and delta, whatever
    D, H and d_head, and it is 32 L_K / ((1 - H2(delta)) L)."""
    return _ratio_grid(fp16_cache_bits, model_bound_bits)


def perturbed_ratio_code() -> CheckResult:
    """C2 (must fail): the same grid with an fp16 cache that forgets the values (factor 2)
    and with a bound that counts one head per layer."""
    return all_caught(
        ("fp16 of keys only", _ratio_grid(lambda *a: fp16_cache_bits(*a) // 2,
                                          model_bound_bits)),
        ("one head per layer", _ratio_grid(
            fp16_cache_bits, lambda depth, heads, *a: model_bound_bits(depth, 1, *a))))


def check_fp16_matches_spec() -> CheckResult:
    """C2: fp16_cache_bits on the model table reproduces the published MiB (to 0.1 MiB)."""
    ok, lines = True, []
    for key, mib_text in PUBLISHED_FP16_MIB.items():
        m = MODELS[key]
        mib = Fraction(fp16_cache_bits(m.depth, m.heads, m.head_dim, m.total_tokens),
                       8 * 2**20)
        ok &= abs(mib - Fraction(mib_text)) <= Fraction(1, 20)
        lines.append(f"{m.name}@{m.resolution}: {float(mib):.4f} MiB vs {mib_text}")
    return CheckResult.of(ok, "; ".join(lines))


def check_model_bound_adds() -> CheckResult:
    """C2: model_bound_bits = D H d_head L_{K-1} at delta = 0 for every released model."""
    ok, lines = True, []
    for m in MODELS.values():
        if not m.released:
            continue
        eps = Fraction(3, 4)
        bits = model_bound_bits(m.depth, m.heads, m.head_dim, m.cached_tokens, eps)
        ok &= bits == m.depth * m.heads * m.head_dim * m.cached_tokens
        lines.append(f"{m.name}: {int(bits)} bits")
    return CheckResult.of(ok, "; ".join(lines))


def _cap_fits(cap: Fraction | None) -> CheckResult:
    ok, lines = True, []
    eps, eta = Fraction(3, 4), Fraction(1, 4)
    for m in MODELS.values():
        if m.logit_cap is None or not m.released:
            continue
        ok &= m.head_dim >= d_min(m.cached_tokens, eps)
        c = iv_fraction(m.logit_cap if cap is None else cap)
        g = enclose((m.cached_tokens - 1) * IV.exp(-c * iv_fraction(1 - eps))
                    + m.last_scale_tokens * IV.exp(-c))
        ok &= g.hi < (1 - eta) / (1 + eta)
        lines.append(f"{m.name}: gamma({m.logit_cap if cap is None else cap}) in {g}")
    return CheckResult.of(ok, "; ".join(lines))


def check_var_cap_fits() -> CheckResult:
    """C2: VAR caps logits at 100, and gamma(100) < (1-eta)/(1+eta): C_min <= 100 fits."""
    return _cap_fits(None)


def perturbed_var_cap_fits() -> CheckResult:
    """C2 (must fail): the same certificate with the cap lowered to 20 (below C_min ~ 26)."""
    return _cap_fits(Fraction(20))


LEMMAS = (
    Lemma(
        label="C2",
        title="Heads and layers add up; the real fp16 cache",
        reference="arXiv 2503.14881, lemma number unknown",
        statement=(
            "With H independent heads in each of D layers the bound is "
            "D H (1 - H2(delta)) d_head L_{K-1} bits, a factor 32 L_K/((1-H2(delta)) "
            "L_{K-1}) below the real fp16 cache whatever the model size."
        ),
        uses=("THM",),
        code=(
            "lowerbound.bound.model_bound_bits",
            "lowerbound.bound.fp16_cache_bits",
            "lowerbound.models.model_spec",
        ),
        tests=(
            "tests/lowerbound/test_lowerbound_models.py::test_fp16_cache_matches_compressors_md",
            "tests/lowerbound/test_lowerbound_models.py::test_model_bound_adds_heads_and_layers",
            "tests/kvbound/test_constants_cli.py::test_constants_model_var_d16",
        ),
        checks=(
            Check("the ratio formula is free of D, H, d", "proved", check_ratio_symbolic),
            Check("ratio independent of model size, from the code", "certified",
                  check_ratio_code, perturbed_ratio_code),
            Check("fp16 cache matches the published sizes", "bookkeeping",
                  check_fp16_matches_spec),
            Check("heads and layers add", "bookkeeping", check_model_bound_adds),
            Check("C_min fits VAR's logit cap", "certified", check_var_cap_fits,
                  perturbed_var_cap_fits),
        ),
    ),
)
