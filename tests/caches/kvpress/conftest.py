"""Fixtures of the kvpress tests (run by ``make test-kvpress``, in the venv with the extra).

One pair of worker processes serves every protocol run of the session (each worker imports
torch and kvpress once), and the table of docs/compressors.md is run once and shared by
the tests that read it.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from kvbound.experiments.kvpress_table import Point, run_table
from reduction.protocol import open_parties


@pytest.fixture(scope="session")
def parties() -> Iterator[Any]:
    with open_parties("process", sandbox=False) as both:  # as run_table: trusted code
        both.start()
        yield both


@pytest.fixture(scope="session")
def table(parties: Any) -> list[Point]:
    return run_table(parties=parties)
