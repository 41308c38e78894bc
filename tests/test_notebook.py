"""The course notebook (docs/course/notebook.py) runs top to bottom and computes what the
library computes.

It is executed as a plain script (jupytext percent format is valid Python) with the Agg
backend, every figure drawn; its ``RESULTS`` are compared with numbers computed here from
lowerbound/ and from fresh runs. ``make notebook`` builds the .ipynb with jupytext (an
optional extra); when jupytext is installed the conversion is checked too.
"""

from __future__ import annotations

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

NOTEBOOK = Path(__file__).resolve().parent.parent / "docs" / "course" / "notebook.py"
UNIT = NOTEBOOK.parent / "unit.md"


@pytest.fixture(scope="module")
def executed() -> tuple[dict[str, Any], str]:
    import contextlib
    import io

    import matplotlib

    matplotlib.use("Agg")
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        namespace = runpy.run_path(str(NOTEBOOK), run_name="__main__")
    return namespace["RESULTS"], out.getvalue()


def test_notebook_follows_the_unit() -> None:
    text = NOTEBOOK.read_text()
    assert text.startswith("# ---\n# jupyter:") and "format_name: percent" in text
    unit_sections = re.findall(r"^## (\d)\. (.+?) \(\d+ min\)$", UNIT.read_text(), re.M)
    notebook_sections = re.findall(r"^# ## (\d)\. (.+)$", text, re.M)
    assert [n for n, _ in notebook_sections] == [n for n, _ in unit_sections]
    assert len(unit_sections) == 9


@pytest.mark.slow
def test_notebook_draws_every_figure(executed: tuple[dict[str, Any], str]) -> None:
    _, printed = executed
    for number in range(1, 9):
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


def test_jupytext_builds_the_ipynb(tmp_path: Path) -> None:
    jupytext = pytest.importorskip("jupytext", reason="optional extra 'course'")
    notebook = jupytext.read(NOTEBOOK)
    kinds = [cell.cell_type for cell in notebook.cells]
    assert kinds.count("markdown") >= 10 and kinds.count("code") >= 10
    jupytext.write(notebook, tmp_path / "notebook.ipynb")
    assert (tmp_path / "notebook.ipynb").stat().st_size > 1000
