"""Slide style shared by every course figure: a colour-blind-safe palette, markers, sizes.

The palette is Okabe & Ito's ("Color Universal Design", 2008), readable under the common
colour-vision deficiencies; categories beyond eight colours also differ by marker, so no
two series share both. Figures are 16:9, titled, with labelled axes (units in brackets),
and saved as PNG (200 dpi), SVG or PDF through the Agg canvas (no display, no pyplot
state).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from kvbound.outputs import atomic_output
from lowerbound.validation import InvalidArgument

__all__ = ["OKABE_ITO", "MARKERS", "FORMATS", "series_style", "new_figure", "save_figure",
           "check_format", "takeaway", "label_points", "legend_outside"]

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


def label_points(ax: Any, points: list[tuple[float, float, str]], fontsize: int = 7,
                 min_gap: float = 0.035) -> int:
    """Write each (x, y, text) next to its point unless an earlier label is closer than
    ``min_gap`` (axes fraction): settings stay readable where points crowd. Call after the
    axis limits and scales are set. Returns how many labels were written."""
    placed: list[tuple[float, float]] = []
    to_axes = ax.transAxes.inverted()
    written = 0
    for x, y, text in points:
        fx, fy = to_axes.transform(ax.transData.transform((x, y)))
        if any(abs(fx - px) < 2.5 * min_gap and abs(fy - py) < min_gap for px, py in placed):
            continue
        placed.append((fx, fy))
        ax.annotate(text, (x, y), xytext=(5, 4), textcoords="offset points",
                    fontsize=fontsize)
        written += 1
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
