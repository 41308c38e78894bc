"""Generated docs match the code."""

from __future__ import annotations

from kvbound.docgen import DOC, render_compressors_doc
from kvbound.walkthrough import walkthrough_markdown
from reduction.compressors import CACHES


def test_compressors_table_is_fresh():
    text = DOC.read_text()
    assert render_compressors_doc(text) == text, "docs/compressors.md is stale: run make docs"
    for name in CACHES:
        assert f"| `{name}` |" in text


def test_walkthrough_is_fresh_and_decodes():
    text = walkthrough_markdown()
    committed = (DOC.parent / "walkthrough.md").read_text()
    assert committed == text, "docs/walkthrough.md is stale: run make docs"
    assert "reads [1, 0] = X's first row" in text
