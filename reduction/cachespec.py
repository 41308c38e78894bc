"""How the construction reaches a cache it does not know: the cache spec and its resolver.

Purpose: the protocol of docs/theorem.md#reduction runs *some* cache, named by a spec (a
registered name such as ``exact`` or ``h2o``, or ``package.module:ClassName``), without
importing the zoo that defines the names. The layer that owns the zoo (:mod:`caches`)
installs a resolver here when it is imported, together with the module that starts a
worker process able to resolve specs (``python -m <worker_module> alice|bob``). Imports
therefore point one way: ``reduction`` never names ``caches``; it is told.

A resolved spec is an object with at least ``cls`` (the cache class, contract of
:mod:`reduction.cache`) and ``merged_options(name, given, protocol)``.

Many heads (docs/theorem.md#c2-run): a class that does not set ``MULTI_HEAD = True`` is
run on D * H > 1 heads through the zoo's per-head wrapper, which the zoo installs here
too (``Resolver.per_head``); :func:`cache_class` picks the class a party builds.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

__all__ = ["Resolver", "install_resolver", "resolve", "is_registered", "worker_module",
           "cache_class", "is_multi_head", "NoResolverError"]


class NoResolverError(RuntimeError):
    """A registered cache name was asked for before any zoo installed a resolver."""


@dataclass(frozen=True)
class Resolver:
    """What the zoo tells the construction: resolve a spec, say whether a name is
    registered, which module a worker process starts as, and how a one-head class runs
    on many heads (``per_head``: the class made from it, or None)."""

    resolve: Callable[[str], Any]
    is_registered: Callable[[str], bool]
    worker_module: str | None = None
    per_head: Callable[[type], type] | None = None


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


def is_multi_head(cls: Any) -> bool:
    """Whether ``cls`` handles (D, H, T_k, d) blocks itself: the class that defines its
    ``process`` sets ``MULTI_HEAD = True`` (a subclass that rewrites ``process`` does not
    inherit the flag of a parent whose ``process`` handled many heads).

    >>> class One:
    ...     def process(self, q, k, v): return q
    >>> class Many(One):
    ...     MULTI_HEAD = True
    ...     def process(self, q, k, v): return q
    >>> class Again(Many):
    ...     def process(self, q, k, v): return q
    >>> class Same(Many): ...
    >>> [is_multi_head(c) for c in (One, Many, Again, Same)]
    [False, True, False, True]
    """
    owner = next((c for c in getattr(cls, "__mro__", ()) if "process" in vars(c)), None)
    return owner is not None and vars(owner).get("MULTI_HEAD") is True


def cache_class(cls: type, params: Any) -> type:
    """The class a party builds for ``params``: ``cls`` itself for one head or for a class
    that handles many heads (:func:`is_multi_head`), else the per-head wrapper of ``cls``
    installed by the zoo (one instance per (layer, head), budgets split uniformly)."""
    if not getattr(params, "multi_head", False) or is_multi_head(cls):
        return cls
    lift = _installed[0].per_head if _installed else None
    if lift is None:
        raise NoResolverError(f"{cls.__name__} handles one head and no per-head wrapper is "
                              "installed; import caches (or kvbound) before running D * H > 1 "
                              "heads")
    return lift(cls)
