"""Tables and the figure of an attack sweep (``kvbound attack``).

Purpose: present :class:`kvbound.experiments.SweepResult`: one row per (cache, budget) with
the message length, the bits Bob got wrong and the information they carry, and a figure
of information recovered against message bits with the bound of Lemma L4 (y = x) drawn
and the infeasible side shaded (THEOREM.md section 5, "every compressor is on the
feasible side").

Every number shown comes from the measured sweep or from lowerbound/, never a literal.
"""

from __future__ import annotations

from pathlib import Path

from kvbound.experiments import SweepPoint, SweepResult
from reduction.compressors.exact import exact_cache_bits

__all__ = ["attack_rows", "attack_table", "attack_markdown", "attack_figure", "HEADERS"]

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


def attack_table(result: SweepResult) -> str:
    """A plain-text table with the summary lines under it."""
    rows = [HEADERS, *attack_rows(result)]
    widths = [max(len(r[i]) for r in rows) for i in range(len(HEADERS))]
    lines = ["  ".join(c.ljust(w) for c, w in zip(r, widths)).rstrip() for r in rows]
    lines.insert(1, "  ".join("-" * w for w in widths))
    return "\n".join(lines + [""] + _summary(result))


def attack_markdown(result: SweepResult) -> str:
    """The markdown report: what was run, the table, the summary."""
    lines = [
        "# kvbound attack report",
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


_MARKERS = "osD^v<>phH*Xd8P"


def attack_figure(result: SweepResult, path: str | Path) -> None:
    """Information recovered N(1-H2(p)) against message bits, log-log, bound y = x.

    The region y > x (more information than bits) is shaded: no honest cache can land
    there. One marker per cache; its budgets are joined by a thin line; the error bar
    runs down to the lower confidence bound. Points that recovered (almost) nothing are
    drawn at the floor N/1000 with hollow markers. Uses the Agg canvas, no pyplot state.
    """
    import matplotlib
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    n = result.n_bits
    floor = n / 1000
    ok = result.measured
    xs_all = [max(p.message_bits, 1) for p in ok] or [n]
    x_lo = min(min(xs_all), n) / 3
    x_hi = max(max(xs_all), n) * 3
    fig = Figure(figsize=(11.0, 6.5), dpi=120)
    FigureCanvasAgg(fig)
    ax = fig.add_subplot(1, 1, 1)
    ax.set_xscale("log")
    ax.set_yscale("log")
    y_hi = n * 2.5
    # The bound y = x and the infeasible side above it.
    grid = [x_lo * (x_hi / x_lo) ** (i / 200) for i in range(201)]
    ax.fill_between(grid, grid, y_hi, where=[g < y_hi for g in grid], color="tab:red",
                    alpha=0.12, linewidth=0, label="infeasible: information > message bits")
    ax.plot(grid, grid, color="tab:red", linewidth=1.5, label="bound y = x (Lemma L4)")
    ax.axhline(n, color="0.4", linestyle=":", linewidth=1, label=f"all N = {n} bits")
    exact = exact_cache_bits(result.schedule.cached_tokens, result.d, "float16")
    ax.axvline(exact, color="0.6", linestyle="--", linewidth=1,
               label=f"exact fp16 cache ({exact / n:.1f} x N)")
    caches = list(dict.fromkeys(p.cache for p in ok))
    palette = matplotlib.colormaps["tab20"]  # called with an int: that entry of the 20
    colors = [palette((2 * i) % 20 + (2 * i) // 20 % 2) for i in range(len(caches))]
    for i, cache in enumerate(caches):
        pts = [p for p in ok if p.cache == cache]
        x = [max(p.message_bits, 1) for p in pts]
        y = [max(p.information_bits, floor) for p in pts]
        lo = [max(p.information_bits_lcb, floor) for p in pts]
        marker = _MARKERS[i % len(_MARKERS)]
        leaky = any(p.leak for p in pts)
        label = cache + (" (LEAK)" if leaky else "")
        if len(pts) > 1:
            ax.plot(x, y, color=colors[i], linewidth=0.8, alpha=0.6)
        face = ["white" if p.information_bits < floor else
                ("none" if leaky else colors[i]) for p in pts]
        labelled = next((j for j, f in enumerate(face) if f != "white"), 0)
        for j, (xx, yy, ll) in enumerate(zip(x, y, lo)):
            ax.errorbar([xx], [yy], yerr=[[yy - ll], [0.0]], fmt=marker, color=colors[i],
                        markersize=7, capsize=2, label=label if j == labelled else None,
                        markerfacecolor=face[j], markeredgewidth=2 if leaky else 1)
    packer = result.packer()
    if packer is not None:
        ax.annotate(f"{packer.cache}: {packer.ratio:.3f} x N",
                    (packer.message_bits, max(packer.information_bits, floor)),
                    xytext=(20, -40), textcoords="offset points",
                    arrowprops={"arrowstyle": "->", "color": "0.2"}, fontsize=9)
    ax.set_xlim(x_lo, x_hi)
    y_min = min([max(p.information_bits_lcb, floor) for p in ok] + [n / 10])
    ax.set_ylim(y_min / 2, y_hi)
    ax.set_xlabel("message bits (8 x len(to_bytes()); max over seeds)")
    ax.set_ylabel("information recovered N(1 - H2(p)) [bits] (hollow: < N/1000)")
    s = result.schedule
    ax.set_title(f"kvbound attack: {s.name}, d = {result.d}, N = {n}, "
                 f"{len(result.seeds)} seed(s)" + ("" if result.all_feasible else " - LEAK"),
                 fontsize=11)
    ax.grid(True, which="major", alpha=0.3)
    ax.legend(fontsize=7, loc="upper left", bbox_to_anchor=(1.01, 1.0), borderaxespad=0,
              ncol=2 if len(caches) > 18 else 1)
    fig.tight_layout()
    fig.savefig(str(path))
