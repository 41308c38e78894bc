"""The binary frame between the verifier and the parties' worker processes.

Purpose: the process boundary of the reduction (docs/theorem.md#reduction) made explicit
and hostile-proof. Only these frames cross it: no pickle, no shared memory. A frame is

    b"KVF1" | u8 kind | u32 header length | header (UTF-8 JSON object)
            | u16 segment count | per segment: u64 length | bytes

Requests carry the public parameters in the header and raw payloads in the segments
(Alice's packed bits, or the message bytes for Bob); responses carry a status kind, a
JSON header (shape, error text) and raw segments (Alice's state at every scale boundary,
or Bob's float64 outputs). Every length is checked against a limit BEFORE anything is
allocated, reads and writes run against a deadline, and a malformed frame raises
:class:`FrameError` naming what was wrong. The verifier reads a worker's answers with
the tight limits the request implies: a header of at most :data:`REPLY_HEADER_BYTES`
(a few KiB of JSON, its nesting bounded by that), the number of segments it expects,
and a stated size per segment, so what a cache sends costs the verifier no more memory
than the run was allowed.
"""

from __future__ import annotations

import json
import os
import select
import struct
import time
from typing import Any

__all__ = [
    "FrameError",
    "FrameTimeout",
    "Frame",
    "encode_frame",
    "read_frame",
    "write_all",
    "MAGIC",
    "REQ_ALICE",
    "REQ_BOB",
    "REQ_CHECK",
    "REQ_CACHE",
    "RES_OK",
    "RES_BAD_INPUT",
    "RES_FAILURE",
    "MAX_HEADER_BYTES",
    "REPLY_HEADER_BYTES",
    "MAX_SEGMENTS",
]

MAGIC = b"KVF1"
REQ_ALICE, REQ_BOB, REQ_CHECK, REQ_CACHE = 1, 2, 3, 4
RES_OK, RES_BAD_INPUT, RES_FAILURE = 16, 17, 18
_KINDS = frozenset({REQ_ALICE, REQ_BOB, REQ_CHECK, REQ_CACHE, RES_OK, RES_BAD_INPUT,
                    RES_FAILURE})
MAX_HEADER_BYTES = 64 << 20  # a request's header (the verifier's own JSON)
REPLY_HEADER_BYTES = 4096  # a worker's answer: a shape, a number, an error line
MAX_SEGMENTS = 4096
_PREFIX = struct.Struct("<4sBI")
_SEGMENT = struct.Struct("<Q")


class FrameError(ValueError):
    """Bytes on the channel that are not a well-formed frame (or exceed a limit)."""


class FrameTimeout(TimeoutError):
    """The peer did not complete a frame before the deadline."""


class Frame:
    """A decoded frame: its kind, its JSON header, its raw segments."""

    __slots__ = ("kind", "header", "segments")

    def __init__(self, kind: int, header: dict[str, Any], segments: list[bytes]) -> None:
        self.kind = kind
        self.header = header
        self.segments = segments


def encode_frame(
    kind: int, header: dict[str, Any], segments: list[bytes] | None = None
) -> bytes:
    """The bytes of one frame; segments must be plain ``bytes``.

    >>> f = encode_frame(RES_OK, {"a": 1}, [b"xy"])
    >>> f[:4], len(f)
    (b'KVF1', 29)
    """
    if kind not in _KINDS:
        raise ValueError(f"frame kind {kind} is not one of {sorted(_KINDS)}")
    segments = [] if segments is None else segments
    text = json.dumps(header, allow_nan=False).encode()
    if len(text) > MAX_HEADER_BYTES or len(segments) > MAX_SEGMENTS:
        raise ValueError("frame header or segment count over its limit")
    parts = [_PREFIX.pack(MAGIC, kind, len(text)), text, struct.pack("<H", len(segments))]
    for seg in segments:
        if type(seg) is not bytes:
            raise TypeError(f"frame segments must be plain bytes, got {type(seg).__name__}")
        parts += [_SEGMENT.pack(len(seg)), seg]
    return b"".join(parts)


def _wait(fd: int, for_write: bool, deadline: float | None) -> None:
    if deadline is None:
        return
    left = deadline - time.monotonic()
    if left <= 0:
        raise FrameTimeout("deadline passed")
    r, w, _ = select.select([] if for_write else [fd], [fd] if for_write else [], [], left)
    if not (r or w):
        raise FrameTimeout("deadline passed")


def write_all(fd: int, data: bytes, deadline: float | None = None) -> None:
    """Write every byte to ``fd`` (blocking or not), giving up at ``deadline``."""
    view = memoryview(data)
    while view:
        _wait(fd, True, deadline)
        try:
            n = os.write(fd, view[: 1 << 20])
        except BlockingIOError:
            continue
        view = view[n:]


def _read_exact(fd: int, n: int, deadline: float | None) -> bytes:
    buf = bytearray(n)
    view = memoryview(buf)
    got = 0
    while got < n:
        _wait(fd, False, deadline)
        try:
            chunk = os.read(fd, min(n - got, 1 << 20))
        except BlockingIOError:
            continue
        if not chunk:
            raise EOFError(f"channel closed after {got} of {n} bytes")
        view[got : got + len(chunk)] = chunk
        got += len(chunk)
    return bytes(buf)


def read_frame(fd: int, *, max_bytes: int, deadline: float | None = None,
               max_header: int = MAX_HEADER_BYTES, max_segments: int = MAX_SEGMENTS,
               max_segment: int | None = None) -> Frame | None:
    """Read one frame from ``fd``; ``None`` on a clean end of stream before a frame.

    ``max_bytes`` bounds the total of the segments, ``max_segment`` each one,
    ``max_header`` the header and ``max_segments`` their number; a larger announced
    length raises :class:`FrameError` before any allocation. Raises
    :class:`FrameTimeout` at the deadline and ``EOFError`` when the stream ends inside a
    frame.
    """
    try:
        first = _read_exact(fd, 1, deadline)
    except EOFError:
        return None
    prefix = first + _read_exact(fd, _PREFIX.size - 1, deadline)
    magic, kind, hlen = _PREFIX.unpack(prefix)
    if magic != MAGIC:
        raise FrameError(f"bad frame magic {magic!r} (expected {MAGIC!r})")
    if kind not in _KINDS:
        raise FrameError(f"unknown frame kind {kind}")
    if hlen > max_header:
        raise FrameError(f"frame header of {hlen} bytes exceeds the {max_header}-byte limit")
    try:
        header = json.loads(_read_exact(fd, hlen, deadline).decode())
    except (UnicodeDecodeError, ValueError, RecursionError) as exc:
        raise FrameError(f"frame header is not UTF-8 JSON ({type(exc).__name__})") from None
    if not isinstance(header, dict):
        raise FrameError("frame header must be a JSON object")
    (count,) = struct.unpack("<H", _read_exact(fd, 2, deadline))
    if count > min(max_segments, MAX_SEGMENTS):
        raise FrameError(f"frame announces {count} segments (limit "
                         f"{min(max_segments, MAX_SEGMENTS)})")
    segments: list[bytes] = []
    budget = max_bytes
    for _ in range(count):
        (length,) = _SEGMENT.unpack(_read_exact(fd, _SEGMENT.size, deadline))
        if max_segment is not None and length > max_segment:
            raise FrameError(
                f"frame segment of {length} bytes exceeds the {max_segment}-byte limit"
            )
        if length > budget:
            raise FrameError(
                f"frame segments of more than {max_bytes} bytes (the limit)"
            )
        budget -= length
        segments.append(_read_exact(fd, length, deadline))
    return Frame(kind, header, segments)
