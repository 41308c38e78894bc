"""kvbound: the application (CLI, reports, plots) on top of proofs, variants, caches,
reduction and lowerbound, and a small Python API for notebooks:

>>> import kvbound
>>> r = kvbound.verify(cache="exact", schedule="1,2,4", d=32, seeds=1)  # doctest: +SKIP
>>> r.bit_errors, r.message_bits >= r.instance_bits                     # doctest: +SKIP
(0, True)

:func:`verify` takes a registered name, a ``"module:Class"`` string or a cache class and
returns the record of ``kvbound verify --json``; :func:`constants` the numbers of
``kvbound constants --json``. See :mod:`kvbound.api`.
"""

from __future__ import annotations

from typing import Any

import caches as _caches  # noqa: F401  (installs the zoo's resolver for the protocol)

__all__ = ["verify", "constants", "__version__"]

__version__ = "0.1.0"


def verify(*args: Any, **kwargs: Any) -> Any:
    """Run the reduction on a cache: see :func:`kvbound.api.verify`."""
    from kvbound.api import verify as _verify

    return _verify(*args, **kwargs)


def constants(*args: Any, **kwargs: Any) -> Any:
    """The theorem's constants: see :func:`kvbound.api.constants`."""
    from kvbound.api import constants as _constants

    return _constants(*args, **kwargs)
