"""Doctests of every package run with the zoo's resolver installed (reduction names caches
by spec and is told how to resolve them by :mod:`caches`).

The presses of NVIDIA kvpress need torch and the extra ``kvbound[kvpress]``, which the main
environment does not have: without them, the modules and tests that import torch are not
collected, and the run ends with a line saying so and how to run them (``make
test-kvpress``, its own environment). Nothing is skipped silently.
"""

from importlib.util import find_spec

import caches  # noqa: F401

KVPRESS_INSTALLED = find_spec("torch") is not None and find_spec("kvpress") is not None
_NEED_TORCH = ["caches/kvpress/standin.py", "tests/caches/kvpress"]
# collect_ignore_glob, not collect_ignore: pytest reads the nearest conftest's list, and
# tests/conftest.py has a collect_ignore of its own.
collect_ignore_glob = [] if KVPRESS_INSTALLED else _NEED_TORCH


def pytest_terminal_summary(terminalreporter: object) -> None:
    if not KVPRESS_INSTALLED:
        terminalreporter.write_line(  # type: ignore[attr-defined]
            f"kvpress presses not tested here (no torch/kvpress): {', '.join(_NEED_TORCH)} "
            "were not collected; run them with `make test-kvpress` (a venv with the extra "
            "kvbound[kvpress])")
