"""Figures of ``kvbound structure``: each variant's bound, its matching cache, the attack.

Purpose: one PNG per variant (docs/theorem.md#s1 ... #s4). Left panel, the variant's own
picture (S1: measured one-hotness against its guarantees; S2: bound and support-cache
bits against s; S3: bound and window-cache bits against w; S4: bound against the key rank
r, the switch at r* = d_min(L, eps) between the d e^{Theta(r)} and L d regimes, and the
cluster-cache bits). Right panel, the attack suite: information decoded (Fano at the
observed error rate) against message bits, with the infeasible side shaded.

The data actually drawn (read back from the matplotlib artists after plotting, not from
the inputs) is embedded in the PNG as a tEXt chunk ``kvbound-plot`` (JSON), so a test
can check the figure against the command's JSON (:func:`read_plot_data`).
"""

from __future__ import annotations

import json
import math
import struct
import zlib
from pathlib import Path
from typing import Any

from lowerbound.validation import InvalidArgument
from variants.runner import VariantReport

__all__ = ["structure_figure", "read_plot_data", "PLOT_KEY"]

PLOT_KEY = "kvbound-plot"


def _drawn(ax: Any) -> dict[str, Any]:
    lines = {ln.get_label(): {"x": [float(v) for v in ln.get_xdata()],
                              "y": [float(v) for v in ln.get_ydata()]}
             for ln in ax.get_lines() if not ln.get_label().startswith("_")}
    for coll in ax.collections:
        label = coll.get_label()
        if not label.startswith("_") and hasattr(coll, "get_offsets"):
            offsets = coll.get_offsets()
            lines[label] = {"x": [float(p[0]) for p in offsets],
                            "y": [float(p[1]) for p in offsets]}
    return {"title": ax.get_title(), "series": lines}


def _s1(ax: Any, rep: VariantReport) -> None:
    m = rep.measurements
    names = ["off-target mass", "entropy (bits)", "top-k truncation"]
    measured = [m["max_off_target_mass"], m["max_entropy_bits"], m["truncation_error"]]
    bound = [m["off_target_mass_bound"], m["entropy_bound_bits"], m["off_target_mass_bound"]]
    xs = list(range(len(names)))
    ax.plot(xs, [max(v, 1e-300) for v in measured], "o", color="#0072B2",
            label="measured (max over Bob's rows)")
    ax.plot(xs, bound, "v", color="#D55E00", label=r"guaranteed (L2: $\gamma/(1+\gamma)$, entropy)")
    ax.plot([1], [m["uniform_entropy_bits"]], "s", color="0.5", label=r"uniform row: $\log_2 m$")
    ax.set_xticks(xs, names)
    ax.set_yscale("log")
    ax.set_title(f"S1: Bob's rows are {m['k']}-sparse (promise kept: {m['promise_kept']})",
                 fontsize=9)


def _s2(ax: Any, rep: VariantReport) -> None:
    rows = [r for r in rep.sweep if r.get("message_bits") is not None]
    ax.plot([r["s"] for r in rep.sweep], [r["bound_bits"] for r in rep.sweep], "-",
            color="#D55E00", label=r"bound $L \lfloor \log_2 \binom{d}{s} \rfloor$")
    ax.plot([r["s"] for r in rows], [r["message_bits"] for r in rows], "o", ms=3,
            color="#0072B2", label="support cache (message bits)")
    ax.plot([r["s"] for r in rep.sweep], [r["dense_bits"] for r in rep.sweep], "--",
            color="0.5", label=r"dense bound $L\,d$")
    ax.set_xlabel(r"non-zeros per value row $s$")
    ax.set_ylabel("bits")
    ax.set_title(rf"S2: $s$-sparse values, $d = {rep.parameters['d']}$", fontsize=9)


def _s3(ax: Any, rep: VariantReport) -> None:
    rows = [r for r in rep.sweep if r.get("message_bits") is not None]
    ax.plot([r["w"] for r in rep.sweep], [r["bound_bits"] for r in rep.sweep], "-",
            drawstyle="steps-mid", color="#D55E00",
            label=r"bound $d\,(T_{K-w+1} + \dots + T_{K-1})$")
    ax.plot([r["w"] for r in rows], [r["message_bits"] for r in rows], "o", ms=4,
            color="#0072B2", label="window cache (message bits)")
    n2d = rep.measurements["last_scale_tokens"] * rep.parameters["d"]
    ax.plot([1, len(rep.sweep)], [n2d, n2d], "--", color="0.5", label=r"$n^2 d$")
    ax.set_xlabel(r"window $w$ (scales visible, the current one counted)")
    ax.set_ylabel("bits")
    ax.set_title(rf"S3: at $w = {rep.parameters['w']}$, bound = "
                 rf"{rep.measurements['bound_over_n2d']:.4f} $n^2 d$", fontsize=9)


