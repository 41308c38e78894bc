"""Two attempts to fool kvbound's leak detector (worked answer of exercise 8).

Both caches answer attention exactly while their message is a bare 8-byte frame (64
bits): they try to carry Alice's keys and values to Bob outside ``to_bytes()``.

* :class:`GlobalStash` keeps them in a module-level variable. Bob runs in his own
  process, where that variable is empty, so he sees no cached tokens and reads every bit
  as 0: about half the bits are wrong, the information delivered N(1 - H2(p)) is about 0
  and nothing is detected, because nothing leaked. (``--isolation inline``, where Alice
  and Bob would share one process and this global, is refused for third-party caches.)
* :class:`FileStash` writes them to a file that Bob's side reads back. The file system
  crosses the process boundary, Bob decodes every bit, and the detector fires: 64 message
  bits cannot carry N bits of information (Fano), so ``kvbound verify`` reports
  ``bound_respected: false`` and exits with code 3.

Run from this directory:

    kvbound verify --cache hidden_state:GlobalStash --json
    kvbound verify --cache hidden_state:FileStash --json
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

__all__ = ["GlobalStash", "FileStash", "stash_path"]

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
