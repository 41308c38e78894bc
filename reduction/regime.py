"""The reduction below d_min or under a logit cap: L' bit-carrying tokens, the rest zeroed.

Purpose: Corollary C1 (docs/theorem.md#c1), Lemmas UNUSED (#unused), WITNESS (#witness)
and CAP (#cap), run end to end. ``verify`` and ``attack`` call :func:`plan_regime` once,
before any seed, and build every run's public parameters from its :class:`Regime`.

* Under a cap B every decision below is taken against B' = B (1 - 2^-9), the cap the run
  keeps C under (the knife-edge rule of reduction.public): a plan never needs a C in
  (B', B], where float16 storage could push a computed logit past B.
* Theorem regime: d >= d_min(L, eps) and, under a cap B, C_min(L, T_K, eps, eta) <= B'. All
  L cached tokens carry bits; the key family is sampled per seed (Lemma L1).
* Otherwise the C1 variant. Only L' tokens carry bits: the FIRST L' cached positions
  (scales 1, 2, ... in order; any fixed public choice works, this one keeps the carriers
  in every cache boundary state as early as possible). Tokens L'+1..L get zero keys and
  zero values (#unused): each scores 0 against Bob's query, trails his target by C, and
  enters gamma like the T_K zero keys of the last scale, so
  gamma = (L'-1) e^{-C(1-eps)} + (T_K + L - L') e^{-C}; C and tau follow as in Lemma L3.
  Two counts are reported:
  - L'_guaranteed: the largest L' <= L with L'(L'-1)/2 e^{-eps^2 d/2} < 1 (Lemma L1's union
    bound) and, under B, C_min(L', T_K + L - L', eps, eta) <= B;
  - L'_witnessed: the size of the greedy family of reduction.witnessed, searched
    from the fixed public key seed :data:`WITNESS_KEY_SEED` and certified by computing its
    every inner product (public coins may be fixed: the keys never depend on Alice's
    bits), cut to the largest L' with C_min <= B under a cap
    (:func:`lowerbound.logit_cap.max_tokens_under_cap`). The run uses this family,
    the same for every seed, so every seed has N = L'_witnessed d bits.
  Each gives the bound (1 - H2(delta)) d L' (Lemma L4), reported at delta = 0.
* eps under a cap: L'_guaranteed is the largest any eps reaches (L*(d, B); a larger eps
  guarantees more keys but forces a larger C), reported with its eps: both from
  :func:`lowerbound.logit_cap.plan_under_cap` (exact in eps; the eps is the first decimal
  above the family's floor at which C_min <= B), and the count re-decided exactly at the
  float eps the run carries. The witnessed family
  is searched at the requested eps and at that eps, and the run uses the one with more
  carriers under B (the requested eps on a tie). Without a cap eps is the requested one.
  When no eps puts even one token under B the plan is refused, naming B and the least cap
  that would work.

References: arXiv 2502.15955 (Haris & Onak, low dimension); arXiv 2503.14881 (VAR).
"""

from __future__ import annotations

import functools
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from lowerbound.bound import index_lower_bound_bits
from lowerbound.jl import d_min
from lowerbound.logit_cap import max_carrying_tokens, max_tokens_under_cap, plan_under_cap
from lowerbound.precision import multilevel_bound_bits
from lowerbound.softmax import gamma_is_below, scale_for_gamma
from lowerbound.validation import (
    InvalidArgument,
    check_finite_positive,
    check_int_at_least,
    check_interval,
)
from reduction.public import (
    SIMULATION_CAP_FRACTION,
    PublicParams,
    decoding_gamma_target,
    run_cap,
)
from reduction.schedule import Schedule
from reduction.var_head import VAR_MAX_SCALE
from reduction.witnessed import witnessed_search

__all__ = ["WITNESS_KEY_SEED", "CARRIER_POSITIONS", "Regime", "plan_regime", "variant_json"]

#: The public key seed of the witnessed family in the C1 variant (coins fixed once).
WITNESS_KEY_SEED = 0
CARRIER_POSITIONS = "the first L' cached tokens (scales 1, 2, ... in order)"


