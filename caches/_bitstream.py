"""Bit-level writer and bounds-checked reader with Rice and LEB128 codes (private helper).

Purpose: the instance-optimal packer (:mod:`caches.matching.packer`) spends ~2 bits
per key on its minimal perfect hash, so its seeds and bucket sizes are written at bit
granularity with Golomb-Rice codes. Every read is bounds-checked: truncated or corrupt
bytes raise :class:`reduction.message.CorruptMessageError`, never an IndexError or a hang.

Main statement: ``rice(v, k)`` writes ``v >> k`` in unary (that many 0s, then a 1) and the
low ``k`` bits of ``v``, most significant first: ``(v >> k) + 1 + k`` bits (Golomb 1966,
Rice 1979).

References: S. W. Golomb, "Run-length encodings", IEEE Trans. Inf. Theory 12 (1966);
R. F. Rice, "Some practical universal noiseless coding techniques", JPL 79-22 (1979).
"""

from __future__ import annotations

import numpy as np

from reduction.message import CorruptMessageError

__all__ = ["BitWriter", "BitReader", "leb128", "read_leb128"]


class BitWriter:
    """Append bits (most significant first) and return them packed into bytes.

    >>> w = BitWriter(); w.rice(5, 1); w.bits(3, 2); w.to_bytes().hex(), w.nbits
    ('3c', 6)
    """

    def __init__(self) -> None:
        self._bits: list[int] = []

    @property
    def nbits(self) -> int:
        """Bits written so far."""
        return len(self._bits)

    def bits(self, value: int, width: int) -> None:
        """The low ``width`` bits of ``value``, most significant first."""
        if value < 0 or value >> width:
            raise ValueError(f"value={value} does not fit in {width} bits")
        self._bits.extend((value >> i) & 1 for i in range(width - 1, -1, -1))

    def unary(self, q: int) -> None:
        """``q`` zeros then a one."""
        if q < 0:
            raise ValueError(f"unary code of q={q} < 0")
        self._bits.extend([0] * q)
        self._bits.append(1)

    def rice(self, value: int, k: int) -> None:
        """Golomb-Rice code of ``value >= 0`` with parameter ``k``: unary(v >> k), k bits."""
        if value < 0:
            raise ValueError(f"Rice code of value={value} < 0")
        self.unary(value >> k)
        self.bits(value & ((1 << k) - 1), k)

    def gamma(self, value: int) -> None:
        """Elias gamma code of ``value >= 1``: unary(floor(log2 v)), then the low bits of v.

        >>> w = BitWriter(); w.gamma(5); w.nbits
        5
        """
        if value < 1:
            raise ValueError(f"Elias gamma code of value={value} < 1")
        n = value.bit_length() - 1
        self.unary(n)
        self.bits(value - (1 << n), n)

    def array(self, values: np.ndarray, width: int) -> None:
        """Each of ``values`` (uint64) in ``width`` bits, most significant first."""
        v = np.asarray(values, dtype=np.uint64)
        if width == 0 or v.size == 0:
            return
        if width < 64 and (v >> np.uint64(width)).any():
            raise ValueError(f"a value does not fit in {width} bits")
        shifts = np.arange(width - 1, -1, -1, dtype=np.uint64)
        self._bits.extend(((v[:, None] >> shifts[None, :]) & np.uint64(1)).ravel().tolist())

    def append(self, other: BitWriter) -> None:
        """Append every bit ``other`` has written."""
        self._bits.extend(other._bits)

    def to_bytes(self) -> bytes:
        """The bits, zero-padded to whole bytes."""
        return np.packbits(np.asarray(self._bits, dtype=np.uint8)).tobytes()


