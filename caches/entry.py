"""A named cache of the zoo: its class, fixed options, summary and what it reads.

Purpose: the one record :mod:`caches.registry` lists for every named cache (see
:mod:`reduction.cache` for the contract a cache class follows). Each cache module declares
its names in a module-level ``ENTRIES`` (an :class:`EntryList`), once; the registry
imports the modules explicitly and lists them in one tuple. A class declares the option
names it reads in ``OPTIONS`` (a frozenset); a name it does not read is an error naming the
ones it does. An entry may also read public quantities of the protocol (``eta``, ``tau``,
``delta``, ``additive``: the adversaries of :mod:`caches.adversaries`); those are filled in
by the protocol, never given by hand.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from lowerbound.validation import InvalidArgument

__all__ = ["CacheEntry", "EntryList", "PROTOCOL_OPTIONS", "PROTOCOL_DEFAULTS",
           "declared_options"]

#: Public quantities of the protocol an entry may ask for (filled in by the protocol).
PROTOCOL_OPTIONS = frozenset({"eta", "tau", "delta", "additive", "bits_per_value"})
#: Protocol quantities with a value that holds outside a protocol run (the one-bit values).
PROTOCOL_DEFAULTS: dict[str, Any] = {"bits_per_value": None}


def declared_options(cls: Any) -> frozenset[str] | None:
    """The option names ``cls`` declares in ``OPTIONS`` (None: it declares none).

    >>> from caches.exact import ExactCache
    >>> sorted(declared_options(ExactCache))
    ['dtype']
    """
    names = getattr(cls, "OPTIONS", None)
    if names is None:
        return None
    if isinstance(names, str) or not all(isinstance(n, str) for n in names):
        raise InvalidArgument(
            f"{cls.__name__}.OPTIONS must be a set of option names, got {names!r}")
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
            raise InvalidArgument(f"protocol quantities {sorted(unknown)} are not among "
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

        >>> from caches import CACHES
        >>> CACHES["exact-fp32"].merged_options("exact-fp32", {})
        {'dtype': 'float32'}
        >>> CACHES["exact-fp32"].merged_options("exact-fp32", {"dtype": "float16"})
        ... # doctest: +ELLIPSIS
        Traceback (most recent call last):
        ...
        lowerbound.validation.InvalidArgument: cache 'exact-fp32' fixes dtype='float32'; ...
        >>> CACHES["exact"].merged_options("exact", {"budget": 0.5})  # doctest: +ELLIPSIS
        Traceback (most recent call last):
        ...
        lowerbound.validation.InvalidArgument: cache 'exact' has no option 'budget'; its ...
        """
        for key in self.fixed & set(given):
            if given[key] != self.options[key]:
                raise InvalidArgument(
                    f"cache {name!r} fixes {key}={self.options[key]!r}; drop that option or "
                    f"pick the cache that has {key}={given[key]!r}"
                )
        by_protocol = sorted(self.protocol & set(given))
        if by_protocol:
            raise InvalidArgument(
                f"cache {name!r} takes {', '.join(by_protocol)} from the protocol (--eta, "
                "--delta, the threshold tau); drop the option"
            )
        renamed = sorted((old, new) for old, new in
                         getattr(self.cls, "RENAMED_OPTIONS", {}).items() if old in given)
        if renamed:
            old, new = renamed[0]
            raise InvalidArgument(
                f"cache {name!r}: the option {old!r} is now {new!r} ({old}={given[old]!r} "
                f"-> {new}={given[old]!r})" + (
                    "; --eta stays the error Bob's threshold tolerates" if old == "eta"
                    else ""))
        declared = declared_options(self.cls)
        if declared is not None:
            unknown = sorted(set(given) - declared)
            if unknown:
                valid = ", ".join(sorted(declared - self.protocol)) or "none"
                raise InvalidArgument(
                    f"cache {name!r} has no option{'s' if len(unknown) > 1 else ''} "
                    f"{', '.join(repr(u) for u in unknown)}; its options are: {valid}"
                )
        merged = {**self.options, **given}
        if self.protocol:
            values = {**{k: v for k, v in PROTOCOL_DEFAULTS.items() if k in self.protocol},
                      **dict(protocol or {})}
            missing = sorted(self.protocol - set(values))
            if missing:
                raise InvalidArgument(f"cache {name!r} needs the protocol's {', '.join(missing)}; "
                                 "run it through the protocol (kvbound verify)")
            merged.update({key: values[key] for key in sorted(self.protocol)})
        return merged



class EntryList(list[tuple[str, CacheEntry]]):
    """The (name, entry) pairs one cache module declares, in order."""

    def add(self, name: str, entry: CacheEntry) -> None:
        """Declare ``name`` (lower-case words joined by '-')."""
        if not re.fullmatch(r"[a-z0-9]+(-[a-z0-9.]+)*", name):
            raise InvalidArgument(f"cache name {name!r} must be lower-case words joined by '-'")
        self.append((name, entry))
