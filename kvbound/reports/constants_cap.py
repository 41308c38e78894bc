"""``kvbound constants`` under a logit cap and with multi-level values: the JSON blocks.

Purpose: issue 8's ``--logit-cap`` (Lemma CAP, UNUSED: the eps used, L*, C, the bound) and
issue 9's ``--bits-per-value`` and ``--precision-table`` (Lemma PREC). Every number comes
from lowerbound.validation import InvalidArgument
from :mod:`lowerbound` and is re-proved by :mod:`proofs.cap_certificates`.
"""

from __future__ import annotations

from fractions import Fraction
from typing import Any

from lowerbound.bound import fp16_cache_bits
from lowerbound.families import FAMILIES, Family, distinct_keys_scale
from lowerbound.intervals import Enclosure, gap_text
from lowerbound.logit_cap import CapPlan, plan_under_cap
from lowerbound.precision import (
    bits_per_value_auto,
    eta_limit,
    level_gamma_target,
    max_bits_for_dtype,
    multilevel_bound_bits,
)
from lowerbound.softmax import gamma_target
from lowerbound.validation import InvalidArgument
from proofs.cap_certificates import certify_cap_plan

__all__ = ["resolve_bits", "plan_block", "capped_schedule_constants", "precision_table",
           "PRECISION_ETAS"]

#: eta = 1/4, 1/8, ..., 2^-12: the rows of the precision table.
PRECISION_ETAS: tuple[Fraction, ...] = tuple(Fraction(1, 2**k) for k in range(2, 13))


def resolve_bits(
    bits: str | None, eta: Fraction, dtype: str, *, logit_cap: Fraction | None,
    cached: int, last: int, d: int, eps: Fraction | None,
) -> int | None:
    """The b of ``--bits-per-value`` ('auto' = the largest that works, Lemma PREC)."""
    if bits is None:
        return None
    if bits == "auto":
        b = bits_per_value_auto(eta, dtype=dtype, logit_cap=logit_cap, cached_tokens=cached,
                                last_tokens=last, d=d, eps=eps)
        if b == 0:
            raise InvalidArgument(f"eta={float(eta):g} leaves no b >= 1 (b = 1 needs eta < 1"
                             + ("" if logit_cap is None else
                                f" and all L={cached} tokens under the cap {logit_cap}")
                             + "); lower eta" + ("" if logit_cap is None else " or raise d"))
        return b
    try:
        b = int(bits)
    except ValueError:
        raise InvalidArgument(f"--bits-per-value={bits!r} must be an integer >= 1 or 'auto'"
                         ) from None
    top = max_bits_for_dtype(dtype)
    if not 1 <= b <= top:
        raise InvalidArgument(f"--bits-per-value={b} must lie in [1, {top}] for {dtype} values "
                         f"(every multiple of 2^-b in [0, 1) must be exact)")
    if level_gamma_target(b, eta) <= 0:
        raise InvalidArgument(f"--bits-per-value={b}: 2^{b} levels cannot be told apart under "
                         f"eta={float(eta):g}, for any gamma (Lemma PREC needs eta < "
                         f"{float(eta_limit(b)):.6g}); lower b or eta, or give 'auto'")
    return b


def plan_block(plan: CapPlan, delta: Fraction, bits: int | None = None) -> dict[str, Any]:
    """One capped plan as JSON, with its certificate (Lemma CAP, UNUSED)."""
    cert = certify_cap_plan(plan, delta)
    floor = plan.eps_floor
    b = 1 if bits is None else bits
    n_symbols = plan.carrying_tokens * plan.d
    floor_enc = None if floor is None else Enclosure(floor.lo, floor.hi)
    # enclosures printed with as many digits as their strict inequality needs to show
    floor_json = None if floor_enc is None else floor_enc.to_json(
        floor_enc.digits_below(plan.eps) if plan.eps is not None and plan.eps > floor_enc.hi
        else 12)
    g, more = cert.gamma_at_scale, cert.one_more_gamma_at_cap
    return {
        "family": plan.family,
        "eps": None if plan.eps is None else str(plan.eps),
        "eps_float": None if plan.eps is None else float(plan.eps),
        "eps_fixed": plan.eps_fixed,
        "eps_floor": floor_json,
        "eps_floor_attained": None if floor is None else floor.closed,
        "carrying_tokens": plan.carrying_tokens,
        "zero_key_tokens": plan.zero_key_tokens,
        "all_tokens_carry": plan.all_tokens_carry,
        "d_min_at_eps": plan.d_min,
        "c": plan.scale,
        "gamma_target": str(plan.target),
        "gamma_at_c": None if g is None else g.to_json(g.digits_below(plan.target)
                                                      if g.hi < plan.target else 12),
        "gamma_below_target_by": None if g is None else gap_text(g.hi, plan.target),
        "one_more_token_gamma_at_cap": None if more is None
        else more.to_json(more.digits_above(plan.target) if more.lo > plan.target else 12),
        "bits_per_value": b,
        "bound_bits": plan.bound_bits(delta) if bits is None
        else multilevel_bound_bits(n_symbols, b, delta),
        "bound_bits_enclosure": cert.bound_bits.to_json() if bits is None else None,
        "certified": cert.holds,
        "certificate_failures": list(cert.failures),
    }


