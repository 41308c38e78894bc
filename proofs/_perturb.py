"""Private helper for the ``perturbed`` runs of certified and exhaustive checks.

A perturbed run feeds a certificate one or more wrong values. It must *fail*, and it
fails only if every wrong value was caught: a certificate that refutes one wrong value
and accepts another has not shown that it can tell them apart
(tests/proofs/test_certificates_can_fail.py).
"""

from __future__ import annotations

from proofs.registry import CheckResult

__all__ = ["all_caught"]


def all_caught(*runs: tuple[str, CheckResult]) -> CheckResult:
    """``failed`` iff every (wrong value, certificate run) pair failed; else ``passed``.

    >>> all_caught(("L*+1", CheckResult.of(False, "gamma too big"))).status
    'failed'
    >>> all_caught(("L*+1", CheckResult.of(False, "")), ("L*-1", CheckResult.of(True, ""))
    ...            ).status
    'passed'
    """
    missed = [name for name, r in runs if r.status != "failed"]
    detail = "; ".join(f"{name}: {'MISSED' if r.status != 'failed' else 'caught'} "
                       f"({r.detail[:160]})" for name, r in runs)
    return CheckResult.of(bool(missed), detail)
