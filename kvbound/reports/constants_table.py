"""The constants of the explicit theorem for a schedule or a real model, computed.

Purpose: what ``kvbound constants`` (and :func:`kvbound.constants`) prints: for a schedule
(or a model of :mod:`lowerbound.models`) and eps, eta, delta, d_min in both forms (L1),
C_min (L3), gamma at C_min (L2), tau (L3), N = L_{K-1} d, the bound in bits (theorem) and
the exact cache's bits; with a model, per head and for the whole model (C2), the real fp16
cache and the ratio -- the most any compressor can save on the worst case. Every number
comes from ``lowerbound`` (values) and ``proofs.certificates`` (rigorous enclosures).
"""

from __future__ import annotations

from fractions import Fraction
from typing import Any

from lowerbound.validation import InvalidArgument

DTYPES = ("float16", "float32", "float64")

__all__ = ["DTYPES", "schedule_constants", "model_constants", "check_params", "print_schedule",
           "print_model"]


def check_params(eps: Fraction, eta: Fraction, delta: Fraction) -> None:
    from lowerbound.validation import check_interval

    # floats in the messages, as every other command prints them (0.75, not 3/4)
    check_interval(float(eps), "eps", 0, 1)
    check_interval(float(eta), "eta", 0, 1, closed_lower=True)
    check_interval(float(delta), "delta", 0, 0.5, closed_lower=True)


def _need_d(n_keys: int, d: int, eps: Fraction, delta: Fraction) -> None:
    """Raise ValueError naming d_min (L1) and the C1 fallback when d < d_min."""
    from lowerbound.bound import low_dimension_bound_bits
    from lowerbound.jl import d_min, d_min_exact, max_keys

    need = d_min(n_keys, eps)
    if d < need:
        lp = max_keys(d, eps, cap=n_keys)
        c1 = low_dimension_bound_bits(d, n_keys, eps, delta)
        raise InvalidArgument(
            f"L={n_keys} and eps={float(eps):g} need d >= {need}, got d={d}; raise d or eps "
            f"(d_min={need} is the Hoeffding form of L1, the exact-binomial form gives "
            f"{d_min_exact(n_keys, eps)}; below d_min only C1 holds: >= {c1:.0f} bits from "
            f"L'={lp} near-orthogonal keys)"
        )


def schedule_constants(
    schedule: Any, d: int, eps: Fraction, eta: Fraction, delta: Fraction = Fraction(0)
) -> dict[str, Any]:
    """Every constant of the theorem for one schedule, as a JSON-ready dict.

    Notes: L1 (d_min), L2 (gamma), L3 (C_min, tau), the theorem (bound) (docs/theorem.md#thm).
    Raises ValueError when d < d_min(L_{K-1}, eps), naming d_min.
    """
    from caches.exact import exact_cache_bits
    from lowerbound.bound import theorem_bound_bits
    from lowerbound.intervals import gap_text
    from lowerbound.validation import check_int_at_least
    from proofs.certificates import certify_bound, certify_c_min, certify_d_min

    check_params(eps, eta, delta)
    d = check_int_at_least(d, "d", 1)
    n_keys, t_last = schedule.cached_tokens, schedule.last_scale_tokens
    _need_d(n_keys, d, eps, delta)
    dm = certify_d_min(n_keys, eps)
    cm = certify_c_min(n_keys, t_last, eps, eta)
    n_bits = n_keys * d
    bd = certify_bound(n_bits, delta)
    bound = theorem_bound_bits(d, n_keys, eps, delta)
    exact = {dt: exact_cache_bits(n_keys, d, dt) for dt in DTYPES}
    return {
        "schedule": str(schedule),
        "sides": list(schedule.sides),
        "d": d,
        "eps": str(eps),
        "eta": str(eta),
        "delta": str(delta),
        "cached_tokens": n_keys,
        "last_scale_tokens": t_last,
        "total_tokens": schedule.total_tokens,
        "d_min": dm.d_min,
        "d_min_threshold": dm.threshold.to_json(),
        "d_min_exact": dm.d_min_exact,
        "exact_union_bound_at_d_min_exact": float(dm.exact_union_at),
        "c_min": float(cm.c),
        # enclosures printed with as many digits as a strict inequality needs to show
        "gamma_at_c_min": cm.gamma.to_json(cm.gamma.digits_below(cm.target)),
        "gamma_target": str(cm.target),
        "gamma_below_target_by": gap_text(cm.gamma.hi, cm.target),
        "tau": float(cm.tau),
        "zero_range_top": cm.zero_top.to_json(cm.zero_top.digits_below(cm.tau)),
        "one_range_bottom": cm.one_bottom.to_json(cm.one_bottom.digits_above(cm.tau)),
        "tau_above_zero_range_by": gap_text(cm.zero_top.hi, cm.tau),
        "tau_below_one_range_by": gap_text(cm.tau, cm.one_bottom.lo),
        "n_bits": n_bits,
        "bound_bits": bound,
        "bound_bits_enclosure": bd.bits.to_json(),
        "exact_cache_bits": exact,
        "exact_cache_ratio": {dt: bits / bound if bound else None
                              for dt, bits in exact.items()},
        "certified": dm.holds and cm.holds and bd.holds,
    }


