"""How a worker process starts: ``python -E -B boot.py <module> <args>``.

Purpose: a worker's own code must come from where the verifier's came from, not from a
file a cache left in the current directory (docs/theorem.md#sandbox). ``python -m``
would put the current directory first on the module search path, and ``PYTHONPATH``
could put anything there; so the worker starts from this file with ``-E`` (environment
variables ``PYTHON*`` ignored), replaces ``sys.path`` with the verifier's own
(``KVBOUND_WORKER_PATH``, a JSON list set by reduction.isolation.cache_path), then runs
the worker module as ``__main__``. A ``module:Class`` cache is looked for in the current
directory first only when it is resolved (reduction.isolation.cache_path).
"""

import json
import os
import runpy
import sys
import warnings

if __name__ == "__main__":
    sys.path[:] = [p for p in json.loads(os.environ["KVBOUND_WORKER_PATH"]) if
                   isinstance(p, str)]
    module, sys.argv = sys.argv[1], sys.argv[1:]
    # caches.worker is imported by its own package first (it installs the resolver);
    # runpy's warning about that would end every fault's stderr tail
    warnings.filterwarnings("ignore", category=RuntimeWarning,
                            message=".*found in sys.modules after import of package")
    runpy.run_module(module, run_name="__main__", alter_sys=True)
