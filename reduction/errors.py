"""Whose fault it is: the error types the construction raises, one per culprit.

Purpose: the command line maps each to its exit code (kvbound.exit_codes): a parameter
outside what kvbound accepts is :class:`lowerbound.validation.InvalidArgument` (bad input,
exit 2); a cache that misbehaves (raises, hangs, dies, returns the wrong shape or type,
refuses its own bytes) is a :class:`CacheFault` naming the cache (exit 4); anything else
is a bug in kvbound (exit 1).
"""

from __future__ import annotations

from lowerbound.validation import InvalidArgument

__all__ = ["CacheFault", "InvalidArgument"]


class CacheFault(RuntimeError):
    """A cache broke the contract of :mod:`reduction.cache` or failed while running; the
    message names the cache."""
