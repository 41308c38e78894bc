"""What the page cannot compute itself: precomputed by kvbound when the page is built.

Purpose: the interactive page (``kvbound site``) recomputes the closed forms in JavaScript
(``assets/kvbound.js``, checked against :mod:`kvbound.site.reference`); everything else it
shows comes from here, written into ``data.js`` (a page opened from disk may not read a
JSON file, so the data is a script) and ``data.json`` (the same, for reading):

- ``schedules``: the schedules its slider walks through (presets and geometric(n, 2)),
  with L_{K-1}, T_K and L_K from :class:`reduction.schedule.Schedule`;
- ``etas``: the values of its eta slider (exact fractions and floats);
- ``models``: the released models, and for every eta the bound per head with the best b
  under the model's own cap, against its fp16 cache, and ``headline``: the sentence
  README and ``make demo`` print (:mod:`kvbound.reports.headline`);
- ``concentration``: one real key family of the running example (the verifier's key seed
  for seed 0): the inner products of token 0's key with the other keys, so the page can
  show the softmax of Bob's query C k_0 as C grows (Lemma L2);
- ``outputs``: Bob's measured outputs (histograms for 0 and 1 bits) for a few caches of the
  running example, with tau, L3's ranges and the plain verdict of each run (Lemma L3);
- ``student``: a ``verify --json`` record given to ``kvbound site --result``, or None.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from fractions import Fraction
from typing import Any

import numpy as np

from kvbound.reports.headline import headline, models_data
from kvbound.reports.plain import verdict_lines
from reduction.keys import sample_keys
from reduction.protocol import run_verification
from reduction.schedule import PRESETS, Schedule

__all__ = ["ETAS", "OUTPUT_RUNS", "page_data", "schedules_data", "concentration_data",
           "outputs_data", "RUNNING_EXAMPLE"]

#: The eta slider: 0, 2^-12 ... 2^-2, then 3/8, 1/2, 3/4.
ETAS: tuple[Fraction, ...] = (Fraction(0), *(Fraction(1, 2**k) for k in range(12, 1, -1)),
                              Fraction(3, 8), Fraction(1, 2), Fraction(3, 4))

#: The running example of the course (schedule, d, eps, eta, seed).
RUNNING_EXAMPLE: dict[str, Any] = {"schedule": "var-256", "d": 64, "eps": 0.75, "eta": 0.25,
                                   "seed": 0}

#: The runs of the outputs panel: (cache, options, what it shows).
OUTPUT_RUNS: tuple[tuple[str, dict[str, Any], str], ...] = (
    ("exact", {}, "every key and value kept: the outputs sit at 0 and 1"),
    ("noisy", {}, "every output times (1 + u), |u| <= 1/4: Bob's eta"),
    ("noisy", {"noise": 0.5}, "noise 1/2, twice Bob's eta: still every bit, since the real "
     "outputs sit far from tau"),
    ("adversarial-eta", {}, "every output moved by exactly eta towards tau: the worst an "
     "eta-correct cache may do"),
    ("h2o", {"budget": 0.5}, "half the tokens evicted: their bits are guesses"),
)

Progress = Callable[[str], None]


def schedules_data() -> list[dict[str, Any]]:
    """The schedule slider's positions, ordered by L_K: presets and geometric(n, 2)."""
    found: dict[str, Schedule] = {name: Schedule.preset(name) for name in PRESETS}
    for k in range(2, 13):
        s = Schedule.geometric(2**k, 2)
        found[s.name] = s
    rows = [{"name": name, "sides": list(s.sides), "L": s.cached_tokens,
             "T": s.last_scale_tokens, "LK": s.total_tokens} for name, s in found.items()]
    return sorted(rows, key=lambda r: (r["LK"], r["name"]))


def _eta_json(eta: Fraction) -> dict[str, Any]:
    return {"text": str(eta), "value": float(eta)}


