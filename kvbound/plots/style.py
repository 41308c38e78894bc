"""Slide style shared by every figure: a colour-blind-safe palette, markers, sizes.

The palette is Okabe & Ito's ("Color Universal Design", 2008), readable under the common
colour-vision deficiencies; categories beyond eight colours also differ by marker, so no
two series share both. A cache has one style everywhere (:func:`cache_style`): the same
colour and marker in figure 5 of the course and in ``kvbound attack``'s figure, unique
among all registered caches, with the caches those figures show first spread over
distinct colours. Vermillion is kept for the bound itself. Figures are 16:9, titled, with
labelled axes (units in brackets, symbols in mathtext), and saved as PNG (200 dpi), SVG
or PDF through the Agg canvas (no display, no pyplot state).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from kvbound.outputs import atomic_output
from lowerbound.validation import InvalidArgument

__all__ = ["OKABE_ITO", "MARKERS", "FORMATS", "series_style", "cache_style", "new_figure",
           "save_figure", "check_format", "takeaway", "label_points", "legend_outside",
           "BOUND_COLOUR"]

#: Okabe-Ito: orange, sky blue, bluish green, yellow, blue, vermillion, reddish purple, black.
OKABE_ITO: tuple[str, ...] = ("#E69F00", "#56B4E9", "#009E73", "#F0E442", "#0072B2",
                              "#D55E00", "#CC79A7", "#000000")
MARKERS = "osD^vP*XhpH<>d8"
FORMATS = ("png", "svg", "pdf")
SLIDE_SIZE = (10.0, 5.625)  # inches, 16:9
PNG_DPI = 200


def series_style(i: int) -> dict[str, Any]:
    """Colour and marker of series ``i``: (colour, marker) pairs never repeat for i < 120.

    >>> series_style(0) != series_style(8)
    True
    """
    return {"color": OKABE_ITO[i % len(OKABE_ITO)], "marker": MARKERS[i % len(MARKERS)]}


#: The colour of the bound (Fano's frontier, y = x): no cache is drawn in it.
BOUND_COLOUR = OKABE_ITO[5]
#: Colours of caches: Okabe-Ito without vermillion (the bound) and yellow (too light on
#: white), plus a mid grey; and eight markers of distinct shapes.
CACHE_COLOURS: tuple[str, ...] = ("#E69F00", "#56B4E9", "#009E73", "#0072B2", "#CC79A7",
                                  "#000000", "#999999")
CACHE_MARKERS: tuple[str, ...] = ("o", "s", "^", "D", "v", "P", "X", "*")
#: The caches the figures show first (course figure 5, ``attack``'s default): their
#: styles are handed out first, so the first seven have seven different colours.
FEATURED_CACHES: tuple[str, ...] = ("exact", "packer", "quest", "uniform", "kivi", "lowrank",
                                    "random", "streaming-llm", "h2o", "subgen", "sketch")


def _cache_order() -> list[str]:
    from caches.registry import CACHES

    return list(dict.fromkeys([*FEATURED_CACHES, *CACHES]))


def cache_style(name: str, others: tuple[str, ...] = ()) -> dict[str, Any]:
    """Colour and marker of the cache ``name``, the same in every figure.

    Cache number i of the featured-then-registered order gets colour i mod 7 and marker
    (i mod 7 + 3 (i div 7)) mod 8: no two of the first 56 share both, and two caches of
    one colour differ in marker. A name outside the registry (``module:Class``) follows
    them, in the order of ``others`` (the unregistered names of the figure).

    >>> cache_style("exact") != cache_style("h2o") and cache_style("packer") != cache_style(
    ...     "subgen")
    True
    >>> cache_style("exact")["color"] != cache_style("packer")["color"]
    True
    """
    order = _cache_order()
    extra = [o for o in others if o not in order]
    i = order.index(name) if name in order else len(order) + (
        extra.index(name) if name in extra else len(extra))
    colour = i % len(CACHE_COLOURS)
    marker = (colour + 3 * (i // len(CACHE_COLOURS))) % len(CACHE_MARKERS)
    return {"color": CACHE_COLOURS[colour], "marker": CACHE_MARKERS[marker]}


def check_format(fmt: str) -> str:
    """``fmt`` if it is one of :data:`FORMATS`, else a ValueError naming them."""
    if fmt not in FORMATS:
        raise InvalidArgument(f"figure format {fmt!r}; choose one of {', '.join(FORMATS)}")
    return fmt


def new_figure(ncols: int = 1) -> tuple[Any, Any]:
    """A slide-sized Figure on the Agg canvas and its axes (one, or a row of ``ncols``)."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    fig = Figure(figsize=SLIDE_SIZE, dpi=100)
    FigureCanvasAgg(fig)
    axes = fig.subplots(1, ncols)
    return fig, axes


def takeaway(ax: Any, text: str, loc: str = "lower right") -> None:
    """The figure's one-sentence message, written on the plot in a framed box."""
    from matplotlib.offsetbox import AnchoredText

    box = AnchoredText(text, loc=loc, prop={"fontsize": 9}, frameon=True)
    box.patch.set_boxstyle("round,pad=0.3")
    box.patch.set_alpha(0.9)
    ax.add_artist(box)


def label_points(ax: Any, points: list[tuple[float, float, str]], fontsize: int = 7) -> int:
    """Write each (x, y, text) next to its point where it overlaps no label already written
    (tried right, above, left and below the point, in that order); a label with no free
    place is left out, so settings stay readable where points crowd. Call after the axis
    limits and scales are set. Returns how many labels were written."""
    fig = ax.figure
    fig.tight_layout()  # the layout first: save_figure's tight_layout then moves nothing
    renderer = fig.canvas.get_renderer()
    placed: list[Any] = []
    written = 0
    offsets = ((6, 3, "left", "bottom"), (0, 9, "center", "bottom"),
               (-6, 3, "right", "bottom"), (0, -9, "center", "top"))
    axes_box = ax.get_window_extent(renderer)
    for x, y, text in points:
        for dx, dy, ha, va in offsets:
            label = ax.annotate(text, (x, y), xytext=(dx, dy), textcoords="offset points",
                                fontsize=fontsize, ha=ha, va=va)
            box = label.get_window_extent(renderer).expanded(1.08, 1.15)
            inside = (box.x0 >= axes_box.x0 and box.x1 <= axes_box.x1
                      and box.y0 >= axes_box.y0 and box.y1 <= axes_box.y1)
            if inside and not any(box.overlaps(other) for other in placed):
                placed.append(box)
                written += 1
                break
            label.remove()
    return written


def legend_outside(ax: Any, fontsize: int = 8) -> None:
    """The legend in a column to the right of the axes (nothing hidden behind it)."""
    ax.legend(loc="upper left", bbox_to_anchor=(1.01, 1.0), borderaxespad=0,
              fontsize=fontsize)


def save_figure(fig: Any, path: str | Path, fmt: str | None = None) -> Path:
    """Write ``fig`` (format from ``fmt`` or the suffix), creating the parent directory."""
    path = Path(path)
    fmt = check_format(fmt or path.suffix.lstrip(".") or "png")
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.tight_layout()
    metadata = {"svg": {"Date": None}, "pdf": {"CreationDate": None}}.get(fmt)
    with atomic_output(path, "wb") as fh:
        fig.savefig(fh, format=fmt, dpi=PNG_DPI, metadata=metadata)
    return path
