"""Attempts to fool kvbound's leak detector (worked answers of problems 8 and 13).

Each cache answers attention exactly while its message is a bare 8-byte frame (64 bits):
it tries to carry Alice's keys and values to Bob outside ``to_bytes()``.

* :class:`GlobalStash` keeps them in a module-level variable. Bob runs in his own
  process, where that variable is empty, so he sees no cached tokens and reads every bit
  as 0: about half the bits are wrong, the information delivered N(1 - H2(p)) is about 0
  and nothing is detected, because nothing leaked. (``--isolation inline``, where Alice
  and Bob would share one process and this global, is refused for third-party caches.)
* :class:`FileStash` writes them to a file that Bob's side reads back. In the sandbox
  (the default) each worker has its own empty /tmp and a read-only file system: the file
  never reaches Bob, and the run is a cache fault (exit code 4). With ``--no-sandbox``
  the file system crosses the process boundary, Bob decodes every bit, and the detector
  fires: 64 message bits cannot carry N bits of information (Fano), so ``kvbound
  verify`` reports ``bound_respected: false`` and exits with code 3.
* :class:`InvertingStash` is FileStash answering 1 - Z, so Bob reads every bit inverted:
  error rate 1. Fano's N(1 - H2(p)) holds for every p and equals N at p = 1 (a decoder
  wrong on every bit knows every bit: flip its answers), so this is caught too
  (docs/theorem.md#fano).
* :class:`LyingLength` is FileStash whose ``to_bytes()`` returns a ``bytes`` subclass
  whose ``len()`` claims N bits. The verifier converts the message to a plain ``bytes``
  once and counts and sends that object: 64 bits, caught.

Run from this directory:

    kvbound verify --cache hidden_state:GlobalStash --json
    kvbound verify --cache hidden_state:FileStash --json --no-sandbox
    kvbound verify --cache hidden_state:InvertingStash --json --no-sandbox
    kvbound verify --cache hidden_state:LyingLength --json --no-sandbox
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path
from typing import ClassVar

import numpy as np

from reduction.attention import attend
from reduction.cache import CacheParams, check_block
from reduction.message import Reader, frame, unframe

__all__ = ["GlobalStash", "FileStash", "InvertingStash", "LyingLength", "stash_path"]

_STASH: dict[str, np.ndarray] = {}


def stash_path() -> Path:
    """Where :class:`FileStash` hides its state (the temp directory, one file per user)."""
    return Path(tempfile.gettempdir()) / f"kvbound-hidden-state-{os.getuid()}.npz"


class _Exact:
    """Exact attention over everything seen; subclasses decide where the state goes."""

    TAG: ClassVar[bytes] = b"HID0"

    def __init__(self, params: CacheParams, rng: np.random.Generator | None = None) -> None:
        self.params = params
        self.keys = np.zeros((0, params.d))
        self.values = np.zeros((0, params.d))

    def process(self, queries: np.ndarray, keys: np.ndarray, values: np.ndarray) -> np.ndarray:
        k, v = check_block(keys, values, self.params.d)
        self.keys = np.concatenate([self.keys, k])
        self.values = np.concatenate([self.values, v])
        return attend(queries, self.keys, self.values)

    def to_bytes(self) -> bytes:
        self._hide()
        return frame(self.TAG, b"")

    @classmethod
    def from_bytes(cls, data: bytes, params: CacheParams) -> _Exact:
        Reader(unframe(data, cls.TAG), "hidden-state message").finish()
        cache = cls(params)
        cache._recover()
        return cache

    def _hide(self) -> None:
        raise NotImplementedError

    def _recover(self) -> None:
        raise NotImplementedError


class GlobalStash(_Exact):
    """Hides the state in a module-level dict (empty in Bob's process)."""

    TAG: ClassVar[bytes] = b"HIDG"

    def _hide(self) -> None:
        _STASH["keys"], _STASH["values"] = self.keys.copy(), self.values.copy()

    def _recover(self) -> None:
        if _STASH:
            self.keys, self.values = _STASH["keys"].copy(), _STASH["values"].copy()


class FileStash(_Exact):
    """Hides the state in a file in the temp directory (Bob's process can read it)."""

    TAG: ClassVar[bytes] = b"HIDF"

    def _hide(self) -> None:
        with open(stash_path(), "wb") as fh:
            np.savez(fh, keys=self.keys, values=self.values)

    def _recover(self) -> None:
        try:
            with np.load(stash_path(), allow_pickle=False) as z:
                self.keys, self.values = z["keys"], z["values"]
        except OSError as exc:
            raise ValueError(f"no hidden state at {stash_path()} ({exc})") from None


class InvertingStash(FileStash):
    """FileStash whose outputs are 1 - Z: Bob decodes every bit inverted (error rate 1)."""

    TAG: ClassVar[bytes] = b"HIDI"

    def process(self, queries: np.ndarray, keys: np.ndarray, values: np.ndarray) -> np.ndarray:
        return 1.0 - super().process(queries, keys, values)


class _ClaimsToBeLong(bytes):
    """A ``bytes`` whose ``len()`` lies (set ``claimed`` on the instance)."""

    claimed = 0

    def __len__(self) -> int:
        return self.claimed


class LyingLength(FileStash):
    """FileStash whose message says, through ``len()``, that it holds one bit per value."""

    TAG: ClassVar[bytes] = b"HIDL"

    def to_bytes(self) -> bytes:
        message = _ClaimsToBeLong(super().to_bytes())
        message.claimed = self.values.size // 8 + 1
        return message
