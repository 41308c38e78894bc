"""Text output of ``kvbound constants`` under a cap, with levels, and for real models.

Purpose: printing for :mod:`kvbound.reports.constants_cap` (Lemmas CAP, UNUSED, PREC) and the
model-mode block "at which eps the reduction fits under the model's logit cap" (C2 with
CAP). Numbers are formatted here, never computed.
"""

from __future__ import annotations

from fractions import Fraction
from typing import Any

from lowerbound.bound import fp16_cache_bits
from lowerbound.families import Family
from lowerbound.models import model_spec

__all__ = ["capped_model_block", "print_capped", "print_model_cap", "print_precision_table"]


def capped_model_block(
    name: str, resolution: int | None, eta: Fraction, delta: Fraction,
    logit_cap: Fraction | None, family: Family = "hoeffding",
) -> dict[str, Any] | None:
    """The capped reduction in one head of a real model, and the bound per head/layer/model.

    The cap is ``logit_cap`` if given, else the model's own (VAR: 100); None if neither.

    Notes: Lemma CAP (docs/theorem.md#cap) with Corollary C2.
    """
    from kvbound.reports.constants_cap import plan_block
    from lowerbound.logit_cap import plan_under_cap

    m = model_spec(name, resolution)
    cap = m.logit_cap if logit_cap is None else logit_cap
    if cap is None:
        return None
    plan = plan_under_cap(m.cached_tokens, m.last_scale_tokens, m.head_dim, eta, cap,
                          family=family)
    block = plan_block(plan, delta)
    head = block["bound_bits"]
    fp16_head = fp16_cache_bits(1, 1, m.head_dim, m.total_tokens)
    return {
        "logit_cap": str(cap),
        **block,
        "head_dim": m.head_dim,
        "d_min_below_head_dim": plan.d_min is not None and plan.d_min <= m.head_dim,
        "bound_bits_per_head": head,
        "bound_bits_per_layer": head * m.heads,
        "bound_bits_whole_model": head * m.heads * m.depth,
        "fp16_cache_bits_per_head": fp16_head,
        "fp16_over_bound": fp16_head / head if head else None,
    }


def print_model_cap(r: dict[str, Any] | None) -> None:
    """The under-the-cap lines of one model."""
    if r is None:
        print("  under a cap: no logit cap recorded for this model (give --logit-cap)")
        return
    print(f"  under the logit cap {r['logit_cap']} (Lemma CAP, {r['family']} keys): "
          f"eps={r['eps']} (floor in [{r['eps_floor']['lo']}, {r['eps_floor']['hi']}]), "
          f"C={r['c']:.6g}")
    print(f"    d_min(L*, eps)={r['d_min_at_eps']} vs head dim {r['head_dim']}; "
          f"L*={r['carrying_tokens']} of {r['carrying_tokens'] + r['zero_key_tokens']} "
          "tokens carry bits")
    print(f"    bound bits: {r['bound_bits_per_head']:.12g} per head, "
          f"{r['bound_bits_per_layer']:.12g} per layer, "
          f"{r['bound_bits_whole_model']:.12g} per model; fp16/bound = "
          f"{r['fp16_over_bound']:.4g}; certified: {'yes' if r['certified'] else 'NO'}")


def print_capped(r: dict[str, Any]) -> None:
    """One schedule under the cap (and/or with 2^b levels)."""
    cap = r["logit_cap"] or "none"
    print(f"schedule {r['schedule']}  d={r['d']}  eta={r['eta']}  delta={r['delta']}  "
          f"logit cap={cap}  keys: {r['family']}")
    rows = [
        ("L_(K-1)", "cached tokens", r["cached_tokens"], ""),
        ("T_K", "last-scale tokens", r["last_scale_tokens"], ""),
        ("L*", "tokens carrying bits", r["carrying_tokens"],
         f"{r['zero_key_tokens']} unused tokens get zero keys and values (UNUSED)"),
        ("eps", "used" + (" (fixed)" if r["eps_fixed"] else " (best)"), r["eps"],
         "" if r["eps_floor"] is None else
         f"smallest admissible: {'' if r['eps_floor_attained'] else '> '}"
         f"[{r['eps_floor']['lo']}, {r['eps_floor']['hi']}]"),
        ("d_min", "(L*, eps) (L1)", r["d_min_at_eps"], f"<= d={r['d']}"),
        ("C", "query scale", "-" if r["c"] is None else f"{r['c']:.12g}",
         f"<= B={cap}" if r["logit_cap"] else ""),
        ("gamma", "at C (L2)", "-" if r["gamma_at_c"] is None else
         f"[{r['gamma_at_c']['lo']}, {r['gamma_at_c']['hi']}]",
         f"< {r['gamma_target']}" + ("" if r["gamma_at_c"] is None else
                                     f" by {r['gamma_below_target_by']}")),
        ("b", "bits per value", r["bits_per_value"], ""),
        ("bound", "bits", f"{r['bound_bits']:.12g}", ""),
    ]
    width = max(28, *(len(str(value)) for _, _, value, _ in rows))
    for sym, what, value, note in rows:
        print(f"  {sym:<8}{what:<24}{value!s:>{width}}  {note}".rstrip())
    fams = ", ".join(f"{k}: {v}" for k, v in r["carrying_tokens_by_family"].items())
    print(f"  L* by key family: {fams}")
    if r["distinct_keys"] is not None:
        dk = r["distinct_keys"]
        print(f"  any L <= 2^d distinct sign keys: eps={dk['eps']}, C={dk['c']:.6g}"
              + ("" if dk["fits_cap"] is None else
                 f" ({'fits' if dk['fits_cap'] else 'exceeds'} the cap)"))
    print(f"  certified: {'yes' if r['certified'] else 'NO ' + str(r['certificate_failures'])}")


def print_precision_table(rows: list[dict[str, Any]]) -> None:
    """Bound per head against eta (Lemma PREC under the cap), next to the fp16 cache."""
    print(f"{'schedule':<36}{'eta':>8}{'b':>4}{'L*':>7}{'bound/head':>14}"
          f"{'fp16/head':>12}{'fp16/bound':>12}")
    for r in rows:
        ratio = "-" if r["fp16_over_bound"] is None else f"{r['fp16_over_bound']:.3g}"
        print(f"{r['schedule']:<36}{r['eta']:>8}{r['bits_per_value']:>4}"
              f"{r['carrying_tokens']:>7}{r['bound_bits_per_head']:>14.0f}"
              f"{r['fp16_cache_bits_per_head']:>12}{ratio:>12}")
