"""caches: the zoo of KV caches that attack the construction, built on its cache protocol.

Published compressors at the top level (one policy per module), ``caches/matching/`` for
the caches that meet each bound (the packer of TIGHT, the matching caches of S1-S4),
``caches/adversaries/`` for the worst (eta, delta)-correct outputs, and
:mod:`caches.contract` for the checks every cache must pass. Every name is listed once in
:mod:`caches.registry`. Importing this package installs its resolver in
:mod:`reduction.cachespec` (the protocol names caches by spec and never imports the zoo).
"""

from caches.entry import PROTOCOL_OPTIONS, CacheEntry, declared_options
from caches.registry import CACHES, MODULES, cache_names, resolve_cache
from caches.worker import install

__all__ = ["CACHES", "MODULES", "CacheEntry", "PROTOCOL_OPTIONS", "cache_names",
           "declared_options", "resolve_cache"]

install()
