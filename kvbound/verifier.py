"""The verifier's own process, made ready before any cache runs.

Purpose: docs/theorem.md#sandbox. The verdict is computed and written by this process;
the cache runs only in sandboxed workers (reduction.isolation). Two things must hold
before the first worker starts:

* every module the verdict needs is already imported. Python loads a module when it is
  first used; a module first loaded after Alice answered would be read from disk (or
  from wherever the search path points) at a moment a cache chooses. With the code in
  memory first, a file rewritten or a package dropped during the run changes nothing.
  :data:`VERDICT_MODULES` lists what the verdict path loads on first use (numpy loads
  ``numpy.random`` on first access; the confidence bounds load ``scipy.special``; the
  reports and figures are ours); ``tests/kvbound/test_verifier.py`` runs the commands
  with an audit hook and fails on any module loaded after the first worker started.
* the process is non-dumpable (reduction.isolation.sandbox.harden_verifier): another
  process of the same user cannot trace it or read or write its memory.
"""

from __future__ import annotations

import importlib

from reduction.isolation.sandbox import harden_verifier

__all__ = ["prepare_verifier", "VERDICT_MODULES", "FIGURE_MODULES"]

VERDICT_MODULES = (
    "numpy.random",
    "scipy.special",
    "threadpoolctl",
    "lowerbound.logit_cap",
    "lowerbound.precision",
    "kvbound.reports.verify",
    "kvbound.reports.attack",
    "kvbound.experiments.pooling",
    "caches.contract",
)
FIGURE_MODULES = (
    "matplotlib",
    "matplotlib.pyplot",
    "matplotlib.backends.backend_agg",
    "matplotlib.figure",
    "matplotlib.offsetbox",
    "matplotlib.backends.backend_mixed",
    "matplotlib.backends.backend_svg",
    "PIL.Image",
    "kvbound.plots.style",
    "kvbound.plots.levels",
    "kvbound.plots.outputs",
)


def prepare_verifier(figures: bool = False) -> bool:
    """Import :data:`VERDICT_MODULES` (and :data:`FIGURE_MODULES` when figures will be
    drawn), then make this process non-dumpable; True when that took effect."""
    for name in VERDICT_MODULES + (FIGURE_MODULES if figures else ()):
        importlib.import_module(name)
    if figures:  # Pillow loads its file-format plugins when it first saves an image
        importlib.import_module("PIL.Image").preinit()
    return harden_verifier()
