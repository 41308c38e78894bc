"""The course notebook (docs/course/notebook.py) runs top to bottom in Jupyter, shows an
image for every figure, and computes what the library computes.

It is executed as Jupyter would: converted with jupytext and run cell by cell in an
IPython kernel by nbclient (the ``[course]`` extra, also in ``[test]``). Every cell that
draws a figure must have an image output (a figure built without pyplot would show only
``<Figure ...>``). Its ``RESULTS`` come back through one more cell that prints them as
JSON (fractions, tuples and number-keyed dicts tagged, so nothing but JSON is read), and
are compared with numbers computed here from lowerbound/ and from fresh runs. Where
nbclient is missing the notebook runs as a plain script instead and the image test skips.
"""

from __future__ import annotations

import json
import re
import runpy
from fractions import Fraction
from pathlib import Path
from typing import Any

import pytest

from lowerbound.bound import index_lower_bound_bits
from lowerbound.jl import d_min, d_min_exact
from lowerbound.softmax import c_min
from reduction.protocol import run_verification
from reduction.schedule import Schedule

NOTEBOOK = Path(__file__).resolve().parents[2] / "docs" / "course" / "notebook.py"
UNIT = NOTEBOOK.parent / "unit.md"
FIGURE_CALL = re.compile(r"^figure\((\d+)\)$", re.M)

#: Appended to the notebook under test: RESULTS as tagged JSON on stdout.
DUMP_RESULTS = """
import json as _json
from fractions import Fraction as _Fraction
def _tag(o):
    if isinstance(o, _Fraction):
        return {"fraction": str(o)}
    if isinstance(o, dict):
        return {"dict": [[_tag(k), _tag(v)] for k, v in o.items()]}
    if isinstance(o, (list, tuple)):
        return {"tuple" if isinstance(o, tuple) else "list": [_tag(x) for x in o]}
    if hasattr(o, "item") and not isinstance(o, (str, bytes)):
        return o.item()
    return o
print("RESULTS-JSON " + _json.dumps(_tag(RESULTS)))
"""


def _untag(o: Any) -> Any:
    if isinstance(o, dict):
        if "fraction" in o:
            return Fraction(o["fraction"])
        if "dict" in o:
            return {_untag(k): _untag(v) for k, v in o["dict"]}
        if "tuple" in o:
            return tuple(_untag(x) for x in o["tuple"])
        if "list" in o:
            return [_untag(x) for x in o["list"]]
    return o


def _text(cell: Any) -> str:
    return "".join(o.get("text", "") for o in cell.get("outputs", [])
                   if o.get("output_type") == "stream")


@pytest.fixture(scope="module")
def notebook_run() -> dict[str, Any]:
    """RESULTS, the printed text and, under Jupyter, the executed cells."""
    try:
        import jupytext
        import nbclient
        import nbformat
    except ImportError:
        import contextlib
        import io

        import matplotlib

        matplotlib.use("Agg")
        out = io.StringIO()
        with contextlib.redirect_stdout(out):
            namespace = runpy.run_path(str(NOTEBOOK), run_name="__main__")
        return {"results": namespace["RESULTS"], "printed": out.getvalue(), "cells": None}
    nb = jupytext.read(NOTEBOOK)
    nb.cells.append(nbformat.v4.new_code_cell(DUMP_RESULTS))
    nbclient.NotebookClient(nb, timeout=900, kernel_name="python3",
                            resources={"metadata": {"path": str(NOTEBOOK.parent)}}).execute()
    printed = "".join(_text(c) for c in nb.cells if c.cell_type == "code")
    line = next(x for x in printed.splitlines() if x.startswith("RESULTS-JSON "))
    return {"results": _untag(json.loads(line.removeprefix("RESULTS-JSON "))),
            "printed": printed, "cells": nb.cells[:-1]}


@pytest.fixture(scope="module")
def executed(notebook_run: dict[str, Any]) -> tuple[dict[str, Any], str]:
    return notebook_run["results"], notebook_run["printed"]


@pytest.mark.slow
def test_every_figure_cell_shows_its_image(notebook_run: dict[str, Any]) -> None:
    """Must-show: executed in Jupyter, an image output per figure cell (all nine)."""
    cells = notebook_run["cells"]
    if cells is None:
        pytest.skip("nbclient is not installed (pip install -e '.[course]')")
    drawn: list[int] = []
    for cell in cells:
        if cell.cell_type != "code":
            continue
        calls = FIGURE_CALL.findall(cell.source)
        images = [o for o in cell.get("outputs", []) if "image/png" in o.get("data", {})]
        assert len(images) >= len(calls), f"cell drawing figures {calls} shows {len(images)}"
        assert not any("<Figure" in o.get("data", {}).get("text/plain", "")
                       for o in cell.get("outputs", []))
        drawn += [int(n) for n in calls]
    assert sorted(drawn) == list(range(9))


def test_notebook_follows_the_unit() -> None:
    text = NOTEBOOK.read_text()
    assert text.startswith("# ---\n# jupyter:") and "format_name: percent" in text
    unit_sections = re.findall(r"^## (\d)\. (.+?) \(\d+ min; core \d+\)$", UNIT.read_text(),
                               re.M)
    notebook_sections = re.findall(r"^# ## (\d)\. (.+)$", text, re.M)
    assert [n for n, _ in notebook_sections] == [n for n, _ in unit_sections]
    assert len(unit_sections) == 9