@dataclass(frozen=True)
class Regime:
    """What the verifier decided before any seed: theorem regime or C1, eps, L' counts."""

    schedule: Schedule
    d: int
    eta: float
    additive: bool
    eps_requested: float
    eps: float
    eps_source: str
    eps_guaranteed: float
    logit_cap: float | None
    var_head: bool
    low_dimension: bool
    carriers_guaranteed: int
    carriers_witnessed: int
    witnessed_found: int | None = None
    witnessed_max_inner_product: float | None = None
    bits_per_value: int | None = None

    @property
    def cap(self) -> float | None:
        """The bound B on |logit| (at most 100 for a VAR head)."""
        if self.var_head:
            return VAR_MAX_SCALE if self.logit_cap is None else float(self.logit_cap)
        return self.logit_cap

    def public(self, key_seed: int, cache: str = "exact",
               options: Mapping[str, Any] | None = None) -> PublicParams:
        """One run's public parameters; in C1 the key seed is :data:`WITNESS_KEY_SEED`."""
        low = self.low_dimension
        return PublicParams(
            self.schedule, self.d, self.eps, self.eta, WITNESS_KEY_SEED if low else key_seed,
            cache, dict(options or {}), self.additive,
            carriers=self.carriers_witnessed if low else None, logit_cap=self.logit_cap,
            var_head=self.var_head, bits_per_value=self.bits_per_value)

    def bound_bits(self, carriers: int, delta: float = 0.0) -> float:
        """(1 - H2(delta)) d L' (Lemma L4 on N = L' d), or with 2^b levels Lemma PREC's
        L' d (b - H2(delta) - delta log2(2^b - 1))."""
        if self.bits_per_value is None:
            return index_lower_bound_bits(carriers * self.d, delta)
        return multilevel_bound_bits(carriers * self.d, self.bits_per_value, delta)

    def to_json(self) -> dict[str, Any]:
        n = self.schedule.cached_tokens
        return {
            "regime": "low-dimension" if self.low_dimension else "theorem",
            "eps_requested": self.eps_requested,
            "eps": self.eps,
            "eps_source": self.eps_source,
            "eps_guaranteed": self.eps_guaranteed,
            "d_min": d_min(n, self.eps),
            "logit_cap": self.cap,
            "var_head": self.var_head,
            "carrier_positions": CARRIER_POSITIONS if self.low_dimension else "all L",
            "carriers_guaranteed": self.carriers_guaranteed,
            "carriers_witnessed": self.carriers_witnessed,
            "zero_key_tokens": n - self.carriers_witnessed,
            "bound_guaranteed_bits": self.bound_bits(self.carriers_guaranteed),
            "bound_witnessed_bits": self.bound_bits(self.carriers_witnessed),
            "witness_key_seed": WITNESS_KEY_SEED if self.low_dimension else None,
            "witnessed_found": self.witnessed_found,
            "witnessed_max_inner_product": self.witnessed_max_inner_product,
        }


def _checked_cap(logit_cap: float | None, var_head: bool) -> float | None:
    if logit_cap is not None:
        check_finite_positive(logit_cap, "logit_cap")
        if var_head and logit_cap > VAR_MAX_SCALE:
            raise InvalidArgument(f"--logit-cap {logit_cap:g} with --var-head: the released VAR "
                             f"heads clamp their scale at {VAR_MAX_SCALE:g}; give B <= "
                             f"{VAR_MAX_SCALE:g}")
    if var_head:
        return VAR_MAX_SCALE if logit_cap is None else float(logit_cap)
    return None if logit_cap is None else float(logit_cap)


