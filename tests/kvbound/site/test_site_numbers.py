"""The page's JavaScript computes what kvbound computes (run under Node, on a grid).

``kvbound/site/assets/kvbound.js`` mirrors a few closed forms so the sliders answer at
once. Here Node runs it on a grid of slider positions that covers every branch (the
theorem, Corollary C1 below d_min, a logit cap with all, some or no tokens fitting,
b = 1 and b > 1, b too large for eta) and every number is compared with
:func:`kvbound.site.reference.page_numbers`: relative 1e-9, integers exactly. The
reference itself is tied to the objects the verifier runs (``PublicParams``,
``plan_under_cap``), the softmax to ``reduction.attention.softmax_rows``, and the plain
verdict to :func:`kvbound.reports.plain.verdict_lines` on real ``verify`` records.
"""

from __future__ import annotations

import json
import math
import random
import shutil
import subprocess
from fractions import Fraction
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from kvbound.reports.plain import verdict_lines
from kvbound.site.reference import page_numbers
from lowerbound.logit_cap import plan_under_cap
from reduction.attention import softmax_rows
from reduction.protocol import PublicParams, run_verification
from reduction.schedule import Schedule

SCRIPT = Path(__file__).resolve().parents[3] / "kvbound" / "site" / "assets" / "kvbound.js"
NODE = shutil.which("node")
needs_node = pytest.mark.skipif(NODE is None, reason="node is not installed: the page's "
                                "JavaScript cannot be cross-checked (apt-get install nodejs)")
RTOL = 1e-9


def run_js(function: str, inputs: list[Any]) -> list[Any]:
    """``KVBound[function](...input)`` for every input, computed by Node."""
    assert NODE is not None
    program = (f"const K = require({json.dumps(str(SCRIPT))});"
               "let s = ''; process.stdin.on('data', c => s += c).on('end', () => {"
               f"  const out = JSON.parse(s).map(a => K.{function}(...a));"
               "  process.stdout.write(JSON.stringify(out)); });")
    done = subprocess.run([NODE, "-e", program], input=json.dumps(inputs),
                          capture_output=True, text=True, check=True, timeout=300)
    return list(json.loads(done.stdout))


def differences(python: dict[str, Any], js: dict[str, Any]) -> list[str]:
    """Every key whose values differ: floats beyond RTOL, anything else at all."""
    out = []
    for key in sorted(set(python) | set(js)):
        a, b = python.get(key, "missing"), js.get(key, "missing")
        if isinstance(a, bool) or isinstance(b, bool) or isinstance(a, int) and isinstance(
                b, int) or not isinstance(a, (int, float)) or not isinstance(b, (int, float)):
            if a != b:
                out.append(f"{key}: python {a!r}, js {b!r}")
        elif not math.isclose(a, b, rel_tol=RTOL, abs_tol=0.0):
            out.append(f"{key}: python {a!r}, js {b!r}")
    return out


def grid(size: int = 140) -> list[dict[str, Any]]:
    """A seeded sample of slider positions over every branch of the page's numbers."""
    schedules = [Schedule.parse(s) for s in ("var-256", "var-512", "infinity-1024",
                                             "geometric(32,2)", "n128")]
    points = [dict(L=s.cached_tokens, T=s.last_scale_tokens, LK=s.total_tokens, d=d,
                   eps=eps, eta=eta, b=b, cap=cap)
              for s in schedules for d in (8, 16, 32, 48, 64, 128, 256)
              for eps in (0.5, 0.75, 0.9) for eta in (0.0, 2.0**-12, 2.0**-6, 0.25, 0.5)
              for b in (1, 2, 5, 11) for cap in (None, 20.0, 100.0)]
    random.Random(22).shuffle(points)
    return points[:size]


@pytest.fixture(scope="module")
def compared() -> list[tuple[dict[str, Any], dict[str, Any], dict[str, Any]]]:
    points = grid()
    js = run_js("pageNumbers", [[p] for p in points])
    return [(p, page_numbers(**p), j) for p, j in zip(points, js)]