@pytest.mark.slow
def test_notebook_draws_every_figure(executed: tuple[dict[str, Any], str]) -> None:
    _, printed = executed
    for number in range(0, 9):
        assert f"Figure {number}: " in printed


@pytest.mark.slow
def test_notebook_numbers_match_the_library(executed: tuple[dict[str, Any], str]) -> None:
    results, _ = executed
    s = Schedule.preset("var-256")
    assert results["cached_tokens"] == s.cached_tokens == 424
    assert results["var_d16_fp16_mib"] == 42.5
    assert results["bound_at_delta_011"] == index_lower_bound_bits(424 * 64, 0.11)
    assert results["d_min"] == results["d_min_by_hand"] == d_min(424, 0.75)
    assert results["d_min_exact"] == d_min_exact(424, 0.75)
    assert results["c_min"] == c_min(424, 256, 0.75, 0.25)
    assert abs(results["c_min_estimate"] - results["c_min"]) < 0.01
    assert results["fits_cap"] is True
    run = run_verification(s, 64, 0.75, 0.25, [0], isolation="inline")
    assert (results["passes"], results["bit_errors"], results["message_bits"]) == (
        2, run.bit_errors, run.message_bits)
    assert results["max_inner_product"] == run.runs[0].max_inner_product
    assert results["noisy_errors"][0.25] == 0 < results["noisy_errors"][0.9]
    assert results["separates_at_boundary"] is False and results["separates_inside"] is True
    assert results["bound_bits"] == 27136.0
    assert results["c_schedule"] == Fraction(424, 256) and results["c_rho"] == Fraction(169, 256)
    assert results["model_ratios"]["var-d16"] == 51.32
    assert results["bends"]["uniform-q1"][0] == 0 and results["bends"]["packer"][0] == 0
    assert results["bends"]["packer"][1] < 1 + 12 / 64


@pytest.mark.slow
def test_notebook_teaches_the_refinements(executed: tuple[dict[str, Any], str]) -> None:
    """The cells added for docs/theorem.md's refinements: Fano at every p, the adversary
    at C_min, asymptotics, the logit cap, a VAR head, C1, precision, every boundary."""
    results, printed = executed
    n = 424 * 64
    fano = results["fano_every_p"]
    assert fano[0.0] == fano[1.0] == n and fano[0.5] == 0  # no clamping at p = 1/2
    assert abs(fano[0.89] - fano[0.11]) < 1e-6 and fano[0.11] == results["bound_at_delta_011"]
    # the worst eta-cache at C_min: every bit at tau, every 1 bit lost at 1/2
    assert results["adversary_at_c_min"] is True and abs(results["adversary_tau"] - 0.375) < 1e-9
    assert results["adversary_errors_at_tau"] == 0
    assert results["adversary_errors_at_half"] == results["adversary_one_bits"] > 0
    assert (results["adversary_highest_zero"] < results["adversary_tau"]
            < results["adversary_lowest_one"] < 0.5)
    # asymptotics at n = 4096 (rho = 2): L = (n^2 - 1)/3 and Lemma L1's d_min
    last = results["asymptotics_last"]
    assert last["n"] == 4096 and last["cached_tokens"] == (4096**2 - 1) // 3
    assert last["d_min"] == d_min(last["cached_tokens"], 0.75) == 109
    assert results["asymptotics_limits"]["bound_over_n2d"] == "1/3"
    assert results["asymptotics_limits"]["d_min_over_ln_n"] == "128/9"
    # the logit cap: the closed-form floor by hand agrees with the exact search
    assert results["cap_carriers"] == {64: 424, 16: 54}
    assert results["cap_eps"][64] == Fraction(597, 1000)
    hand = results["cap_scale_by_hand_d16"]
    assert hand[54] <= 100 < hand[55]
    assert results["cap_scale_d64"] <= 100 and results["cap_largest_n_d64"] == 881
    assert results["var_head_errors"] == 0 and 0 < results["var_head_max_logit"] <= 100
    # every boundary: the packer's largest state is its last, its first the priciest per L_k d
    boundaries = results["packer_boundaries"]
    assert max(boundaries) == boundaries[-1] and boundaries[0] == 168
    assert boundaries[-1] / n == results["bends"]["packer"][1]
    # C1: union-bound guarantee against the witnessed family
    assert results["c1_max_keys"] == results["c1_guaranteed"] == 13
    assert results["c1_witnessed"] == 424 and results["c1_errors"] == 0
    # precision: b = 5 at eta = 0.01, b = 6 impossible; b = 11 in fp16 within 3x
    prec = results["precision"]
    assert prec["auto_b"] == 5 and prec["target_b5"] == Fraction(39, 3232)
    assert prec["target_b6"] < 0 and prec["eta_limit_b6"] == Fraction(1, 125)
    assert prec["b11_errors"] == 0 and prec["b11_bound"] == 11 * n and prec["b11_ratio"] < 3
    assert prec["q1_b2_symbol_errors"] > 0
    assert "L* = 54" in printed


def test_jupytext_builds_the_ipynb(tmp_path: Path) -> None:
    jupytext = pytest.importorskip("jupytext", reason="optional extra 'course'")
    notebook = jupytext.read(NOTEBOOK)
    kinds = [cell.cell_type for cell in notebook.cells]
    assert kinds.count("markdown") >= 10 and kinds.count("code") >= 10
    jupytext.write(notebook, tmp_path / "notebook.ipynb")
    assert (tmp_path / "notebook.ipynb").stat().st_size > 1000
