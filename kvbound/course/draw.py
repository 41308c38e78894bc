"""Drawing the course figures computed from lowerbound/ alone (figures 1, 2, 3, 6, 7, 8).

Each function takes the dict of :mod:`kvbound.course.data` and returns a matplotlib
Figure (Agg canvas): titled, axes labelled with units, Okabe-Ito colours, the takeaway
written on the plot. Nothing numeric is computed here beyond what the dict holds.
"""

from __future__ import annotations

from typing import Any

from kvbound.plots.style import OKABE_ITO, new_figure, series_style, takeaway

__all__ = ["draw_schedule", "draw_inner_products", "draw_concentration", "draw_models",
           "draw_dimension", "draw_dmin_vs_n"]

ORANGE, SKY, GREEN, _, BLUE, VERMILLION, PURPLE, BLACK = OKABE_ITO


def draw_schedule(data: dict[str, Any]) -> Any:
    """Figure 1: bars of T_k, the line L_k, L_{K-1} and T_K marked."""
    fig, ax = new_figure()
    k = list(range(1, len(data["tokens"]) + 1))
    colours = [SKY] * (len(k) - 1) + [ORANGE]
    ax.bar(k, data["tokens"], color=colours, edgecolor=BLACK, linewidth=0.6,
           label=r"$T_k$: tokens of scale $k$ (last scale: Bob's queries)")
    ax.plot(k, data["cumulative"], color=BLUE, marker="o", linewidth=2,
            label=r"$L_k = T_1 + \dots + T_k$: tokens cached after scale $k$")
    lk, tk = data["cached_tokens"], data["last_scale_tokens"]
    ax.axhline(lk, color=VERMILLION, linestyle="--", linewidth=1.5,
               label=rf"$L_{{K-1}} = {lk}$: what Alice caches")
    ax.annotate(rf"$T_K = {tk}$", (k[-1], tk), xytext=(-70, 25), textcoords="offset points",
                arrowprops={"arrowstyle": "->"}, fontsize=10)
    ax.set_xticks(k, [f"{k_}\n{h}×{w}" for k_, (h, w) in zip(k, data["shapes"])])
    ax.set_xlabel(r"scale $k$ (token map $h_k \times w_k$)")
    ax.set_ylabel("tokens [count]")
    ax.set_title(f"{data['schedule']}: tokens per scale and tokens cached")
    ax.legend(loc="upper left", fontsize=9)
    takeaway(ax, rf"Bob reads $L_{{K-1}} = {lk}$ tokens with $T_K = {tk}$ queries per pass:" "\n"
             f"{data['passes']} passes from the same message", loc="center left")
    return fig


def draw_inner_products(data: dict[str, Any]) -> Any:
    """Figure 2: histogram of <k_i, k_j> over all pairs, eps and the measured maximum."""
    fig, ax = new_figure()
    step = 2 / data["d"]
    ax.bar(data["inner_products"], data["counts"], width=0.9 * step, color=SKY,
           edgecolor=BLUE, linewidth=0.4, label=f"{data['pairs']} pairs of keys")
    ax.axvline(data["eps"], color=VERMILLION, linewidth=2,
               label=rf"$\varepsilon = {data['eps']:g}$ (Lemma L1: every pair below)")
    ax.axvline(data["max_inner_product"], color=BLACK, linestyle="--", linewidth=1.5,
               label=f"measured maximum = {data['max_inner_product']:.3f}")
    ax.set_yscale("log")
    ax.set_xlim(-1.0, 1.0)
    ax.set_xlabel(r"inner product $\langle k_i, k_j \rangle$ of two unit sign keys [dimensionless]")
    ax.set_ylabel("pairs [count, log scale]")
    ax.set_title(rf"L1: {data['L']} random sign keys in $d = {data['d']}$ are near-orthogonal")
    ax.legend(loc="upper left", fontsize=9)
    takeaway(ax, rf"max {data['max_inner_product']:.3f} $\leq \varepsilon = {data['eps']:g}$:" "\n"
             "the keys are near-orthogonal", loc="center left")
    return fig


