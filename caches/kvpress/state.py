"""What a kvpress press kept, as bytes: per layer and head, the kept rows only.

Purpose: the message of the kvpress adapter (caches.kvpress.adapter) and the whole of Bob's
side of it. It needs numpy only: Bob's worker rebuilds the cache from these bytes without
importing torch or kvpress. A press returns, per layer, key and value tensors in kvpress's
(batch, heads, tokens, d) layout; what it kept is stored here row by row, head by head:

* rows a press only *masks* (AdaKVPress and the others that set
  ``module.masked_key_indices``, kvpress ``presses/adakv_press.py`` lines 76-81) are
  dropped, so the message shrinks as the press claims;
* channels a press zeroes in every row of a head (ThinKPress, ``presses/think_press.py``
  lines 84-88) are not stored: a bitmap of the stored channels per head stands for them;
* each row carries the position of the token it was taken from, or :data:`SYNTHETIC`
  when a press wrote a row that is no copy of any input row (a merge changing values
  keeps the key's position; see the adapter).

Layout (after the framing tag ``KVP1``; everything little-endian):
``d: u16 | layers: u16 | heads: u16 | tokens seen: u32 | dtype: u8``, then for every
layer and head: ``rows: u32 | key channel bitmap | value channel bitmap |
positions: rows x u32 | keys: rows x (stored key channels) | values: rows x (stored value
channels)`` at the dtype (float16, bfloat16 as its 16 raw bits, or float32), then the
CRC-32. Bob attends block-causally (docs/theorem.md#model): the block's queries see every
kept row of their head and the block's own tokens.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, ClassVar

import numpy as np

from lowerbound.validation import InvalidArgument
from reduction.attention import attend
from reduction.cache import CacheParams
from reduction.message import Reader, Writer, check_header_field, frame, unframe

__all__ = ["SYNTHETIC", "DTYPES", "HeadRows", "KvpressState", "KvpressMessageCache",
           "dtype_name", "dtype_option", "grid", "stored_channels"]

#: The position stored for a row a press wrote itself (no input row has its content).
SYNTHETIC = 0xFFFFFFFF
#: Storage dtypes: name -> (code in the header, bytes per entry).
DTYPES: dict[str, tuple[int, int]] = {"float16": (0, 2), "bfloat16": (1, 2), "float32": (2, 4)}
_TAG = b"KVP1"


def dtype_name(value: Any) -> str:
    """A storage dtype named by the option ``dtype`` (InvalidArgument otherwise).

    >>> dtype_name("bfloat16")
    'bfloat16'
    """
    if not isinstance(value, str) or value not in DTYPES:
        raise InvalidArgument(f"dtype={value!r}; choose one of {', '.join(DTYPES)}")
    return value


def dtype_option(params: CacheParams) -> str:
    """The option ``dtype`` (default float16, as kvbound's eviction ports store)."""
    return dtype_name(params.option("dtype", "float16"))


def _encode(a: np.ndarray, dtype: str) -> bytes:
    """float64 entries (exact at ``dtype`` already) as that dtype's little-endian bytes."""
    if dtype == "bfloat16":
        bits = np.ascontiguousarray(a, dtype="<f4").view("<u4")
        return (bits >> 16).astype("<u2").tobytes()
    return np.ascontiguousarray(a, dtype="<f2" if dtype == "float16" else "<f4").tobytes()


def _decode(r: Reader, dtype: str, shape: tuple[int, int], field: str) -> np.ndarray:
    if dtype == "bfloat16":
        half = r.array("<u2", shape, field).astype("<u4") << 16
        return half.view("<f4").astype(np.float64)
    return r.array("<f2" if dtype == "float16" else "<f4", shape, field).astype(np.float64)


@dataclass
class HeadRows:
    """The rows one head keeps: positions (int64, SYNTHETIC for written rows), keys and
    values (float64 holding values exact at the storage dtype; unstored channels 0)."""

    positions: np.ndarray
    keys: np.ndarray
    values: np.ndarray

    @classmethod
    def empty(cls, d: int) -> HeadRows:
        return cls(np.zeros(0, np.int64), np.zeros((0, d)), np.zeros((0, d)))


def stored_channels(a: np.ndarray) -> np.ndarray:
    """Channels with any nonzero bit pattern (a -0.0 counts as stored)."""
    return np.signbit(a).any(axis=0) | (a != 0).any(axis=0)


@dataclass
class KvpressState:
    """The kept rows of every (layer, head), and how many tokens were seen."""

    d: int
    dtype: str
    seen: int
    heads: list[list[HeadRows]]

    def to_bytes(self) -> bytes:
        w = Writer().u16(self.d).u16(len(self.heads)).u16(len(self.heads[0]))
        w.u32(self.seen).u8(DTYPES[self.dtype][0])
        for layer in self.heads:
            for rows in layer:
                kc, vc = stored_channels(rows.keys), stored_channels(rows.values)
                w.u32(rows.positions.size)
                w.raw(np.packbits(kc).tobytes()).raw(np.packbits(vc).tobytes())
                w.array(rows.positions, "<u4")
                w.raw(_encode(rows.keys[:, kc], self.dtype))
                w.raw(_encode(rows.values[:, vc], self.dtype))
        return frame(_TAG, w.getvalue())

    @classmethod
    def from_bytes(cls, data: bytes, params: CacheParams, layers: int = 1,
                   heads: int = 1) -> KvpressState:
        r = Reader(unframe(data, _TAG), "kvpress cache message")
        d, n_layers, n_heads = r.u16("d"), r.u16("layers"), r.u16("heads")
        r.expect(d == params.d, f"stored d={d} differs from the public d={params.d}")
        r.expect((n_layers, n_heads) == (layers, heads),
                 f"stored {n_layers} layers x {n_heads} heads, the instance has "
                 f"{layers} x {heads}")
        seen = r.token_count(params.schedule.total_tokens, "tokens seen")
        code = r.u8("dtype")
        names = [name for name, (c, _) in DTYPES.items() if c == code]
        r.expect(len(names) == 1, f"unknown dtype code {code}")
        dtype = names[0]
        mask_bytes = (d + 7) // 8
        grid: list[list[HeadRows]] = []
        for _ in range(n_layers):
            layer = []
            for _ in range(n_heads):
                n = r.u32("rows")
                r.expect(n <= seen, f"{n} kept rows exceed the {seen} tokens seen")
                masks = []
                for what in ("key", "value"):
                    bits = np.unpackbits(np.frombuffer(r.raw(mask_bytes, f"{what} channels"),
                                                       np.uint8))
                    r.expect(not bits[d:].any(), f"nonzero padding bits after the {what} "
                             "channel bitmap")
                    masks.append(bits[:d].astype(bool))
                pos = r.array("<u4", (n,), "positions").astype(np.int64)
                real = pos[pos != SYNTHETIC]
                r.expect(bool((real < seen).all()), "a position lies beyond the tokens seen")
                r.expect(np.unique(real).size == real.size, "a position is stored twice")
                keys, values = np.zeros((n, d)), np.zeros((n, d))
                keys[:, masks[0]] = _decode(r, dtype, (n, int(masks[0].sum())), "keys")
                values[:, masks[1]] = _decode(r, dtype, (n, int(masks[1].sum())), "values")
                r.expect(bool(np.isfinite(keys).all() and np.isfinite(values).all()),
                         "non-finite key or value")
                layer.append(HeadRows(pos, keys, values))
            grid.append(layer)
        r.finish()
        return cls(d, dtype, seen, grid)


def grid(params: CacheParams) -> tuple[int, int]:
    """(layers D, heads H) the cache serves: the multi-head instance's, or (1, 1).

    >>> from reduction.schedule import Schedule
    >>> grid(CacheParams(4, Schedule.parse("1,2")))
    (1, 1)
    """
    return int(getattr(params, "layers", 1)), int(getattr(params, "heads", 1))


class KvpressMessageCache:
    """A kvpress press's cache on Bob's side: the kept rows, attended block-causally.

    Alice's side (caches.kvpress.adapter.KvpressCache) subclasses it and adds the press.
    Options: ``dtype`` (float16, bfloat16, float32) and ``compress_after`` (read by
    Alice's side only). With D layers of H heads (``CacheParams.heads``, ``layers``,
    where the construction has them) a block is a (D, H, T, d) array and every head keeps
    its own rows; with one head a block is (T, d).
    """

    OPTIONS: ClassVar[frozenset[str]] = frozenset({"dtype", "compress_after"})
    NAME: ClassVar[str] = "kvpress"
    MULTI_HEAD: ClassVar[bool] = True

    def __init__(self, params: CacheParams, rng: np.random.Generator | None = None) -> None:
        self.params = params
        self.d = check_header_field(params.d, 16, "the kvpress cache's d")
        layers, heads = grid(params)
        check_header_field(layers, 16, "the kvpress cache's layers")
        check_header_field(heads, 16, "the kvpress cache's heads")
        self.state = KvpressState(self.d, dtype_option(params), 0,
                                  [[HeadRows.empty(self.d) for _ in range(heads)]
                                   for _ in range(layers)])

    def _round(self, a: np.ndarray) -> np.ndarray:
        """``a`` rounded to the storage dtype, as float64."""
        if self.state.dtype == "bfloat16":
            bits = np.ascontiguousarray(a, dtype="<f4").view("<u4")
            bits = (bits + 0x7FFF + ((bits >> 16) & 1)) & 0xFFFF0000  # round half to even
            return bits.view("<f4").astype(np.float64)
        return np.asarray(a).astype("<f2" if self.state.dtype == "float16" else "<f4"
                                    ).astype(np.float64)

    def _check_block(self, queries: np.ndarray, keys: np.ndarray,
                     values: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """The block as float64 (D, H, T, d) arrays, shapes checked."""
        layers, heads = len(self.state.heads), len(self.state.heads[0])
        lead = () if layers * heads == 1 else (layers, heads)
        q, k, v = (np.asarray(a, dtype=np.float64) for a in (queries, keys, values))
        t = k.shape[len(lead)] if k.ndim == len(lead) + 2 else -1
        want = (*lead, t, self.d)
        if t < 1 or k.shape != want or v.shape != want:
            raise ValueError(f"keys and values must both have shape {(*lead, 'T', self.d)} "
                             f"with T >= 1; got {k.shape} and {v.shape}")
        if q.ndim != len(lead) + 2 or q.shape[: len(lead)] != lead or q.shape[-1] != self.d:
            raise ValueError(f"queries must have shape {(*lead, 'T_q', self.d)}, got {q.shape}")
        total = self.params.schedule.total_tokens
        if self.state.seen + t > total:
            raise ValueError(f"{self.state.seen} tokens seen plus a block of {t} exceed the "
                             f"schedule's {total}")
        grid_shape = (layers, heads)
        return (q.reshape(*grid_shape, *q.shape[-2:]), k.reshape(*grid_shape, t, self.d),
                v.reshape(*grid_shape, t, self.d))

    def process(self, queries: np.ndarray, keys: np.ndarray, values: np.ndarray) -> np.ndarray:
        """Append the block to every head at the storage dtype, then each head's queries
        attend to that head's rows (the block's own included)."""
        shape = np.shape(queries)
        q, k, v = self._check_block(queries, keys, values)
        t = k.shape[2]
        pos = np.arange(self.state.seen, self.state.seen + t, dtype=np.int64)
        k, v = self._round(k), self._round(v)
        out = np.empty(q.shape)
        for li, layer in enumerate(self.state.heads):
            for h, rows in enumerate(layer):
                rows = HeadRows(np.concatenate([rows.positions, pos]),
                                np.concatenate([rows.keys, k[li, h]]),
                                np.concatenate([rows.values, v[li, h]]))
                layer[h] = rows
                out[li, h] = attend(q[li, h], rows.keys, rows.values)
        self.state.seen += t
        self._after_block(q)
        return out.reshape(shape)

    def _after_block(self, queries: np.ndarray) -> None:
        """Alice's side compresses here, given the block's (D, H, T, d) queries; Bob's
        side never does."""

    def to_bytes(self) -> bytes:
        return self.state.to_bytes()

    @classmethod
    def from_bytes(cls, data: bytes, params: CacheParams) -> Any:
        """Bob's cache from the bytes and the public parameters (this class, never the
        press: no torch)."""
        cache = KvpressMessageCache(params, None)
        cache.state = KvpressState.from_bytes(data, params, *grid(params))
        return cache