def model_constants(
    name: str,
    resolution: int | None,
    eps: Fraction,
    eta: Fraction,
    delta: Fraction = Fraction(0),
) -> dict[str, Any]:
    """Per-head and whole-model constants for a real model, against its fp16 cache.

    Notes: Corollary C2 (docs/theorem.md#c2) on the table of :mod:`lowerbound.models`.
    """
    from lowerbound.bound import (
        autocast_cache_bits,
        fp16_cache_bits,
        model_bound_bits,
        theorem_bound_bits,
    )
    from lowerbound.models import CFG_SEQUENCES, model_spec, realisable_value_heads
    from proofs.certificates import certify_c_min, certify_d_min
    from reduction.var_head import VAR_SCALE_CAP_FLOAT32

    check_params(eps, eta, delta)
    m = model_spec(name, resolution)
    d, n_keys = m.head_dim, m.cached_tokens
    _need_d(n_keys, d, eps, delta)
    dm = certify_d_min(n_keys, eps)
    cm = certify_c_min(n_keys, m.last_scale_tokens, eps, eta)
    head_bound = theorem_bound_bits(d, n_keys, eps, delta)
    model_bound = model_bound_bits(m.depth, m.heads, d, n_keys, eps, delta)
    head_fp16 = fp16_cache_bits(1, 1, d, m.total_tokens)
    model_fp16 = fp16_cache_bits(m.depth, m.heads, d, m.total_tokens)
    carried_head = fp16_cache_bits(1, 1, d, n_keys)
    model_autocast = autocast_cache_bits(m.depth, m.heads, d, m.total_tokens)
    fits = None if m.logit_cap is None else bool(cm.c <= m.logit_cap)
    return {
        "model": m.name,
        "resolution": m.resolution,
        "released": m.released,
        "source": m.source,
        "schedule": m.schedule,
        "patch_nums": list(m.patch_nums),
        "depth": m.depth,
        "heads": m.heads,
        "width": m.width,
        "head_dim": d,
        "eps": str(eps),
        "eta": str(eta),
        "delta": str(delta),
        "cached_tokens": n_keys,
        "last_scale_tokens": m.last_scale_tokens,
        "total_tokens": m.total_tokens,
        "d_min": dm.d_min,
        "d_min_exact": dm.d_min_exact,
        "c_min": float(cm.c),
        "logit_cap": None if m.logit_cap is None else str(m.logit_cap),
        "c_min_fits_cap": fits,
        "per_head": {
            "bound_bits": head_bound,
            "fp16_cache_bits": head_fp16,
            "ratio": head_fp16 / head_bound if head_bound else None,
            "fp16_cache_bits_before_last_scale": carried_head,
        },
        "whole_model": {
            "bound_bits": model_bound,
            "fp16_cache_bits": model_fp16,
            "fp16_cache_mib": model_fp16 / 8 / 2**20,
            "ratio": model_fp16 / model_bound if model_bound else None,
            "autocast_cache_bits": model_autocast,
            "autocast_cache_mib": model_autocast / 8 / 2**20,
            "autocast_ratio": model_autocast / model_bound if model_bound else None,
            "cfg_sequences": CFG_SEQUENCES,
            "per_image_cfg_mib": CFG_SEQUENCES * model_autocast / 8 / 2**20,
        },
        "real_layer": {
            "value_heads": realisable_value_heads(m.heads),
            "bound_bits": realisable_value_heads(m.heads) * head_bound,
        },
        "scale_cap_float32": None if m.logit_cap is None else VAR_SCALE_CAP_FLOAT32,
        "certified": dm.holds and cm.holds,
    }


