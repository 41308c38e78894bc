"""One page built for every test of the page (it takes a few seconds), and the marker of
the browser test (``make test-site`` runs it alone)."""

from __future__ import annotations

from pathlib import Path

import pytest


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "browser: drives a headless chromium (make test-site)")


@pytest.fixture(scope="session")
def built_site(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, list[Path]]:
    from kvbound.site.build import build_site

    out = tmp_path_factory.mktemp("site")
    return out, build_site(out)