def concentration_data(example: Mapping[str, Any] = RUNNING_EXAMPLE) -> dict[str, Any]:
    """One real key family: <k_0, k_j> for the other cached tokens (Lemma L1, L2)."""
    from kvbound.course.data import public_key_seed

    s = Schedule.parse(example["schedule"])
    d = int(example["d"])
    key_seed = public_key_seed(int(example["seed"]))
    family = sample_keys(s.cached_tokens, d, example["eps"], np.random.default_rng(key_seed))
    signs = family.signs.astype(np.int64)
    dots = signs[1:] @ signs[0]
    return {"schedule": s.name, "L": s.cached_tokens, "T": s.last_scale_tokens, "d": d,
            "eps": float(example["eps"]), "key_seed": str(key_seed),
            "inner_products_times_d": [int(v) for v in dots],
            "max_inner_product": float(dots.max()) / d}


def _collector(seen: list[tuple[np.ndarray, np.ndarray]]) -> Callable[..., None]:
    """An ``observe`` callback of run_verification keeping (outputs, truth) in ``seen``."""

    def observe(public: Any, outputs: np.ndarray, truth: np.ndarray) -> None:
        seen.append((outputs, truth))

    return observe


def outputs_data(example: Mapping[str, Any] = RUNNING_EXAMPLE, *, bins: int = 60,
                 runs: Sequence[tuple[str, dict[str, Any], str]] = OUTPUT_RUNS,
                 progress: Progress | None = None) -> list[dict[str, Any]]:
    """Bob's outputs for each run of ``runs`` (histograms), tau, L3's ranges, the verdict."""
    s = Schedule.parse(example["schedule"])
    out = []
    for i, (cache, options, note) in enumerate(runs):
        if progress:
            progress(f"Bob's outputs, run {i + 1} of {len(runs)}: cache {cache}")
        seen: list[tuple[np.ndarray, np.ndarray]] = []
        result = run_verification(s, int(example["d"]), example["eps"], example["eta"],
                                  [int(example["seed"])], cache=cache, options=options,
                                  isolation="inline", observe=_collector(seen))
        z = np.concatenate([o.ravel() for o, _ in seen])
        truth = np.concatenate([b.ravel() for _, b in seen])
        edges = np.linspace(min(-0.05, float(z.min())), max(1.05, float(z.max())), bins + 1)
        record = result.to_json()
        out.append({
            "cache": cache, "options": dict(options), "note": note,
            "C": record["C"], "gamma": record["gamma"], "tau": record["tau"],
            "eta": float(example["eta"]),
            "edges": [round(float(e), 6) for e in edges],
            "counts_0": np.histogram(z[truth == 0], edges)[0].tolist(),
            "counts_1": np.histogram(z[truth == 1], edges)[0].tolist(),
            "bit_errors": record["bit_errors"], "n_bits": record["bits_decoded"],
            "message_bits": record["message_bits"],
            "verdict": verdict_lines(record),
        })
    return out


def page_data(*, student: Mapping[str, Any] | None = None,
              progress: Progress | None = None) -> dict[str, Any]:
    """Everything the page reads besides its script, as one JSON-ready dict."""
    step = progress or (lambda _: None)
    step("schedules and the real models (bound per head for every eta)")
    models = models_data(ETAS)
    data = {
        "version": 1,
        "example": dict(RUNNING_EXAMPLE),
        "schedules": schedules_data(),
        "etas": [_eta_json(e) for e in ETAS],
        "models": models,
        "headline": headline(models),
        "concentration": concentration_data(),
        "outputs": outputs_data(progress=progress),
        "student": None if student is None else dict(student),
    }
    if student is not None:
        data["student_verdict"] = verdict_lines(student)
    _check_finite(data)
    return data


def _check_finite(obj: Any, where: str = "data") -> None:
    """Refuse NaN or infinity anywhere (JSON has no spelling for them)."""
    if isinstance(obj, float) and not math.isfinite(obj):
        raise ValueError(f"{where} is {obj}: the page's data must be finite numbers")
    if isinstance(obj, Mapping):
        for k, v in obj.items():
            _check_finite(v, f"{where}.{k}")
    elif isinstance(obj, list):
        for i, v in enumerate(obj):
            _check_finite(v, f"{where}[{i}]")
