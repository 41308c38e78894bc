"""Generated parts of docs/: the table of registered caches in docs/compressors.md.

``python -m kvbound.reports.docgen`` (``make docs``) rewrites the text between the markers; a test
fails when the committed file differs from what this module generates.
"""

from __future__ import annotations

import sys
from pathlib import Path

from caches import CACHES
from kvbound.experiments import sweep_axis
from lowerbound.validation import InvalidArgument

__all__ = ["compressors_table", "render_compressors_doc", "BEGIN", "END"]

BEGIN = "<!-- BEGIN GENERATED: cache table (python -m kvbound.reports.docgen) -->"
END = "<!-- END GENERATED: cache table -->"
DOC = Path(__file__).resolve().parents[2] / "docs" / "compressors.md"


def compressors_table() -> str:
    """Markdown table: name, summary, default options, fixed options, sweep axis."""
    rows = [
        "| name | what it keeps | default options | fixed by the name | swept by `attack` |",
        "|---|---|---|---|---|",
    ]
    for name, entry in CACHES.items():
        options = ", ".join(f"{k}={v}" for k, v in entry.options.items()) or "-"
        fixed = ", ".join(sorted(entry.fixed)) or "-"
        axis = sweep_axis(name)
        if entry.adversary:
            swept = "no: an adversary of the decoding (`verify --cache`)"
        elif axis.option is None:
            swept = "once"
        elif not axis.values:
            swept = f"{axis.option} over `--budgets` (kept fraction)"
        else:
            unit = " x d" if axis.per_d else ""
            swept = f"{axis.option} in {', '.join(f'{v}{unit}' for v in axis.values)}"
        summary = entry.summary.replace("|", "/")
        rows.append(f"| `{name}` | {summary} | {options} | {fixed} | {swept} |")
    return "\n".join(rows)


def render_compressors_doc(text: str) -> str:
    """``text`` with the generated table put between the markers."""
    if BEGIN not in text or END not in text:
        raise InvalidArgument(f"docs/compressors.md lacks the markers {BEGIN!r} ... {END!r}")
    head, rest = text.split(BEGIN, 1)
    _, tail = rest.split(END, 1)
    return f"{head}{BEGIN}\n{compressors_table()}\n{END}{tail}"


def main() -> int:
    DOC.write_text(render_compressors_doc(DOC.read_text()))
    print(f"wrote {DOC}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
