"""Figure of a precision run: Bob's outputs against the levels Alice hid (Lemma PREC).

docs/theorem.md#prec: with target weight >= 1/(1+gamma), level m's output lies in
[m 2^-b / (1+gamma), (m 2^-b + gamma V) / (1+gamma)], widened by the error eta; Bob's
thresholds sit in the gaps. The figure plots every output against its true level with
that band (all relative to the hidden value), so a cache that blurs the levels shows at
once.
"""

from __future__ import annotations

from fractions import Fraction
from pathlib import Path

import numpy as np

from kvbound.outputs import atomic_output
from lowerbound.precision import level_ranges

__all__ = ["levels_figure"]


def levels_figure(outputs: np.ndarray, symbols: np.ndarray, *, bits: int, gamma: float,
                  eta: float, additive: bool, thresholds: tuple[float, ...], title: str,
                  path: Path) -> None:
    """Bob's outputs minus the hidden level m 2^-b against the level, with the band
    Lemma PREC allows and the thresholds on either side (dotted), all relative to m 2^-b."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    z = np.asarray(outputs, dtype=np.float64).ravel()
    m = np.asarray(symbols, dtype=np.float64).ravel()
    levels = np.ldexp(np.arange(2**bits, dtype=np.float64), -bits)
    ranges = level_ranges(bits, Fraction(gamma), Fraction(eta), additive=additive,
                          value_bound=Fraction(2**bits - 1, 2**bits))
    lo = np.array([float(r[0]) for r in ranges])
    hi = np.array([float(r[1]) for r in ranges])
    t = np.concatenate([[np.nan], np.asarray(thresholds, dtype=np.float64), [np.nan]])
    fig, ax = plt.subplots(figsize=(7.5, 4.6), dpi=120)
    ax.fill_between(levels, lo - levels, hi - levels, step="mid", color="#56B4E9",
                    alpha=0.45, label=r"Lemma PREC: where level $m$'s output may lie")
    ax.step(levels, t[: levels.size] - levels, where="mid", color="black",
            linewidth=0.8, linestyle=":", label=r"thresholds below / above level $m$")
    ax.step(levels, t[1 : levels.size + 1] - levels, where="mid", color="black",
            linewidth=0.8, linestyle=":")
    ax.scatter(np.ldexp(m, -bits), z - np.ldexp(m, -bits), s=4, color="#D55E00", alpha=0.6,
               label="Bob's outputs")
    ax.set_xlabel(rf"value Alice hid, $m\, 2^{{-{bits}}}$ ($b = {bits}$ bits per coordinate)")
    ax.set_ylabel("Bob's output minus the hidden value")
    ax.set_title(title, fontsize=10)
    ax.legend(fontsize=8, loc="upper left")
    fig.tight_layout()
    with atomic_output(path, "wb") as fh:
        fig.savefig(fh, format=path.suffix.lstrip(".") or "png")
    plt.close(fig)