def draw_concentration(data: dict[str, Any]) -> Any:
    """Figure 3: 1/(1 + gamma) against C with C_min, the C used and the logit cap."""
    fig, ax = new_figure()
    ax.plot(data["C"], data["weight"], color=BLUE, linewidth=2.2,
            label=r"guaranteed weight on the target token, $1/(1 + \gamma(C))$")
    ax.axhline(data["weight_needed"], color=GREEN, linestyle=":", linewidth=1.5,
               label=rf"needed by L3 at $\eta = {data['eta']:g}$: {data['weight_needed']:.3f}")
    for x, colour, style, text in (
        (data["C_min"], VERMILLION, "--", rf"$C_{{\min}} = {data['C_min']:.2f}$"),
        (data["C_used"], ORANGE, "-.", rf"$C$ used by the simulation = {data['C_used']:.2f}"),
        (data["logit_cap"], BLACK, "-", f"logit cap of released VAR heads = "
                                        f"{data['logit_cap']:g}"),
    ):
        ax.axvline(x, color=colour, linestyle=style, linewidth=1.5, label=text)
    ax.set_ylim(0, 1.02)
    ax.set_xlim(0, max(data["C"]))
    ax.set_xlabel(r"query scale $C$ (largest logit Bob creates) [dimensionless]")
    ax.set_ylabel("softmax weight [fraction of 1]")
    ax.set_title(rf"L2: the query $C\,k_i$ concentrates softmax on token $i$ "
                 rf"($L = {data['L']}$, $T_K = {data['T_K']}$, $\varepsilon = {data['eps']:g}$)")
    ax.legend(loc="center right", fontsize=9)
    fits = data["C_min"] <= data["logit_cap"]
    takeaway(ax, rf"$C_{{\min}} = {data['C_min']:.1f}$ {'≤' if fits else '>'} cap "
             f"{data['logit_cap']:g}:\nthe hard instance "
             + ("fits a released VAR head" if fits else "does NOT fit a released VAR head"),
             loc="lower right")
    return fig


def draw_models(data: dict[str, Any]) -> Any:
    """Figure 6: grouped bars, bound and real fp16 cache per released VAR model (MiB)."""
    fig, ax = new_figure()
    rows = data["models"]
    x = list(range(len(rows)))
    ax.bar([i - 0.2 for i in x], [r["fp16_mib"] for r in rows], width=0.4, color=ORANGE,
           edgecolor=BLACK, linewidth=0.6, label=r"real fp16 KV cache (all $L_K$ tokens)")
    ax.bar([i + 0.2 for i in x], [r["bound_mib"] for r in rows], width=0.4, color=BLUE,
           edgecolor=BLACK, linewidth=0.6, label=r"lower bound, any $(\eta, 0)$-correct cache")
    for i, r in zip(x, rows):
        ax.annotate(f"{r['ratio']:.1f}×", (i, r["fp16_mib"]), xytext=(0, 6),
                    textcoords="offset points", ha="center", fontsize=10)
    ax.set_xticks(x, [f"{r['model']}\n{r['resolution']} px" for r in rows])
    ax.set_yscale("log")
    top = max(r["fp16_mib"] for r in rows)
    ax.set_ylim(min(r["bound_mib"] for r in rows) / 2, top * 12)
    ax.set_xlabel("released VAR model (depth = heads, head dimension 64)")
    ax.set_ylabel("memory per image [MiB, log scale]")
    ax.set_title("C2: the bound against the real KV cache (one guidance branch)")
    ax.legend(loc="upper left", fontsize=9)
    takeaway(ax, "no compressor can shrink these caches\nby more than the factor on top",
             loc="upper right")
    return fig


