"""The registry of the zoo: every named cache, listed once, and the resolver of cache specs.

Purpose: the one explicit list of what the zoo holds (:data:`MODULES`, each module
declaring its names in ``ENTRIES``, see :mod:`caches.entry`), the lookup by name
(:data:`CACHES`), and :func:`resolve_cache` for a registered name or a third-party
``module:Class``. Importing :mod:`caches` installs this resolver in
:mod:`reduction.cachespec`, so the protocol can run a cache by its spec without importing
the zoo; worker processes start as ``python -m caches.worker``.
"""

from __future__ import annotations

import importlib

from caches import (
    exact,
    h2o,
    kivi,
    knorm,
    lowrank,
    noisy,
    quantize,
    quest,
    random_evict,
    scale_budget,
    sketch,
    snapkv,
    streaming_llm,
    subgen,
    tova,
)
from caches.adversaries import adversarial
from caches.entry import PROTOCOL_OPTIONS, CacheEntry, declared_options
from caches.kvpress import is_kvpress_spec, kvpress_entry
from caches.matching import cluster, packer, support, topk_attention, window
from lowerbound.validation import InvalidArgument
from reduction.isolation.cache_path import use_cache_import_path

__all__ = ["CacheEntry", "CACHES", "MODULES", "PROTOCOL_OPTIONS", "resolve_cache",
           "cache_names", "declared_options"]

#: Every module of the zoo, in the order its names are listed (``kvbound attack`` and the
#: reports keep this order): published compressors, the packer (TIGHT), the noisy and
#: adversarial caches, then the matching caches of the sparsity variants S1-S4.
MODULES = (
    exact, streaming_llm, h2o, snapkv, tova, knorm, random_evict, scale_budget, subgen,
    quantize, kivi, lowrank, sketch, quest, packer, noisy, adversarial,
    topk_attention, support, window, cluster,
)


def _build() -> dict[str, CacheEntry]:
    table: dict[str, CacheEntry] = {}
    for module in MODULES:
        for name, entry in module.ENTRIES:
            if name in table:
                raise ValueError(f"cache {name!r} is declared twice")
            table[name] = entry
    return table


#: Name -> entry, for every registered cache.
CACHES: dict[str, CacheEntry] = _build()


#: Classes handed to :func:`local_spec` in this process (a notebook's own classes).
_LOCAL: dict[str, CacheEntry] = {}
LOCAL_PREFIX = "local:"


def local_spec(cls: type) -> str:
    """A spec for a cache class defined in this process (a notebook cell), which no
    worker process can import: ``local:<Class>#<n>``. It resolves only here, runs only
    with the inline parties, and is never a registered name.

    >>> from caches.exact import ExactCache
    >>> class Mine(ExactCache): ...
    >>> local_spec(Mine).startswith("local:Mine#")
    True
    """
    for method in ("process", "to_bytes", "from_bytes"):
        if not callable(getattr(cls, method, None)):
            raise InvalidArgument(f"{cls.__name__} lacks {method}(); a cache needs process, "
                                  "to_bytes and from_bytes")
    spec = f"{LOCAL_PREFIX}{cls.__name__}#{len(_LOCAL)}"
    _LOCAL[spec] = CacheEntry(cls, {}, f"the caller's class {cls.__qualname__}")
    return spec


def cache_names() -> list[str]:
    """Every registered name, in registration order."""
    return list(CACHES)


def resolve_cache(spec: str) -> CacheEntry:
    """The entry for a registered name, ``package.module:ClassName`` or a kvpress press
    (``kvpress:PressName(arg=value, ...)``, caches.kvpress).

    A third-party class must follow the contract of :mod:`reduction.cache`; its module is
    looked for in the current directory first (:mod:`reduction.isolation.cache_path`).
    """
    spec = spec.strip()
    if spec in CACHES:
        return CACHES[spec]
    if spec in _LOCAL:
        return _LOCAL[spec]
    if is_kvpress_spec(spec):  # a press of NVIDIA kvpress, unported (caches.kvpress)
        return kvpress_entry(spec)
    if ":" in spec:
        module_name, _, class_name = spec.partition(":")
        use_cache_import_path()  # the current directory first, as for `python -m`
        try:
            module = importlib.import_module(module_name)
        except ImportError as exc:
            raise InvalidArgument(f"cannot import cache module {module_name!r}: {exc}") from None
        cls = getattr(module, class_name, None)
        if not isinstance(cls, type):
            raise InvalidArgument(f"module {module_name!r} has no class {class_name!r}")
        for method in ("process", "to_bytes", "from_bytes"):
            if not callable(getattr(cls, method, None)):
                raise ValueError(
                    f"{spec} lacks {method}(); a cache needs process, to_bytes and from_bytes"
                )
        return CacheEntry(cls, {}, f"third-party {spec}")
    raise InvalidArgument(
        f"unknown cache {spec!r}; choose one of {', '.join(CACHES)}, or give module:Class "
        "or kvpress:PressName(...)"
    )
