"""The asymptotic table and figure: the bound for geometric schedules as n grows.

Purpose: the ``kvbound asymptotics`` command (docs/theorem.md#asymptotics). Schedules come
from lowerbound.validation import InvalidArgument
from :class:`reduction.schedule.Schedule` (``geometric(n, rho)`` and the presets); every
number comes from :mod:`lowerbound.asymptotics` and :mod:`lowerbound.logit_cap`.

Panel 1 (n = 16, 32, ..., n_max): bound/(n^2 d) at d = d_min against its limit
1/(rho^2 - 1), and d_min/ln n against 8/eps^2. Panel 2: bound/(n^2 d) at d = ceil(c ln n)
for several c, the low-dimensional regime (C1; CAP under a cap). With a cap B: the largest
n whose reduction fits under B, at the fixed eps (d = d_min) and at a fixed head
dimension (eps chosen), each found exactly (:func:`largest_n_under_cap`).
"""

from __future__ import annotations

import math
from fractions import Fraction
from pathlib import Path
from typing import Any

from lowerbound.asymptotics import (
    d_min_log_limit,
    fits_at_eps,
    geometric_limit,
    largest_fitting_n,
    low_dimension_point,
    scale_row,
)
from lowerbound.logit_cap import fits_under_cap
from lowerbound.softmax import gamma_target
from lowerbound.validation import InvalidArgument
from reduction.schedule import Schedule

__all__ = ["DEFAULT_CS", "asymptotic_table", "geometric_sizes", "largest_n_under_cap",
           "asymptotics_figure"]

#: The multipliers c of panel 2 (d = ceil(c ln n)); 8/eps^2 = 14.2 at eps = 3/4.
DEFAULT_CS: tuple[Fraction, ...] = tuple(Fraction(c) for c in (4, 8, 12, 16, 24))
PRESET_NAMES = ("var-256", "var-512")


def geometric_sizes(n: int, ratio: Fraction) -> tuple[int, int]:
    """(L_{K-1}, T_K) of ``Schedule.geometric(n, rho)``."""
    s = Schedule.geometric(n, float(ratio))
    return s.cached_tokens, s.last_scale_tokens


def _cached_lower_bound(n: int, ratio: Fraction, terms: int) -> int | None:
    """A lower bound on L_{K-1} of geometric(n, rho), monotone in n; None if not proved.

    The sides are round(n / rho^j) (floats); when consecutive exact values n/rho^j differ
    by >= 3 for j <= J the rounded sides j = 1..J are distinct and all kept, and each is
    >= n/rho^j - 1, so L_{K-1} >= sum_{j=1}^{J} (n/rho^j - 1)^2.
    """
    if Fraction(n) / ratio**terms * (1 - 1 / ratio) < 3:
        return None
    total = sum((Fraction(n) / ratio**j - 1) ** 2 for j in range(1, terms + 1))
    return math.ceil(total)


def largest_n_under_cap(
    ratio: Fraction,
    eta: Fraction,
    logit_cap: Fraction,
    *,
    eps: Fraction | None = None,
    d: int | None = None,
) -> int | None:
    """The largest n whose geometric(n, rho) reduction fits under the cap B.

    With ``eps``: C_min(L_{K-1}, T_K, eps, eta) <= B (d = d_min(L, eps), any d allowed).
    With ``d``: all L_{K-1} tokens fit at that d for some eps (Lemma CAP). Exact: below the
    returned n the answer is checked for every n from the certified failure point down.

    Notes: Lemma CAP (docs/theorem.md#cap) and docs/theorem.md#asymptotics.
    """
    if (eps is None) == (d is None):
        raise InvalidArgument("give exactly one of eps (fixed) or d (head dimension)")
    r = Fraction(float(ratio))  # the ratio Schedule.geometric actually uses
    terms = min(40, max(2, math.ceil(math.log(1000) / (2 * math.log(float(r))))))
    target = gamma_target(eta)

    def fits_sizes(cached: int, last: int) -> bool:
        if eps is not None:
            return fits_at_eps(cached, last, eps, eta, logit_cap)
        assert d is not None
        return fits_under_cap(cached, last, cached, d, target, logit_cap)

    def fits(n: int) -> bool:
        return fits_sizes(*geometric_sizes(n, r))

    def fails_from(n: int) -> bool:
        lower = _cached_lower_bound(n, r, terms)
        return lower is not None and not fits_sizes(lower, n * n)

    return largest_fitting_n(fits, fails_from, start=2)


