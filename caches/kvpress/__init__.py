"""caches.kvpress: any NVIDIA kvpress press as a kvbound cache, unported (``kvbound[kvpress]``).

Purpose: ``kvbound verify --cache 'kvpress:SnapKVPress(compression_ratio=0.5)'`` runs a
press of the kvpress library itself against the hard instance, in the same worker
processes as every third-party cache, with the same verdict. The spec is resolved here,
in the worker that asks: :func:`kvpress_entry` parses it (caches.kvpress.spec, no eval) and
returns an entry whose class is Alice's adapter (caches.kvpress.adapter: torch and kvpress,
imported when Alice builds her cache) and whose ``from_bytes`` rebuilds Bob's numpy-only
cache (caches.kvpress.state). Which presses run and which are refused, and why:
caches.kvpress.catalogue; what a press reads from a model: caches.kvpress.standin.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from caches.entry import CacheEntry
from caches.kvpress.adapter import cache_class, compress_after_text
from caches.kvpress.spec import PREFIX, is_kvpress_spec, parse_spec
from caches.kvpress.state import dtype_name

__all__ = ["PREFIX", "KvpressEntry", "is_kvpress_spec", "kvpress_entry"]


class KvpressEntry(CacheEntry):
    """The entry of a ``kvpress:`` spec: option names and their spelling checked at once
    (the range of ``compress_after`` needs the schedule: checked when Alice builds)."""

    def merged_options(self, name: str, given: Mapping[str, Any],
                       protocol: Mapping[str, Any] | None = None) -> dict[str, Any]:
        merged = super().merged_options(name, given, protocol)
        dtype_name(merged.get("dtype", "float16"))
        compress_after_text(merged.get("compress_after", "all"))
        return merged


def kvpress_entry(spec: str) -> KvpressEntry:
    """The entry for ``kvpress:PressName(...)`` (InvalidArgument if the spec is malformed).

    >>> entry = kvpress_entry("kvpress:KnormPress(compression_ratio=0.5)")
    >>> entry.cls.SPEC, sorted(entry.cls.OPTIONS)
    ('kvpress:KnormPress(compression_ratio=0.5)', ['compress_after', 'dtype'])
    """
    call = parse_spec(spec)
    return KvpressEntry(cache_class(spec), {}, f"kvpress {call.text()}, unported")
