"""Where the commands write, checked before any work, and strict JSON.

* Output paths (``verify --out/--report/--figure``, ``attack --out``) are checked up front:
  a run of minutes must not end in "cannot write". A file path must not be a directory
  or any other non-regular file (``/dev/full``, a FIFO), and the nearest existing
  ancestor of what will be created must be a writable directory.
* Files are written whole or not at all (:func:`atomic_output`: a temporary file in the
  same directory, renamed over the target), by the verifier, after every worker is
  gone (docs/theorem.md#sandbox); a failed write is one line naming the file.
* JSON written or printed is strict (RFC 8259): NaN and +-Infinity, which Python's json
  module would write as bare ``NaN``/``Infinity``, are written as ``null``. (A decoding
  margin over no bits is +inf, a ratio over a zero bound is undefined, ...).
"""

from __future__ import annotations

import contextlib
import json
import math
import os
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import IO, Any

from lowerbound.validation import InvalidArgument

__all__ = ["check_output_file", "check_output_dir", "strict_json", "finite_or_none",
           "atomic_output", "write_text_atomically"]


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
    if path.exists() and not path.is_file():
        raise InvalidArgument(f"{flag}={path} exists and is not a regular file; give a file "
                              "name (the record is written to a new file, then renamed)")
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


@contextlib.contextmanager
def atomic_output(path: Path, mode: str = "w") -> Iterator[IO[Any]]:
    """A file to write ``path`` through: a temporary file next to it, renamed over
    ``path`` when the block ends without error (so ``path`` holds the old content or the
    new, never a part). An OSError becomes InvalidArgument naming the file.

    >>> import tempfile
    >>> out = Path(tempfile.mkdtemp()) / "record"
    >>> with atomic_output(out) as fh:
    ...     _ = fh.write("done")
    >>> out.read_text()
    'done'
    """
    path = Path(path)
    tmp: str | None = None
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".part")
        with os.fdopen(fd, mode) as fh:
            yield fh
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
        tmp = None
    except OSError as exc:
        raise InvalidArgument(f"cannot write {path}: {exc.strerror or exc}") from None
    finally:
        if tmp is not None:
            with contextlib.suppress(OSError):
                os.unlink(tmp)


def write_text_atomically(path: Path, text: str) -> None:
    """``path.write_text(text)``, whole or not at all (:func:`atomic_output`)."""
    with atomic_output(path) as fh:
        fh.write(text)
