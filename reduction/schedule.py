"""VAR scale schedules: the token maps r_1 ... r_K of shapes h_k x w_k.

Purpose: docs/theorem.md#model (Model). T_k = h_k * w_k tokens at scale k,
L_k = T_1 + ... + T_k; the reduction caches L_{K-1} tokens and queries with the T_K
tokens of the last scale.

Presets. ``var-256`` and ``var-512`` are the ``patch_nums`` of the released VAR models
(FoundationVision/VAR, arXiv 2404.02905; var-256: L_K = 680, L_{K-1} = 424, T_K = 256;
var-512: L_K = 2240, L_{K-1} = 1216, T_K = 1024). ``var-1024`` is the schedule VAR's
training code selects for ``--pn=1024`` (FoundationVision/VAR, ``utils/arg_util.py``:
1,2,3,4,5,7,9,12,16,21,27,36,48,64); VAR released no 1024 px checkpoint, so it is the
published schedule, not a released model's. ``infinity-1024`` is Infinity's 13 square
scales (FoundationVision/Infinity, arXiv 2412.04431). ``n128`` is a 128 x 128 map in 14
scales (var-512's ten, then 48, 64, 96, 128): L_{K-1} = 17,856 cached tokens,
T_K = 16,384, the size at which the reduction is timed (``make bench``); ``n192`` and
``n256`` extend it by a 192 x 192 and then a 256 x 256 map (L_{K-1} = 34,240, T_K = 36,864;
L_{K-1} = 71,104, T_K = 65,536).
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from itertools import accumulate

from lowerbound.validation import InvalidArgument, check_int_at_least, check_interval

__all__ = ["Schedule", "PRESETS"]

PRESETS: dict[str, tuple[int, ...]] = {
    "var-256": (1, 2, 3, 4, 5, 6, 8, 10, 13, 16),
    "var-512": (1, 2, 3, 4, 6, 9, 13, 18, 24, 32),
    "var-1024": (1, 2, 3, 4, 5, 7, 9, 12, 16, 21, 27, 36, 48, 64),
    "infinity-1024": (1, 2, 4, 6, 8, 12, 16, 20, 24, 32, 40, 48, 64),
    "n128": (1, 2, 3, 4, 6, 9, 13, 18, 24, 32, 48, 64, 96, 128),
    "n192": (1, 2, 3, 4, 6, 9, 13, 18, 24, 32, 48, 64, 96, 128, 192),
    "n256": (1, 2, 3, 4, 6, 9, 13, 18, 24, 32, 48, 64, 96, 128, 192, 256),
}

_GEOMETRIC = re.compile(r"^geometric\(\s*(\d+)\s*,\s*([0-9.]+)\s*\)$|^geometric:(\d+):([0-9.]+)$")


@dataclass(frozen=True)
class Schedule:
    """A VAR schedule: the shapes (h_k, w_k) of the K token maps, growing in area.

    Invariants (checked on construction): K >= 2 (the reduction needs scales before the
    last), every h_k, w_k >= 1, areas strictly increasing.

    >>> s = Schedule.preset("var-256")
    >>> s.cached_tokens, s.last_scale_tokens, s.total_tokens
    (424, 256, 680)
    >>> Schedule.parse("1,2x3,4").tokens
    (1, 6, 16)
    >>> n128 = Schedule.preset("n128")
    >>> n128.cached_tokens, n128.last_scale_tokens
    (17856, 16384)
    """

    shapes: tuple[tuple[int, int], ...]
    name: str = "custom"

    def __post_init__(self) -> None:
        shapes = tuple(self.shapes)
        if len(shapes) == 0:
            raise InvalidArgument("the schedule is empty; give at least two scales, e.g. '1,2,4'")
        if len(shapes) < 2:
            raise InvalidArgument(
                f"the schedule {_fmt_shapes(shapes)} has K=1 scale; the reduction needs "
                "K >= 2 (tokens cached before the last scale), e.g. '1,2'"
            )
        for k, shape in enumerate(shapes, start=1):
            if len(shape) != 2:
                raise InvalidArgument(f"scale {k} has shape {shape!r}; give (h, w)")
            h, w = shape
            check_int_at_least(h, f"h_{k}", 1)
            check_int_at_least(w, f"w_{k}", 1)
        areas = [h * w for h, w in shapes]
        for k in range(1, len(areas)):
            if areas[k] <= areas[k - 1]:
                raise InvalidArgument(
                    f"scale areas must strictly increase, but scale {k + 1} has "
                    f"{areas[k]} tokens after {areas[k - 1]} at scale {k} "
                    f"(schedule {_fmt_shapes(shapes)}); sort the scales or drop repeats"
                )
        object.__setattr__(self, "shapes", tuple((int(h), int(w)) for h, w in shapes))

    # -- constructors ------------------------------------------------------------------
    @classmethod
    def from_sides(cls, sides: Iterable[int], name: str = "custom") -> Schedule:
        """Square maps of the given side lengths (VAR's ``patch_nums``)."""
        return cls(tuple((s, s) for s in sides), name=name)

    @classmethod
    def preset(cls, name: str) -> Schedule:
        """One of :data:`PRESETS` by name."""
        if name not in PRESETS:
            raise InvalidArgument(f"unknown schedule preset {name!r}; known: {', '.join(PRESETS)}")
        return cls.from_sides(PRESETS[name], name=name)

    @classmethod
    def geometric(cls, n: int, ratio: float) -> Schedule:
        """Square maps of sides round(n / ratio^j), j = 0, 1, ..., down to 1, ascending.

        Repeated sides (after rounding) are dropped, so areas strictly increase.

        >>> Schedule.geometric(16, 2).sides
        (1, 2, 4, 8, 16)
        """
        n = check_int_at_least(n, "n", 2)
        r = float(check_interval(ratio, "ratio", 1, math.inf))
        sides: list[int] = []
        j = 0
        while True:
            side = max(1, round(n / r**j))
            if not sides or side < sides[-1]:
                sides.append(side)
            if side == 1:
                break
            j += 1
        return cls.from_sides(reversed(sides), name=f"geometric({n},{ratio:g})")

    @classmethod
    def parse(cls, text: str) -> Schedule:
        """A preset name, ``geometric(n,ratio)``/``geometric:n:ratio``, or a list.

        A list is comma-separated scales, each a side ``s`` (square) or ``HxW``.
        """
        text = text.strip()
        if text in PRESETS:
            return cls.preset(text)
        match = _GEOMETRIC.match(text)
        if match:
            n_text = match.group(1) or match.group(3)
            r_text = match.group(2) or match.group(4)
            return cls.geometric(int(n_text), float(r_text))
        if text == "":
            raise InvalidArgument("the schedule is empty; give a preset or a list like '1,2,4'")
        shapes: list[tuple[int, int]] = []
        for part in text.split(","):
            part = part.strip().lower()
            try:
                if "x" in part:
                    h_text, w_text = part.split("x")
                    shapes.append((int(h_text), int(w_text)))
                else:
                    shapes.append((int(part), int(part)))
            except ValueError:
                raise InvalidArgument(
                    f"cannot read scale {part!r} of schedule {text!r}; use a preset "
                    f"({', '.join(PRESETS)}), 'geometric(n,ratio)', or sides like "
                    "'1,2,4' or '1x2,2x4'"
                ) from None
        return cls(tuple(shapes), name=text)

    # -- derived sizes -------------------------------------------------------------------
    @property
    def num_scales(self) -> int:
        """K, the number of scales."""
        return len(self.shapes)

    @property
    def sides(self) -> tuple[int, ...]:
        """Side lengths h_k (equal to w_k for square maps)."""
        return tuple(h for h, _ in self.shapes)

    @property
    def tokens(self) -> tuple[int, ...]:
        """T_k = h_k * w_k for k = 1..K."""
        return tuple(h * w for h, w in self.shapes)

    @property
    def cumulative(self) -> tuple[int, ...]:
        """L_k = T_1 + ... + T_k for k = 1..K."""
        return tuple(accumulate(self.tokens))

    @property
    def total_tokens(self) -> int:
        """L_K, every token of the schedule."""
        return self.cumulative[-1]

    @property
    def cached_tokens(self) -> int:
        """L = L_{K-1}, the tokens Alice caches (scales 1..K-1)."""
        return self.cumulative[-2]

    @property
    def last_scale_tokens(self) -> int:
        """T_K, the tokens of the last scale (Bob's queries per pass)."""
        return self.tokens[-1]

    @property
    def block_bounds(self) -> tuple[tuple[int, int], ...]:
        """(start, stop) token offsets of every scale in the flattened sequence."""
        ends = self.cumulative
        return tuple((e - t, e) for e, t in zip(ends, self.tokens))

    def to_json(self) -> dict[str, object]:
        """A JSON-ready description (name and shapes)."""
        return {"name": self.name, "shapes": [list(s) for s in self.shapes]}

    @classmethod
    def from_json(cls, obj: object) -> Schedule:
        """Inverse of :meth:`to_json`, validated."""
        if not isinstance(obj, dict) or "shapes" not in obj:
            raise InvalidArgument("a schedule must be an object with 'shapes'")
        shapes = obj["shapes"]
        if not isinstance(shapes, list) or not all(
            isinstance(s, list) and len(s) == 2 and all(isinstance(v, int) for v in s)
            for s in shapes
        ):
            raise InvalidArgument("schedule 'shapes' must be a list of [h, w] integer pairs")
        return cls(tuple((s[0], s[1]) for s in shapes), name=str(obj.get("name", "custom")))

    def __str__(self) -> str:
        return f"{self.name} {_fmt_shapes(self.shapes)}"


def _fmt_shapes(shapes: Sequence[Sequence[int]]) -> str:
    return "[" + ",".join(f"{s[0]}" if s[0] == s[1] else f"{s[0]}x{s[1]}" for s in shapes) + "]"
