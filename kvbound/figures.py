"""Figures of verification runs (matplotlib, Agg backend: no display needed)."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from lowerbound.decoding import one_range, zero_range

__all__ = ["outputs_histogram"]


def outputs_histogram(
    outputs: np.ndarray,
    truth: np.ndarray,
    *,
    tau: float,
    gamma: float,
    eta: float,
    additive: bool,
    title: str,
    path: Path,
) -> None:
    """Bob's outputs for 0 bits and 1 bits, the threshold tau and the ranges of Lemma L3.

    Lemma L3 (docs/theorem.md#l3): an (eta)-accurate cache puts every 0 bit below
    zero_range(gamma, eta) and every 1 bit above one_range(gamma, eta); tau sits between.
    """
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    z = np.asarray(outputs, dtype=np.float64).ravel()
    t = np.asarray(truth).ravel()
    lo = min(0.0, float(z.min())) if z.size else 0.0
    hi = max(1.0, float(z.max())) if z.size else 1.0
    bins = [float(b) for b in np.linspace(lo, hi, 81)]
    fig, ax = plt.subplots(figsize=(7.5, 4.2), dpi=120)
    zr = zero_range(gamma, eta, additive=additive)
    orng = one_range(gamma, eta, additive=additive)
    ax.axvspan(lo, zr, color="tab:blue", alpha=0.08, label=f"L3: 0 bits lie below {zr:.3f}")
    ax.axvspan(orng, hi, color="tab:orange", alpha=0.08,
               label=f"L3: 1 bits lie above {orng:.3f}")
    ax.hist(z[t == 0], bins=bins, color="tab:blue", alpha=0.75, label="outputs for 0 bits")
    ax.hist(z[t == 1], bins=bins, color="tab:orange", alpha=0.75, label="outputs for 1 bits")
    ax.axvline(tau, color="black", linestyle="--", linewidth=1.2, label=f"tau = {tau:.3f}")
    ax.set_yscale("log")
    ax.set_ylim(bottom=0.8)
    ax.set_xlim(lo, hi)
    ax.set_xlabel("Bob's output coordinate Z_hat (query C k_i on token i)")
    ax.set_ylabel("count (log scale)")
    ax.set_title(title, fontsize=10)
    ax.legend(fontsize=8, loc="upper center")
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path)
    plt.close(fig)
