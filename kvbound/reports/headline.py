"""The headline fact: how far any compressor can shrink a released model's KV cache.

Purpose: the first thing README says and ``make demo`` prints (``kvbound constants
--headline``), and the models table of the interactive page. For each released model of
:mod:`lowerbound.models` and each eta, the bound per head with the best number b of bits
per value under the model's own logit cap (Lemmas PREC and CAP,
:func:`kvbound.reports.constants_cap.precision_table`) against the real fp16 cache of the
same head, 2 * 16 * d * L_K bits (Corollary C2, docs/theorem.md#c2): their ratio is the
most any compressor can shrink that cache while answering every attention query to
relative error eta. Nothing here is typed: every number comes from those functions.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from fractions import Fraction
from typing import Any

from kvbound.reports.constants_cap import precision_table
from kvbound.reports.plain import fixed
from lowerbound.models import MODELS
from reduction.schedule import Schedule

__all__ = ["HEADLINE_ETAS", "models_data", "headline"]

#: The two errors of the headline: Bob's default 1/4, and 2^-12 (b = 11 bits per value,
#: what a float16 value holds exactly).
HEADLINE_ETAS: tuple[Fraction, ...] = (Fraction(1, 4), Fraction(1, 4096))


def models_data(etas: Sequence[Fraction] = HEADLINE_ETAS) -> list[dict[str, Any]]:
    """Each released model with, per eta, the best bound per head against its fp16 cache."""
    rows = []
    tables: dict[tuple[str, int, Fraction | None], list[dict[str, Any]]] = {}
    for spec in MODELS.values():
        if not spec.released:
            continue
        s = Schedule.from_sides(spec.patch_nums, name=spec.schedule)
        key = (spec.schedule, spec.head_dim, spec.logit_cap)  # heads of one shape agree
        if key not in tables:
            tables[key] = precision_table([s], spec.head_dim, spec.logit_cap, etas=tuple(etas))
        table = tables[key]
        rows.append({
            "model": spec.name, "resolution": spec.resolution, "depth": spec.depth,
            "heads": spec.heads, "head_dim": spec.head_dim, "schedule": spec.schedule,
            "L": spec.cached_tokens, "T": spec.last_scale_tokens, "LK": spec.total_tokens,
            "logit_cap": None if spec.logit_cap is None else float(spec.logit_cap),
            "by_eta": [{"eta": r["eta"], "bits_per_value": r["bits_per_value"],
                        "carrying_tokens": r["carrying_tokens"],
                        "bound_bits_per_head": r["bound_bits_per_head"],
                        "fp16_bits_per_head": r["fp16_cache_bits_per_head"],
                        "ratio": r["fp16_over_bound"]} for r in table],
        })
    return rows


def _ratio(models: Sequence[Mapping[str, Any]], name: str, eta: Fraction) -> float:
    row = next(m for m in models if m["model"] == name)
    return float(next(e["ratio"] for e in row["by_eta"] if e["eta"] == str(eta)))


def headline(models: Sequence[Mapping[str, Any]] | None = None) -> dict[str, Any]:
    """The headline fact: how far a released VAR cache can shrink at eta = 1/4 and 2^-12.

    ``models`` are rows of :func:`models_data` holding both etas (computed if None).

    >>> h = headline()
    >>> h["low"], h["high"], h["precise"]
    ('51.3', '58.9', '4.67')
    """
    rows = models_data(HEADLINE_ETAS) if models is None else models
    var = [m for m in rows if m["model"].startswith("var-")]
    quarter = {m["model"]: _ratio(var, m["model"], Fraction(1, 4)) for m in var}
    low_model = min(quarter, key=lambda name: quarter[name])
    high_model = max(quarter, key=lambda name: quarter[name])
    precise = _ratio(var, low_model, Fraction(1, 4096))
    low, high = fixed(quarter[low_model], 1), fixed(quarter[high_model], 1)
    fine = fixed(precise, 2)
    spec = {m["model"]: m for m in var}
    def shown(name: str) -> str:
        return f"{name.replace('var-', 'VAR-')} at {spec[name]['resolution']} px"

    text = (f"No compressor can shrink a released VAR cache more than {low}× "
            f"({shown(low_model)}; {high}× for {shown(high_model)}) and still answer "
            f"every attention query to relative error η = 1/4; to η = 2⁻¹² it can shrink "
            f"it only {fine}×.")
    return {"low": low, "high": high, "precise": fine, "text": text, "model": low_model,
            "high_model": high_model}
