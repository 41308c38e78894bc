"""A cache class whose instances live in a sandboxed worker: the verifier's handle on it.

Purpose: ``kvbound check-cache`` must judge a cache it does not trust
(docs/theorem.md#sandbox). :class:`RemoteCacheClass` behaves like the cache's class for
the checks of :mod:`caches.contract` (``Cls(params, rng)``, ``Cls.from_bytes(data,
params)``, and the instances' ``process`` and ``to_bytes``), but every call is a request
to one worker process (role ``cache``, reduction.isolation.cache_ops) in the sandbox of
reduction.isolation.sandbox. The checks and their verdicts stay in the verifier; the
cache's code, its module included, runs only in the worker.

A ValueError the cache raised comes back as a ValueError; any other exception as a
:class:`RemoteCacheError` subclass carrying the original type's name; a hang (beyond
the time limit the checks set with :meth:`RemoteCacheClass.time_limit`), a death or a
malformed answer as a PartyFailure, after which the worker starts afresh and earlier
caches are gone. :meth:`RemoteCacheClass.peak_of_last_call` is the larger of what the
worker's tracemalloc saw and the growth of its resident memory read from /proc by the
verifier (which the cache cannot forge).
"""

from __future__ import annotations

import contextlib
import re
from collections.abc import Iterator, Mapping
from typing import Any

import numpy as np

from lowerbound.validation import InvalidArgument
from reduction import cachespec
from reduction.cache import CacheParams
from reduction.isolation.frames import REQ_CACHE, Frame
from reduction.isolation.parties import MESSAGE_FACTOR, sandbox_record, worker_limits
from reduction.isolation.party import DEFAULT_TIMEOUT, PartyFailure, PartyProcess
from reduction.isolation.sandbox import sandbox_status
from reduction.public import is_registered_cache

__all__ = ["RemoteCacheClass", "RemoteCache", "RemoteCacheError"]

_OWN_WORKER = "reduction.isolation.worker"
_CONTRACT_REQUESTS = 1 << 12  # the CPU budget covers this many calls of `timeout`


class RemoteCacheError(Exception):
    """The cache raised something other than a ValueError (the subclass has its name)."""


def _raised(header: dict[str, Any]) -> Exception:
    name = str(header.get("raised", "Exception"))
    name = name if re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]{0,63}", name) else "Exception"
    text = str(header.get("error", ""))
    if header.get("value_error") is True:
        plain = name in ("ValueError", "InvalidArgument")
        return ValueError(text if plain else f"{name}: {text}")
    return type(name, (RemoteCacheError,), {})(text)


def _resident(pid: int | None) -> dict[str, int]:
    """VmRSS and VmHWM of ``pid`` in bytes, read from /proc (empty if unreadable)."""
    if pid is None:
        return {}
    try:
        with open(f"/proc/{pid}/status") as fh:
            lines = fh.read().splitlines()
    except OSError:
        return {}
    out: dict[str, int] = {}
    for line in lines:
        key, _, rest = line.partition(":")
        if key in ("VmRSS", "VmHWM") and rest.strip().endswith("kB"):
            out[key] = 1024 * int(rest.split()[0])
    return out


def _reset_peak(pid: int | None) -> None:
    """Set the worker's resident high-water mark to its current size (if allowed)."""
    if pid is not None:
        with contextlib.suppress(OSError):
            with open(f"/proc/{pid}/clear_refs", "w") as fh:
                fh.write("5")


class RemoteCache:
    """One cache built in the worker, reached by its handle."""

    def __init__(self, owner: RemoteCacheClass, handle: int, generation: int,
                 params: CacheParams) -> None:
        self._owner, self._handle, self._generation = owner, handle, generation
        self.params = params

    def _header(self, op: str) -> dict[str, Any]:
        if self._generation != self._owner.generation:
            raise PartyFailure(f"cache {self._owner.spec!r}: its worker was restarted after "
                               "a failure; this cache is gone")
        return {"op": op, "handle": self._handle}

    def process(self, queries: np.ndarray, keys: np.ndarray, values: np.ndarray) -> np.ndarray:
        blocks = [np.ascontiguousarray(np.asarray(a, dtype="<f8")) for a in (queries, keys,
                                                                             values)]
        header = {**self._header("process"), "shape": list(blocks[0].shape)}
        rows = blocks[0].shape[0] if blocks[0].ndim else 0
        got = self._owner.request(header, [b.tobytes() for b in blocks],
                                  max_bytes=8 * max(1, rows) * self.params.d * 4)
        shape = got.header.get("shape")
        if not (isinstance(shape, list) and all(type(x) is int and x >= 0 for x in shape)
                and len(got.segments) == 1
                and len(got.segments[0]) == 8 * int(np.prod(shape, dtype=np.int64))):
            raise PartyFailure(f"cache {self._owner.spec!r}: the worker's outputs are "
                               "malformed")
        return np.frombuffer(got.segments[0], dtype="<f8").reshape(shape).copy()

    def to_bytes(self) -> Any:
        got = self._owner.request(self._header("to_bytes"), [],
                                  max_bytes=self._owner.message_limit(self.params))
        kind = str(got.header.get("type"))
        raw = got.segments[0] if len(got.segments) == 1 else b""
        if kind == "bytes":
            return raw
        if kind == "bytearray":
            return bytearray(raw)
        name = kind if re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]{0,63}", kind) else "object"
        return type(name, (), {})()  # the checks see the type the cache returned


