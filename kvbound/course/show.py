"""Show a course figure inside Jupyter, where a Figure built without pyplot shows nothing.

The course figures are drawn on the Agg canvas without pyplot (no global state, the same
in scripts, tests and ``kvbound figures``). Jupyter renders a bare ``Figure`` as the text
``<Figure size ... with 1 Axes>`` unless pyplot's inline backend has registered its
formatter, so the notebook hands each figure to :func:`show`: inside IPython it displays
the figure as a PNG image output; anywhere else it does nothing.
"""

from __future__ import annotations

import io
from typing import Any

__all__ = ["show", "in_ipython"]

#: Resolution of the PNG shown in the notebook (the slides use 200 dpi).
NOTEBOOK_DPI = 100


def in_ipython() -> bool:
    """Whether this code runs inside an IPython kernel or shell."""
    try:
        from IPython import get_ipython
    except ImportError:
        return False
    return get_ipython() is not None


def show(fig: Any) -> bool:
    """Display ``fig`` as an image output when inside IPython; return whether it did."""
    if not in_ipython():
        return False
    from IPython.display import Image, display

    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=NOTEBOOK_DPI, bbox_inches="tight")
    display(Image(data=buffer.getvalue(), format="png"))
    return True
