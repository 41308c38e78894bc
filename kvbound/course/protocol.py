"""The reduction as a picture: Alice → bytes → Bob → threshold, with a run's own numbers.

Purpose: the figure that leads the slides (``00-reduction``), the thing a lecture explains
first (docs/theorem.md#reduction). :func:`protocol_data` runs the reduction once (the
course's running example, the exact cache) and keeps the numbers each step of the picture
shows: Alice's N bits and keys, the scales she streams, the message's length as the
verifier counted it, Bob's query scale, passes and threshold, his errors, the information
he decoded and the bound. :func:`draw_protocol` draws them; nothing numeric is typed.
"""

from __future__ import annotations

from typing import Any

from kvbound.course.data import SlideParams
from kvbound.plots.style import OKABE_ITO, new_figure
from reduction.protocol import run_verification

__all__ = ["protocol_data", "draw_protocol", "PROTOCOL_CACHE"]

ORANGE, SKY, GREEN, YELLOW, BLUE, VERMILLION, PURPLE, BLACK = OKABE_ITO

#: The cache the picture's run uses: every key and value kept, so Bob reads every bit.
PROTOCOL_CACHE = "exact"


def protocol_data(p: SlideParams) -> dict[str, Any]:
    """One run of the reduction (seed ``p.seed``, the exact cache): every number drawn."""
    s = p.parsed
    result = run_verification(s, p.d, p.eps, p.eta, [p.seed], cache=PROTOCOL_CACHE,
                              isolation=p.isolation)
    j = result.to_json()
    run = j["runs"][0]
    return {
        "schedule": s.name, "scales": s.num_scales, "L": s.cached_tokens,
        "T_K": s.last_scale_tokens, "d": p.d, "eps": float(p.eps), "eta": float(p.eta),
        "seed": p.seed, "cache": PROTOCOL_CACHE, "cache_options": j["cache_options"],
        "n_bits": run["n_bits"], "max_inner_product": run["max_inner_product"],
        "message_bits": run["message_bits"], "memory_bits": run["memory_bits"],
        "C": j["C"], "C_min": j["C_min"], "gamma": j["gamma"], "tau": j["tau"],
        "passes": j["passes"], "bit_errors": run["bit_errors"],
        "information_bits": run["information_bits"], "bound_bits": j["lower_bound_bits"],
    }


class _Canvas:
    """Draws in figure fractions (no axes: nothing for tight_layout to move); the
    drawing's own coordinates x in [-0.01, 1.01], y in [0, 1] fill the slide below the
    title."""

    def __init__(self, fig: Any) -> None:
        self.fig = fig

    def at(self, x: float, y: float) -> tuple[float, float]:
        return 0.01 + 0.98 * (x + 0.01) / 1.02, 0.01 + 0.88 * y

    def text(self, x: float, y: float, s: str, **kw: Any) -> None:
        self.fig.text(*self.at(x, y), s, **kw)

    def box(self, x: float, y: float, w: float, h: float, colour: str, title: str,
            lines: list[str]) -> None:
        from matplotlib.patches import FancyBboxPatch

        x0, y0 = self.at(x, y)
        x1, y1 = self.at(x + w, y + h)
        self.fig.add_artist(FancyBboxPatch(
            (x0, y0), x1 - x0, y1 - y0, boxstyle="round,pad=0.008,rounding_size=0.015",
            transform=self.fig.transFigure, facecolor=colour, edgecolor=BLACK,
            linewidth=1.2, alpha=0.9))
        self.text(x + w / 2, y + h - 0.045, title, ha="center", va="top", fontsize=13,
                  fontweight="bold")
        self.text(x + w / 2, y + h - 0.12, "\n".join(lines), ha="center", va="top",
                  fontsize=10.5, linespacing=1.6)

    def arrow(self, x0: float, x1: float, y: float, label: str) -> None:
        from matplotlib.patches import FancyArrowPatch

        self.fig.add_artist(FancyArrowPatch(
            self.at(x0, y), self.at(x1, y), transform=self.fig.transFigure,
            arrowstyle="-|>", linewidth=2, color=BLACK, mutation_scale=18))
        self.text((x0 + x1) / 2, y + 0.025, label, ha="center", va="bottom", fontsize=9,
                  linespacing=1.3)


