"""The catalogue of lemmas: every lemma module, listed once, and how to run them.

Purpose: the one list of the modules that hold the lemmas of docs/theorem.md (each defines
``LEMMAS`` of :class:`proofs.registry.Lemma`), in the order of the theorem text; the
``uses`` graph checks (:func:`graph_problems`, :func:`topological_order`) and the runner of
every check (:func:`run_all`). The record types live in :mod:`proofs.registry`, which the
lemma modules import; this module imports them, so the graph has no circle.
"""

from __future__ import annotations

import time
from collections.abc import Iterable, Sequence
from types import ModuleType
from typing import Literal

from lowerbound.validation import InvalidArgument
from proofs import (
    c1_low_dimension,
    c2_heads_layers,
    c2_run,
    l1_orthogonality,
    l2_softmax,
    l3_decoding,
    l4_index,
    s5_feasible,
    s5_sparsity,
    s5_tightness,
    s6_cap,
    s6_precision,
    s6_witness,
    s7_certificate,
    theorem,
)
from proofs.registry import CheckOutcome, Lemma, LemmaOutcome

__all__ = ["LEMMA_MODULES", "registry", "graph_problems", "topological_order", "run_lemma",
           "run_all"]

#: Modules holding the lemmas, in the order of docs/theorem.md. Each defines ``LEMMAS``.
LEMMA_MODULES: tuple[ModuleType, ...] = (
    l1_orthogonality,
    l2_softmax,
    l3_decoding,
    l4_index,
    theorem,
    c1_low_dimension,
    c2_heads_layers,
    c2_run,
    s5_tightness,
    s5_feasible,
    s5_sparsity,
    s6_witness,
    s6_cap,
    s6_precision,
    s7_certificate,
)


def registry(modules: Sequence[ModuleType] = LEMMA_MODULES) -> tuple[Lemma, ...]:
    """Every registered lemma, read afresh from the ``LEMMAS`` of each module.

    >>> [lemma.label for lemma in registry()][:4]
    ['L1', 'L2', 'L3', 'L4']
    """
    lemmas: list[Lemma] = []
    for name in modules:
        lemmas.extend(name.LEMMAS)
    return tuple(lemmas)


def graph_problems(lemmas: Iterable[Lemma]) -> list[str]:
    """Why the ``uses`` graph is not a complete DAG with unique labels (empty if it is).

    >>> graph_problems(registry())
    []
    """
    lemmas = list(lemmas)
    problems: list[str] = []
    labels = [lemma.label for lemma in lemmas]
    for label in sorted({x for x in labels if labels.count(x) > 1}):
        problems.append(f"label {label} is registered {labels.count(label)} times")
    known = set(labels)
    for lemma in lemmas:
        for used in lemma.uses:
            if used not in known:
                problems.append(f"{lemma.label} uses {used}, which is not registered")
            if used == lemma.label:
                problems.append(f"{lemma.label} uses itself")
    try:
        topological_order(lemmas)
    except ValueError as exc:
        problems.append(str(exc))
    return problems


def topological_order(lemmas: Iterable[Lemma]) -> list[str]:
    """Labels ordered so that every lemma comes after the lemmas it uses.

    Raises ValueError naming the lemmas on a cycle.
    """
    by_label = {lemma.label: lemma for lemma in lemmas}
    order: list[str] = []
    state: dict[str, int] = {}  # 1 = on the stack, 2 = done

    def visit(label: str, path: list[str]) -> None:
        if state.get(label) == 2 or label not in by_label:
            return
        if state.get(label) == 1:
            cycle = path[path.index(label):] + [label]
            raise InvalidArgument("the uses graph has a cycle: " + " -> ".join(cycle))
        state[label] = 1
        for used in by_label[label].uses:
            visit(used, path + [label])
        state[label] = 2
        order.append(label)

    for label in by_label:
        visit(label, [])
    return order


def run_lemma(lemma: Lemma) -> LemmaOutcome:
    """Run every check of ``lemma``; an exception becomes an ``error`` outcome."""
    outcomes = []
    for check in lemma.checks:
        start = time.perf_counter()
        status: Literal["passed", "failed", "error"]
        try:
            result = check.run()
            status, detail = result.status, result.detail
        except Exception as exc:  # a crashing check is a failing check, reported
            status, detail = "error", f"{type(exc).__name__}: {exc}"
        outcomes.append(
            CheckOutcome(lemma.label, check.name, check.kind, status, detail,
                         time.perf_counter() - start)
        )
    return LemmaOutcome(lemma, tuple(outcomes))


def run_all(lemmas: Sequence[Lemma] | None = None) -> tuple[LemmaOutcome, ...]:
    """Run the checks of every lemma (default: the whole registry), in registry order."""
    return tuple(run_lemma(lemma) for lemma in (registry() if lemmas is None else lemmas))
