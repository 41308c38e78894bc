"""The parties' worker process: ``python -m reduction.isolation.worker alice|bob``.

Purpose: the process boundary of docs/theorem.md#reduction. Alice and Bob each run in a
worker process of their own (two processes: no state can pass between them except the
message the verifier carries); the verifier (reduction.protocol) starts them through
reduction.isolation.parties and never imports a third-party cache itself. Requests and answers
are the frames of reduction.isolation.frames on the worker's original stdin/stdout, which are
moved aside at start-up: whatever a cache prints goes to stderr, and a cache cannot read
the request channel through fd 0.

* Alice's request: header ``{"public", "cache_seed", "shape"}`` and one segment, her
  bits packed with ``numpy.packbits`` (with ``bits_per_value`` b: her symbols as
  little-endian uint16, each below 2^b); the answer has one segment per scale boundary,
  her cache state after scales 1..K-1 as bytes (the last is the message).
* Bob's request: header ``{"public", "tokens", "workers"}`` (``workers``: how many
  threads he may use, default 1; his outputs do not depend on it) and one segment, the
  message; the answer's one segment is his outputs (float64, little-endian, tokens x d),
  its header ``{"shape", "max_abs_logit"}`` (the largest |logit| his cache computed, or
  null).
* A check request: header ``{"public"}``: resolve the cache and its options.
* The ``cache`` role serves a cache's methods one by one (reduction.isolation.cache_ops),
  for the contract checks of ``kvbound check-cache``.

Once started (its imports done), the worker sends ``{"ready": role}``, so the verifier
does not count its start-up against the cache. A malformed request is answered with a
failure frame before the worker exits; an error text is cut to :data:`ERROR_CHARS`
characters. When the
channel closes, every answer has been written (unbuffered, to the channel's fd): the
worker flushes stderr and leaves with ``os._exit``, skipping the interpreter's teardown
(~0.1 s of module finalisers; a cache's ``atexit`` hooks do not run either).
"""

from __future__ import annotations

import math
import os
import sys
from typing import Any

import numpy as np

from lowerbound.validation import InvalidArgument
from reduction.isolation.cache_ops import cache_op
from reduction.isolation.frames import (
    REQ_ALICE,
    REQ_BOB,
    REQ_CACHE,
    REQ_CHECK,
    RES_BAD_INPUT,
    RES_FAILURE,
    RES_OK,
    Frame,
    FrameError,
    encode_frame,
    read_frame,
    write_all,
)
from reduction.isolation.zygote import serve_zygote
from reduction.parties import alice_states, bob_answer
from reduction.public import PublicParams

__all__ = ["serve", "main", "ROLES", "MAX_REQUEST_BYTES"]

ROLES = {"alice": REQ_ALICE, "bob": REQ_BOB, "cache": REQ_CACHE}
MAX_REQUEST_BYTES = 16 << 30
ERROR_CHARS = 600  # of an error text sent back (JSON may escape each as 6 bytes)


def _alice(frame: Frame) -> tuple[dict[str, Any], list[bytes]]:
    public = PublicParams.from_json(frame.header.get("public"))
    shape = frame.header.get("shape")
    seed = frame.header.get("cache_seed")
    if (not isinstance(shape, list) or len(shape) != 2
            or shape != [public.bit_rows, public.d]):
        raise InvalidArgument(f"Alice's bits must have shape [{public.bit_rows}, {public.d}] "
                              f"(L' rows per head carrying bits, d), got {shape!r}")
    if not isinstance(seed, int) or seed < 0:
        raise InvalidArgument(f"cache_seed must be an integer >= 0, got {seed!r}")
    count = shape[0] * shape[1]
    size = math.ceil(count / 8) if public.bits_per_value is None else 2 * count
    if len(frame.segments) != 1 or len(frame.segments[0]) != size:
        raise InvalidArgument("Alice's request must carry exactly her packed bits or symbols")
    if public.bits_per_value is None:
        packed = np.frombuffer(frame.segments[0], dtype=np.uint8)
        bits = np.unpackbits(packed, count=count).reshape(shape)
    else:
        bits = np.frombuffer(frame.segments[0], dtype="<u2").reshape(shape)
        if bits.size and int(bits.max()) >= public.levels:
            raise InvalidArgument(f"Alice's symbols must lie below 2^{public.bits_per_value}")
    states = alice_states(bits, public, np.random.default_rng(seed))
    return {"boundaries": len(states)}, states


