"""Packing small unsigned integer codes (b bits each) into bytes and back.

Purpose: the compressed caches' payloads (quantisation codes, bit-packed values) are
measured in bits, so codes are stored at exactly b bits each (plus < 8 bits of padding).
"""

from __future__ import annotations

import numpy as np

from lowerbound.validation import InvalidArgument, check_int_at_least

__all__ = ["pack_codes", "unpack_codes", "packed_size"]


def packed_size(count: int, bits: int) -> int:
    """Bytes that :func:`pack_codes` uses for ``count`` codes of ``bits`` bits.

    >>> packed_size(10, 3)
    4
    """
    return (check_int_at_least(count, "count", 0) * check_int_at_least(bits, "bits", 1) + 7) // 8


def pack_codes(codes: np.ndarray, bits: int) -> bytes:
    """Pack unsigned integers < 2**bits (any shape, C order), most significant bit first.

    >>> pack_codes(np.array([1, 2, 3]), 2).hex()
    '6c'
    """
    b = check_int_at_least(bits, "bits", 1)
    if b > 32:
        raise InvalidArgument(f"bits={b} must be <= 32")
    c = np.asarray(codes).ravel().astype(np.uint64)
    if c.size and int(c.max()) >= (1 << b):
        raise InvalidArgument(f"a code exceeds {b} bits")
    shifts = np.arange(b - 1, -1, -1, dtype=np.uint64)
    bit_matrix = ((c[:, None] >> shifts[None, :]) & np.uint64(1)).astype(np.uint8)
    return np.packbits(bit_matrix.ravel()).tobytes()


def unpack_codes(data: bytes, bits: int, count: int) -> np.ndarray:
    """Inverse of :func:`pack_codes`: ``count`` codes (uint32) from ``data``.

    >>> unpack_codes(bytes.fromhex('6c'), 2, 3).tolist()
    [1, 2, 3]
    """
    b = check_int_at_least(bits, "bits", 1)
    n = check_int_at_least(count, "count", 0)
    if len(data) != packed_size(n, b):
        raise InvalidArgument(f"{len(data)} bytes cannot hold exactly {n} codes of {b} bits")
    flat = np.unpackbits(np.frombuffer(data, dtype=np.uint8))[: n * b].reshape(n, b)
    weights = (np.uint64(1) << np.arange(b - 1, -1, -1, dtype=np.uint64))
    return (flat.astype(np.uint64) @ weights).astype(np.uint32) if n else np.zeros(0, np.uint32)
