"""Imports point one way: kvbound -> proofs -> variants -> caches -> reduction -> lowerbound.

Parsed with ast, so a late or conditional import counts too, and so does an import by name:
a string literal that names one of our modules (``importlib.import_module("kvbound.x")``,
``python -m caches.worker``) is an edge like an ``import``. No package imports another
package's ``_private`` module, and the module graph has no circle.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
LAYERS = ["lowerbound", "reduction", "caches", "variants", "proofs", "kvbound"]


def _module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts = parts[:-1]
    return ".".join(parts)


MODULES = {_module_name(p): p for package in LAYERS for p in (ROOT / package).rglob("*.py")}


def _target(name: str) -> str | None:
    """The module of ours that ``name`` (a module or ``module.attribute``) lands in."""
    while name:
        if name in MODULES:
            return name
        name = name.rpartition(".")[0]
    return None


def _edges(path: Path) -> set[str]:
    """Every module of ours this file imports, by statement or by name."""
    tree = ast.parse(path.read_text(), filename=str(path))
    found: set[str] = set()
    for node in ast.walk(tree):
        names: list[str] = []
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names = [f"{node.module}.{alias.name}" for alias in node.names]
        elif isinstance(node, ast.Constant) and isinstance(node.value, str):
            text = node.value.partition(":")[0]
            if text in MODULES:
                names = [text]
        for name in names:
            target = _target(name)
            if target is not None and target != _module_name(path):
                found.add(target)
    return found


GRAPH = {name: _edges(path) for name, path in MODULES.items()}


def _package(module: str) -> str:
    return module.split(".")[0]


@pytest.mark.parametrize("package", LAYERS)
def test_imports_point_one_way(package: str) -> None:
    allowed = set(LAYERS[: LAYERS.index(package) + 1])
    offenders = {
        module: sorted(t for t in targets if _package(t) not in allowed)
        for module, targets in GRAPH.items()
        if _package(module) == package and any(_package(t) not in allowed for t in targets)
    }
    assert offenders == {}, f"{package} imports a higher layer: {offenders}"


def test_no_package_imports_another_packages_private_module() -> None:
    offenders = sorted(
        f"{module} -> {target}"
        for module, targets in GRAPH.items()
        for target in targets
        if _package(target) != _package(module)
        and any(part.startswith("_") and part != "__init__" for part in target.split("."))
    )
    assert offenders == []


def _cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components with more than one module (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []

    def visit(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        on_stack.add(v)
        for w in graph.get(v, ()):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            component = []
            while True:
                w = stack.pop()
                on_stack.discard(w)
                component.append(w)
                if w == v:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for v in sorted(graph):
        if v not in index:
            visit(v)
    return found


def test_no_import_circles_hidden_or_drawn() -> None:
    assert _cycles(GRAPH) == []


def test_the_circle_finder_finds_a_circle() -> None:
    assert _cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]


def test_an_import_by_name_is_an_edge() -> None:
    assert "kvbound.commands.verify" in GRAPH["kvbound.cli"]
    assert "caches.worker" in GRAPH["caches"]


def test_the_biggest_package_holds_at_most_a_third_of_the_lines() -> None:
    lines = {package: sum(len(p.read_text().splitlines()) for p in (ROOT / package).rglob("*.py"))
             for package in LAYERS}
    biggest = max(lines, key=lines.__getitem__)
    assert lines[biggest] * 3 <= sum(lines.values()), lines


def test_no_global_random_state_or_pickle() -> None:
    bad = ("np.random.seed(", "RandomState(", "pickle.load", "allow_pickle=True")
    for package in [*LAYERS, "bench"]:
        for p in (ROOT / package).rglob("*.py"):
            text = p.read_text()
            for pattern in bad:
                assert pattern not in text, f"{p.relative_to(ROOT)} uses {pattern}"
