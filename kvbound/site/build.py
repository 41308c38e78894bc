"""Write the interactive page: the static assets, then the data only kvbound can compute.

Purpose: ``kvbound site --out DIR`` (issue 22). The page is static files opened straight
from disk: no server, no network, no framework. ``index.html``, ``style.css``,
``kvbound.js`` (the closed forms, checked against :mod:`kvbound.site.reference` under
Node) and ``page.js`` are copied from this package; ``data.js`` (a script, since a page
opened from disk may not read a JSON file) and ``data.json`` hold :func:`page_data`.

A student's ``verify --json`` record given with ``--result`` is read with a size limit,
parsed as JSON (never anything else) and checked to be such a record before it is built
into the page.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from importlib import resources
from pathlib import Path
from typing import Any

from kvbound import __version__
from kvbound.outputs import check_output_dir, finite_or_none
from kvbound.reports.plain import verdict_lines
from kvbound.site.data import page_data
from lowerbound.validation import InvalidArgument

__all__ = ["ASSETS", "build_site", "read_result", "MAX_RESULT_BYTES"]

#: The static files copied as they are (package data of kvbound.site).
ASSETS: tuple[str, ...] = ("index.html", "style.css", "kvbound.js", "page.js")
#: A verify record larger than this is refused before it is read.
MAX_RESULT_BYTES = 64 * 2**20


def read_result(path: Path) -> dict[str, Any]:
    """A ``kvbound verify --json`` record from ``path``, validated (InvalidArgument otherwise)."""
    if not path.is_file():
        raise InvalidArgument(f"--result={path}: no such file; write one with "
                         "`kvbound verify --json > result.json`")
    size = path.stat().st_size
    if size > MAX_RESULT_BYTES:
        raise InvalidArgument(f"--result={path} is {size} bytes, more than the "
                         f"{MAX_RESULT_BYTES} a verify record can need")
    try:
        record = json.loads(path.read_text(encoding="utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise InvalidArgument(f"--result={path} is not JSON ({exc}); give the output of "
                         "`kvbound verify --json`") from None
    if not isinstance(record, dict):
        raise InvalidArgument(f"--result={path} holds a JSON {type(record).__name__}, not the "
                         "object `kvbound verify --json` prints")
    try:
        verdict_lines(record)
    except InvalidArgument as exc:
        raise InvalidArgument(f"--result={path}: {exc}; give the output of "
                         "`kvbound verify --json`") from None
    return dict(finite_or_none(record))


def build_site(out: Path, *, result: Path | None = None,
               progress: Callable[[str], None] | None = None) -> list[Path]:
    """Write the page into ``out`` (created if needed); return the files written."""
    check_output_dir(out, "--out")
    student = None if result is None else read_result(result)
    data = page_data(student=student, progress=progress)
    data["kvbound_version"] = __version__
    out.mkdir(parents=True, exist_ok=True)
    written = []
    assets = resources.files("kvbound.site") / "assets"
    for name in ASSETS:
        target = out / name
        target.write_bytes((assets / name).read_bytes())
        written.append(target)
    text = json.dumps(data, separators=(",", ":"), allow_nan=False)
    (out / "data.json").write_text(text + "\n", encoding="utf-8")
    (out / "data.js").write_text(
        "/* Written by `kvbound site`: the page's precomputed data. */\n"
        f"window.KVBOUND_DATA = {text};\n", encoding="utf-8")
    written += [out / "data.js", out / "data.json"]
    return written