class RemoteCacheClass:
    """``spec``'s class, its instances in one worker process; a context manager."""

    def __init__(self, spec: str, *, timeout: float = DEFAULT_TIMEOUT,
                 sandbox: bool | None = None, max_message_bytes: int | None = None) -> None:
        self.spec = spec
        self.__name__ = spec  # the checks name the class they run
        self.requested_sandbox = sandbox
        self.probed = sandbox_status()
        status = self.probed if self.probed.available and sandbox is not False else None
        if status is None and sandbox is None and not is_registered_cache(spec):
            raise InvalidArgument(
                f"cache {spec!r} is third-party code and cannot be sandboxed here: "
                f"{self.probed.reason}; install bubblewrap (Debian/Ubuntu: apt-get install "
                "bubblewrap) or pass --no-sandbox to run it in a plain worker process")
        self.status = status
        self.max_message_bytes = max_message_bytes
        self.party = PartyProcess("cache", timeout, module=cachespec.worker_module()
                                  or _OWN_WORKER, sandbox=status,
                                  limits=worker_limits(timeout, _CONTRACT_REQUESTS))
        self.generation = 0
        self._call_timeout: float | None = None
        self._peak = 0

    def __enter__(self) -> RemoteCacheClass:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        """Kill the worker; return once it is gone."""
        self.party.end()

    def record(self) -> dict[str, Any]:
        """How the cache ran (the sandbox, or why not)."""
        return sandbox_record(self.status, self.probed, self.requested_sandbox)

    def message_limit(self, params: CacheParams) -> int:
        if self.max_message_bytes is not None:
            return self.max_message_bytes
        return MESSAGE_FACTOR * 16 * params.schedule.total_tokens * params.d + (1 << 16)

    @contextlib.contextmanager
    def time_limit(self, seconds: float) -> Iterator[None]:
        """Inside the block, a call that takes longer than ``seconds`` is a PartyFailure."""
        previous, self._call_timeout = self._call_timeout, seconds
        try:
            yield
        finally:
            self._call_timeout = previous

    def peak_of_last_call(self) -> int:
        return self._peak

    def request(self, header: dict[str, Any], segments: list[bytes], *,
                max_bytes: int) -> Frame:
        """One operation in the worker; what the cache raised is raised here."""
        pid = self.party.pid
        _reset_peak(pid)
        before = _resident(pid).get("VmRSS")
        try:
            answer = self.party.exchange(REQ_CACHE, header, segments, cache=self.spec,
                                         max_bytes=max_bytes, timeout=self._call_timeout)
        except PartyFailure:
            self.generation += 1  # the worker was killed: its caches are gone
            raise
        after = _resident(self.party.pid).get("VmHWM")
        grown = after - before if after is not None and before is not None else 0
        reported = answer.header.get("peak")
        self._peak = max(grown, reported if type(reported) is int else 0)
        if "raised" in answer.header:
            raise _raised(answer.header)
        return answer

    def merged_options(self, given: Mapping[str, Any]) -> dict[str, Any]:
        """The cache's options over its defaults (InvalidArgument if it refuses them)."""
        try:
            got = self.request({"op": "options", "spec": self.spec, "options": dict(given)},
                               [], max_bytes=0)
        except ValueError as exc:
            raise InvalidArgument(str(exc)) from None
        options = got.header.get("options")
        if not isinstance(options, dict):
            raise PartyFailure(f"cache {self.spec!r}: its options came back malformed")
        return options

    def _built(self, got: Frame, params: CacheParams) -> RemoteCache:
        handle = got.header.get("handle")
        if type(handle) is not int:
            raise PartyFailure(f"cache {self.spec!r}: the worker named no cache")
        return RemoteCache(self, handle, self.generation, params)

    def __call__(self, params: CacheParams, rng: np.random.Generator | None = None
                 ) -> RemoteCache:
        state = None if rng is None else rng.bit_generator.state
        got = self.request({"op": "new", "spec": self.spec, "params": params.to_json(),
                            "rng": state}, [], max_bytes=0)
        return self._built(got, params)

    def from_bytes(self, data: bytes, params: CacheParams) -> RemoteCache:
        got = self.request({"op": "from_bytes", "spec": self.spec,
                            "params": params.to_json()}, [bytes(data)], max_bytes=0)
        return self._built(got, params)
