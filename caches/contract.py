"""The cache contract of :mod:`reduction.cache` as runnable checks.

Purpose: one implementation of the contract every cache must keep, shared by the test
suite (``tests/caches/test_cache_contract.py`` runs it on every registered cache) and by
``kvbound check-cache module:Class`` (runs it on a third-party cache). Bob sees only the
bytes (docs/theorem.md#reduction), so they must be parsed defensively:

* streaming: ``process`` returns finite outputs of shape (tokens, d) for each block, and
  ``to_bytes`` returns non-empty ``bytes``;
* round trip: ``from_bytes(to_bytes())`` rebuilds the state (same bytes again, or the same
  answers to Bob's pass), and Bob's side is deterministic;
* determinism: the same seed gives the same bytes; the class builds without an rng;
* foreign bytes: empty, short or foreign-framed bytes raise ``ValueError``;
* corruption: every truncation and random bit flips of a valid message raise
  ``ValueError`` (what :mod:`reduction.message`'s frame gives for free);
* fuzz: on mutated bytes ``from_bytes`` raises ``ValueError`` or returns a cache that
  answers Bob's pass (or refuses it with a ``ValueError``), within a time limit and a
  memory limit, never another exception.

Every check raises :class:`ContractViolation` (an ``AssertionError``) with a message
naming the cache and what went wrong; :func:`run_contract` runs them all and collects the
outcomes.
"""

from __future__ import annotations

import contextlib
import signal
import threading
import tracemalloc
import warnings
import zlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import numpy as np

from reduction.cache import CacheParams
from reduction.message import frame
from reduction.parties import CacheContractError, stream_states

__all__ = [
    "ContractViolation",
    "ContractOutcome",
    "MUTATION_KINDS",
    "FUZZ_SECONDS",
    "FUZZ_MAX_BYTES",
    "alice_blocks",
    "bob_block",
    "stream",
    "mutate",
    "check_stream_outputs",
    "check_round_trip",
    "check_same_seed_same_bytes",
    "check_constructs_without_rng",
    "check_rejects_foreign_bytes",
    "check_rejects_corruption",
    "check_from_bytes",
    "run_contract",
]

FUZZ_SECONDS = 5.0  # wall-clock limit of one from_bytes call and Bob's pass (a hang fails)
FUZZ_MAX_BYTES = 64 * 2**20  # peak allocation allowed while parsing a small message
MUTATION_KINDS = ("random", "truncate", "flip", "reframe-flip", "reframe-truncate",
                  "reframe-extend", "reframe-random")

Block = tuple[np.ndarray, np.ndarray, np.ndarray]


class ContractViolation(AssertionError):
    """A cache broke the contract of :mod:`reduction.cache`."""


@dataclass(frozen=True)
class ContractOutcome:
    """One check of :func:`run_contract`: its name, whether it passed, and why not."""

    name: str
    passed: bool
    detail: str


def _require(ok: bool, message: str) -> None:
    if not ok:
        raise ContractViolation(message)


def alice_blocks(params: CacheParams, seed: int, zero_queries: bool = True) -> list[Block]:
    """Scales 1..K-1 of a hard-instance-like input: sign keys / sqrt(d), 0/1 values.

    Queries are zero (Alice's side of the reduction) or random (a general stream).
    """
    rng = np.random.default_rng(seed)
    d = params.d
    blocks: list[Block] = []
    for start, stop in params.schedule.block_bounds[:-1]:
        t = stop - start
        q = np.zeros((t, d)) if zero_queries else rng.normal(size=(t, d)) * 2.0
        k = rng.choice([-1.0, 1.0], size=(t, d)) / np.sqrt(d)
        v = rng.integers(0, 2, size=(t, d)).astype(np.float64)
        blocks.append((q, k, v))
    return blocks


def bob_block(params: CacheParams, seed: int) -> Block:
    """A last-scale block as Bob sends it: scaled queries, zero keys and values."""
    rng = np.random.default_rng(seed + 1000)
    t = params.schedule.last_scale_tokens
    zeros = np.zeros((t, params.d))
    return rng.normal(size=(t, params.d)) * 4.0, zeros, zeros.copy()


def stream(cls: Any, params: CacheParams, seed: int = 0,
           zero_queries: bool = True) -> tuple[Any, list[np.ndarray]]:
    """A fresh cache (rng from ``seed``) fed Alice's blocks through her streaming loop
    (:func:`reduction.parties.stream_states`); returns it and its outputs."""
    cache = cls(params, np.random.default_rng(seed))
    outs: list[np.ndarray] = []
    try:
        stream_states(cache, alice_blocks(params, seed, zero_queries), cls.__name__, outs)
    except CacheContractError as exc:
        raise ContractViolation(str(exc)) from None
    return cache, outs


