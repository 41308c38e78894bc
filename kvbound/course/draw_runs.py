"""Drawing the course figures of measured runs (figure 4: Bob's outputs; 5: Fano frontier).

Each function takes the dict of :mod:`kvbound.course.data` (or one built the same way by
:func:`outputs_histogram_data` from a ``verify`` run) and returns a matplotlib Figure.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np

from kvbound.plots.style import (
    OKABE_ITO,
    cache_style,
    label_points,
    legend_outside,
    new_figure,
    takeaway,
)

__all__ = ["outputs_histogram_data", "draw_outputs", "draw_frontier"]

ORANGE, SKY, GREEN, _, BLUE, VERMILLION, PURPLE, BLACK = OKABE_ITO


def outputs_histogram_data(outputs: np.ndarray, truth: np.ndarray, *, bins: int = 80,
                           **info: Any) -> dict[str, Any]:
    """Histograms of Bob's outputs for 0 and 1 bits on common bins, plus ``info`` (tau,
    the L3 ranges, errors, margin, labels) as figure 4's dict.

    >>> d = outputs_histogram_data(np.array([0.1, 0.9]), np.array([0, 1]), bins=2, tau=0.5)
    >>> d["counts_0"], d["counts_1"]
    ([1, 0], [0, 1])
    """
    z = np.asarray(outputs, dtype=np.float64).ravel()
    t = np.asarray(truth).ravel()
    lo = min(0.0, float(z.min())) if z.size else 0.0
    hi = max(1.0, float(z.max())) if z.size else 1.0
    edges = np.linspace(lo, hi, bins + 1)
    return {**info, "edges": edges.tolist(),
            "counts_0": np.histogram(z[t == 0], edges)[0].tolist(),
            "counts_1": np.histogram(z[t == 1], edges)[0].tolist()}


def _options_text(options: Mapping[str, Any]) -> str:
    return ", ".join(f"{k}={v}" for k, v in options.items())


def draw_outputs(data: dict[str, Any]) -> Any:
    """Figure 4: both histograms (filled and outlined, so overlaps show), tau, L3's ranges."""
    fig, ax = new_figure()
    edges = np.asarray(data["edges"])
    lo, hi = float(edges[0]), float(edges[-1])
    zr, orng = data["zero_range_top"], data["one_range_bottom"]
    ax.axvspan(lo, zr, color=SKY, alpha=0.12, label=f"L3: a 0 bit lies below {zr:.3f}")
    ax.axvspan(orng, hi, color=ORANGE, alpha=0.12, label=f"L3: a 1 bit lies above {orng:.3f}")
    for key, colour, text in (("counts_0", BLUE, "outputs for 0 bits"),
                              ("counts_1", VERMILLION, "outputs for 1 bits")):
        counts = np.asarray(data[key], dtype=float)
        ax.stairs(counts, edges, fill=True, color=colour, alpha=0.3)
        ax.stairs(counts, edges, color=colour, linewidth=1.8, label=text)
    ax.axvline(data["tau"], color=BLACK, linestyle="--", linewidth=1.6,
               label=rf"threshold $\tau = {data['tau']:.3f}$")
    ax.set_yscale("log")
    ax.set_ylim(bottom=0.8)
    ax.set_xlim(lo, hi)
    ax.set_xlabel(r"Bob's output coordinate $\hat Z_{i,l}$ for query $C\,k_i$ [value units]")
    ax.set_ylabel("coordinates [count, log scale]")
    options = _options_text(data.get("options", {}))
    ax.set_title(f"L3: Bob's outputs, cache {data['cache']}"
                 + (f" ({options})" if options else "")
                 + f"\n{data['schedule']}, $d = {data['d']}$: {data['bit_errors']} errors of "
                 f"{data['n_bits']} bits, margin {data['margin']:+.3f}", fontsize=11)
    ax.legend(loc="upper center", fontsize=9)
    if data["bit_errors"] == 0:
        message = r"every output lies on its side of $\tau$"
    else:
        message = rf"{data['bit_errors']} outputs cross $\tau$: those bits are lost"
    takeaway(ax, message, loc="center")
    return fig


def draw_frontier(data: dict[str, Any]) -> Any:
    """Figure 5: error rate against message bits / N, Fano's frontier, infeasible side shaded."""
    fig, ax = new_figure()
    xs, ps = data["frontier_bits_per_N"], data["frontier_error_rate"]
    ax.fill_between(xs, 0, ps, color=VERMILLION, alpha=0.12, linewidth=0,
                    label="infeasible side")
    ax.plot(xs, ps, color=VERMILLION, linewidth=2,
            label=r"Fano: $N(1 - H_2(p))$ = bits")
    caches = list(dict.fromkeys(q["cache"] for q in data["points"]))
    for cache in caches:
        pts = [q for q in data["points"] if q["cache"] == cache]
        ax.plot([q["bits_per_N"] for q in pts], [q["error_rate"] for q in pts],
                linestyle="-" if len(pts) > 1 else "none", linewidth=0.8, markersize=8,
                markeredgecolor=BLACK, markeredgewidth=0.5, label=cache,
                **cache_style(cache, tuple(caches)))
    ax.axvline(1.0, color=BLACK, linestyle=":", linewidth=1, label=r"message bits $= N$")
    ax.set_xscale("log")
    ax.set_xlim(min(xs), 5 * max(q["bits_per_N"] for q in data["points"]))
    ax.set_ylim(-0.01, 0.55)
    ax.set_xlabel(r"message bits $/\, N$ [ratio, log scale]")
    ax.set_ylabel(r"bit error rate $p$ [fraction]")
    ax.set_title(f"Every cache against Fano's frontier ({data['schedule']}, $d = {data['d']}$, "
                 f"$N = {data['n_bits']}$)")
    legend_outside(ax)
    label_points(ax, [(q["bits_per_N"], q["error_rate"], q["setting"])  # once laid out
                      for q in data["points"] if q["setting"]])
    verdict = ("every point is on the feasible side" if data["all_feasible"]
               else "a point is on the infeasible side: a LEAK")
    takeaway(ax, f"{verdict};\nlosing bits is the only way below $N$", loc="lower left")
    return fig
