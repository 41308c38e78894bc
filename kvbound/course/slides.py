"""The eight course figures: number, file name, caption, data, drawing; and their writer.

Purpose: ``kvbound figures --out DIR`` (and the notebook) write every figure of the course
unit (docs/course/unit.md) as ``NN-name.FORMAT`` with its data as ``NN-name.json`` beside
it. Each caption here is quoted verbatim in the unit (a test checks it), so slides and text
say the same thing.
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
from kvbound.plots.style import check_format, save_figure
from lowerbound.validation import InvalidArgument

__all__ = ["Slide", "SLIDES", "slide", "write_slides", "parse_only"]


@dataclass(frozen=True)
class Slide:
    """One figure: its number, file stem, caption, data function and drawing function."""

    number: int
    name: str
    caption: str
    data: Callable[[D.SlideParams], dict[str, Any]]
    draw: Callable[[dict[str, Any]], Any]

    @property
    def stem(self) -> str:
        return f"{self.number:02d}-{self.name}"


SLIDES: tuple[Slide, ...] = (
    Slide(1, "schedule", "Tokens per scale T_k and tokens cached L_k; Alice caches "
          "L_(K-1), Bob queries with the T_K tokens of the last scale, ceil(L/T_K) passes.",
          D.schedule_data, draw_schedule),
    Slide(2, "key-inner-products", "Inner products of all pairs of the run's sign keys: "
          "every one lies below eps (Lemma L1), the measured maximum is marked.",
          D.inner_product_data, draw_inner_products),
    Slide(3, "concentration", "Guaranteed softmax weight on Bob's target token against the "
          "query scale C (Lemma L2), with C_min, the C the simulation uses and the logit cap "
          "100 of released VAR heads.", D.concentration_data, draw_concentration),
    Slide(4, "bob-outputs", "Bob's outputs for 0 bits and 1 bits of a measured run of the "
          "noisy cache (relative error eta), the threshold tau and the ranges of Lemma L3.",
          D.outputs_data, draw_outputs),
    Slide(5, "fano-frontier", "Bit error rate against message bits / N for a measured sweep "
          "of one cache per family; below Fano's frontier no cache can be (Lemma L4).",
          D.frontier_data, draw_frontier),
    Slide(6, "real-models", "The lower bound against the real fp16 KV cache of the released "
          "VAR models, per image, with the factor no compressor can beat (Corollary C2).",
          D.models_data, draw_models),
    Slide(7, "bound-vs-d", "The bound against the head dimension d: L d from d_min on (the "
          "theorem), L' d below it (Corollary C1).", D.dimension_data, draw_dimension),
    Slide(8, "dmin-vs-n", "d_min against the side n of the last token map, beside the head "
          "dimensions 64 and 128 of real models: d = Omega(log n) suffices.",
          D.dmin_vs_n_data, draw_dmin_vs_n),
)


def slide(number: int) -> Slide:
    """The figure with this number (1..8)."""
    for s in SLIDES:
        if s.number == number:
            return s
    raise InvalidArgument(f"no figure {number}; the figures are 1..{len(SLIDES)}")


def parse_only(text: str | None) -> list[int]:
    """``--only`` text ('1,3,8') as figure numbers (None: all).

    >>> parse_only("3, 1"), parse_only(None)[-1]
    ([1, 3], 8)
    """
    if text is None:
        return [s.number for s in SLIDES]
    try:
        numbers = sorted({int(part) for part in text.split(",") if part.strip()})
    except ValueError:
        raise InvalidArgument(f"--only={text!r}: give figure numbers like 1,3,8") from None
    for n in numbers:
        slide(n)
    if not numbers:
        raise InvalidArgument(f"--only={text!r} names no figure; give numbers like 1,3,8")
    return numbers


def write_slides(out: Path, params: D.SlideParams, fmt: str = "png",
                 numbers: Iterable[int] | None = None) -> list[Path]:
    """Compute, draw and write the figures (image + JSON); returns the paths written."""
    check_format(fmt)
    written: list[Path] = []
    for number in numbers if numbers is not None else [s.number for s in SLIDES]:
        s = slide(number)
        values = s.data(params)
        record = {"figure": s.number, "name": s.name, "caption": s.caption, "data": values}
        out.mkdir(parents=True, exist_ok=True)
        json_path = out / f"{s.stem}.json"
        json_path.write_text(json.dumps(record, indent=1, allow_nan=False) + "\n")
        image = save_figure(s.draw(values), out / f"{s.stem}.{fmt}", fmt)
        written += [image, json_path]
    return written
