"""Bob in his own process: the only thing that reaches him from Alice is the message bytes.

Purpose: the process boundary of THEOREM.md section 3 made physical. :class:`BobProcess`
starts ``python -m reduction.bob_worker`` and talks to it over pipes with an explicit
binary format (no pickle): a request is

    b"KVRQ" | u32 header length | header (UTF-8 JSON: public parameters, Bob's tokens)
            | u64 message length | message bytes

and a response is

    b"KVRS" | u8 status (0 ok, 1 bad input, 2 failure) | u32 length | UTF-8 JSON
            (shape, or the error text) | u64 length | outputs (float64, little-endian)

The public parameters are JSON scalars (schedule, d, eps, eta, the public key seed, the
cache name and options); nothing derived from Alice's bits is among them. The header
also says how many threads Bob may use (``workers``).
"""

from __future__ import annotations

import json
import os
import struct
import subprocess
import sys
from collections.abc import Iterable
from types import TracebackType
from typing import IO, Any

import numpy as np

from reduction.protocol import PublicParams, bob_outputs
from reduction.threads import check_workers

__all__ = ["BobProcess", "serve", "BobFailure"]

_REQ = b"KVRQ"
_RES = b"KVRS"


class BobFailure(RuntimeError):
    """Bob's process failed for a reason other than bad input."""


def _read_exact(stream: IO[bytes], n: int) -> bytes:
    chunks = []
    while n:
        chunk = stream.read(n)
        if not chunk:
            raise EOFError("stream closed")
        chunks.append(chunk)
        n -= len(chunk)
    return b"".join(chunks)


def _write_response(out: IO[bytes], status: int, info: dict[str, Any], data: bytes) -> None:
    text = json.dumps(info).encode()
    out.write(_RES + struct.pack("<BI", status, len(text)) + text)
    out.write(struct.pack("<Q", len(data)) + data)
    out.flush()


def serve(inp: IO[bytes], out: IO[bytes]) -> None:
    """Answer requests until the input closes (the worker's main loop)."""
    while True:
        magic = inp.read(4)
        if not magic:
            return
        if magic != _REQ:
            _write_response(out, 2, {"error": f"bad request magic {magic!r}"}, b"")
            return
        (hlen,) = struct.unpack("<I", _read_exact(inp, 4))
        header = json.loads(_read_exact(inp, hlen).decode())
        (mlen,) = struct.unpack("<Q", _read_exact(inp, 8))
        message = _read_exact(inp, mlen)
        try:
            public = PublicParams.from_json(header["public"])
            tokens = header["tokens"]
            z = bob_outputs(message, public, tokens, workers=int(header.get("workers", 1)))
        except ValueError as exc:
            _write_response(out, 1, {"error": str(exc)}, b"")
            continue
        except Exception as exc:  # report, keep serving
            _write_response(out, 2, {"error": f"{type(exc).__name__}: {exc}"}, b"")
            continue
        z = np.ascontiguousarray(z, dtype="<f8")
        _write_response(out, 0, {"shape": list(z.shape)}, z.tobytes())


class BobProcess:
    """A Bob worker in a separate Python process; use as a context manager."""

    def __init__(self, workers: int = 1) -> None:
        self._proc: subprocess.Popen[bytes] | None = None
        self.workers = check_workers(workers)

    def __enter__(self) -> BobProcess:
        env = dict(os.environ)
        env["PYTHONPATH"] = os.pathsep.join(p for p in sys.path if p)
        self._proc = subprocess.Popen(
            [sys.executable, "-m", "reduction.bob_worker"],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            env=env,
        )
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    def close(self) -> None:
        if self._proc is None:
            return
        assert self._proc.stdin is not None
        try:
            self._proc.stdin.close()
            self._proc.wait(timeout=30)
        except (OSError, subprocess.TimeoutExpired):
            self._proc.kill()
            self._proc.wait()
        self._proc = None

    def outputs(
        self, message: bytes, public: PublicParams, tokens: Iterable[int] | None = None
    ) -> np.ndarray:
        """Send (public parameters, Bob's tokens, message bytes); receive Z_hat."""
        if self._proc is None:
            raise RuntimeError("BobProcess is not running; use it in a 'with' block")
        assert self._proc.stdin is not None and self._proc.stdout is not None
        if not isinstance(message, (bytes, bytearray)):
            raise ValueError(f"the message must be bytes, got {type(message).__name__}")
        header = json.dumps(
            {
                "public": public.to_json(),
                "tokens": None if tokens is None else [int(t) for t in tokens],
                "workers": self.workers,
            }
        ).encode()
        try:
            self._proc.stdin.write(_REQ + struct.pack("<I", len(header)) + header)
            self._proc.stdin.write(struct.pack("<Q", len(message)) + bytes(message))
            self._proc.stdin.flush()
            stdout = self._proc.stdout
            if _read_exact(stdout, 4) != _RES:
                raise BobFailure("Bob's process sent a malformed response")
            status, ilen = struct.unpack("<BI", _read_exact(stdout, 5))
            info = json.loads(_read_exact(stdout, ilen).decode())
            (dlen,) = struct.unpack("<Q", _read_exact(stdout, 8))
            data = _read_exact(stdout, dlen)
        except (BrokenPipeError, EOFError) as exc:
            raise BobFailure(f"Bob's process died ({exc})") from None
        if status == 1:
            raise ValueError(info["error"])
        if status != 0:
            raise BobFailure(f"Bob's process failed: {info['error']}")
        shape = tuple(int(s) for s in info["shape"])
        return np.frombuffer(data, dtype="<f8").reshape(shape).copy()
