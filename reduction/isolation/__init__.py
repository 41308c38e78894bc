"""The process boundary of the protocol: worker processes, frames, threads, resources.

Purpose: the verifier (:mod:`reduction.protocol`) reaches Alice and Bob only through
:class:`ProcessParties` (worker processes, :mod:`reduction.isolation.worker`, each in the
sandbox of :mod:`reduction.isolation.sandbox`, one :mod:`reduction.isolation.party`
each) or, for registered caches in fast tests, :class:`InlineParties`; what crosses the
boundary is framed and checked (:mod:`reduction.isolation.frames`); BLAS threads are
chosen per operation (:mod:`reduction.isolation.threads`); sizes are checked against the
machine (:mod:`reduction.isolation.resources`).
"""

from reduction.isolation.parties import (
    DEFAULT_TIMEOUT,
    InlineParties,
    PartyFailure,
    PartyProcess,
    ProcessParties,
)
from reduction.isolation.sandbox import harden_verifier, sandbox_status

__all__ = ["PartyFailure", "PartyProcess", "ProcessParties", "InlineParties",
           "DEFAULT_TIMEOUT", "harden_verifier", "sandbox_status"]