def _grouped(n: float) -> str:
    return f"{round(n):,}"


def draw_protocol(data: dict[str, Any]) -> Any:
    """Figure 0: the four steps as boxes and arrows, then the inequality they prove."""
    fig, ax = new_figure()
    fig.delaxes(ax)
    c = _Canvas(fig)
    top, h, w, gap = 0.34, 0.6, 0.19, 0.08
    xs = [i * (w + gap) for i in range(4)]
    c.box(xs[0], top, w, h, ORANGE, "Alice", [
        r"hides bits $X \in \{0,1\}^{L \times d}$",
        f"$N = L\\,d = {data['L']} \\cdot {data['d']}$",
        f"= {_grouped(data['n_bits'])} bits",
        r"in the values; keys",
        r"$k_i = \sigma_i/\sqrt{d}$, random signs",
        r"$\max\,\langle k_i, k_j\rangle = " + f"{data['max_inner_product']:.3f}"
        + r" \leq \varepsilon$",
    ])
    c.box(xs[1], top, w, h, "#DDDDDD", "the cache", [
        "any compressor",
        f"sees the {data['scales'] - 1} scales",
        "and keeps what it wants;",
        "its memory is a plain",
        r"$\mathtt{bytes}$ message:",
        "its length is counted",
    ])
    c.box(xs[2], top, w, h, SKY, "Bob", [
        "holds only the message",
        r"asks queries $C\,k_i$",
        f"$C = {data['C']:.2f}$, {data['passes']} passes",
        f"of $T_K = {data['T_K']}$ queries;",
        r"softmax puts $\geq 1/(1+\gamma)$",
        r"on token $i$, $\gamma = " + f"{data['gamma']:.3f}$",
    ])
    c.box(xs[3], top, w, h, GREEN, "threshold", [
        r"an output above $\tau$",
        "reads as a 1 bit",
        r"$\tau = " + f"{data['tau']:.4f}$",
        f"{_grouped(data['bit_errors'])} of {_grouped(data['n_bits'])} bits",
        "read wrong",
        f"(cache {data['cache']})",
    ])
    mid = top + 0.14
    c.arrow(xs[0] + w + 0.008, xs[1] - 0.008, mid, f"{data['L']}\ntokens")
    c.arrow(xs[1] + w + 0.008, xs[2] - 0.008, mid,
           f"{_grouped(data['message_bits'])}\nbits")
    c.arrow(xs[2] + w + 0.008, xs[3] - 0.008, mid, r"outputs" + "\n" + r"$\hat Z$")
    c.text(0.5, 0.17,
            f"message ({_grouped(data['message_bits'])} bits)  $\\geq$  information Bob "
            f"decoded ({_grouped(data['information_bits'])} bits)  $\\geq$  lower bound "
            f"({_grouped(data['bound_bits'])} bits)",
            ha="center", va="center", fontsize=12,
            bbox={"boxstyle": "round,pad=0.4", "facecolor": "#FFF6E0", "edgecolor": ORANGE})
    c.text(0.5, 0.05, "A shorter message would carry more information than it has bits: "
            "every cache that lets Bob answer\nto relative error "
            f"$\\eta = {data['eta']:g}$ keeps at least {_grouped(data['bound_bits'])} bits.",
            ha="center", va="center", fontsize=10.5, linespacing=1.4)
    fig.suptitle(f"The reduction, one run: {data['schedule']}, $d = {data['d']}$, "
                 f"seed {data['seed']}", fontsize=14, y=0.97)
    return fig