class BitReader:
    """Read what :class:`BitWriter` wrote; every read is bounds-checked.

    >>> r = BitReader(bytes.fromhex('3c')); r.rice(1, 1 << 20), r.bits(2)
    (5, 3)
    >>> r.finish()
    """

    def __init__(self, data: bytes, what: str = "bit stream") -> None:
        self._bits = np.unpackbits(np.frombuffer(bytes(data), dtype=np.uint8))
        self._pos = 0
        self._what = what

    @property
    def remaining(self) -> int:
        return int(self._bits.size) - self._pos

    def bits(self, width: int) -> int:
        if width > self.remaining:
            raise CorruptMessageError(f"{self._what} is truncated ({width} bits wanted, "
                                      f"{self.remaining} left)")
        value = 0
        for bit in self._bits[self._pos : self._pos + width]:
            value = (value << 1) | int(bit)
        self._pos += width
        return value

    def unary(self, limit: int) -> int:
        """Count zeros up to the next one; more than ``limit`` zeros is corrupt."""
        ones = np.flatnonzero(self._bits[self._pos : self._pos + limit + 1])
        if ones.size == 0:
            raise CorruptMessageError(f"{self._what}: unary code longer than {limit} or "
                                      "truncated")
        q = int(ones[0])
        self._pos += q + 1
        return q

    def rice(self, k: int, limit: int) -> int:
        """A Rice code with parameter ``k``; values above ``limit`` are corrupt."""
        value = (self.unary(limit >> k) << k) | self.bits(k)
        if value > limit:
            raise CorruptMessageError(f"{self._what}: value {value} exceeds its limit {limit}")
        return value

    def gamma(self, limit: int) -> int:
        """An Elias gamma code; values above ``limit`` are corrupt."""
        n = self.unary(max(limit, 1).bit_length())
        value = (1 << n) | self.bits(n)
        if value > limit:
            raise CorruptMessageError(f"{self._what}: value {value} exceeds its limit {limit}")
        return value

    def array(self, count: int, width: int) -> np.ndarray:
        """``count`` values of ``width`` <= 64 bits each, as uint64 (bounds-checked)."""
        if count * width > self.remaining:
            raise CorruptMessageError(f"{self._what} is truncated ({count * width} bits "
                                      f"wanted, {self.remaining} left)")
        if width == 0 or count == 0:
            return np.zeros(count, dtype=np.uint64)
        block = self._bits[self._pos : self._pos + count * width].reshape(count, width)
        self._pos += count * width
        weights = np.uint64(1) << np.arange(width - 1, -1, -1, dtype=np.uint64)
        return (block.astype(np.uint64) * weights[None, :]).sum(axis=1, dtype=np.uint64)

    @property
    def position(self) -> int:
        """Bits read so far."""
        return self._pos

    def written_between(self, start: int, stop: int) -> BitWriter:
        """The bits at positions [start, stop), as a writer (to write them out again)."""
        out = BitWriter()
        out._bits.extend(self._bits[start:stop].tolist())
        return out

    def finish(self) -> None:
        """Only zero padding (< 8 bits) may remain."""
        if self.remaining >= 8 or self._bits[self._pos :].any():
            raise CorruptMessageError(f"{self._what} has {self.remaining} unexpected trailing "
                                      "bits")


def leb128(value: int) -> bytes:
    """Unsigned LEB128: 7 bits per byte, high bit set on all but the last.

    >>> leb128(424).hex(), leb128(5).hex()
    ('a803', '05')
    """
    if value < 0:
        raise ValueError(f"LEB128 of value={value} < 0")
    out = bytearray()
    while True:
        byte, value = value & 0x7F, value >> 7
        out.append(byte | (0x80 if value else 0))
        if not value:
            return bytes(out)


def read_leb128(data: bytes, what: str = "message", max_bytes: int = 5) -> tuple[int, int]:
    """``(value, bytes used)`` of the LEB128 number at the start of ``data``.

    >>> read_leb128(bytes.fromhex('a803ff'))
    (424, 2)
    """
    value = 0
    for i, byte in enumerate(data[:max_bytes]):
        value |= (byte & 0x7F) << (7 * i)
        if not byte & 0x80:
            if i and byte == 0:
                raise CorruptMessageError(f"{what}: non-canonical LEB128 length")
            return value, i + 1
    raise CorruptMessageError(f"{what}: truncated or over-long LEB128 number")