def asymptotic_table(
    *,
    ratio: Fraction = Fraction(2),
    n_min: int = 16,
    n_max: int = 4096,
    eps: Fraction = Fraction(3, 4),
    eta: Fraction = Fraction(1, 4),
    logit_cap: Fraction | None = None,
    cs: tuple[Fraction, ...] = DEFAULT_CS,
    head_dim: int = 64,
) -> dict[str, Any]:
    """Both panels and the limits, as a JSON-ready dict (n = n_min, 2 n_min, ..., n_max)."""
    if n_min < 2 or n_max < n_min:
        raise InvalidArgument(f"n_min={n_min} and n_max={n_max} need 2 <= n_min <= n_max")
    ns = [n_min * 2**k for k in range(int(math.log2(n_max / n_min)) + 1)]
    rows: list[dict[str, Any]] = []
    low: dict[str, list[dict[str, Any]]] = {str(c): [] for c in cs}
    limit, dlim = geometric_limit(Fraction(float(ratio))), d_min_log_limit(eps)
    for n in ns:
        cached, last = geometric_sizes(n, ratio)
        row = scale_row(n, cached, last, eps, eta, logit_cap=logit_cap)
        row["bound_over_n2d_to_limit"] = float(Fraction(row["bound_over_n2d"]) / limit)
        row["d_min_over_ln_n_to_limit"] = row["d_min_over_ln_n"] / float(dlim)
        rows.append(row)
        for c in cs:
            low[str(c)].append(low_dimension_point(n, cached, last, c, eps, eta,
                                                   logit_cap=logit_cap))
    presets = []
    for name in PRESET_NAMES:
        s = Schedule.preset(name)
        row = scale_row(s.sides[-1], s.cached_tokens, s.last_scale_tokens, eps, eta,
                        logit_cap=logit_cap)
        presets.append({"schedule": name, **row})
    table: dict[str, Any] = {
        "ratio": str(ratio), "eps": str(eps), "eta": str(eta),
        "logit_cap": None if logit_cap is None else str(logit_cap),
        "limits": {"bound_over_n2d": str(limit), "bound_over_n2d_float": float(limit),
                   "d_min_over_ln_n": str(dlim), "d_min_over_ln_n_float": float(dlim)},
        "geometric": rows, "presets": presets, "low_dimension": low,
    }
    if logit_cap is not None:
        table["cap"] = {
            "largest_n_at_eps": largest_n_under_cap(ratio, eta, logit_cap, eps=eps),
            "head_dim": head_dim,
            "largest_n_at_head_dim": largest_n_under_cap(ratio, eta, logit_cap, d=head_dim),
        }
    return table


def asymptotics_figure(table: dict[str, Any], path: Path) -> dict[str, dict[str, list[float]]]:
    """Draw both panels to ``path``; return every plotted line's data, read off the artists.

    The returned dict (key -> x, y) is what the figure shows, taken from the Line2D objects
    before saving, so a test can compare it with the table. Keys: ``panel1: bound``,
    ``panel1: d_min`` and ``panel2: d = ceil(c ln n)`` for each c.
    """
    from kvbound.plots.style import (
        BOUND_COLOUR,
        CACHE_COLOURS,
        CACHE_MARKERS,
        OKABE_ITO,
        new_figure,
        save_figure,
    )

    geo = table["geometric"]
    ns = [r["n"] for r in geo]
    lim = table["limits"]
    fig, (ax1, ax2) = new_figure(ncols=2)
    keyed: list[tuple[str, Any]] = []
    (line,) = ax1.plot(ns, [r["bound_over_n2d_to_limit"] for r in geo], "o-",
                       color=OKABE_ITO[4],
                       label=r"bound$/(n^2 d)$ at $d = d_{\min}$, over $1/(\rho^2-1)$ = "
                       f"{lim['bound_over_n2d']}")
    keyed.append(("panel1: bound", line))
    (line,) = ax1.plot(ns, [r["d_min_over_ln_n_to_limit"] for r in geo], "s-",
                       color=BOUND_COLOUR,
                       label=r"$d_{\min}/\ln n$ over $8/\varepsilon^2$ = "
                       f"{lim['d_min_over_ln_n']}")
    keyed.append(("panel1: d_min", line))
    ax1.axhline(1.0, color="black", linestyle="--", linewidth=1)
    ax1.set_xscale("log", base=2)
    ax1.set_xlabel(r"$n$, side of the last token map [tokens, log scale]")
    ax1.set_ylabel("value / its limit [ratio]")
    ax1.set_title("both ratios tend to 1", fontsize=10)
    ax1.legend(fontsize=8, loc="lower right")
    ax2.plot(ns, [lim["bound_over_n2d_float"]] * len(ns), color="0.8", linewidth=7,
             solid_capstyle="butt", label=r"the $n^2 d$ regime's limit", zorder=1)
    styles = ("-", "--", "-.", ":", (0, (5, 1)))
    for i, (c, points) in enumerate(table["low_dimension"].items()):
        # lines that coincide (every c above 8/eps^2) stay visible: dashes and marker
        # sizes differ, hollow markers inside filled ones
        (line,) = ax2.plot([p["n"] for p in points], [p["bound_over_n2d_float"] for p in points],
                           linestyle=styles[i % len(styles)],
                           marker=CACHE_MARKERS[i % len(CACHE_MARKERS)],
                           color=CACHE_COLOURS[i % len(CACHE_COLOURS)],
                           markersize=max(3.0, 10.0 - 1.6 * i),
                           markerfacecolor="white" if i % 2 else CACHE_COLOURS[i % 7],
                           label=rf"$d = \lceil {c} \ln n \rceil$", zorder=2 + i)
        keyed.append((f"panel2: d = ceil({c} ln n)", line))
    ax2.set_xscale("log", base=2)
    ax2.set_yscale("log")
    ax2.set_xlabel(r"$n$ [tokens, log scale]")
    ax2.set_ylabel(r"bound $/ (n^2 d)$ [ratio, log scale]")
    cap = table["logit_cap"]
    cross = float(Fraction(lim["d_min_over_ln_n"]))
    ax2.set_title(r"low dimension $d = \lceil c \ln n \rceil$: the $n^2 d$ regime for "
                  rf"$c > 8/\varepsilon^2 = {cross:.3g}$"
                  + ("" if cap is None else f"; cap $B = {cap}$"), fontsize=10)
    ax2.legend(fontsize=7, loc="lower left")
    fig.suptitle(rf"Asymptotics of geometric$(n, {table['ratio']})$, "
                 rf"$\varepsilon = {table['eps']}$, $\eta = {table['eta']}$", fontsize=12)
    data = {key: {"x": [float(v) for v in line.get_xdata()],
                  "y": [float(v) for v in line.get_ydata()]} for key, line in keyed}
    save_figure(fig, path)
    return data