def capped_schedule_constants(
    schedule: Any, d: int, eta: Fraction, delta: Fraction, logit_cap: Fraction | None,
    *, eps: Fraction | None, family: Family = "hoeffding", bits: str | None = None,
    dtype: str = "float16",
) -> dict[str, Any]:
    """The reduction under the cap for one schedule: eps used, L*, C, bound (+ families)."""
    n, t = schedule.cached_tokens, schedule.last_scale_tokens
    b = resolve_bits(bits, eta, dtype, logit_cap=logit_cap, cached=n, last=t, d=d, eps=eps)
    target = gamma_target(eta) if b is None else level_gamma_target(b, eta)
    plan = plan_under_cap(n, t, d, eta, logit_cap, eps=eps, family=family, target=target)
    others = {fam: plan_under_cap(n, t, d, eta, logit_cap, eps=eps, family=fam,
                                  target=target).carrying_tokens for fam in FAMILIES}
    distinct: dict[str, Any] | None = None
    if n <= 2**d and b is None:
        c = distinct_keys_scale(n, t, d, eta)
        distinct = {"eps": str(max(Fraction(0), 1 - Fraction(2, d))), "c": c,
                    "fits_cap": None if logit_cap is None else Fraction(c) <= logit_cap}
    out: dict[str, Any] = {
        "schedule": str(schedule), "sides": list(schedule.sides), "d": d,
        "eta": str(eta), "delta": str(delta),
        "logit_cap": None if logit_cap is None else str(logit_cap),
        "cached_tokens": n, "last_scale_tokens": t, "total_tokens": schedule.total_tokens,
        **plan_block(plan, delta, b),
        "carrying_tokens_by_family": others,
        "distinct_keys": distinct,
    }
    if b is not None:
        out["precision"] = {"bits_per_value": b, "auto": bits == "auto", "dtype": dtype,
                            "eta_limit": str(eta_limit(b)),
                            "eta_limit_next": str(eta_limit(b + 1))}
    return out


def precision_table(
    schedules: list[Any], d: int, logit_cap: Fraction | None, dtype: str = "float16",
    etas: tuple[Fraction, ...] = PRECISION_ETAS,
) -> list[dict[str, Any]]:
    """Bound per head against eta for each schedule, next to the real fp16 cache (PREC).

    For each eta the b in [1, dtype's significand] with the largest bound
    L*_b d b (L*_b = the tokens that fit under the cap with 2^b levels) is chosen.
    """
    rows = []
    for s in schedules:
        n, t = s.cached_tokens, s.last_scale_tokens
        fp16 = fp16_cache_bits(1, 1, d, s.total_tokens)
        for eta in etas:
            best: tuple[float, int, int] = (0.0, 0, 0)
            for b in range(1, max_bits_for_dtype(dtype) + 1):
                target = level_gamma_target(b, eta)
                if target <= 0:
                    break
                k = plan_under_cap(n, t, d, eta, logit_cap, target=target).carrying_tokens
                bits = multilevel_bound_bits(k * d, b)
                if bits > best[0]:
                    best = (bits, b, k)
            rows.append({"schedule": str(s), "eta": str(eta), "d": d,
                         "bits_per_value": best[1], "carrying_tokens": best[2],
                         "bound_bits_per_head": best[0], "fp16_cache_bits_per_head": fp16,
                         "fp16_over_bound": fp16 / best[0] if best[0] else None})
    return rows