def draw_dimension(data: dict[str, Any]) -> Any:
    """Figure 7: L d (dashed below d_min) and L' d against d, d_min and the real d marked."""
    fig, ax = new_figure()
    ds, need = data["d"], data["d_min"]
    above = [i for i, d in enumerate(ds) if d >= need]
    below = [i for i, d in enumerate(ds) if d <= need]
    ax.plot([ds[i] for i in above], [data["theorem_bits"][i] for i in above], color=BLUE,
            linewidth=2.2,
            label=rf"theorem: $L\,d$ bits ($L = {data['L']}$), needs $d \geq d_{{\min}}$")
    ax.plot([ds[i] for i in below], [data["theorem_bits"][i] for i in below], color=BLUE,
            linewidth=1.2, linestyle=":", label=r"$L\,d$ below $d_{\min}$: not guaranteed")
    ax.plot(ds, data["low_dimension_bits"], color=VERMILLION, linewidth=1.8, linestyle="--",
            zorder=3, label=r"C1: $L'\,d$ bits, $L'$ = keys the union bound guarantees")
    ax.axvline(need, color=BLACK, linestyle="--", linewidth=1.2,
               label=rf"$d_{{\min}} = {need}$ ($\varepsilon = {data['eps']:g}$)")
    ax.axvline(data["d_real"], color=GREEN, linestyle="-.", linewidth=1.2,
               label=rf"real head dimension $d = {data['d_real']}$")
    ax.set_yscale("log")
    ax.set_xlabel(r"head dimension $d$ [coordinates]")
    ax.set_ylabel("lower bound [bits, log scale]")
    ax.set_title(r"The bound against $d$: $e^{\Theta(d)}$ tokens below $d_{\min}$, "
                 r"all $L$ above")
    ax.legend(loc="lower right", fontsize=9)
    takeaway(ax, r"below $d_{\min}$ the bound falls to $L'\,d$:" "\n"
             r"$d = \Omega(\log n)$ keeps all $L$ tokens", loc="upper left")
    return fig


def draw_dmin_vs_n(data: dict[str, Any]) -> Any:
    """Figure 8: d_min against n (log x), the real head dimensions as horizontal lines."""
    fig, ax = new_figure()
    for i, curve in enumerate(data["curves"]):
        st = series_style(i + 4)
        ax.plot(data["n"], curve["d_min"], color=st["color"], marker=st["marker"],
                linewidth=2, label=rf"$d_{{\min}}$, geometric$(n, {data['ratio']:g})$, "
                                   rf"$\varepsilon = {curve['eps']}$")
    for j, preset in enumerate(data["presets"]):
        for i, curve in enumerate(data["curves"]):
            ax.scatter([preset["n"]], [preset["d_min"][curve["eps"]]], s=70, zorder=3,
                       color=series_style(i + 4)["color"], edgecolor=BLACK, marker="*",
                       label=r"VAR/Infinity presets ($n$ = side of the last map)"
                       if i == j == 0 else None)
    for dim, style in zip(data["real_head_dims"], ("--", "-.")):
        ax.axhline(dim, color=BLACK, linestyle=style, linewidth=1.2,
                   label=f"real head dimension {dim}")
    ax.set_xscale("log", base=2)
    ax.set_xlabel(r"$n$, side of the last token map [tokens, log scale]")
    ax.set_ylabel(r"$d_{\min}(L_{K-1}, \varepsilon)$ [coordinates]")
    ax.set_title(r"$d_{\min}$ grows like $2 \ln(L^2/2)/\varepsilon^2 = O(\log n)$")
    ax.legend(loc="upper left", fontsize=9)
    takeaway(ax, _dmin_message(data), loc="center right")
    return fig


def _dmin_message(data: dict[str, Any]) -> str:
    """Where each real head dimension stops covering d_min at the first eps (from the data)."""
    curve = data["curves"][0]
    lines = []
    for dim in data["real_head_dims"]:
        covered = [n for n, dm in zip(data["n"], curve["d_min"]) if dm <= dim]
        if len(covered) == len(data["n"]):
            lines.append(rf"$d = {dim}$ covers $d_{{\min}}$ for every $n$ drawn "
                         f"(up to {data['n'][-1]})")
        elif covered:
            lines.append(rf"$d = {dim}$ covers $d_{{\min}}$ up to $n = {covered[-1]}$")
        else:
            lines.append(rf"$d = {dim}$ is below $d_{{\min}}$ from $n = {data['n'][0]}$ on")
    return rf"at $\varepsilon = {curve['eps']}$:" + "\n" + "\n".join(lines)