@functools.lru_cache(maxsize=16)
def plan_regime(
    schedule: Schedule,
    d: int,
    eps: float,
    eta: float,
    *,
    additive: bool = False,
    logit_cap: float | None = None,
    var_head: bool = False,
    bits_per_value: int | None = None,
) -> Regime:
    """Decide the regime of a run (module docstring); ValueError when nothing fits.

    >>> r = plan_regime(Schedule.preset("var-256"), 16, 0.75, 0.25)
    >>> r.low_dimension, r.carriers_guaranteed, r.carriers_witnessed
    (True, 13, 424)
    >>> plan_regime(Schedule.preset("var-256"), 64, 0.75, 0.25).low_dimension
    False
    """
    dim = check_int_at_least(d, "d", 1)
    e = float(check_interval(eps, "eps", 0, 1))
    checked = _checked_cap(logit_cap, var_head)
    cap = None if checked is None else run_cap(checked)  # B': what the run keeps C under
    target = decoding_gamma_target(eta, additive, bits_per_value)
    if target <= 0:  # PublicParams names the values and what would work
        PublicParams(schedule, dim, e, eta, 0, additive=additive,
                     bits_per_value=bits_per_value)
    n, t = schedule.cached_tokens, schedule.last_scale_tokens
    common = dict(schedule=schedule, d=dim, eta=float(eta), additive=additive,
                  eps_requested=e, logit_cap=None if logit_cap is None else float(logit_cap),
                  var_head=var_head, bits_per_value=bits_per_value)
    if dim >= d_min(n, e) and (cap is None or gamma_is_below(n, t, cap, e, target)):
        return Regime(**common, eps=e, eps_source="requested",  # type: ignore[arg-type]
                      eps_guaranteed=e, low_dimension=False, carriers_guaranteed=n,
                      carriers_witnessed=n)
    # L'_guaranteed at the requested eps: union bound and, under B, C_min <= B (exact)
    guaranteed, eps_g = max_carrying_tokens(n, t, dim, target, cap, eps=e), e
    if cap is not None:
        plan = plan_under_cap(n, t, dim, logit_cap=cap, target=target)
        if plan.eps is not None:  # L*(d, B), re-decided at the float eps the run carries
            best = max_carrying_tokens(n, t, dim, target, cap, eps=float(plan.eps))
            if best > guaranteed:
                guaranteed, eps_g = best, float(plan.eps)
    options = []  # (witnessed carriers under B, eps, source, family)
    for run_eps, source in ((e, "requested"), (eps_g, "logit cap (the eps of L'_guaranteed)")):
        family = witnessed_search(n, dim, run_eps, WITNESS_KEY_SEED)
        usable = family.n_keys if cap is None else min(
            family.n_keys, max_tokens_under_cap(n, t, run_eps, target, cap))
        options.append((usable, run_eps, source, family))
    witnessed, run_eps, source, family = max(options, key=lambda o: o[0])  # first on ties
    if witnessed == 0:
        one = scale_for_gamma(1, t, e, target, extra_zero_keys=n - 1)
        raise InvalidArgument(
            f"the logit cap B={checked:g} leaves B(1 - 2^-9) = {cap:g} below C_min = {one:.6g} "
            f"even for one carrying token (L={n}, T_K={t}, eta={eta:g}): no eps fits; raise B "
            f"to >= {one / float(SIMULATION_CAP_FRACTION):.6g}"
        )
    return Regime(**common, eps=run_eps, eps_source=source,  # type: ignore[arg-type]
                  eps_guaranteed=eps_g, low_dimension=True, carriers_guaranteed=guaranteed,
                  carriers_witnessed=witnessed, witnessed_found=family.n_keys,
                  witnessed_max_inner_product=family.max_inner_product)


def _largest(values: list[float | None]) -> float | None:
    return None if not values or None in values else max(v for v in values if v is not None)


def variant_json(regime: Regime | None, public: PublicParams, message_bits: int,
                 logits: list[tuple[float | None, float | None]],
                 respected: bool) -> dict[str, Any]:
    """The ``low_dimension`` and ``logits`` blocks of ``verify --json``: the regime with
    both C1 bounds checked against the message, and per run (Bob's claimed largest |logit|,
    the verifier's recomputation), their maxima."""
    out: dict[str, Any] = {}
    if regime is not None:
        low = regime.to_json()
        low["bounds_at_most_message_bits"] = (low["bound_guaranteed_bits"] <= message_bits
                                              and low["bound_witnessed_bits"] <= message_bits)
        out["low_dimension"] = low
    out["logits"] = {
        "logit_cap": public.effective_cap,
        "var_head": public.var_head,
        "query_scale": public.scale,
        "max_abs_logit_claimed": _largest([c for c, _ in logits]),
        "max_abs_logit_recomputed": _largest([r for _, r in logits]),
        "logit_cap_respected": respected,
    }
    return out
