"""The nine course figures: number, file name, caption, data, drawing; and their writer.

Purpose: ``kvbound figures --out DIR`` (and the notebook) write every figure of the course
unit (docs/course/unit.md) as ``NN-name.FORMAT`` with its data as ``NN-name.json`` beside
it; figure 0, the reduction itself, leads. Each caption here is quoted verbatim in the
unit (a test checks it), so slides and text say the same thing; ``--deck`` puts them in
one HTML slide deck (:mod:`kvbound.course.deck`).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from kvbound.course import data as D
from kvbound.course.draw import (
    draw_concentration,
    draw_dimension,
    draw_dmin_vs_n,
    draw_inner_products,
    draw_models,
    draw_schedule,
)
from kvbound.course.draw_runs import draw_frontier, draw_outputs
from kvbound.course.protocol import draw_protocol, protocol_data
from kvbound.plots.style import check_format, save_figure
from lowerbound.validation import InvalidArgument

__all__ = ["Slide", "SLIDES", "slide", "write_slides", "parse_only"]


@dataclass(frozen=True)
class Slide:
    """One figure: its number, file stem, caption, data function and drawing function."""

    number: int
    name: str
    heading: str
    caption: str
    data: Callable[[D.SlideParams], dict[str, Any]]
    draw: Callable[[dict[str, Any]], Any]

    @property
    def stem(self) -> str:
        return f"{self.number:02d}-{self.name}"


SLIDES: tuple[Slide, ...] = (
    Slide(0, "reduction", "The reduction", "Alice hides N bits in the values of tokens with "
          "random sign keys; the cache keeps a message of bytes; Bob, from the message "
          "alone, reads the bits back with queries C·k_i and a threshold τ. A message "
          "shorter than the information he decodes is impossible.",
          protocol_data, draw_protocol),
    Slide(1, "schedule", "The VAR cache", "Tokens per scale T_k and tokens cached L_k; Alice "
          "caches L_{K−1}, Bob queries with the T_K tokens of the last scale, ⌈L/T_K⌉ "
          "passes.", D.schedule_data, draw_schedule),
    Slide(2, "key-inner-products", "L1: near-orthogonal sign keys", "Inner products of all "
          "pairs of the run's sign keys: every one lies below ε (Lemma L1), the measured "
          "maximum is marked.", D.inner_product_data, draw_inner_products),
    Slide(3, "concentration", "L2: the softmax concentrates", "Guaranteed softmax weight on "
          "Bob's target token against the query scale C (Lemma L2), with C_min, the C the "
          "simulation uses and the logit cap 100 of released VAR heads.",
          D.concentration_data, draw_concentration),
    Slide(4, "bob-outputs", "L3: Bob's threshold", "Bob's outputs for 0 bits and 1 bits of a "
          "measured run of the noisy cache (relative error η), the threshold τ and the "
          "ranges of Lemma L3.", D.outputs_data, draw_outputs),
    Slide(5, "fano-frontier", "L4: Fano's frontier", "Bit error rate against message bits / N "
          "for a measured sweep of one cache per family; below Fano's frontier no cache can "
          "be (Lemma L4).", D.frontier_data, draw_frontier),
    Slide(6, "real-models", "C2: the released models", "The lower bound against the real "
          "fp16 KV cache of the released VAR models, per image, with the factor no "
          "compressor can beat (Corollary C2).", D.models_data, draw_models),
    Slide(7, "bound-vs-d", "C1: the bound against d", "The bound against the head dimension "
          "d: L·d from d_min on (the theorem), L'·d below it (Corollary C1).",
          D.dimension_data, draw_dimension),
    Slide(8, "dmin-vs-n", "d = Ω(log n) suffices", "d_min against the side n of the last "
          "token map, beside the head dimensions 64 and 128 of real models: d = Ω(log n) "
          "suffices.", D.dmin_vs_n_data, draw_dmin_vs_n),
)


def slide(number: int) -> Slide:
    """The figure with this number (0..8)."""
    for s in SLIDES:
        if s.number == number:
            return s
    raise InvalidArgument(f"no figure {number}; the figures are 0..{len(SLIDES) - 1}")


def parse_only(text: str | None) -> list[int]:
    """``--only`` text ('1,3,8') as figure numbers (None: all).

    >>> parse_only("3, 1"), parse_only(None)
    ([1, 3], [0, 1, 2, 3, 4, 5, 6, 7, 8])
    """
    if text is None:
        return [s.number for s in SLIDES]
    try:
        numbers = sorted({int(part) for part in text.split(",") if part.strip()})
    except ValueError:
        raise InvalidArgument(f"--only={text!r}: give figure numbers like 0,3,8") from None
    for n in numbers:
        slide(n)
    if not numbers:
        raise InvalidArgument(f"--only={text!r} names no figure; give numbers like 1,3,8")
    return numbers


def write_slides(out: Path, params: D.SlideParams, fmt: str = "png",
                 numbers: Iterable[int] | None = None,
                 progress: Callable[[str], None] | None = None) -> list[Path]:
    """Compute, draw and write the figures (image + JSON); returns the paths written.
    ``progress`` is told which figure is being made, before each."""
    check_format(fmt)
    written: list[Path] = []
    chosen = list(numbers) if numbers is not None else [s.number for s in SLIDES]
    for i, number in enumerate(chosen):
        s = slide(number)
        if progress is not None:
            progress(f"figure {number} ({i + 1} of {len(chosen)}): {s.name}")
        values = s.data(params)
        record = {"figure": s.number, "name": s.name, "caption": s.caption, "data": values}
        out.mkdir(parents=True, exist_ok=True)
        json_path = out / f"{s.stem}.json"
        json_path.write_text(json.dumps(record, indent=1, allow_nan=False) + "\n")
        image = save_figure(s.draw(values), out / f"{s.stem}.{fmt}", fmt)
        written += [image, json_path]
    return written
