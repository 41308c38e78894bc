"""Tables and the figure of an attack sweep (``kvbound attack``).

Purpose: present :class:`kvbound.experiments.SweepResult`: one row per (cache, budget) with
the message length, the bits Bob got wrong and the information they carry, and a figure
of information recovered against message bits with the bound of Lemma L4 (y = x) drawn
and the infeasible side shaded (docs/theorem.md#feasible, "every compressor is on the
feasible side").

Every number shown comes from the measured sweep or from lowerbound/, never a literal.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from caches.exact import exact_cache_bits
from kvbound.experiments import SweepPoint, SweepResult
from kvbound.reports.plain import attack_lines
from lowerbound.validation import InvalidArgument

__all__ = ["attack_rows", "attack_table", "attack_markdown", "attack_figure", "HEADERS",
           "DEFAULT_PLOT_CACHES", "plotted_caches"]

HEADERS: tuple[str, ...] = (
    "cache", "setting", "message bits", "bits / N", "bit errors", "error rate p",
    "N(1-H2(p))", "lower conf.", "feasible",
)


def _setting(p: SweepPoint) -> str:
    return "-" if p.option is None else f"{p.option}={p.budget:g}" if isinstance(
        p.budget, float) else f"{p.option}={p.budget}"


def attack_rows(result: SweepResult) -> list[tuple[str, ...]]:
    """One tuple of strings per point, in :data:`HEADERS` order."""
    rows: list[tuple[str, ...]] = []
    for p in result.points:
        if p.error is not None or p.skipped is not None:
            status = f"FAILED: {p.error}" if p.error is not None else f"skipped: {p.skipped}"
            rows.append((p.cache, _setting(p), "-", "-", "-", "-", "-", "-", status))
            continue
        rows.append((
            p.cache,
            _setting(p),
            f"{p.message_bits}",
            f"{p.ratio:.3f}",
            f"{p.bit_errors}/{p.bits_decoded}",
            f"{p.error_rate:.4f}",
            f"{p.information_bits:.0f}",
            f"{p.information_bits_lcb:.0f}",
            "yes" if p.feasible else "NO: LEAK",
        ))
    return rows


def _summary(result: SweepResult) -> list[str]:
    s = result.schedule
    n = result.n_bits
    exact = exact_cache_bits(s.cached_tokens, result.d, "float16")
    lines = [
        f"schedule {s} (L = {s.cached_tokens} cached tokens, T_K = {s.last_scale_tokens}), "
        f"d = {result.d}, eps = {result.eps:g}, eta = {result.eta:g}, "
        f"seeds {', '.join(str(x) for x in result.seeds)}, Bob {result.isolation}",
        f"N = L*d = {n} bits (the theorem's bound at delta = 0); exact fp16 cache "
        f"{exact} bits ({exact / n:.2f} x N)",
    ]
    packer = result.packer()
    if packer is not None:
        lines.append(f"packer ({packer.cache}): {packer.message_bits} message bits = "
                     f"{packer.ratio:.4f} x N, {packer.bit_errors} bit errors")
    if result.leaks:
        lines.append("LEAK at " + ", ".join(p.label for p in result.leaks))
    else:
        lines.append(f"all {len(result.measured)} points feasible: "
                     "message bits >= N(1-H2(p)) at confidence 1 - 1e-6")
    if result.failures:
        lines.append("FAILED: " + ", ".join(p.label for p in result.failures))
    if result.skipped:
        lines.append("skipped (options do not fit these parameters): "
                     + ", ".join(p.label for p in result.skipped))
    return lines


def _plain(result: SweepResult) -> list[str]:
    """What happened, in plain words (kvbound.reports.plain)."""
    lossless = [(p.label, p.message_bits) for p in result.measured
                if p.bit_errors == 0 and not p.leak]
    return attack_lines(len(result.measured), [p.label for p in result.leaks],
                        [p.label for p in result.failures], result.n_bits, lossless)


def attack_table(result: SweepResult) -> str:
    """The table, then what happened in plain words, then the summary lines."""
    rows = [HEADERS, *attack_rows(result)]
    widths = [max(len(r[i]) for r in rows) for i in range(len(HEADERS))]
    lines = ["  ".join(c.ljust(w) for c, w in zip(r, widths)).rstrip() for r in rows]
    lines.insert(1, "  ".join("-" * w for w in widths))
    return "\n".join(lines + [""] + _plain(result) + [""] + _summary(result))


def attack_markdown(result: SweepResult) -> str:
    """The markdown report: what was run, the table, the summary."""
    lines = [
        "# kvbound attack report",
        "",
        *(f"**{line}**" if i == 0 else line for i, line in enumerate(_plain(result))),
        "",
        "Every compressor at every budget ran the reduction of arXiv 2503.14881: Alice",
        "streamed the hard instance into the cache, Bob rebuilt it from its bytes alone and",
        "read the bits back. A message from which N uniform bits are decoded with error",
        "rate p carries at least N(1-H2(p)) bits (Lemma L4 read backwards); a point below",
        "that (beyond the Clopper-Pearson allowance) leaks state outside its bytes.",
        "",
        "| " + " | ".join(HEADERS) + " |",
        "|" + "---|" * len(HEADERS),
    ]
    lines += ["| " + " | ".join(r) + " |" for r in attack_rows(result)]
    lines += [""] + [f"- {s}" for s in _summary(result)]
    return "\n".join(lines) + "\n"


#: The caches the figure draws by default: one per family (the table lists every point).
DEFAULT_PLOT_CACHES: tuple[str, ...] = (
    "exact", "packer", "quest", "uniform", "kivi", "lowrank", "sketch", "random",
    "streaming-llm", "h2o", "subgen",
)


def plotted_caches(result: SweepResult, caches: list[str] | None = None) -> list[str]:
    """The caches the figure draws: ``caches`` if given (None: :data:`DEFAULT_PLOT_CACHES`
    among those measured, or every measured cache when none of them ran)."""
    measured = list(dict.fromkeys(p.cache for p in result.measured))
    if caches is not None:
        unknown = [c for c in caches if c not in measured]
        if unknown:
            raise InvalidArgument(f"--plot-caches names {', '.join(unknown)}, which the sweep did "
                             f"not measure; measured: {', '.join(measured)}")
        return list(caches)
    shown = [c for c in measured if c in DEFAULT_PLOT_CACHES]
    return shown or measured


def attack_figure(result: SweepResult, path: str | Path,
                  caches: list[str] | None = None) -> Any:
    """Information recovered N(1-H2(p)) against message bits, log-log, bound y = x.

    The region y > x (more information than bits) is shaded: no honest cache can land
    there. Each drawn cache has its own colour and marker (Okabe-Ito, colour-blind safe),
    its settings are written next to its points, and the takeaway is written on the plot.
    Points that recovered (almost) nothing are drawn at the floor N/1000, hollow. The
    format follows the suffix of ``path`` (png, svg, pdf); returns the Figure.
    """
    from kvbound.plots.style import (
        cache_style,
        label_points,
        legend_outside,
        new_figure,
        save_figure,
        takeaway,
    )

    n = result.n_bits
    floor = n / 1000
    shown = plotted_caches(result, caches)
    ok = [p for p in result.measured if p.cache in shown]
    xs_all = [max(p.message_bits, 1) for p in ok] or [n]
    x_lo, x_hi = min(min(xs_all), n) / 3, max(max(xs_all), n) * 6
    y_hi = n * 2.5
    fig, ax = new_figure()
    ax.set_xscale("log")
    ax.set_yscale("log")
    grid = [x_lo * (x_hi / x_lo) ** (i / 200) for i in range(201)]
    ax.fill_between(grid, grid, y_hi, where=[g < y_hi for g in grid], color="#D55E00",
                    alpha=0.12, linewidth=0, label="infeasible: information > bits")
    ax.plot(grid, grid, color="#D55E00", linewidth=1.5, label=r"bound $y = x$ (Lemma L4)")
    ax.axhline(n, color="0.4", linestyle=":", linewidth=1, label=f"all $N = {n}$ bits")
    exact = exact_cache_bits(result.schedule.cached_tokens, result.d, "float16")
    ax.axvline(exact, color="0.5", linestyle="--", linewidth=1,
               label=f"exact fp16 cache ({exact / n:.0f} × $N$)")
    labels: list[tuple[float, float, str]] = []
    for cache in shown:
        pts = [p for p in ok if p.cache == cache]
        st = cache_style(cache, tuple(shown))
        x = [max(p.message_bits, 1) for p in pts]
        y = [max(p.information_bits, floor) for p in pts]
        leaky = any(p.leak for p in pts)
        ax.plot(x, y, linestyle="-" if len(pts) > 1 else "none", linewidth=0.8,
                color=st["color"], alpha=0.7)
        for j, (p, xx, yy) in enumerate(zip(pts, x, y)):
            hollow = p.information_bits < floor or leaky
            ax.errorbar([xx], [yy], yerr=[[yy - max(p.information_bits_lcb, floor)], [0.0]],
                        fmt=st["marker"], color=st["color"], markersize=8, capsize=2,
                        markeredgecolor="black", markeredgewidth=1.5 if leaky else 0.5,
                        markerfacecolor="white" if hollow else st["color"],
                        label=(cache + (" (LEAK)" if leaky else "")) if j == 0 else None)
            if p.option is not None:
                labels.append((xx, yy, _setting(p)))
    ax.set_xlim(x_lo, x_hi)
    y_min = min([max(p.information_bits_lcb, floor) for p in ok] + [n / 10])
    ax.set_ylim(y_min / 2, y_hi)
    ax.set_xlabel(r"message bits [bits, log scale] ($8 \times$ len(to_bytes()); max over seeds)")
    ax.set_ylabel(r"information recovered $N(1 - H_2(p))$ [bits, log scale]")
    s = result.schedule
    hidden = len({p.cache for p in result.measured}) - len(shown)
    ax.set_title(f"kvbound attack: {s.name}, $d = {result.d}$, $N = {n}$, "
                 f"{len(result.seeds)} seed(s)" + ("" if result.all_feasible else " - LEAK"))
    ax.grid(True, which="major", alpha=0.3)
    legend_outside(ax)
    label_points(ax, labels)  # once the legend has taken its place
    packer = result.packer()
    lines = [f"{len(result.measured)} points: " + (
        "all on the feasible side" if result.all_feasible else
        f"LEAK at {', '.join(p.label for p in result.leaks)}")]
    if packer is not None:
        lines.append(f"packer: {packer.ratio:.3f} x N bits, {packer.bit_errors} errors")
    lines.append(f"exact fp16: {exact / n:.0f} x N; fewer bits cost errors")
    if hidden:
        lines.append(f"{hidden} more cache(s) in attack.md")
    takeaway(ax, "\n".join(lines), loc="lower right")
    save_figure(fig, path)
    return fig
