"""Imports point one way: kvbound -> proofs -> reduction -> lowerbound.

Parsed with ast, so a late or conditional import counts too."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
LAYERS = ["lowerbound", "reduction", "proofs", "kvbound"]  # lower may not import higher


def _imports(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(), filename=str(path))
    found: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found |= {alias.name.split(".")[0] for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.add(node.module.split(".")[0])
    return found


@pytest.mark.parametrize("package", LAYERS)
def test_imports_point_one_way(package):
    allowed = set(LAYERS[: LAYERS.index(package) + 1])
    forbidden = set(LAYERS) - allowed
    offenders = {
        str(p.relative_to(ROOT)): sorted(_imports(p) & forbidden)
        for p in (ROOT / package).rglob("*.py")
        if _imports(p) & forbidden
    }
    assert offenders == {}, f"{package} imports a higher layer: {offenders}"


def test_no_global_random_state_or_pickle():
    bad = ("np.random.seed(", "RandomState(", "pickle.load", "allow_pickle=True")
    for package in LAYERS + ["bench"]:
        for p in (ROOT / package).rglob("*.py"):
            text = p.read_text()
            for pattern in bad:
                assert pattern not in text, f"{p.relative_to(ROOT)} uses {pattern}"
