"""Variant S3: attention to the last w scales only. The bound keeps the visible scales.

Purpose: docs/theorem.md#s3 (ours). Definition: under window w >= 1 (the current scale
counts), the tokens of scale k attend to the tokens of scales max(1, k - w + 1) .. k.
So the last scale K sees the cached scales K - w + 1 .. K - 1, that is
L_w = T_{K-w+1} + ... + T_{K-1} cached tokens; w = 1 sees none (L_1 = 0: nothing cached
can change the last scale's outputs, and the bound is 0 bits; this module says so
explicitly), w >= K sees all L_{K-1}.

Reduction: the L_w visible tokens get a certified family of sign keys (Lemma L1 at L_w,
so d >= d_min(L_w, eps)) and Alice's bits as values; the tokens of older scales get zero
keys and zero values (docs/theorem.md#unused). Bob's query scale C is chosen for
gamma = (L_w - 1) e^{-C(1-eps)} + (T_K + L - L_w) e^{-C}, which covers windowed attention
(it sees fewer zero keys) and full attention alike, so every registered cache can run.
Bound: (1 - H2(delta)) d L_w; matching cache: ``window`` with the same w.

On VAR schedules T_{K-1} is a constant fraction of n^2 = T_K (var-512: 576/1024), so with
w = 2 the bound is already 0.5625 n^2 d: windows cannot break the Theta(n^2 d) barrier.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from lowerbound.jl import d_min
from lowerbound.softmax import gamma_target
from lowerbound.sparsity import (
    window_bound_bits,
    window_fraction,
    window_visible_scales,
    window_visible_tokens,
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
    threshold_decoder,
)
from variants.runner import (
    CacheRun,
    VariantInstance,
    VariantReport,
    attack_suite,
    run_cache,
)

__all__ = ["check", "make_instance", "run", "W_ONE_NOTE"]

W_ONE_NOTE = ("w = 1: only the current scale is visible, so no cached token can change the "
              "last scale's outputs and the bound is 0 bits (nothing needs remembering); "
              "this is the definition at work, not a failure of the reduction")


def check(schedule: Schedule, d: int, eps: float, eta: float, w: int = 2) -> None:
    """Refuse bad parameters before any work (ValueError naming the values)."""
    check_regime(eps, eta)
    visible = window_visible_tokens(schedule.tokens, check_int_at_least(w, "w", 1))
    if visible:
        check_key_dimension(visible, d, eps, f"S3 with w={w} (L_w = {visible} visible tokens)")


def make_instance(schedule: Schedule, d: int, w: int, eps: float, eta: float,
                  seed: int) -> VariantInstance:
    """Sign keys and bits on the visible scales K-w+1..K-1, zeros on the older ones."""
    check(schedule, d, eps, eta, w)
    n = schedule.cached_tokens
    visible = window_visible_tokens(schedule.tokens, w)
    first = n - visible
    keys = np.zeros((n, d))
    values = np.zeros((n, d))
    bits = split_seed(seed)[0].integers(0, 2, size=(visible, d), dtype=np.uint8)
    c = g = 0.0
    if visible:
        keys[first:] = public_keys(visible, d, eps, seed)
        values[first:] = bits
        c, g = query_scale(visible, schedule.last_scale_tokens + first, eps, gamma_target(eta))
    _, decode = threshold_decoder(g, eta)
    return VariantInstance("s3", schedule, d, keys, values, np.arange(first, n), c, bits, 1,
                           decode, window_bound_bits(schedule.tokens, d, w), g)


def _window_row(schedule: Schedule, d: int, w: int, eps: float, eta: float, seed: int,
                measure: bool = True
                ) -> tuple[dict[str, Any], VariantInstance | None, CacheRun | None]:
    visible = window_visible_tokens(schedule.tokens, w)
    row: dict[str, Any] = {
        "w": w, "visible_scales": list(window_visible_scales(schedule.num_scales, w)),
        "visible_tokens": visible, "bound_bits": float(window_bound_bits(schedule.tokens, d, w)),
        "bound_over_n2d": float(window_fraction(schedule.tokens, w)),
    }
    if visible and d < d_min(visible, eps):
        row["note"] = f"d={d} < d_min(L_w={visible}, eps={eps:g}) = {d_min(visible, eps)}"
        return row, None, None
    if not measure:
        return row, None, None
    inst = make_instance(schedule, d, w, eps, eta, seed)
    run_ = run_cache(inst, "window", {"w": w}, split_seed(seed)[2].spawn(2)[0])
    row.update(cache="window", message_bits=run_.message_bits, bit_errors=run_.bit_errors,
               within_match=run_.within_match)
    return row, inst, run_


def run(schedule: Schedule, d: int, eps: float = 0.75, eta: float = 0.25, seed: int = 0, *,
        w: int = 2, w_values: Sequence[int] | None = None, caches: Sequence[str] | None = None,
        attack: bool = True) -> VariantReport:
    """S3 end to end at window w (the window cache, the attack suite); the bound at every
    w = 1..K, and the window cache at ``w_values`` (default: all of them)."""
    check(schedule, d, eps, eta, w)
    measured = set(range(1, schedule.num_scales + 1)) if w_values is None else {
        check_int_at_least(x, "w", 1) for x in w_values}
    rows = [_window_row(schedule, d, x, eps, eta, seed, x in measured)[0]
            for x in range(1, schedule.num_scales + 1) if x != w]
    row, inst, matching = _window_row(schedule, d, w, eps, eta, seed)
    if inst is None or matching is None:  # pragma: no cover - check() refused it already
        raise InvalidArgument(f"S3 at w={w}: {row.get('note')}")
    suite = attack_suite(inst, split_seed(seed)[2].spawn(2)[1], caches) if attack else ()
    visible = row["visible_tokens"]
    ratio = window_fraction(schedule.tokens, w)
    n = schedule.cached_tokens
    saving = n / visible if visible else None  # w = 1: the whole cache can go
    return VariantReport(
        variant="s3",
        title=f"S3 attention to the last w = {w} scales (the current one counted)",
        parameters=report_parameters(schedule, d, eps, eta, seed, inst.scale, inst.gamma,
                                     w=w),
        bound_bits=inst.bound_bits,
        bound_formula="(1 - H2(delta)) d (T_{K-w+1} + ... + T_{K-1}); 0 for w = 1",
        matching=matching,
        attack=suite,
        measurements={"w": w, "visible_scales": row["visible_scales"],
                      "visible_tokens": visible, "cached_tokens": n,
                      "last_scale_tokens": schedule.last_scale_tokens,
                      "bound_over_n2d": float(ratio), "bound_over_n2d_exact": str(ratio),
                      "max_saving": saving},
        practice={
            "sentence": (f"A real VAR cache attending to the last {w} scales may drop the "
                         f"older ones, saving at most L/L_w = {saving:.2f}x, but the bound "
                         f"stays {float(ratio):.4f} n^2 d." if saving is not None else
                         "With w = 1 nothing cached is visible: a cache may drop everything "
                         "(bound 0 n^2 d), but w = 1 is not attention across scales at all."),
            "name": "bound / (n^2 d)",
            "number": float(ratio),
        },
        checks={"every_w_decodes_and_matches": all(
            r.get("bit_errors", 0) == 0 and r.get("within_match", True) for r in rows)
            and matching.decoded_all},
        notes=(W_ONE_NOTE,) if w == 1 else (),
        sweep=tuple(sorted([*rows, row], key=lambda r: r["w"])),
    )
