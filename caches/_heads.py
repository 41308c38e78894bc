"""Shared mechanics of the head- and layer-aware eviction caches (AdaKV, PyramidKV, ...).

Purpose: a VAR model has D layers of H heads; the multi-head instance (docs/theorem.md#c2-run)
hands a cache one (D, H, T, d) block per scale. The policies built on it differ only in
how they split a budget of kept rows over the D*H heads and which rows each head keeps.
This private module holds the rest: per head (a "slot", index l*H + h), append the block
at float16, attend the block's queries to the slot's kept rows and the block (block-causal,
docs/theorem.md#model), then keep the rows the policy selects, and serialise them.

Main statement (the eviction law of caches/_eviction.py, per row): every (layer, head,
token) row of the multi-head instance carries d independent uniform bits, and Bob's
output for an evicted row is a function of the kept rows only, so a policy that keeps
R of the D*H*L cached rows without looking at the values loses each evicted bit with
probability 1/2: error rate (1 - f)/2 with f = R / (D*H*L), however the R rows are split
across heads, layers and scales.

Conventions shared by every subclass:

* **Budget**: ``budget`` is a kept fraction of all D*H*L_{K-1} rows (or a row count);
  R = ``budget_rows(budget, params)``. Each policy turns R into per-head counts
  its own way (:meth:`HeadsEvictionCache._select`).
* **When**: attention first, eviction after, once per ``process()`` call (one scale).
  The block that completes the schedule (the last scale: Bob's) is attended and kept
  whole: no later scale reads the state after it.
* **Ties**: to the more recent token, as in caches/_eviction.py (``keep_top``).
* **Shapes**: (D, H, T, d) blocks; with D = H = 1 a (T, d) block is accepted too and the
  outputs come back as (T, d).
* **Memory** (the message): 4-byte tag; header d (u16), D (u16), H (u16), tokens seen
  (u32), rows kept (u32); one bitmap of D*H*seen bits (slot-major) marking the kept
  positions; the kept keys then the kept values at float16 (slot-major, position order);
  the policy's extra state; the CRC-32. Per-head counts follow from the bitmap.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

import numpy as np

from caches._eviction import DEFAULT_BUDGET, keep_top
from lowerbound.validation import InvalidArgument
from reduction.attention import attend
from reduction.cache import BaseCache, CacheParams, budget_rows, uniform_split
from reduction.message import Reader, Writer, check_header_field

__all__ = ["HeadsEvictionCache", "Candidates", "split_evenly", "row_budget", "joint_top"]

def split_evenly(total: int, parts: int) -> np.ndarray:
    """:func:`reduction.cache.uniform_split` as an int64 array (larger shares first).

    >>> split_evenly(10, 4).tolist()
    [3, 3, 2, 2]
    """
    return np.array(uniform_split(int(total), int(parts)), dtype=np.int64)


def row_budget(params: CacheParams, default: float = DEFAULT_BUDGET) -> int:
    """R, the rows kept after Alice's scales: ``budget_rows(budget, params)``, a kept
    fraction (or count) of all D*H*L_{K-1} cached rows."""
    budget = params.option("budget", default)
    if isinstance(budget, str) or budget is None:
        raise InvalidArgument(
            f"budget={budget!r} must be a kept fraction in (0, 1] or a whole row count >= 1"
        )
    return budget_rows(budget, params)


def joint_top(scores: list[np.ndarray], positions: list[np.ndarray], k: int) -> list[np.ndarray]:
    """Per head, the (ascending) indices of its tokens among the ``k`` best of all heads'
    scores, ties to the more recent token, then to the lower head.

    >>> [a.tolist() for a in joint_top([np.array([1.0, 3.0]), np.array([2.0, 3.0])],
    ...                                [np.arange(2), np.arange(2)], 3)]
    [[1], [0, 1]]
    """
    flat = np.concatenate(scores) if scores else np.zeros(0)
    if np.isnan(flat).any():
        raise ValueError("eviction scores contain NaN")
    pos = np.concatenate(positions) if positions else np.zeros(0, dtype=np.int64)
    head = np.concatenate([np.full(s.size, h) for h, s in enumerate(scores)]) if scores else pos
    order = np.lexsort((head, -pos, -flat))[: max(0, int(k))]
    chosen = np.zeros(flat.size, dtype=bool)
    chosen[order] = True
    cuts = np.cumsum([s.size for s in scores])[:-1]
    return [np.flatnonzero(part) for part in np.split(chosen, cuts)]


@dataclass
class Candidates:
    """The rows a boundary chooses from, per slot: the kept rows then the block's, as
    float16 keys and values and int64 positions; ``n_old[s]`` of them were kept before;
    ``seen`` tokens have arrived, this block's included."""

    keys: list[np.ndarray]
    values: list[np.ndarray]
    positions: list[np.ndarray]
    n_old: np.ndarray
    seen: int

    @property
    def sizes(self) -> np.ndarray:
        return np.array([p.size for p in self.positions], dtype=np.int64)