def print_schedule(r: dict[str, Any]) -> None:
    def iv(x: dict[str, str]) -> str:
        return f"[{x['lo']}, {x['hi']}]"

    print(f"schedule {r['schedule']}  d={r['d']}  eps={r['eps']}  eta={r['eta']}  "
          f"delta={r['delta']}")
    rows = [
        ("L_(K-1)", "cached tokens", r["cached_tokens"], ""),
        ("T_K", "last-scale tokens", r["last_scale_tokens"], ""),
        ("L_K", "all tokens", r["total_tokens"], ""),
        ("d_min", "Hoeffding (L1)", r["d_min"],
         f"2 ln(L(L-1)/2)/eps^2 in {iv(r['d_min_threshold'])}"),
        ("d_min", "exact binomial (L1)", r["d_min_exact"],
         f"exact union bound {r['exact_union_bound_at_d_min_exact']:.6g} < 1"),
        ("C_min", "query scale (L3)", f"{r['c_min']:.12g}", ""),
        ("gamma", "at C_min (L2)", iv(r["gamma_at_c_min"]),
         f"< (1-eta)/(1+eta) = {r['gamma_target']} by {r['gamma_below_target_by']}"),
        ("tau", "threshold (L3)", repr(r["tau"]),
         f"above {iv(r['zero_range_top'])} by {r['tau_above_zero_range_by']}"),
        ("", "", "", f"below {iv(r['one_range_bottom'])} by {r['tau_below_one_range_by']}"),
        ("N", "= L_(K-1) * d", r["n_bits"], ""),
        ("bound", "bits (theorem)", f"{r['bound_bits']:.12g}",
         f"in {iv(r['bound_bits_enclosure'])}"),
    ]
    for dt in DTYPES:
        ratio = r["exact_cache_ratio"][dt]
        rows.append(("exact", f"cache bits, {dt}", r["exact_cache_bits"][dt],
                     "" if ratio is None else f"{ratio:.4g} x bound"))
    width = max(30, *(len(str(value)) for _, _, value, _ in rows))
    for sym, what, value, note in rows:
        print(f"  {sym:<8}{what:<22}{value!s:>{width}}  {note}".rstrip())
    print(f"  certified: {'yes' if r['certified'] else 'NO'}")


def print_model(r: dict[str, Any]) -> None:
    cap = r["logit_cap"]
    fits = ("no cap recorded" if cap is None else
            f"{'fits' if r['c_min_fits_cap'] else 'EXCEEDS'} the logit cap {cap}")
    head, model = r["per_head"], r["whole_model"]
    print(f"model {r['model']} at {r['resolution']} px "
          f"({'released' if r['released'] else 'not released: same shapes'}); "
          f"depth {r['depth']}, {r['heads']} heads of {r['head_dim']}, width {r['width']}")
    print(f"  source: {r['source']}")
    print(f"  eps={r['eps']}  eta={r['eta']}  delta={r['delta']}")
    rows = [
        ("schedule", f"{r['schedule']} {r['patch_nums']}", ""),
        ("head dimension d", r["head_dim"], ""),
        ("L_(K-1)", r["cached_tokens"], ""),
        ("d_min (Hoeffding / exact)", f"{r['d_min']} / {r['d_min_exact']}", ""),
        ("C_min", f"{r['c_min']:.6g} ({fits})", ""),
        ("bound bits", f"{head['bound_bits']:.12g}", f"{model['bound_bits']:.12g}"),
        ("fp16 KV cache bits (L_K)", head["fp16_cache_bits"],
         f"{model['fp16_cache_bits']} ({model['fp16_cache_mib']:.1f} MiB)"),
        ("fp16 / bound", f"{head['ratio']:.4g}", f"{model['ratio']:.4g}"),
        ("autocast cache (K fp32, V fp16)", "",
         f"{model['autocast_cache_bits']} ({model['autocast_cache_mib']:.2f} MiB)"),
        ("autocast / bound", "", f"{model['autocast_ratio']:.4g}"),
        (f"per image, CFG ({model['cfg_sequences']} seqs)", "",
         f"{model['per_image_cfg_mib']:.2f} MiB"),
        ("one real layer: value heads", f"{r['real_layer']['value_heads']} of {r['heads']}",
         f"{r['real_layer']['bound_bits']:.12g} bits/layer"),
    ]
    if r["scale_cap_float32"] is not None:
        rows.append(("float32 scale clamp", f"{r['scale_cap_float32']:.7f}", ""))
    print(f"  {'':<28}{'per head':>24}  {'whole model':>28}")
    for what, per_head, whole in rows:
        print(f"  {what:<28}{per_head!s:>24}  {whole!s:>28}".rstrip())
    print(f"  certified: {'yes' if r['certified'] else 'NO'}")
    if "under_cap" in r:
        from kvbound.reports.constants import print_model_cap

        print_model_cap(r["under_cap"])
