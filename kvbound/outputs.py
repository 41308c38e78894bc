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
           "atomic_output", "write_text_atomically", "say_wrote", "new_run_dir"]


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


def _scalar(x: Any) -> bool:
    return x is None or isinstance(x, (bool, int, float, str))


def _compact(obj: Any, indent: int, level: int, width: int) -> str:
    """JSON text of ``obj``: objects one key per line; a list of scalars on one line; a
    list of lists on one line when it fits in ``width`` columns, else one item per line."""
    pad, end = " " * (indent * (level + 1)), " " * (indent * level)
    if isinstance(obj, dict):
        if not obj:
            return "{}"
        items = [f"{pad}{json.dumps(str(k))}: {_compact(v, indent, level + 1, width)}"
                 for k, v in obj.items()]
        return "{\n" + ",\n".join(items) + "\n" + end + "}"
    if isinstance(obj, (list, tuple)):
        if not obj:
            return "[]"
        parts = [_compact(x, indent, level + 1, width) for x in obj]
        flat = "[" + ", ".join(parts) + "]"
        if all(_scalar(x) for x in obj) or ("\n" not in flat
                                            and len(pad) + len(flat) <= width):
            return flat
        return "[\n" + ",\n".join(pad + p for p in parts) + "\n" + end + "]"
    return json.dumps(obj, allow_nan=False)


def strict_json(obj: Any, **kwargs: Any) -> str:
    """``json.dumps`` of ``obj`` with NaN/Infinity written as null (never invalid JSON).

    With ``indent`` the text is compact where it can be: a list of numbers on one line
    (``"sides": [1, 2, 3]``, not one number per line), a list of short lists too.

    >>> strict_json({"margin": float("inf")})
    '{"margin": null}'
    >>> print(strict_json({"shapes": [[1, 1], [2, 2]], "bits": [8, 16]}, indent=2))
    {
      "shapes": [[1, 1], [2, 2]],
      "bits": [8, 16]
    }
    """
    clean = finite_or_none(obj)
    indent = kwargs.pop("indent", None)
    if indent is None or kwargs:
        return json.dumps(clean, allow_nan=False, indent=indent, **kwargs)
    return _compact(clean, int(indent), 0, COMPACT_WIDTH)


#: Lists of lists are kept on one line up to this many columns.
COMPACT_WIDTH = 100


def say_wrote(command: str, written: list[tuple[Path, str]], *, to_stderr: bool = False) -> None:
    """Tell the user what a command wrote: one line per file, with what it holds. On
    stdout, or on stderr when stdout carries JSON (``to_stderr``)."""
    import sys

    if not written:
        return
    stream = sys.stderr if to_stderr else sys.stdout
    for path, what in written:
        print(f"kvbound {command}: wrote {path} ({what})", file=stream)


def new_run_dir(parent: Path, stem: str) -> Path:
    """A new folder ``parent/stem-NNN`` (the first free number from 001), created here:
    a run never overwrites an earlier run's files.

    >>> import tempfile
    >>> with tempfile.TemporaryDirectory() as tmp:
    ...     [new_run_dir(Path(tmp), "attack").name for _ in range(2)]
    ['attack-001', 'attack-002']
    """
    parent.mkdir(parents=True, exist_ok=True)
    taken = [p.name for p in parent.glob(f"{stem}-*")]
    number = 1 + max((int(n.rsplit("-", 1)[1]) for n in taken
                      if n.rsplit("-", 1)[1].isdigit()), default=0)
    while True:
        candidate = parent / f"{stem}-{number:03d}"
        try:
            candidate.mkdir()
            return candidate
        except FileExistsError:  # another run took it meanwhile
            number += 1


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
