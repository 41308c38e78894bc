"""Registry of KV caches by name, and resolution of third-party ``module:Class`` caches.

Each entry is a cache class (see :mod:`reduction.cache` for the contract) with the fixed
options that name stands for, e.g. ``exact-fp32`` = ExactCache with dtype float32. Options
given on top (a budget, a bit width) are merged over them. A class declares the option
names it reads in ``OPTIONS`` (a frozenset); a name it does not read is an error naming
the ones it does. An entry may also read public quantities of the protocol (``eta``,
``tau``, ``delta``, ``additive``: the adversarial caches of
:mod:`reduction.compressors.adversarial`); those are filled in by the protocol, never
given by hand.
"""

from __future__ import annotations

import importlib
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from reduction.cache_path import use_cache_import_path
from reduction.compressors.exact import ExactCache

__all__ = [
    "CacheEntry",
    "CACHES",
    "PROTOCOL_OPTIONS",
    "register_cache",
    "resolve_cache",
    "cache_names",
    "declared_options",
]

#: Public quantities of the protocol an entry may ask for (filled in by the protocol).
PROTOCOL_OPTIONS = frozenset({"eta", "tau", "delta", "additive", "bits_per_value"})
#: Protocol quantities with a value that holds outside a protocol run (the one-bit values).
PROTOCOL_DEFAULTS: dict[str, Any] = {"bits_per_value": None}


def declared_options(cls: Any) -> frozenset[str] | None:
    """The option names ``cls`` declares in ``OPTIONS`` (None: it declares none).

    >>> sorted(declared_options(ExactCache))
    ['dtype']
    """
    names = getattr(cls, "OPTIONS", None)
    if names is None:
        return None
    if isinstance(names, str) or not all(isinstance(n, str) for n in names):
        raise ValueError(f"{cls.__name__}.OPTIONS must be a set of option names, got {names!r}")
    return frozenset(names)


@dataclass(frozen=True)
class CacheEntry:
    """A named cache: its class, default options, a summary, whether it takes a budget,
    which of its options the name fixes (``uniform-q2`` fixes ``bits``), which public
    quantities of the protocol it reads (``protocol``, a subset of
    :data:`PROTOCOL_OPTIONS`), and whether it is an adversary of the decoding rather
    than a compressor (``adversary``: left out of ``attack``'s sweep of every cache)."""

    cls: Any
    options: Mapping[str, Any] = field(default_factory=dict)
    summary: str = ""
    budgeted: bool = False
    fixed: frozenset[str] = frozenset()
    protocol: frozenset[str] = frozenset()
    adversary: bool = False

    def __post_init__(self) -> None:
        unknown = self.protocol - PROTOCOL_OPTIONS
        if unknown:
            raise ValueError(f"protocol quantities {sorted(unknown)} are not among "
                             f"{sorted(PROTOCOL_OPTIONS)}")

    def merged_options(
        self,
        name: str,
        given: Mapping[str, Any],
        protocol: Mapping[str, Any] | None = None,
    ) -> dict[str, Any]:
        """Defaults overridden by ``given``, plus the protocol quantities the entry reads.

        Overriding an option the name fixes, giving an option the class does not declare
        in ``OPTIONS``, or giving by hand a quantity the protocol fills in is an error.

        >>> CACHES["exact-fp32"].merged_options("exact-fp32", {})
        {'dtype': 'float32'}
        >>> CACHES["exact-fp32"].merged_options("exact-fp32", {"dtype": "float16"})
        ... # doctest: +ELLIPSIS
        Traceback (most recent call last):
        ...
        ValueError: cache 'exact-fp32' fixes dtype='float32'; drop that option ...
        >>> CACHES["exact"].merged_options("exact", {"budget": 0.5})
        Traceback (most recent call last):
        ...
        ValueError: cache 'exact' has no option 'budget'; its options are: dtype
        """
        for key in self.fixed & set(given):
            if given[key] != self.options[key]:
                raise ValueError(
                    f"cache {name!r} fixes {key}={self.options[key]!r}; drop that option or "
                    f"pick the cache that has {key}={given[key]!r}"
                )
        by_protocol = sorted(self.protocol & set(given))
        if by_protocol:
            raise ValueError(
                f"cache {name!r} takes {', '.join(by_protocol)} from the protocol (--eta, "
                "--delta, the threshold tau); drop the option"
            )
        declared = declared_options(self.cls)
        if declared is not None:
            unknown = sorted(set(given) - declared)
            if unknown:
                valid = ", ".join(sorted(declared - self.protocol)) or "none"
                raise ValueError(
                    f"cache {name!r} has no option{'s' if len(unknown) > 1 else ''} "
                    f"{', '.join(repr(u) for u in unknown)}; its options are: {valid}"
                )
        merged = {**self.options, **given}
        if self.protocol:
            values = {**{k: v for k, v in PROTOCOL_DEFAULTS.items() if k in self.protocol},
                      **dict(protocol or {})}
            missing = sorted(self.protocol - set(values))
            if missing:
                raise ValueError(f"cache {name!r} needs the protocol's {', '.join(missing)}; "
                                 "run it through the protocol (kvbound verify)")
            merged.update({key: values[key] for key in sorted(self.protocol)})
        return merged


CACHES: dict[str, CacheEntry] = {}


def register_cache(name: str, entry: CacheEntry) -> None:
    """Add a named cache (names are lower-case words joined by '-')."""
    if not re.fullmatch(r"[a-z0-9]+(-[a-z0-9.]+)*", name):
        raise ValueError(f"cache name {name!r} must be lower-case words joined by '-'")
    if name in CACHES:
        raise ValueError(f"cache {name!r} is registered already")
    CACHES[name] = entry


_DTYPE = frozenset({"dtype"})
register_cache("exact", CacheEntry(ExactCache, {"dtype": "float16"}, "every K/V at float16",
                                   fixed=_DTYPE))
for _bits in (16, 32, 64):
    register_cache(f"exact-fp{_bits}", CacheEntry(
        ExactCache, {"dtype": f"float{_bits}"}, f"every K/V at float{_bits}", fixed=_DTYPE))

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
    "reduction.compressors.noisy",
    "reduction.compressors.adversarial",
    # the matching caches of the sparsity variants S1-S4 (reduction/variants/)
    "reduction.compressors.topk_attention",
    "reduction.compressors.support",
    "reduction.compressors.window",
    "reduction.compressors.cluster",
)

for _module in _COMPRESSOR_MODULES:
    importlib.import_module(_module)


def cache_names() -> list[str]:
    """Every registered name, in registration order."""
    return list(CACHES)


def resolve_cache(spec: str) -> CacheEntry:
    """The entry for a registered name, or for ``package.module:ClassName``.

    A third-party class must follow the contract of :mod:`reduction.cache`; its module is
    looked for in the current directory first (:mod:`reduction.cache_path`).
    """
    spec = spec.strip()
    if spec in CACHES:
        return CACHES[spec]
    if ":" in spec:
        module_name, _, class_name = spec.partition(":")
        use_cache_import_path()  # the current directory first, as for `python -m`
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