@needs_node
def test_the_script_agrees_with_python_on_the_grid(compared: list[Any]) -> None:
    bad = [f"{p}: {d}" for p, py, js in compared for d in differences(py, js)]
    assert not bad, "\n".join(bad[:20])


@needs_node
def test_the_grid_reaches_every_branch(compared: list[Any]) -> None:
    """Agreement means something only if every branch of the numbers was taken."""
    rows = [(p, py) for p, py, _ in compared]
    theorem = [py for p, py in rows if p["cap"] is None and py.get("carrying") == p["L"]]
    below = [py for p, py in rows if p["cap"] is None and 0 < py.get("carrying", 0) < p["L"]]
    capped_all = [py for p, py in rows if p["cap"] and py.get("carrying") == p["L"]]
    capped_some = [py for p, py in rows if p["cap"] and 0 < py.get("carrying", 0) < p["L"]]
    infeasible = [py for _, py in rows if not py["feasible"]]
    levels = [py for p, py in rows if p["b"] > 1 and "thresholdFirst" in py]
    one_bit = [py for p, py in rows if p["b"] == 1 and "tau" in py]
    midpoint = [py for p, py in rows if p["cap"] and py.get("scale") is not None
                and py["scale"] > p["cap"] * 511 / 512]
    for name, found in [("theorem", theorem), ("C1", below), ("cap, all fit", capped_all),
                        ("cap, some fit", capped_some), ("b impossible", infeasible),
                        ("2^b levels", levels), ("one bit", one_bit),
                        ("C between C_min and B", midpoint)]:
        assert found, f"the grid never reaches the branch {name!r}"


@needs_node
def test_a_broken_formula_is_caught(tmp_path: Path) -> None:
    """The comparison can fail: a script whose tau is off by 1e-8 disagrees somewhere."""
    broken = tmp_path / "kvbound.js"
    text = SCRIPT.read_text()
    assert "return ((1 - eta) + (1 + eta) * g) / (2 * (1 + g));" in text
    broken.write_text(text.replace("return ((1 - eta) + (1 + eta) * g) / (2 * (1 + g));",
                                   "return ((1 - eta) + (1 + eta) * g) / (2 * (1 + g)) + 1e-8;"))
    assert NODE is not None
    program = (f"const K = require({json.dumps(str(broken))});"
               "process.stdout.write(JSON.stringify(K.pageNumbers({L: 424, T: 256, LK: 680, "
               "d: 64, eps: 0.75, eta: 0.25, b: 1, cap: null})));")
    js = json.loads(subprocess.run([NODE, "-e", program], capture_output=True, text=True,
                                   check=True, timeout=60).stdout)
    python = page_numbers(L=424, T=256, LK=680, d=64, eps=0.75, eta=0.25, b=1, cap=None)
    assert differences(python, js) and all(d.startswith("tau") for d in differences(python, js))


@pytest.mark.parametrize("schedule,d,eta,b", [("var-256", 64, 0.25, 1), ("var-512", 64, 0.0, 3),
                                              ("var-256", 128, 2.0**-6, 4)])
def test_the_reference_is_what_the_verifier_runs(schedule: str, d: int, eta: float,
                                                 b: int) -> None:
    """No cap, d >= d_min: C_min, Bob's C, gamma and tau are PublicParams' own."""
    s = Schedule.parse(schedule)
    ref = page_numbers(L=s.cached_tokens, T=s.last_scale_tokens, LK=s.total_tokens, d=d,
                       eps=0.75, eta=eta, b=b, cap=None)
    public = PublicParams(s, d, 0.75, eta, 0, bits_per_value=None if b == 1 else b)
    assert ref["carrying"] == s.cached_tokens
    assert (ref["cMin"], ref["scale"], ref["gamma"]) == (public.c_min, public.scale,
                                                        public.gamma)
    if b == 1:
        assert ref["tau"] == public.tau
    else:
        assert (ref["thresholdFirst"], ref["thresholdLast"]) == (public.thresholds[0],
                                                                 public.thresholds[-1])