def _bob(frame: Frame) -> tuple[dict[str, Any], list[bytes]]:
    public = PublicParams.from_json(frame.header.get("public"))
    tokens = frame.header.get("tokens")
    if tokens is not None and not (
        isinstance(tokens, list) and all(type(t) is int for t in tokens)
    ):
        raise InvalidArgument("Bob's tokens must be null or a list of integers")
    workers = frame.header.get("workers", 1)
    if type(workers) is not int or workers < 1:
        raise InvalidArgument(f"Bob's workers must be an integer >= 1, got {workers!r}")
    if len(frame.segments) != 1:
        raise InvalidArgument("Bob's request must carry exactly the message")
    answer = bob_answer(frame.segments[0], public, tokens, workers=workers)
    z = np.ascontiguousarray(answer.outputs, dtype="<f8")
    top = answer.max_abs_logit  # JSON has no infinity: a non-finite logit is sent as "inf"
    claim = top if top is None or math.isfinite(top) else "inf"
    return {"shape": list(z.shape), "max_abs_logit": claim}, [z.tobytes()]


def _check(frame: Frame) -> tuple[dict[str, Any], list[bytes]]:
    params = PublicParams.from_json(frame.header.get("public")).cache_params
    return {"options": dict(params.options)}, []


def serve(role: str, chan_in: int, chan_out: int) -> None:
    """Answer requests for ``role`` until the channel closes."""
    served = {"alice": _alice, "bob": _bob, "cache": cache_op}[role]
    handlers = {REQ_CHECK: _check, ROLES[role]: served}
    while True:
        try:
            frame = read_frame(chan_in, max_bytes=MAX_REQUEST_BYTES)
        except (FrameError, EOFError) as exc:
            write_all(chan_out, encode_frame(RES_FAILURE, {"error": f"malformed request: {exc}"}))
            return
        if frame is None:
            return
        handler = handlers.get(frame.kind)
        try:
            if handler is None:
                raise InvalidArgument(f"{role}'s worker does not serve request kind {frame.kind}")
            header, segments = handler(frame)
            reply = encode_frame(RES_OK, header, segments)
        except InvalidArgument as exc:  # the parameters were refused: bad input
            reply = encode_frame(RES_BAD_INPUT, {"error": _short(str(exc))})
        except Exception as exc:  # a failing cache is reported, and the worker goes on
            reply = encode_frame(RES_FAILURE, {"error": _short(f"{type(exc).__name__}: {exc}")})
        write_all(chan_out, reply)


def _short(text: str) -> str:
    """An error text that fits the verifier's header limit (REPLY_HEADER_BYTES)."""
    return text if len(text) <= ERROR_CHARS else text[: ERROR_CHARS - 3] + "..."


def main(argv: list[str]) -> int:
    """Move the channel off fds 0/1, then serve (the process entry point).

    ``alice|bob``: serve on the original stdin/stdout. ``zygote FD alice``: serve Alice
    in a fresh child per spawn request on control socket FD (reduction.isolation.zygote),
    each child on its own pipes.
    """
    zygote = len(argv) == 4 and argv[1] == "zygote" and argv[2].isdigit()
    role = argv[-1]
    if not (len(argv) == 2 or zygote) or role not in ROLES:
        print(f"usage: python -m reduction.isolation.worker [zygote FD] {'|'.join(ROLES)}",
              file=sys.stderr)
        return 2
    chan_in, chan_out = os.dup(0), os.dup(1)
    null = os.open(os.devnull, os.O_RDONLY)
    os.dup2(null, 0)
    os.dup2(2, 1)
    sys.stdout = sys.stderr
    if zygote:
        os.close(chan_in)
        os.close(chan_out)
        serve_zygote(lambda fd_in, fd_out: _serve_then_exit(role, fd_in, fd_out),
                     int(argv[2]))
        return 0
    write_all(chan_out, encode_frame(RES_OK, {"ready": role}))  # start-up is done
    serve(role, chan_in, chan_out)
    return 0


def _serve_then_exit(role: str, chan_in: int, chan_out: int) -> None:
    serve(role, chan_in, chan_out)
    exit_now(0)


def exit_now(code: int) -> None:
    """Leave at once: the answers are on the channel already (write_all is unbuffered)."""
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.flush()
        except (OSError, ValueError):  # a cache closed or broke the stream
            pass
    os._exit(code)


if __name__ == "__main__":
    exit_now(main(sys.argv))
