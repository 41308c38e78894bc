"""One page built for every test of the page (it takes a few seconds)."""

from __future__ import annotations

from pathlib import Path

import pytest


@pytest.fixture(scope="session")
def built_site(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, list[Path]]:
    from kvbound.site.build import build_site

    out = tmp_path_factory.mktemp("site")
    return out, build_site(out)