def _s4(ax: Any, rep: VariantReport) -> None:
    rows = [r for r in rep.sweep if r.get("message_bits") is not None]
    d, eps = rep.parameters["d"], rep.parameters["eps"]
    n, star = rep.measurements["cached_tokens"], rep.measurements["switch_rank"]
    ax.plot([r["r"] for r in rep.sweep], [r["bound_bits"] for r in rep.sweep], "-",
            color="#D55E00", label=r"bound $d\,L'(r)$")
    ax.plot([r["r"] for r in rows], [r["message_bits"] for r in rows], "o", ms=4,
            color="#0072B2", label="cluster cache (message bits)")
    grow = [min(d * math.sqrt(2) * math.exp(eps * eps * r["r"] / 4), 1e300) for r in rep.sweep]
    ax.plot([r["r"] for r in rep.sweep], grow, ":", color="#009E73",
            label=r"$d \sqrt{2}\, e^{\varepsilon^2 r/4}$ (the $e^{\Theta(r)}$ regime)")
    ax.plot([1, len(rep.sweep)], [n * d, n * d], "--", color="0.5",
            label=r"$L\,d$ (the $L$ regime)")
    ax.axvline(star, color="black", lw=0.8)
    ax.set_yscale("log")
    ax.set_ylim(top=4 * n * d)
    ax.set_xlabel(rf"key rank $r$ (switch at $r^* = d_{{\min}}(L, \varepsilon) = {star}$)")
    ax.set_ylabel("bits")
    ax.set_title(rf"S4: keys of rank $r$, $d = {d}$", fontsize=9)


def _attack(ax: Any, rep: VariantReport) -> None:
    ran = [r for r in rep.attack if r.status == "ok"]  # as the command's "N ran"
    runs = [r for r in (rep.matching, *ran) if r.status == "ok" and r.message_bits]
    xs = [float(r.message_bits or 0) for r in runs]
    ys = [max(r.information_bits or 0.0, 1.0) for r in runs]
    hi = max([*xs, *ys, 10.0]) * 2
    ax.fill_between([1, hi], [1, hi], [hi, hi], color="#D55E00", alpha=0.08,
                    label="_infeasible")
    ax.plot([1, hi], [1, hi], "-", color="#D55E00", lw=0.8, label="message = information")
    ax.scatter(xs, ys, s=12, color="#0072B2", label="caches (information, Fano at p)")
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_xlabel("message bits")
    ax.set_ylabel("information decoded (bits)")
    ax.set_title(f"the matching cache and {len(ran)} attack runs: {len(rep.leaks)} "
                 "infeasible", fontsize=9)


_PANELS = {"s1": _s1, "s2": _s2, "s3": _s3, "s4": _s4}


def structure_figure(rep: VariantReport, path: Path) -> dict[str, Any]:
    """Draw the variant's figure to ``path`` (PNG); return the data drawn (also embedded)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, (left, right) = plt.subplots(1, 2, figsize=(11, 4.2), dpi=110)
    _PANELS[rep.variant](left, rep)
    _attack(right, rep)
    for ax in (left, right):
        ax.legend(fontsize=7)
    fig.suptitle(rep.title, fontsize=10)
    fig.tight_layout()
    data = {"variant": rep.variant, "panels": [_drawn(left), _drawn(right)]}
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, metadata={PLOT_KEY: json.dumps(data)})
    plt.close(fig)
    return data


def read_plot_data(path: Path) -> dict[str, Any]:
    """The ``kvbound-plot`` JSON of a PNG written by :func:`structure_figure`.

    Reads the PNG's chunks directly (signature, then length | type | data | CRC).
    """
    raw = Path(path).read_bytes()
    if raw[:8] != b"\x89PNG\r\n\x1a\n":
        raise InvalidArgument(f"{path} is not a PNG file")
    pos = 8
    while pos + 8 <= len(raw):
        (length,) = struct.unpack(">I", raw[pos : pos + 4])
        kind = raw[pos + 4 : pos + 8]
        body = raw[pos + 8 : pos + 8 + length]
        if kind == b"tEXt" and body.startswith(PLOT_KEY.encode() + b"\0"):
            return json.loads(body[len(PLOT_KEY) + 1 :].decode("latin-1"))  # type: ignore[no-any-return]
        if kind == b"zTXt" and body.startswith(PLOT_KEY.encode() + b"\0"):
            return json.loads(zlib.decompress(body[len(PLOT_KEY) + 2 :]).decode("latin-1"))  # type: ignore[no-any-return]
        pos += 12 + length
    raise InvalidArgument(f"{path} carries no {PLOT_KEY} data")
