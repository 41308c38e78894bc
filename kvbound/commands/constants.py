"""``kvbound constants``: every constant of the explicit theorem, with its enclosure.

Purpose: issue 2's constants command and issue 3's real-model mode. For a schedule (or a
model of :mod:`lowerbound.models`) and eps, eta, delta it prints d_min in both forms (L1),
C_min (L3), gamma at C_min (L2), tau (L3), N = L_{K-1} d, the bound in bits (theorem) and
the exact cache's bits; with ``--model``, per head and for the whole model (C2), the real
fp16 cache and the ratio -- the most any compressor can save on the worst case.

Every number comes from ``lowerbound`` (values) and ``proofs.certificates`` (rigorous
enclosures); nothing numeric is typed here.
"""

from __future__ import annotations

import argparse
from fractions import Fraction
from typing import Any

from reduction.schedule import PRESETS

__all__ = ["register", "run", "schedule_constants", "model_constants", "parse_fraction"]

DTYPES = ("float16", "float32", "float64")


def parse_fraction(text: str) -> Fraction:
    """Read '3/4' or '0.75' as an exact fraction (argparse type).

    >>> parse_fraction("0.75"), parse_fraction("3/4")
    (Fraction(3, 4), Fraction(3, 4))
    """
    try:
        return Fraction(text.strip())
    except (ValueError, ZeroDivisionError):
        raise argparse.ArgumentTypeError(
            f"{text!r} is not a number; write e.g. 0.75 or 3/4") from None


def register(subparsers: Any) -> None:
    """Add the ``constants`` sub-command."""
    p = subparsers.add_parser(
        "constants",
        help="print every constant of the theorem (d_min, C_min, gamma, tau, bound)",
        description=(
            "Print the constants of the explicit theorem for a schedule, or per head and "
            "per model for a real VAR/Infinity model, each with a rigorous enclosure."
        ),
    )
    p.add_argument("--schedule", action="append", metavar="NAME|LIST",
                   help=f"preset ({', '.join(PRESETS)}), geometric(n,ratio) or "
                   "sides like 1,2,4 (repeatable; default var-256)")
    p.add_argument("--d", type=int, default=None, help="key/value dimension (default 64)")
    p.add_argument("--eps", type=parse_fraction, default=None,
                   help="near-orthogonality eps in (0, 1) (default 3/4; with --logit-cap "
                   "the default is to choose the best eps)")
    p.add_argument("--eta", type=parse_fraction, default=Fraction(1, 4),
                   help="entrywise relative error eta in [0, 1) (default 1/4)")
    p.add_argument("--delta", type=parse_fraction, default=Fraction(0),
                   help="per-bit error delta in [0, 1/2) (default 0)")
    p.add_argument("--model", metavar="NAME", action="append",
                   help="var-d16, var-d20, var-d24, var-d30, var-d36 or infinity-2b: per "
                   "head and whole-model constants against the real fp16 cache; with a "
                   "logit cap (the model's own, or --logit-cap) also the eps at which the "
                   "reduction fits under it (repeatable)")
    p.add_argument("--resolution", type=int, default=None,
                   help="with --model: 256 or 512 (VAR), 1024 (Infinity); default = the "
                   "released checkpoint's")
    p.add_argument("--logit-cap", type=parse_fraction, default=None, metavar="B",
                   help="cap B on |logit| (Lemma CAP): report the eps used, the tokens L* "
                   "that can carry bits, C <= B and the bound (released VAR heads: 100)")
    p.add_argument("--family", choices=("hoeffding", "binomial", "gilbert-varshamov"),
                   default="hoeffding", help="with --logit-cap: the key-family guarantee "
                   "(default hoeffding, Lemma L1's union bound)")
    p.add_argument("--bits-per-value", metavar="b|auto", default=None,
                   help="values on 2^b levels (Lemma PREC); 'auto' = the largest b that eta, "
                   "the cap and --value-dtype allow")
    p.add_argument("--value-dtype", default="float16",
                   choices=("bfloat16", "float16", "float32", "float64"),
                   help="format carrying the values: b <= 8, 11, 24, 53 (default float16)")
    p.add_argument("--precision-table", action="store_true",
                   help="bound per head against eta = 1/4 ... 2^-12 for the VAR presets "
                   "(cap 100 unless --logit-cap), next to the real fp16 cache")
    p.add_argument("--json", action="store_true", help="print JSON")
    p.set_defaults(func=run)