class HeadsEvictionCache(BaseCache):
    """Base of the head/layer-aware eviction caches: per slot, float16 K/V of kept rows.

    Subclasses set ``TAG``, ``NAME``, ``OPTIONS`` and override :meth:`_select` (or
    :meth:`_targets` and :meth:`_slot_scores`); optionally :meth:`_attend` and the
    extra-state hooks.
    """

    MULTI_HEAD: ClassVar[bool] = True
    TAG: ClassVar[bytes] = b"HEV0"
    NAME: ClassVar[str] = "heads-eviction"
    OPTIONS: ClassVar[frozenset[str]] = frozenset({"budget"})
    DEFAULT_BUDGET: ClassVar[float] = DEFAULT_BUDGET

    def __init__(self, params: CacheParams, rng: np.random.Generator | None = None) -> None:
        super().__init__(params, rng)
        self.d = check_header_field(params.d, 16, f"the {self.NAME} cache's d")
        self.layers, self.heads = params.layers, params.heads
        check_header_field(self.layers, 16, "the number of layers")
        check_header_field(self.heads, 16, "the number of heads")
        self.n_slots = self.layers * self.heads
        self.rows = row_budget(params, self.DEFAULT_BUDGET)
        empty = np.zeros((0, params.d), dtype=np.float16)
        self.keys = [empty] * self.n_slots
        self.values = [empty] * self.n_slots
        self.positions = [np.zeros(0, dtype=np.int64)] * self.n_slots
        self._starts = {start: k for k, (start, _) in enumerate(params.schedule.block_bounds)}
        self._configure(params, rng)

    # -- hooks ---------------------------------------------------------------------------
    def _configure(self, params: CacheParams, rng: np.random.Generator | None) -> None:
        """Read and validate the policy's options (called by ``__init__``)."""

    def _attend(self, slot: int, queries: np.ndarray, keys: np.ndarray,
                values: np.ndarray) -> np.ndarray:
        """One slot's outputs over its kept rows and the block (override to change it)."""
        return attend(queries, keys, values)

    def _select(self, queries: np.ndarray, cand: Candidates) -> list[np.ndarray]:
        """Per slot, the (ascending) indices of the candidates to keep.

        Default: per-slot targets from :meth:`_targets`, the top of :meth:`_slot_scores`
        (ties to the more recent token) where a slot holds more than its target.
        """
        targets = self._targets(cand)
        keep: list[np.ndarray] = []
        for s in range(self.n_slots):
            n = cand.positions[s].size
            if targets[s] >= n:
                keep.append(np.arange(n))
            else:
                scores = self._slot_scores(s, queries[s], cand)
                keep.append(keep_top(scores, cand.positions[s], int(targets[s])))
        return keep

    def _targets(self, cand: Candidates) -> np.ndarray:
        """Rows each slot keeps after this block (default: R split evenly over the slots)."""
        return np.minimum(split_evenly(self.rows, self.n_slots), cand.sizes)

    def _slot_scores(self, slot: int, queries: np.ndarray, cand: Candidates) -> np.ndarray:
        """One score per candidate of ``slot`` (higher = keep)."""
        raise NotImplementedError

    def _write_extra(self, w: Writer) -> None:
        """Serialise the policy's extra state (after keys and values)."""

    def _read_extra(self, r: Reader) -> None:
        """Read back what :meth:`_write_extra` wrote (validate every value)."""

    def _max_rows(self) -> int:
        """The most rows a state after Alice's scales can hold (for validating bytes)."""
        return self.rows

    # -- helpers for subclasses ------------------------------------------------------------
    def block_scale(self, n_new: int) -> int:
        """The 0-based scale index of a block of ``n_new`` tokens arriving now; a block
        that is not one whole scale of the schedule is refused (ValueError)."""
        k = self._starts.get(self.n_seen)
        bounds = self.params.schedule.block_bounds
        if k is None or bounds[k][1] - bounds[k][0] != n_new:
            raise ValueError(
                f"{self.NAME} needs one process() call per scale of the schedule; got a block "
                f"of {n_new} tokens after {self.n_seen} seen (scale boundaries "
                f"{[s for s, _ in bounds]})"
            )
        return k

    def slot_of(self, layer: int, head: int) -> int:
        return layer * self.heads + head

    # -- the contract --------------------------------------------------------------------
    @property
    def n_kept(self) -> int:
        return int(sum(p.size for p in self.positions))

    def _slots(self, a: np.ndarray, what: str) -> tuple[np.ndarray, bool]:
        arr = np.asarray(a)
        if arr.ndim == 2 and self.n_slots == 1:
            return arr[None], True
        if arr.ndim == 4 and arr.shape[:2] == (self.layers, self.heads) and arr.shape[3] == self.d:
            return arr.reshape(self.n_slots, arr.shape[2], self.d), False
        want = f"(D={self.layers}, H={self.heads}, tokens, d={self.d})"
        if self.n_slots == 1:
            want += f" or (tokens, d={self.d})"
        raise ValueError(f"{what} must have shape {want}; got {arr.shape}")

    def process(self, queries: np.ndarray, keys: np.ndarray, values: np.ndarray) -> np.ndarray:
        """Append the block at float16, attend every slot's queries, then select rows."""
        q, flat = self._slots(queries, "queries")
        k, _ = self._slots(keys, "keys")
        v, _ = self._slots(values, "values")
        t = k.shape[1]
        if t < 1 or v.shape != k.shape:
            raise ValueError(f"keys {k.shape} and values {v.shape} must match, with >= 1 token")
        total = self.params.schedule.total_tokens
        if self.n_seen + t > total:
            raise ValueError(
                f"{self.n_seen} tokens seen plus a block of {t} exceed the schedule's {total}"
            )
        q = q.astype(np.float64)
        new_pos = self.n_seen + np.arange(t, dtype=np.int64)
        cand = Candidates(
            [np.concatenate([self.keys[s], k[s].astype(np.float16)]) for s in range(self.n_slots)],
            [np.concatenate([self.values[s], v[s].astype(np.float16)])
             for s in range(self.n_slots)],
            [np.concatenate([self.positions[s], new_pos]) for s in range(self.n_slots)],
            np.array([p.size for p in self.positions], dtype=np.int64),
            self.n_seen + t,
        )
        out = np.empty((self.n_slots, q.shape[1], self.d))
        for s in range(self.n_slots):
            out[s] = self._attend(s, q[s], cand.keys[s], cand.values[s])
        if self.n_seen + t < total:
            keep = self._select(q, cand)
        else:  # the last scale: nothing attends to the state after it
            keep = [np.arange(p.size) for p in cand.positions]
        self.keys = [cand.keys[s][keep[s]] for s in range(self.n_slots)]
        self.values = [cand.values[s][keep[s]] for s in range(self.n_slots)]
        self.positions = [cand.positions[s][keep[s]] for s in range(self.n_slots)]
        self.n_seen += t
        return out[0] if flat else out.reshape(self.layers, self.heads, q.shape[1], self.d)

    def write_state(self, w: Writer) -> None:
        mask = np.zeros((self.n_slots, self.n_seen), dtype=np.uint8)
        for s, p in enumerate(self.positions):
            mask[s, p] = 1
        w.u16(self.d).u16(self.layers).u16(self.heads).u32(self.n_seen)
        w.u32(self.n_kept).raw(np.packbits(mask.ravel()).tobytes())
        w.array(np.concatenate(self.keys), "<f2").array(np.concatenate(self.values), "<f2")
        self._write_extra(w)

    def read_state(self, r: Reader) -> None:
        params = self.params
        d, layers, heads = r.u16("d"), r.u16("layers"), r.u16("heads")
        n_seen, n_kept = r.u32("tokens seen"), r.u32("rows kept")
        r.expect((d, layers, heads) == (params.d, self.layers, self.heads),
                 f"stored (d, D, H) = {(d, layers, heads)} differ from the public "
                 f"{(params.d, self.layers, self.heads)}")
        total = params.schedule.total_tokens
        r.expect(n_seen <= total, f"{n_seen} tokens seen exceed the schedule's {total}")
        most = self._max_rows() + (self.n_slots * n_seen if n_seen == total else 0)
        r.expect(n_kept <= min(most, self.n_slots * n_seen),
                 f"{n_kept} kept rows exceed the budget of {most} rows")
        n_bits = self.n_slots * n_seen
        bits = np.unpackbits(np.frombuffer(r.raw((n_bits + 7) // 8, "kept bitmap"), np.uint8))
        r.expect(not bits[n_bits:].any(), "nonzero padding bits after the kept bitmap")
        mask = bits[:n_bits].reshape(self.n_slots, n_seen)
        r.expect(int(mask.sum()) == n_kept,
                 f"the bitmap marks {int(mask.sum())} kept rows, the header says {n_kept}")
        keys = r.array("<f2", (n_kept, d), "keys")
        values = r.array("<f2", (n_kept, d), "values")
        r.expect(bool(np.isfinite(keys).all() and np.isfinite(values).all()),
                 "non-finite key or value")
        cuts = np.cumsum(mask.sum(axis=1))[:-1]
        self.keys = np.split(keys, cuts)
        self.values = np.split(values, cuts)
        self.positions = [np.flatnonzero(row).astype(np.int64) for row in mask]
        self.n_seen = n_seen
        self._read_extra(r)
