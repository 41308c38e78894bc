"""The figure of a verification run: Bob's outputs against tau (``verify --figure``).

The drawing is the course's figure 4 (:func:`kvbound.course.draw_runs.draw_outputs`):
overlapping histograms for 0 and 1 bits (filled and outlined), the threshold tau, the
ranges of Lemma L3 (docs/theorem.md#l3), and the cache, its options, the error count and
the decoding margin in the title.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np

from kvbound.course.draw_runs import draw_outputs, outputs_histogram_data
from kvbound.plots.style import save_figure
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
    path: Path,
    schedule: str,
    d: int,
    cache: str,
    options: Mapping[str, Any],
    bit_errors: int,
    margin: float,
) -> dict[str, Any]:
    """Draw Bob's outputs for 0 bits and 1 bits with tau and L3's ranges; return the data.

    Lemma L3 (docs/theorem.md#l3): an eta-accurate cache puts every 0 bit below
    zero_range(gamma, eta) and every 1 bit above one_range(gamma, eta); tau sits between.
    The format follows the suffix of ``path`` (png, svg, pdf).
    """
    data = outputs_histogram_data(
        outputs, truth, tau=tau, gamma=gamma, eta=eta,
        zero_range_top=zero_range(gamma, eta, additive=additive),
        one_range_bottom=one_range(gamma, eta, additive=additive),
        schedule=schedule, d=d, cache=cache, options=dict(options), bit_errors=bit_errors,
        n_bits=int(np.asarray(truth).size), margin=margin,
    )
    save_figure(draw_outputs(data), path)
    return data