def _check_params(eps: Fraction, eta: Fraction, delta: Fraction) -> None:
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
        raise ValueError(
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
    from lowerbound.bound import theorem_bound_bits
    from lowerbound.validation import check_int_at_least
    from proofs._intervals import gap_text
    from proofs.certificates import certify_bound, certify_c_min, certify_d_min
    from reduction.compressors.exact import exact_cache_bits

    _check_params(eps, eta, delta)
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
    from lowerbound.bound import fp16_cache_bits, model_bound_bits, theorem_bound_bits
    from lowerbound.models import model_spec
    from proofs.certificates import certify_c_min, certify_d_min

    _check_params(eps, eta, delta)
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
        },
        "certified": dm.holds and cm.holds,
    }


def _print_schedule(r: dict[str, Any]) -> None:
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


def _print_model(r: dict[str, Any]) -> None:
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
    ]
    print(f"  {'':<28}{'per head':>24}  {'whole model':>28}")
    for what, per_head, whole in rows:
        print(f"  {what:<28}{per_head!s:>24}  {whole!s:>28}".rstrip())
    print(f"  certified: {'yes' if r['certified'] else 'NO'}")
    if "under_cap" in r:
        from kvbound.constants_report import print_model_cap

        print_model_cap(r["under_cap"])


def _emit(results: list[Any], as_json: bool, printer: Any) -> None:
    if as_json:
        from kvbound.outputs import strict_json

        print(strict_json(results[0] if len(results) == 1 else results, indent=2))
        return
    for i, r in enumerate(results):
        if i:
            print()
        printer(r)


def run(args: argparse.Namespace) -> int:
    """Compute and print the constants (schedule, capped, precision-table or model mode)."""
    from kvbound.constants_report import print_capped, print_precision_table
    from reduction.schedule import Schedule

    eps = Fraction(3, 4) if args.eps is None else args.eps
    cap_mode = args.logit_cap is not None or args.bits_per_value is not None
    if args.precision_table:
        from kvbound.constants_cap import precision_table

        if args.model is not None:
            raise ValueError("--precision-table uses the VAR presets; drop --model")
        cap = Fraction(100) if args.logit_cap is None else args.logit_cap
        schedules = [Schedule.parse(t) for t in (args.schedule or ["var-256", "var-512"])]
        rows = precision_table(schedules, 64 if args.d is None else args.d, cap,
                               args.value_dtype)
        _emit([rows], args.json, print_precision_table)
        return 0
    if args.model is not None:
        if args.schedule or args.d is not None:
            raise ValueError("--model fixes the schedule and d (the head dimension); "
                             "drop --schedule/--d")
        if args.bits_per_value is not None:
            raise ValueError("--model reports the one-bit bound; for the bound per head as a "
                             "function of eta with 2^b levels use --precision-table")
        from kvbound.constants_report import capped_model_block

        results: list[Any] = []
        for name in args.model:
            r = model_constants(name, args.resolution, eps, args.eta, args.delta)
            r["under_cap"] = capped_model_block(name, args.resolution, args.eta,
                                                args.delta, args.logit_cap, args.family)
            results.append(r)
        _emit(results, args.json, _print_model)
        return 0
    if args.resolution is not None:
        raise ValueError("--resolution needs --model")
    d = 64 if args.d is None else args.d
    schedules = [Schedule.parse(text) for text in (args.schedule or ["var-256"])]
    if cap_mode:
        from kvbound.constants_cap import capped_schedule_constants

        _check_params(eps, args.eta, args.delta)
        # Under a cap eps is chosen unless given; without one it stays the usual 3/4.
        plan_eps = args.eps if args.eps is not None or args.logit_cap is not None else eps
        results = [capped_schedule_constants(
            s, d, args.eta, args.delta, args.logit_cap, eps=plan_eps, family=args.family,
            bits=args.bits_per_value, dtype=args.value_dtype) for s in schedules]
        _emit(results, args.json, print_capped)
        return 0
    results = [schedule_constants(s, d, eps, args.eta, args.delta) for s in schedules]
    _emit(results, args.json, _print_schedule)
    return 0