@pytest.mark.parametrize("d,cap", [(16, 100.0), (64, 20.0), (32, 30.0)])
def test_the_reference_under_a_cap_is_the_plan(d: int, cap: float) -> None:
    """Under a cap: L*, the eps and C_min of plan_under_cap; Bob's C is PublicParams'."""
    s = Schedule.parse("var-256")
    ref = page_numbers(L=424, T=256, LK=680, d=d, eps=0.75, eta=0.25, b=1, cap=cap)
    plan = plan_under_cap(424, 256, d, Fraction(1, 4), Fraction(cap))
    assert plan.eps is not None
    assert (ref["carrying"], ref["eps"], ref["cMin"]) == (plan.carrying_tokens,
                                                          float(plan.eps), plan.scale)
    public = PublicParams(s, d, float(plan.eps), 0.25, 0, carriers=plan.carrying_tokens,
                          logit_cap=cap)
    assert (ref["scale"], ref["gamma"], ref["tau"]) == (public.scale, public.gamma, public.tau)
    assert ref["boundBits"] == plan.bound_bits()


@needs_node
def test_the_softmax_is_the_attention_kernels() -> None:
    """concentration(C) is reduction.attention.softmax_rows on Bob's scores (Lemma L2)."""
    rng = np.random.default_rng(5)
    ips = (rng.integers(-20, 21, size=50) / 64).tolist()
    cases = [[c, ips, 30] for c in (0.0, 1.0, 12.5, 60.0, 700.0)]
    js = run_js("concentration", cases)
    for (c, ip, zeros), got in zip(cases, js):
        w = softmax_rows(np.array([[c, *(c * np.array(ip)), *([0.0] * zeros)]]))[0]
        want = {"target": w[0], "others": w[1:1 + len(ip)].sum(),
                "largestOther": w[1:1 + len(ip)].max(), "zeroKeys": w[1 + len(ip):].sum()}
        for key, value in want.items():
            assert math.isclose(got[key], value, rel_tol=RTOL, abs_tol=1e-300), (c, key)


@pytest.fixture(scope="module")
def records() -> list[dict[str, Any]]:
    """Real verify records: exact, a lossy cache, several seeds, and a leaking cache."""

    s = Schedule.parse("1,2,3,4")
    out = []
    for cache, options, seeds in (("exact", {}, 1), ("h2o", {"budget": 0.5}, 2),
                                  ("random", {"budget": 0.3}, 1)):
        out.append(run_verification(s, 16, 0.75, 0.25, seeds, cache=cache, options=options,
                                    isolation="inline").to_json())
    leak = dict(out[1])
    leak["runs"] = [dict(r, message_bits=8, leak=True) for r in out[1]["runs"]]
    out.append(leak)
    return out


@needs_node
def test_the_page_says_what_the_report_says(records: list[dict[str, Any]]) -> None:
    js = run_js("verdictLines", [[r] for r in records])
    python = [verdict_lines(r) for r in records]
    assert js == python
    assert python[0][0].startswith("No leak") and "every bit right" in python[0][0]
    assert "of the bits wrong" in python[1][0]
    assert python[3][0].startswith("LEAK")


@needs_node
def test_a_record_that_is_not_one_is_refused_by_both() -> None:
    bad = [{"runs": []}, {"cache": "x"}, {"runs": [{"message_bits": 1}]}]
    assert NODE is not None
    for record in bad:
        with pytest.raises(ValueError):
            verdict_lines(record)
        program = (f"const K = require({json.dumps(str(SCRIPT))});"
                   f"try {{ K.verdictLines({json.dumps(record)}); process.exit(0); }}"
                   "catch (e) { process.exit(7); }")
        assert subprocess.run([NODE, "-e", program], timeout=60).returncode == 7
