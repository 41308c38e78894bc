"""Registry of KV caches by name, and resolution of third-party ``module:Class`` caches.

Each entry is a cache class (see :mod:`reduction.cache` for the contract) with the fixed
options that name stands for, e.g. ``exact-fp32`` = ExactCache with dtype float32. Options
given on top (a budget, a bit width) are merged over them.
"""

from __future__ import annotations

import importlib
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from reduction.compressors.exact import ExactCache

__all__ = ["CacheEntry", "CACHES", "register_cache", "resolve_cache", "cache_names"]


@dataclass(frozen=True)
class CacheEntry:
    """A named cache: its class, fixed options, whether it takes a budget, a summary."""

    cls: Any
    options: Mapping[str, Any] = field(default_factory=dict)
    summary: str = ""
    budgeted: bool = False


CACHES: dict[str, CacheEntry] = {}


def register_cache(name: str, entry: CacheEntry) -> None:
    """Add a named cache (names are lower-case words joined by '-')."""
    if not re.fullmatch(r"[a-z0-9]+(-[a-z0-9.]+)*", name):
        raise ValueError(f"cache name {name!r} must be lower-case words joined by '-'")
    if name in CACHES:
        raise ValueError(f"cache {name!r} is registered already")
    CACHES[name] = entry


register_cache("exact", CacheEntry(ExactCache, {"dtype": "float16"}, "every K/V at float16"))
register_cache("exact-fp16", CacheEntry(ExactCache, {"dtype": "float16"}, "every K/V at float16"))
register_cache("exact-fp32", CacheEntry(ExactCache, {"dtype": "float32"}, "every K/V at float32"))
register_cache("exact-fp64", CacheEntry(ExactCache, {"dtype": "float64"}, "every K/V at float64"))

# Compressor modules register themselves on import; listed here so the registry is whole.
_COMPRESSOR_MODULES: tuple[str, ...] = (
    "reduction.compressors.streaming_llm",
    "reduction.compressors.h2o",
    "reduction.compressors.snapkv",
    "reduction.compressors.tova",
    "reduction.compressors.knorm",
    "reduction.compressors.random_evict",
    "reduction.compressors.scale_budget",
    "reduction.compressors.subgen",
    "reduction.compressors.quantize",
    "reduction.compressors.kivi",
    "reduction.compressors.lowrank",
    "reduction.compressors.sketch",
    "reduction.compressors.quest",
    "reduction.compressors.packer",
)

for _module in _COMPRESSOR_MODULES:
    importlib.import_module(_module)


def cache_names() -> list[str]:
    """Every registered name, in registration order."""
    return list(CACHES)


def resolve_cache(spec: str) -> CacheEntry:
    """The entry for a registered name, or for ``package.module:ClassName``.

    A third-party class must follow the contract of :mod:`reduction.cache`.
    """
    spec = spec.strip()
    if spec in CACHES:
        return CACHES[spec]
    if ":" in spec:
        module_name, _, class_name = spec.partition(":")
        try:
            module = importlib.import_module(module_name)
        except ImportError as exc:
            raise ValueError(f"cannot import cache module {module_name!r}: {exc}") from None
        cls = getattr(module, class_name, None)
        if not isinstance(cls, type):
            raise ValueError(f"module {module_name!r} has no class {class_name!r}")
        for method in ("process", "to_bytes", "from_bytes"):
            if not callable(getattr(cls, method, None)):
                raise ValueError(
                    f"{spec} lacks {method}(); a cache needs process, to_bytes and from_bytes"
                )
        return CacheEntry(cls, {}, f"third-party {spec}")
    raise ValueError(
        f"unknown cache {spec!r}; choose one of {', '.join(CACHES)} or give module:Class"
    )
