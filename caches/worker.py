"""The parties' worker process with the zoo loaded: ``python -m caches.worker alice|bob``.

Purpose: :mod:`reduction.isolation.worker` serves Alice or Bob; started through this
module, it resolves registered cache names too. :func:`install` puts the zoo's resolver
into :mod:`reduction.cachespec` and names this module as the one a worker starts as;
importing :mod:`caches` calls it, and so does this module when it runs as a worker.
"""

from __future__ import annotations

import sys

from caches.per_head import per_head_class
from caches.registry import CACHES, resolve_cache
from reduction.cachespec import Resolver, install_resolver
from reduction.isolation.worker import exit_now, main

__all__ = ["install"]


def install() -> None:
    """Install the zoo's resolver (registered names and ``module:Class``), its worker and
    its per-head wrapper (one-head classes on D * H > 1 heads)."""
    install_resolver(Resolver(resolve=resolve_cache,
                              is_registered=lambda spec: spec.strip() in CACHES,
                              worker_module="caches.worker", per_head=per_head_class))


if __name__ == "__main__":
    install()
    exit_now(main(sys.argv))
