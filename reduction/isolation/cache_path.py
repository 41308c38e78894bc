"""Where third-party ``module:Class`` caches are found: the current directory first.

Purpose: ``kvbound verify --cache every_other:EveryOtherCache`` run from the directory that
holds ``every_other.py`` must find it, whether kvbound was started as ``python -m kvbound``
(whose ``sys.path`` starts with the current directory) or as the ``kvbound`` console
script (whose ``sys.path`` starts with the script's own directory). This module is the one
place that decides the search path: :func:`cache_import_path` for this process and
:func:`child_environment` for every child process that loads caches (Bob's worker), so
both look in the same places.
"""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Mapping

__all__ = ["cache_import_path", "use_cache_import_path", "child_environment", "worker_path"]


def cache_import_path(cwd: str | None = None) -> list[str]:
    """The module search path for caches: the current directory, then ``sys.path``.

    >>> cache_import_path("/somewhere")[0]
    '/somewhere'
    """
    here = os.path.abspath(os.getcwd() if cwd is None else cwd)
    rest = [p for p in sys.path if p and os.path.abspath(p) != here]
    return [here, *rest]


def use_cache_import_path() -> None:
    """Put the current directory at the front of this process's ``sys.path`` (once)."""
    here = cache_import_path()[0]
    if here not in sys.path:
        sys.path.insert(0, here)


def worker_path() -> list[str]:
    """This process's module search path, every entry absolute: where a worker started
    through reduction.isolation.boot finds its own code (as the verifier did)."""
    return [os.path.abspath(p or os.getcwd()) for p in sys.path]


def child_environment(base: Mapping[str, str] | None = None) -> dict[str, str]:
    """``base`` (default ``os.environ``) with ``PYTHONPATH`` = :func:`cache_import_path`
    and ``KVBOUND_WORKER_PATH`` = :func:`worker_path` (JSON).

    A child started with this environment imports a ``module:Class`` cache from the same
    places as its parent, the parent's current directory first.

    >>> env = child_environment({})
    >>> env["PYTHONPATH"].split(os.pathsep)[0] == os.path.abspath(os.getcwd())
    True
    """
    env = dict(os.environ if base is None else base)
    env["PYTHONPATH"] = os.pathsep.join(cache_import_path())
    env["KVBOUND_WORKER_PATH"] = json.dumps(worker_path())
    return env
