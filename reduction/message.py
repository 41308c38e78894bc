"""The Alice -> Bob message: framed bytes, parsed with bounds checks, never unpickled.

Purpose: docs/theorem.md#reduction ("her message is A's state, as bytes"). Every cache writes
its state as ``tag (4 bytes) | payload | CRC-32 (4 bytes)`` and reads it back with a
:class:`Reader`, whose every read is bounds-checked, so truncated, corrupted or foreign
bytes raise :class:`CorruptMessageError` (a ``ValueError``) with a clear message instead
of crashing, hanging or allocating without limit. The 8 framing bytes are part of the
measured memory.
"""

from __future__ import annotations

import struct
import zlib

import numpy as np

__all__ = [
    "CorruptMessageError",
    "frame",
    "unframe",
    "Reader",
    "Writer",
    "FRAME_OVERHEAD_BYTES",
    "check_header_field",
]

FRAME_OVERHEAD_BYTES = 8


class CorruptMessageError(ValueError):
    """The bytes handed to ``from_bytes`` are not a valid message of that cache."""


def frame(tag: bytes, payload: bytes) -> bytes:
    """``tag | payload | crc32(tag | payload)``; ``tag`` is 4 ASCII bytes naming the cache."""
    if len(tag) != 4:
        raise ValueError(f"a message tag has 4 bytes, got {tag!r}")
    body = tag + payload
    return body + struct.pack("<I", zlib.crc32(body))


def unframe(data: bytes, tag: bytes) -> bytes:
    """The payload of a framed message, after checking its length, tag and CRC-32."""
    if not isinstance(data, (bytes, bytearray, memoryview)):
        raise CorruptMessageError(f"a message must be bytes, got {type(data).__name__}")
    data = bytes(data)
    if len(data) < FRAME_OVERHEAD_BYTES:
        raise CorruptMessageError(
            f"message of {len(data)} bytes is truncated (a framed message has at least "
            f"{FRAME_OVERHEAD_BYTES})"
        )
    if data[:4] != tag:
        raise CorruptMessageError(
            f"message tag {data[:4]!r} does not match {tag!r}: bytes of another cache, or corrupt"
        )
    (crc,) = struct.unpack("<I", data[-4:])
    if zlib.crc32(data[:-4]) != crc:
        raise CorruptMessageError("message checksum (CRC-32) mismatch: corrupt or truncated bytes")
    return data[4:-4]


def check_header_field(value: int, bits: int, what: str) -> int:
    """``value`` if it fits an unsigned ``bits``-bit header field, else a ValueError.

    >>> check_header_field(64, 16, "the exact cache's d")
    64
    >>> check_header_field(70000, 16, "the exact cache's d")
    Traceback (most recent call last):
    ...
    ValueError: the exact cache's d=70000 does not fit its 16-bit header field (at most 65535)
    """
    if not 0 <= int(value) < 1 << bits:
        raise ValueError(f"{what}={value} does not fit its {bits}-bit header field "
                         f"(at most {(1 << bits) - 1})")
    return int(value)


class Writer:
    """Little-endian builder of a payload (an out-of-range field is a ValueError)."""

    def __init__(self) -> None:
        self._parts: list[bytes] = []

    def _pack(self, fmt: str, bits: int, v: int) -> Writer:
        self._parts.append(struct.pack(fmt, check_header_field(v, bits, "a message field")))
        return self

    def u8(self, v: int) -> Writer:
        return self._pack("<B", 8, v)

    def u16(self, v: int) -> Writer:
        return self._pack("<H", 16, v)

    def u32(self, v: int) -> Writer:
        return self._pack("<I", 32, v)

    def u64(self, v: int) -> Writer:
        return self._pack("<Q", 64, v)

    def f64(self, v: float) -> Writer:
        self._parts.append(struct.pack("<d", v))
        return self

    def raw(self, b: bytes) -> Writer:
        self._parts.append(bytes(b))
        return self

    def array(self, a: np.ndarray, dtype: str) -> Writer:
        """Append ``a`` cast to the little-endian ``dtype`` (e.g. '<f2'), C order."""
        self._parts.append(np.ascontiguousarray(a, dtype=np.dtype(dtype)).tobytes())
        return self

    def getvalue(self) -> bytes:
        return b"".join(self._parts)


class Reader:
    """Bounds-checked little-endian reader over a payload."""

    def __init__(self, payload: bytes, what: str = "message") -> None:
        self._buf = memoryview(payload)
        self._pos = 0
        self._what = what

    @property
    def remaining(self) -> int:
        return len(self._buf) - self._pos

    def _take(self, n: int, field: str) -> bytes:
        if n < 0 or n > self.remaining:
            raise CorruptMessageError(
                f"{self._what} is truncated: field {field!r} needs {n} bytes, "
                f"{self.remaining} left"
            )
        out = bytes(self._buf[self._pos : self._pos + n])
        self._pos += n
        return out

    def u8(self, field: str) -> int:
        return int(struct.unpack("<B", self._take(1, field))[0])

    def u16(self, field: str) -> int:
        return int(struct.unpack("<H", self._take(2, field))[0])

    def u32(self, field: str) -> int:
        return int(struct.unpack("<I", self._take(4, field))[0])

    def u64(self, field: str) -> int:
        return int(struct.unpack("<Q", self._take(8, field))[0])

    def f64(self, field: str) -> float:
        return float(struct.unpack("<d", self._take(8, field))[0])

    def raw(self, n: int, field: str) -> bytes:
        return self._take(n, field)

    def array(self, dtype: str, shape: tuple[int, ...], field: str) -> np.ndarray:
        """Read an array of the given little-endian dtype and shape (a writable copy)."""
        dt = np.dtype(dtype)
        count = 1
        for s in shape:
            if s < 0:
                raise CorruptMessageError(f"{self._what}: negative size in field {field!r}")
            count *= s
        data = self._take(count * dt.itemsize, field)
        return np.frombuffer(data, dtype=dt).reshape(shape).copy()

    def token_count(self, total: int, field: str = "tokens") -> int:
        """A u32 token count, checked against the schedule's ``total`` before any use."""
        n = self.u32(field)
        self.expect(n <= total, f"{n} {field} exceed the schedule's {total}")
        return n

    def expect(self, condition: bool, message: str) -> None:
        """Raise CorruptMessageError(message) unless ``condition``."""
        if not condition:
            raise CorruptMessageError(f"{self._what}: {message}")

    def finish(self) -> None:
        """Check that the payload has been read to its end."""
        if self.remaining:
            raise CorruptMessageError(
                f"{self._what} has {self.remaining} unexpected trailing bytes"
            )
