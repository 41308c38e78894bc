"""The defaults of a run, in one place: the schedule, d, eps, eta a command uses when told
nothing.

Purpose: the commands, the Python API (:func:`kvbound.verify`), the walk-through and the
course read their defaults from :data:`DEFAULTS`, so they cannot drift apart. The values
are those of docs/theorem.md's running example: the VAR-d16 schedule at 256 px
(``var-256``: 10 scales, L = 424 cached tokens), head dimension 64, keys eps = 3/4
near-orthogonal (Lemma L1) and a decoding that tolerates relative error eta = 1/4 (Lemma
L3).
"""

from __future__ import annotations

from dataclasses import dataclass
from fractions import Fraction

__all__ = ["Defaults", "DEFAULTS"]


@dataclass(frozen=True)
class Defaults:
    """The defaults of a run (see the module docstring)."""

    schedule: str = "var-256"
    d: int = 64
    eps: Fraction = Fraction(3, 4)
    eta: Fraction = Fraction(1, 4)


#: The one instance every caller reads.
DEFAULTS = Defaults()
