"""The process boundary of the protocol: worker processes, frames, threads, resources.

Purpose: the verifier (:mod:`reduction.protocol`) reaches Alice and Bob only through
:class:`ProcessParties` (two worker processes, :mod:`reduction.isolation.worker`) or, for
registered caches in fast tests, :class:`InlineParties`; what crosses the boundary is
framed and checked (:mod:`reduction.isolation.frames`); BLAS threads are chosen per
operation (:mod:`reduction.isolation.threads`); sizes are checked against the machine
(:mod:`reduction.isolation.resources`).
"""

from reduction.isolation.parties import (
    DEFAULT_TIMEOUT,
    MAX_STATE_BYTES,
    InlineParties,
    PartyFailure,
    PartyProcess,
    ProcessParties,
)

__all__ = ["PartyFailure", "PartyProcess", "ProcessParties", "InlineParties",
           "DEFAULT_TIMEOUT", "MAX_STATE_BYTES"]
