"""Generated docs match the code (STYLE.md, example 11)."""

from __future__ import annotations

from kvbound.docgen import DOC, render_compressors_doc
from reduction.compressors import CACHES


def test_compressors_table_is_fresh():
    text = DOC.read_text()
    assert render_compressors_doc(text) == text, "docs/compressors.md is stale: run make docs"
    for name in CACHES:
        assert f"| `{name}` |" in text
