"""How the construction reaches a cache it does not know: the cache spec and its resolver.

Purpose: the protocol of docs/theorem.md#reduction runs *some* cache, named by a spec (a
registered name such as ``exact`` or ``h2o``, or ``package.module:ClassName``), without
importing the zoo that defines the names. The layer that owns the zoo (:mod:`caches`)
installs a resolver here when it is imported, together with the module that starts a
worker process able to resolve specs (``python -m <worker_module> alice|bob``). Imports
therefore point one way: ``reduction`` never names ``caches``; it is told.

A resolved spec is an object with at least ``cls`` (the cache class, contract of
:mod:`reduction.cache`) and ``merged_options(name, given, protocol)``.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

__all__ = ["Resolver", "install_resolver", "resolve", "is_registered", "worker_module",
           "NoResolverError"]

class NoResolverError(RuntimeError):
    """A registered cache name was asked for before any zoo installed a resolver."""


@dataclass(frozen=True)
class Resolver:
    """What the zoo tells the construction: resolve a spec, say whether a name is
    registered, and which module a worker process starts as."""

    resolve: Callable[[str], Any]
    is_registered: Callable[[str], bool]
    worker_module: str | None = None


_installed: list[Resolver] = []


def install_resolver(resolver: Resolver) -> None:
    """Install ``resolver`` (the last one installed wins; installing twice is harmless)."""
    _installed[:] = [resolver]


def _current() -> Resolver:
    if not _installed:
        raise NoResolverError("no cache registry is installed in this process; import caches "
                              "(or kvbound) before running the protocol")
    return _installed[0]


def resolve(spec: str) -> Any:
    """The entry for ``spec`` (a registered name or ``module:Class``)."""
    return _current().resolve(spec)


def is_registered(spec: str) -> bool:
    """True for a registered cache name (our code), False for ``module:Class``."""
    return bool(_installed) and _current().is_registered(spec)


def worker_module() -> str | None:
    """The module a party's worker process runs as (``python -m`` it); None: the
    construction's own worker (``module:Class`` specs only)."""
    return _installed[0].worker_module if _installed else None
