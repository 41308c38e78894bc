"""The attack sweep on D * H heads: error rate against the eviction law and the floor.

Purpose: ``kvbound attack --heads H --layers D`` (docs/theorem.md#c2-run,
docs/compressors.md "Many heads"). Each row adds to the usual columns the kept fraction f
of all D * H * L rows (budgeted caches), the eviction law's prediction (1 - f)/2 (every
row of the instance carries d fresh uniform bits, so an evicted row's bits are coin
flips for Bob whatever the allocation), and the compression certificate's floor
H2^{-1}(1 - m/N): no message of m bits decodes the N bits with a lower error rate.

The figure has two panels: the budgeted caches' measured error rate against f with the
line (1 - f)/2 and each point's floor (caches that share a budget are drawn side by side,
shifted by at most +-0.035 in f, so that none hides another); and the caches that sweep
another knob (ThinK's kept key channels) against that knob, with their floor. Every
number comes from the sweep (kvbound.experiments) or from lowerbound/.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from kvbound.experiments import SweepPoint, SweepResult

__all__ = ["HEADS_HEADERS", "heads_rows", "heads_summary", "heads_figure"]

HEADS_HEADERS: tuple[str, ...] = ("kept f", "(1-f)/2", "floor")


def _num(x: float | None, fmt: str = ".4f") -> str:
    return "-" if x is None else format(x, fmt)


def heads_rows(result: SweepResult) -> list[tuple[str, ...]]:
    """The three extra columns of every point, in :data:`HEADS_HEADERS` order."""
    rows: list[tuple[str, ...]] = []
    for p in result.points:
        ran = p.error is None and p.skipped is None
        rows.append((_num(p.kept_fraction), _num(p.predicted_error),
                     _num(p.floor_error) if ran else "-"))
    return rows


def heads_summary(result: SweepResult) -> list[str]:
    """Lines under the table: the grid, and how far the budgeted points sit from the law."""
    lines = [f"{result.layers} layers x {result.heads} heads, each with its own instance and "
             f"keys; N = {result.n_bits} bits over all heads"
             + (f"; {result.unused_heads} heads unused (zero keys and values)"
                if result.unused_heads else "")]
    law = [p for p in result.measured if p.predicted_error is not None]
    if law:
        worst = max(law, key=lambda p: abs(p.error_rate - p.predicted_error))  # type: ignore
        gap = worst.error_rate - worst.predicted_error  # type: ignore[operator]
        lines.append(f"eviction law (1 - f)/2: {len(law)} budgeted points, largest gap "
                     f"{gap:+.4f} ({worst.label})")
    return lines


def heads_figure(result: SweepResult, path: str | Path) -> Any:
    """Error rate against the kept fraction (and against other knobs), with the eviction
    law and the certificate's floor (module docstring). Returns the Figure."""
    from kvbound.plots.style import legend_outside, new_figure, save_figure, series_style, takeaway

    budgeted = [p for p in result.measured if p.kept_fraction is not None]
    knobs = [p for p in result.measured if p.kept_fraction is None and p.option is not None]
    fig, axes = new_figure(2 if knobs else 1)
    axes = list(axes) if knobs else [axes]
    ax = axes[0]
    grid = [i / 100 for i in range(101)]
    ax.plot(grid, [(1 - f) / 2 for f in grid], color="0.2", linewidth=1.5,
            label="eviction law (1 - f)/2")
    names = list(dict.fromkeys(p.cache for p in budgeted))
    step = min(0.005, 0.07 / max(len(names), 1))
    for i, cache in enumerate(names):
        st = series_style(i)
        pts = sorted((p for p in budgeted if p.cache == cache),
                     key=lambda p: p.kept_fraction or 0.0)
        shift = (i - (len(names) - 1) / 2) * step
        ax.plot([(p.kept_fraction or 0.0) + shift for p in pts], [p.error_rate for p in pts],
                st["marker"],
                color=st["color"], markeredgecolor="black", markeredgewidth=0.5,
                markersize=7, label=cache)
    _floors(ax, budgeted, lambda p: p.kept_fraction)
    ax.set_xlim(0, 1.02)
    ax.set_ylim(-0.01, 0.55)
    ax.set_xlabel("kept fraction f of all D*H*L rows")
    ax.set_ylabel("bit error rate p (all heads, all seeds)")
    ax.set_title(f"{result.layers} x {result.heads} heads, {result.schedule.name}, "
                 f"d = {result.d}: eviction")
    ax.grid(True, alpha=0.3)
    law = [abs(p.error_rate - p.predicted_error) for p in budgeted  # type: ignore[operator]
           if p.predicted_error is not None]
    takeaway(ax, f"{len(budgeted)} points, largest |p - (1-f)/2| = "
             f"{max(law) if law else 0:.3f}\nfloor x: the least p their bytes allow\n"
             "(fp16 rows cost 32 bits a bit: it binds only for f < 1/32)", loc="upper right")
    legend_outside(ax, fontsize=7)
    if knobs:
        _knob_panel(axes[1], knobs)
    save_figure(fig, path)
    return fig


def _floors(ax: Any, points: list[SweepPoint], x_of: Any) -> None:
    xs = [x_of(p) for p in points if p.floor_error is not None]
    ys = [p.floor_error for p in points if p.floor_error is not None]
    if xs:
        ax.plot(xs, ys, "x", color="#D55E00", markersize=6,
                label="certificate floor H2^-1(1 - m/N)")


def _knob(p: SweepPoint) -> float:
    """The value of the option a point swept, as a number (0 if it is not one)."""
    v = p.budget
    return float(v) if isinstance(v, (int, float)) and not isinstance(v, bool) else 0.0


def _knob_panel(ax: Any, points: list[SweepPoint]) -> None:
    """The caches that sweep another option (ThinK's kept key channels): p against it."""
    from kvbound.plots.style import series_style

    names = list(dict.fromkeys(p.cache for p in points))
    for i, cache in enumerate(names):
        st = series_style(i + 3)
        pts = sorted((p for p in points if p.cache == cache), key=_knob)
        ax.plot([_knob(p) for p in pts], [p.error_rate for p in pts], "-" + st["marker"],
                color=st["color"], markeredgecolor="black", markeredgewidth=0.5,
                label=f"{cache} ({pts[0].option})")
    _floors(ax, points, _knob)
    ax.set_ylim(-0.01, 0.55)
    ax.set_xlabel("the cache's own knob (value of the option swept)")
    ax.set_ylabel("bit error rate p")
    ax.set_title("other knobs: values intact, keys pruned")
    ax.grid(True, alpha=0.3)
    ax.legend(fontsize=7, loc="upper right")
