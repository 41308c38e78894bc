"""The per-head wrapper: any one-head cache run on every (layer, head), the uniform baseline.

Purpose: docs/theorem.md#c2-run. With D * H > 1 heads a cache receives (D, H, T_k, d)
blocks. A class that does not handle them itself (no ``MULTI_HEAD = True``) is run by
:func:`per_head_class`: one instance of the one-head class per (layer, head), in
(layer, head) order, each fed its own head's (T_k, d) slice of every block.

Budget: when the options carry a ``budget`` (a kept fraction f of all D * H * L rows, or
a count of them) and the one-head class reads one, the wrapper keeps
B_tot = ``reduction.cache.budget_rows(budget, params)`` rows and gives every head an
equal share (``reduction.cache.uniform_split``: the first B_tot mod (D * H) heads one row
more), as a token count. This is the uniform allocation every head-aware policy is
compared with. Every other option reaches every head unchanged. A share of 0 rows is
refused (a one-head cache keeps at least one token).

Randomness: the wrapper's generator spawns one child per head (``Generator.spawn``), so
the run is a function of the one seed.

One head: with D = H = 1 the wrapper takes (T_k, d) blocks and hands them to its one
instance, so a registry entry may name ``per_head_class(cls)`` itself: it is then a
multi-head cache (``attack --heads`` sweeps it) that runs anywhere the one-head class does.

Message: ``tag PHD1 | layers (u16) | heads (u16) | D * H lengths (u32) | the heads' own
messages, concatenated | CRC-32``. ``from_bytes`` checks the shape against the public
parameters and the lengths against the bytes before it slices, then hands each head's
bytes to the one-head class's own ``from_bytes``. The table of lengths (4 bytes a head)
and the frame (12 bytes) are counted in the memory like everything else.
"""

from __future__ import annotations

import functools
from typing import Any, ClassVar

import numpy as np

from caches.entry import declared_options
from lowerbound.validation import InvalidArgument
from reduction.cache import CacheParams, budget_rows, check_heads_block, uniform_split
from reduction.cachespec import is_multi_head
from reduction.message import Reader, Writer, frame, unframe

__all__ = ["PerHeadCache", "per_head_class", "head_params"]


def head_params(cls: type, params: CacheParams) -> list[CacheParams]:
    """The one-head parameters of every (layer, head), in (layer, head) order.

    >>> from reduction.schedule import Schedule
    >>> from caches.snapkv import SnapKVCache
    >>> p = CacheParams(8, Schedule.parse("var-256"), {"budget": 0.25}, heads=3)
    >>> [q.option("budget") for q in head_params(SnapKVCache, p)]
    [106, 106, 106]
    """
    n = params.n_heads
    options = dict(params.options)
    declared = declared_options(cls)
    if "budget" not in options or (declared is not None and "budget" not in declared):
        return [params.one_head()] * n
    total = budget_rows(options["budget"], params)
    shares = uniform_split(total, n)
    if shares[-1] < 1:
        raise InvalidArgument(
            f"budget={options['budget']!r} keeps {total} of the {n * params.schedule.cached_tokens}"
            f" rows of {params.layers} x {params.heads} heads: fewer than one per head; give a "
            f"budget of at least {n} rows (or {n / (n * params.schedule.cached_tokens):.3g} "
            "as a fraction)")
    distinct = {s: params.one_head({**options, "budget": s}) for s in set(shares)}
    return [distinct[s] for s in shares]


class PerHeadCache:
    """A one-head cache class run on every (layer, head) (module docstring).

    Subclasses made by :func:`per_head_class` set ``INNER`` (the one-head class).
    """

    INNER: ClassVar[Any] = None
    MULTI_HEAD: ClassVar[bool] = True
    TAG: ClassVar[bytes] = b"PHD1"

    def __init__(self, params: CacheParams, rng: np.random.Generator | None = None) -> None:
        if self.INNER is None:
            raise InvalidArgument("PerHeadCache runs a one-head class: build it with "
                                  "per_head_class(cls)")
        self.params = params
        children = np.random.default_rng(rng).spawn(params.n_heads)
        self.heads = [self.INNER(p, r) for p, r in zip(head_params(self.INNER, params),
                                                      children, strict=True)]

    def process(self, queries: np.ndarray, keys: np.ndarray, values: np.ndarray) -> np.ndarray:
        """Every head's slice through its own cache; the outputs stacked (D, H, T, d)
        ((T, d) blocks straight to the one instance when D = H = 1)."""
        if not self.params.multi_head:
            return np.asarray(self.heads[0].process(queries, keys, values), dtype=np.float64)
        q, k, v = check_heads_block(queries, keys, values, self.params)
        out = np.empty(q.shape, dtype=np.float64)
        heads = self.params.heads
        for j, cache in enumerate(self.heads):
            layer, head = divmod(j, heads)
            z = np.asarray(cache.process(q[layer, head], k[layer, head], v[layer, head]),
                           dtype=np.float64)
            if z.shape != q.shape[2:]:
                raise ValueError(f"{self.INNER.__name__}.process returned shape {z.shape} for "
                                 f"head ({layer}, {head}); expected {q.shape[2:]}")
            out[layer, head] = z
        return out

    def to_bytes(self) -> bytes:
        parts = [bytes(cache.to_bytes()) for cache in self.heads]
        w = Writer().u16(self.params.layers).u16(self.params.heads)
        for part in parts:
            w.u32(len(part))
        for part in parts:
            w.raw(part)
        return frame(self.TAG, w.getvalue())

    @classmethod
    def from_bytes(cls, data: bytes, params: CacheParams) -> PerHeadCache:
        r = Reader(unframe(data, cls.TAG), "per-head message")
        layers, heads = r.u16("layers"), r.u16("heads")
        r.expect((layers, heads) == (params.layers, params.heads),
                 f"{layers} layers x {heads} heads stored, the public parameters say "
                 f"{params.layers} x {params.heads}")
        lengths = [r.u32("length") for _ in range(layers * heads)]
        r.expect(sum(lengths) == r.remaining,
                 f"the heads' lengths add up to {sum(lengths)} bytes, {r.remaining} follow")
        out = cls.__new__(cls)
        out.params = params
        out.heads = [cls.INNER.from_bytes(r.raw(n, "head message"), p)
                     for n, p in zip(lengths, head_params(cls.INNER, params), strict=True)]
        r.finish()
        return out


@functools.cache
def per_head_class(cls: type) -> type:
    """The per-head wrapper class of the one-head class ``cls`` (one per class).

    >>> from caches.snapkv import SnapKVCache
    >>> per_head_class(SnapKVCache).__name__, per_head_class(SnapKVCache).MULTI_HEAD
    ('PerHead[SnapKVCache]', True)
    """
    if is_multi_head(cls):
        raise InvalidArgument(f"{cls.__name__} handles many heads itself; it needs no wrapper")
    name = f"PerHead[{cls.__name__}]"
    body: dict[str, object] = {"INNER": cls, "__doc__": f"{cls.__name__} on every "
                               "(layer, head), budget split uniformly."}
    options = getattr(cls, "OPTIONS", None)
    if options is not None:
        body["OPTIONS"] = options  # the registry validates options against the inner's
    return type(name, (PerHeadCache,), body)
