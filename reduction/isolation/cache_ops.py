"""A cache's methods served one by one from a worker: what ``check-cache`` calls.

Purpose: ``kvbound check-cache`` runs the contract checks of :mod:`caches.contract` in the
verifier, and the cache only in a sandboxed worker (docs/theorem.md#sandbox), so the
cache's code can neither switch a check off nor print the summary. The worker (role
``cache`` of reduction.isolation.worker) keeps the caches it built in a small table and
answers one request kind, ``REQ_CACHE``, whose header names the operation:

* ``{"op": "options", "spec", "options"}``: the cache's options merged over its defaults;
* ``{"op": "new", "spec", "params", "rng"}``: ``Cls(params, rng)``, ``rng`` the state of a
  numpy bit generator (or null); answers ``{"handle"}``;
* ``{"op": "process", "handle", "shape"}`` and three float64 segments (queries, keys,
  values): answers ``{"shape", "peak"}`` and the outputs as float64;
* ``{"op": "to_bytes", "handle"}``: answers ``{"type"}`` (the Python type returned) and
  the bytes;
* ``{"op": "from_bytes", "spec", "params"}`` and the message: answers ``{"handle",
  "peak"}``.

Whatever the cache raises is answered as ``{"raised", "value_error", "error"}`` (the
checks tell a ValueError from any other exception); ``peak`` is the largest allocation
tracemalloc saw during the call (the verifier also reads the worker's resident memory
from outside, which the cache cannot forge).
"""

from __future__ import annotations

import tracemalloc
from collections import OrderedDict
from typing import Any

import numpy as np

from lowerbound.validation import InvalidArgument
from reduction import cachespec
from reduction.cache import CacheParams
from reduction.isolation.frames import Frame

__all__ = ["cache_op", "RequestError", "BIT_GENERATORS", "MAX_HANDLES"]

BIT_GENERATORS = ("PCG64", "PCG64DXSM", "MT19937", "Philox", "SFC64")
MAX_HANDLES = 32  # caches kept at once (the oldest is dropped)
_TABLE: OrderedDict[int, Any] = OrderedDict()
_COUNTER = [0]


class RequestError(InvalidArgument):
    """The request itself is malformed (not something the cache did)."""


def _rng(state: Any) -> np.random.Generator | None:
    if state is None:
        return None
    if not isinstance(state, dict) or state.get("bit_generator") not in BIT_GENERATORS:
        raise RequestError("rng must be null or the state of a numpy bit generator")
    bits = getattr(np.random, state["bit_generator"])()
    bits.state = state
    return np.random.Generator(bits)


def _keep(cache: Any) -> int:
    _COUNTER[0] += 1
    _TABLE[_COUNTER[0]] = cache
    while len(_TABLE) > MAX_HANDLES:
        _TABLE.popitem(last=False)
    return _COUNTER[0]


def _cache(header: dict[str, Any]) -> Any:
    handle = header.get("handle")
    if type(handle) is not int or handle not in _TABLE:
        raise RequestError(f"no cache with handle {handle!r} in this worker (dropped)")
    return _TABLE[handle]


def _arrays(frame: Frame) -> list[np.ndarray]:
    shape = frame.header.get("shape")
    if (not isinstance(shape, list) or len(shape) != 2
            or not all(type(x) is int and x >= 0 for x in shape)
            or len(frame.segments) != 3
            or any(len(s) != 8 * shape[0] * shape[1] for s in frame.segments)):
        raise RequestError("process needs a [tokens, d] shape and three float64 blocks")
    return [np.frombuffer(s, dtype="<f8").reshape(shape).copy() for s in frame.segments]


def _call(op: str, frame: Frame) -> tuple[dict[str, Any], list[bytes]]:
    h = frame.header
    if op == "options":
        entry = cachespec.resolve(str(h.get("spec")))
        given = h.get("options")
        if not isinstance(given, dict):
            raise RequestError("options must be an object")
        return {"options": entry.merged_options(str(h.get("spec")), given)}, []
    if op == "new":
        cls = cachespec.resolve(str(h.get("spec"))).cls
        return {"handle": _keep(cls(CacheParams.from_json(h.get("params")),
                                    _rng(h.get("rng"))))}, []
    if op == "process":
        cache = _cache(h)
        q, k, v = _arrays(frame)
        out = np.ascontiguousarray(np.asarray(cache.process(q, k, v), dtype="<f8"))
        return {"shape": list(out.shape)}, [out.tobytes()]
    if op == "to_bytes":
        data = _cache(h).to_bytes()
        raw = bytes(data) if isinstance(data, (bytes, bytearray, memoryview)) else b""
        return {"type": type(data).__name__}, [raw]
    if op == "from_bytes":
        cls = cachespec.resolve(str(h.get("spec"))).cls
        if len(frame.segments) != 1:
            raise RequestError("from_bytes needs exactly the message")
        params = CacheParams.from_json(h.get("params"))
        return {"handle": _keep(cls.from_bytes(frame.segments[0], params))}, []
    raise RequestError(f"unknown cache operation {op!r}")


def cache_op(frame: Frame) -> tuple[dict[str, Any], list[bytes]]:
    """Run the operation ``frame`` names; what the cache raises is part of the answer (a
    malformed request itself raises :class:`RequestError`, answered as bad input)."""
    op = str(frame.header.get("op"))
    tracemalloc.start()
    try:
        header, segments = _call(op, frame)
    except RequestError:
        raise
    except Exception as exc:  # the cache's behaviour, reported to the checks
        return {"raised": type(exc).__name__, "value_error": isinstance(exc, ValueError),
                "error": str(exc)[:600]}, []
    finally:
        peak = tracemalloc.get_traced_memory()[1]
        tracemalloc.stop()
    header["peak"] = int(peak)
    return header, segments
