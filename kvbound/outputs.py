"""Where the commands write, checked before any work, and strict JSON.

* Output paths (``verify --out/--report/--figure``, ``attack --out``) are checked up front:
  a run of minutes must not end in "cannot write". A file path must not be a directory,
  and the nearest existing ancestor of what will be created must be a writable directory.
* JSON written or printed is strict (RFC 8259): NaN and +-Infinity, which Python's json
  module would write as bare ``NaN``/``Infinity``, are written as ``null``. (A decoding
  margin over no bits is +inf, a ratio over a zero bound is undefined, ...).
"""

from __future__ import annotations

import json
import math
import os
from pathlib import Path
from typing import Any

from lowerbound.validation import InvalidArgument

__all__ = ["check_output_file", "check_output_dir", "strict_json", "finite_or_none"]


def _writable_ancestor(path: Path, flag: str, shown: Path) -> None:
    probe = path
    while not probe.exists():
        if probe.parent == probe:
            break
        probe = probe.parent
    if not probe.is_dir():
        raise InvalidArgument(f"{flag}={shown}: {probe} exists and is not a directory")
    if not os.access(probe, os.W_OK | os.X_OK):
        raise InvalidArgument(f"{flag}={shown}: directory {probe} is not writable")


def check_output_file(path: Path | None, flag: str) -> None:
    """ValueError unless ``path`` can be written as a file (parents may be created).

    >>> check_output_file(None, "--out")
    """
    if path is None:
        return
    if path.exists() and path.is_dir():
        raise InvalidArgument(f"{flag}={path} is a directory; give a file name")
    if path.exists() and not os.access(path, os.W_OK):
        raise InvalidArgument(f"{flag}={path} exists and is not writable")
    _writable_ancestor(path.parent, flag, path)


def check_output_dir(path: Path, flag: str) -> None:
    """ValueError unless ``path`` is, or can be created as, a writable directory."""
    if path.exists() and not path.is_dir():
        raise InvalidArgument(f"{flag}={path} exists and is not a directory")
    _writable_ancestor(path, flag, path)


def finite_or_none(obj: Any) -> Any:
    """``obj`` with every non-finite float (NaN, +-inf) replaced by None, recursively.

    >>> finite_or_none({"a": [1.0, float("nan")], "b": float("inf"), "c": "x"})
    {'a': [1.0, None], 'b': None, 'c': 'x'}
    """
    if isinstance(obj, float):
        return obj if math.isfinite(obj) else None
    if isinstance(obj, dict):
        return {k: finite_or_none(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [finite_or_none(v) for v in obj]
    return obj


def strict_json(obj: Any, **kwargs: Any) -> str:
    """``json.dumps`` of ``obj`` with NaN/Infinity written as null (never invalid JSON).

    >>> strict_json({"margin": float("inf")})
    '{"margin": null}'
    """
    return json.dumps(finite_or_none(obj), allow_nan=False, **kwargs)
