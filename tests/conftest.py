"""Shared test configuration: hypothesis profiles and small schedules.

Profiles: ``ci`` (default; derandomized, so a run is repeatable)
and ``thorough`` (more examples, random). Pick with KVBOUND_HYPOTHESIS_PROFILE.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import Any

from hypothesis import HealthCheck, settings

# Let tests import helper modules in tests/ (e.g. the leaky cache) as ``tests.<name>``.
ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

settings.register_profile(
    "ci",
    derandomize=True,
    max_examples=25,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
)
settings.register_profile(
    "thorough",
    max_examples=300,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
)
settings.load_profile(os.environ.get("KVBOUND_HYPOTHESIS_PROFILE", "ci"))

# The hostile caches patch the verifier's modules when imported (that is their attack);
# pytest's doctest collection must not import them into the test process.
collect_ignore = ["hostile_caches.py", "reduction/escaping_caches.py"]


def pytest_terminal_summary(terminalreporter: Any) -> None:
    """Say at the end of every run whether the sandbox tests ran (never skip silently)."""
    from reduction.isolation.sandbox import sandbox_status

    status = sandbox_status()
    if status.available:
        line = f"sandbox: {status.describe()}; the sandbox tests ran"
    else:
        line = (f"sandbox: NOT AVAILABLE ({status.reason}); the sandbox tests were SKIPPED "
                "(install bubblewrap: apt-get install bubblewrap)")
    terminalreporter.write_line(line, yellow=not status.available, bold=True)
