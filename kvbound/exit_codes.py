"""The exit codes of the ``kvbound`` command line, one per outcome.

0 the run held (no leak, every check passed); 1 a bug in kvbound (the traceback is
printed, please report it); 2 bad input (:class:`lowerbound.validation.InvalidArgument`,
one line naming the value and what would work); 3 a leak: the cache's message carries less
than Bob decoded (the bound is violated, so the cache keeps state outside its bytes);
4 a cache fault (:class:`reduction.errors.CacheFault`: the cache raised, hung, died or
broke its contract; the line names the cache); 130 interrupted.
"""

from __future__ import annotations

__all__ = ["EXIT_OK", "EXIT_BUG", "EXIT_BAD_INPUT", "EXIT_BOUND_VIOLATED",
           "EXIT_CACHE_FAILED", "EXIT_INTERRUPTED"]

EXIT_OK = 0
EXIT_BUG = 1
EXIT_BAD_INPUT = 2
EXIT_BOUND_VIOLATED = 3
EXIT_CACHE_FAILED = 4
EXIT_INTERRUPTED = 130
