"""Generated docs match the code."""

from __future__ import annotations

from caches import CACHES
from kvbound.reports.docgen import DOC, render_compressors_doc
from kvbound.reports.walkthrough import walkthrough_markdown


def test_compressors_table_is_fresh():
    text = DOC.read_text()
    assert render_compressors_doc(text) == text, "docs/compressors.md is stale: run make docs"
    for name in CACHES:
        assert f"| `{name}` |" in text


def test_walkthrough_is_fresh_and_decodes():
    text = walkthrough_markdown()
    committed = (DOC.parent / "walkthrough.md").read_text()
    assert committed == text, "docs/walkthrough.md is stale: run make docs"
    assert "Decoded X equals Alice's X" in text
    assert "ceil(L/T_K) = 2 passes" in text
    assert "- pass 2: query rows for token 5, 3 zero row(s)." in text
    for name in ("Index", "Multi-Index", "JL"):
        assert name in text


def test_walkthrough_takes_the_instance_parameters():
    text = walkthrough_markdown("var-512", d=128, eps=0.5, eta=0.1)
    assert "## 6. The same on `var-512` (d = 128, eps = 0.5, eta = 0.1)" in text
    assert "L = L_(K-1) = 1216 tokens" in text and "- pass 2: tokens 1025..1216" in text
    assert "N = L d = 155648 bits" in text