@contextlib.contextmanager
def _time_limit(seconds: float, what: str, cls: Any = None) -> Iterator[None]:
    """Raise ContractViolation if the block runs longer than ``seconds`` (POSIX main thread;
    elsewhere the block runs unguarded). A class whose calls are requests to a worker
    (reduction.isolation.remote) enforces the limit itself, on each call."""
    limit = getattr(cls, "time_limit", None)
    if limit is not None:
        with limit(seconds):
            yield
        return
    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def on_alarm(signum: int, frame_: Any) -> None:
        raise ContractViolation(f"{what} ran longer than {seconds} s (a hang?)")

    old = signal.signal(signal.SIGALRM, on_alarm)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, old)


def _is_framed(data: bytes) -> bool:
    return len(data) >= 8 and zlib.crc32(data[:-4]) == int.from_bytes(data[-4:], "little")


def _flip(buf: bytes, rng: np.random.Generator) -> bytes:
    out = bytearray(buf)
    for pos in rng.integers(0, 8 * len(out), size=int(rng.integers(1, 5))):
        out[pos // 8] ^= 1 << (int(pos) % 8)
    return bytes(out)


def mutate(valid: bytes, kind: str, rng: np.random.Generator) -> bytes:
    """A corrupted copy of a valid message; ``reframe-*`` kinds keep a correct frame (tag
    and CRC-32) around a damaged payload, so they reach the cache's own parser.

    >>> cut = mutate(b"abcdefgh", "truncate", np.random.default_rng(0))
    >>> len(cut) < 8 and b"abcdefgh".startswith(cut)
    True
    """
    if kind not in MUTATION_KINDS:
        raise ValueError(f"mutation kind {kind!r}; choose one of {', '.join(MUTATION_KINDS)}")
    if not valid:
        return bytes(rng.integers(0, 256, size=int(rng.integers(0, 17)), dtype=np.uint8))
    payload = valid[4:-4] if _is_framed(valid) else valid
    if kind == "random":
        size = int(rng.integers(0, 2 * len(valid) + 17))
        return bytes(rng.integers(0, 256, size=size, dtype=np.uint8))
    if kind == "truncate":
        return valid[: int(rng.integers(0, len(valid)))]
    if kind == "flip" or not _is_framed(valid):
        return _flip(valid, rng)
    if kind == "reframe-flip" and payload:
        return frame(valid[:4], _flip(payload, rng))
    if kind == "reframe-truncate" and payload:
        return frame(valid[:4], payload[: int(rng.integers(0, len(payload)))])
    if kind == "reframe-extend":
        extra = rng.integers(0, 256, size=int(rng.integers(1, 65)), dtype=np.uint8)
        return frame(valid[:4], payload + bytes(extra))
    head = bytes(rng.integers(0, 256, size=int(rng.integers(1, 17)), dtype=np.uint8))
    return frame(valid[:4], head + payload[len(head):])


# -- the checks -----------------------------------------------------------------------------

def check_stream_outputs(cls: Any, params: CacheParams, zero_queries: bool = True) -> None:
    """Outputs of shape (tokens, d), finite; ``to_bytes`` returns non-empty bytes."""
    cache, outs = stream(cls, params, 0, zero_queries)
    for (start, stop), out in zip(params.schedule.block_bounds, outs):
        _require(out.shape == (stop - start, params.d),
                 f"process returned shape {out.shape} for a block of {stop - start} tokens, "
                 f"expected ({stop - start}, {params.d})")
        _require(bool(np.isfinite(out).all()), "process returned non-finite outputs")
    data = cache.to_bytes()
    _require(type(data) is bytes, f"to_bytes returned {type(data).__name__}, not bytes")
    _require(len(data) > 0, "to_bytes returned no bytes")


def check_round_trip(cls: Any, params: CacheParams) -> None:
    """``from_bytes(to_bytes())`` rebuilds the state: same bytes, or the same answers."""
    cache, _ = stream(cls, params)
    data = cache.to_bytes()
    rebuilt = cls.from_bytes(data, params)
    again = rebuilt.to_bytes()
    bob = bob_block(params, 0)
    z_rebuilt = np.asarray(rebuilt.process(*bob))
    z_other = np.asarray(cls.from_bytes(data, params).process(*bob))
    _require(np.array_equal(z_rebuilt, z_other),
             "two caches rebuilt from the same bytes answer Bob differently")
    if again != data:
        z_orig = np.asarray(cache.process(*bob))
        _require(bool(np.allclose(z_rebuilt, z_orig, atol=1e-3)),
                 "the rebuilt cache writes different bytes and answers differently")


def check_same_seed_same_bytes(cls: Any, params: CacheParams) -> None:
    """The same seed (and input) gives the same message."""
    a, _ = stream(cls, params, 5, zero_queries=False)
    b, _ = stream(cls, params, 5, zero_queries=False)
    _require(a.to_bytes() == b.to_bytes(), "the same seed gave different bytes")


def check_constructs_without_rng(cls: Any, params: CacheParams) -> None:
    """``Cls(params, None)`` builds an empty cache whose ``to_bytes`` is bytes."""
    _require(type(cls(params, None).to_bytes()) is bytes,
             "a cache built with rng=None does not return bytes")


def check_rejects_foreign_bytes(cls: Any, params: CacheParams) -> None:
    """Empty, 3-byte and foreign-framed messages raise ValueError."""
    for data in (b"", b"\x00" * 3, frame(b"ZZZZ", b"\x00" * 64)):
        try:
            with _time_limit(FUZZ_SECONDS, "from_bytes", cls):
                cls.from_bytes(data, params)
        except ValueError:
            continue
        raise ContractViolation(f"from_bytes accepted foreign bytes {data[:12]!r}...")


def check_rejects_corruption(cls: Any, params: CacheParams, message: bytes | None = None,
                             *, step: int = 29, flips: int = 20, seed: int = 2) -> None:
    """Every ``step``-th truncation and ``flips`` random single-bit flips raise ValueError."""
    if message is None:
        message = stream(cls, params)[0].to_bytes()
    bad: list[str] = []
    for cut in range(0, len(message), step):
        try:
            cls.from_bytes(message[:cut], params)
            bad.append(f"truncation to {cut} bytes")
        except ValueError:
            pass
    for pos in np.random.default_rng(seed).integers(0, 8 * len(message), size=flips):
        flipped = bytearray(message)
        flipped[pos // 8] ^= 1 << (int(pos) % 8)
        try:
            cls.from_bytes(bytes(flipped), params)
            bad.append(f"bit flip at bit {int(pos)}")
        except ValueError:
            pass
    _require(not bad, f"from_bytes accepted corrupted messages: {', '.join(bad[:5])}")


def check_from_bytes(cls: Any, params: CacheParams, data: bytes) -> None:
    """ValueError, or a cache that answers Bob's pass (or refuses it with a ValueError);
    nothing else, within FUZZ_SECONDS, allocating less than FUZZ_MAX_BYTES."""
    meter = getattr(cls, "peak_of_last_call", None)  # a worker's class measures itself
    if meter is None:
        tracemalloc.start()
    try:
        with _time_limit(FUZZ_SECONDS, "from_bytes on corrupted bytes", cls):
            try:
                cache = cls.from_bytes(data, params)
            except ValueError:
                return
            finally:
                peak = tracemalloc.get_traced_memory()[1] if meter is None else meter()
                _require(peak < FUZZ_MAX_BYTES, f"from_bytes allocated {peak} bytes")
            with warnings.catch_warnings(), np.errstate(all="ignore"):
                warnings.simplefilter("ignore", RuntimeWarning)
                try:
                    z = np.asarray(cache.process(*bob_block(params, 0)))
                except ValueError:
                    return
            want = (params.schedule.last_scale_tokens, params.d)
            _require(z.shape == want, f"accepted corrupted bytes, then answered shape {z.shape}")
            _require(type(cache.to_bytes()) is bytes, "accepted corrupted bytes, then "
                     "to_bytes did not return bytes")
    except ContractViolation:
        raise
    except Exception as exc:
        raise ContractViolation(
            f"from_bytes or Bob's pass raised {type(exc).__name__}: {exc} on corrupted bytes "
            f"{data[:16]!r}...; it must raise ValueError"
        ) from exc
    finally:
        if meter is None:
            tracemalloc.stop()


def run_contract(cls: Any, params: CacheParams, *, fuzz_cases: int = 200,
                 seed: int = 0) -> list[ContractOutcome]:
    """Run every check on ``cls`` (with ``fuzz_cases`` mutated messages from ``seed``)."""
    checks: list[tuple[str, Callable[[], None]]] = [
        ("stream outputs (zero queries)", lambda: check_stream_outputs(cls, params, True)),
        ("stream outputs (random queries)", lambda: check_stream_outputs(cls, params, False)),
        ("round trip", lambda: check_round_trip(cls, params)),
        ("same seed, same bytes", lambda: check_same_seed_same_bytes(cls, params)),
        ("builds without an rng", lambda: check_constructs_without_rng(cls, params)),
        ("rejects foreign bytes", lambda: check_rejects_foreign_bytes(cls, params)),
        ("rejects truncations and bit flips", lambda: check_rejects_corruption(cls, params)),
        (f"fuzz from_bytes ({fuzz_cases} mutated messages)",
         lambda: _fuzz(cls, params, fuzz_cases, seed)),
    ]
    outcomes: list[ContractOutcome] = []
    for name, check in checks:
        try:
            check()
        except ContractViolation as exc:
            outcomes.append(ContractOutcome(name, False, str(exc)))
        except Exception as exc:  # the cache crashed: a failed check, reported
            outcomes.append(ContractOutcome(name, False, f"{type(exc).__name__}: {exc}"))
        else:
            outcomes.append(ContractOutcome(name, True, ""))
    return outcomes


def _fuzz(cls: Any, params: CacheParams, cases: int, seed: int) -> None:
    valid = stream(cls, params, 3, zero_queries=False)[0].to_bytes()
    rng = np.random.default_rng(seed)
    for i in range(cases):
        kind = MUTATION_KINDS[i % len(MUTATION_KINDS)]
        check_from_bytes(cls, params, mutate(valid, kind, rng))
