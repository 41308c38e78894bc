"""``kvbound asymptotics``: limits, the figure against the JSON, the largest n under a cap."""

from __future__ import annotations

import json
from fractions import Fraction
from pathlib import Path

import pytest

from kvbound.cli import main
from kvbound.reports.asymptotics import geometric_sizes, largest_n_under_cap
from lowerbound.asymptotics import d_min_log_limit, fits_at_eps, geometric_limit
from lowerbound.logit_cap import fits_under_cap
from reduction.schedule import Schedule


def test_asymptotics_json_limits(capsys: pytest.CaptureFixture[str]) -> None:
    """Must-show: at n = 4096, d_min/ln n within 10 % of 8/eps^2, bound/(n^2 d) within 5 %
    of 1/(rho^2 - 1); both read against lowerbound's limits, not retyped."""
    assert main(["asymptotics", "--json"]) == 0
    t = json.loads(capsys.readouterr().out)
    last = t["geometric"][-1]
    assert last["n"] == 4096
    assert Fraction(t["limits"]["d_min_over_ln_n"]) == d_min_log_limit(Fraction(3, 4))
    assert Fraction(t["limits"]["bound_over_n2d"]) == geometric_limit(2) == Fraction(1, 3)
    assert abs(last["d_min_over_ln_n"] / (128 / 9) - 1) < 0.10
    assert abs(Fraction(last["bound_over_n2d"]) / Fraction(1, 3) - 1) < Fraction(5, 100)
    s = Schedule.geometric(4096, 2)
    assert last["cached_tokens"] == s.cached_tokens and last["last_tokens"] == 4096**2
    ratios = [r["d_min_over_ln_n_to_limit"] for r in t["geometric"]]
    assert ratios == sorted(ratios)  # approaches from below, monotonically here


def test_asymptotics_figure_matches_json(tmp_path: Path,
                                         capsys: pytest.CaptureFixture[str]) -> None:
    """The plotted lines, read off the figure's Line2D objects, equal the JSON columns."""
    assert main(["asymptotics", "--n-max", "1024", "--out", str(tmp_path)]) == 0
    capsys.readouterr()
    png = tmp_path / "asymptotics.png"
    assert png.exists() and png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    table = json.loads((tmp_path / "asymptotics.json").read_text())
    plotted = json.loads((tmp_path / "asymptotics-figure.json").read_text())
    ns = [float(r["n"]) for r in table["geometric"]]
    blue, red = plotted["panel1: bound"], plotted["panel1: d_min"]
    assert blue == {"x": ns, "y": [r["bound_over_n2d_to_limit"] for r in table["geometric"]]}
    assert red == {"x": ns, "y": [r["d_min_over_ln_n_to_limit"] for r in table["geometric"]]}
    for c, points in table["low_dimension"].items():
        line = plotted[f"panel2: d = ceil({c} ln n)"]
        assert line == {"x": [float(p["n"]) for p in points],
                        "y": [p["bound_over_n2d_float"] for p in points]}
    assert len([k for k in plotted if k.startswith("panel2: d =")]) == len(
        table["low_dimension"])


def test_low_dimension_panel_crosses_at_8_over_eps2(capsys: pytest.CaptureFixture[str]) -> None:
    """C1 at d = c ln n: below c = 8/eps^2 (= 14.2) the ratio falls with n, above it is 1/3."""
    assert main(["asymptotics", "--json"]) == 0
    low = json.loads(capsys.readouterr().out)["low_dimension"]
    small = [p["bound_over_n2d_float"] for p in low["4"]]
    assert small == sorted(small, reverse=True) and small[-1] < 1e-4
    assert all(abs(p["bound_over_n2d_float"] - 1 / 3) < 0.01 for p in low["24"])


def test_largest_n_under_cap_is_exact() -> None:
    """CAP: the largest n whose geometric(n, 2) reduction fits under B = 100 (eps = 3/4)."""
    r, eps, eta = Fraction(2), Fraction(3, 4), Fraction(1, 4)
    n = largest_n_under_cap(r, eta, Fraction(100), eps=eps)
    assert n is not None and 3 * 10**5 < n < 4 * 10**5  # "near 3.6e5", far beyond VAR's 32
    assert fits_at_eps(*geometric_sizes(n, r), eps, eta, 100)
    assert not any(fits_at_eps(*geometric_sizes(k, r), eps, eta, 100)
                   for k in range(n + 1, n + 200))
    m = largest_n_under_cap(r, eta, Fraction(100), d=64)
    assert m is not None

    def all_fit(k: int) -> bool:
        cached, last = geometric_sizes(k, r)
        return fits_under_cap(cached, last, cached, 64, Fraction(3, 5), 100)

    assert all_fit(m) and not any(all_fit(k) for k in range(m + 1, m + 300))


def test_geometric_limit_for_other_ratios() -> None:
    """L_{K-1}/n^2 -> 1/(rho^2 - 1) also with the code's rounding (rho = 3/2, 3)."""
    for rho in (Fraction(3, 2), Fraction(3)):
        s = Schedule.geometric(20000, float(rho))
        assert abs(Fraction(s.cached_tokens, 20000**2) / geometric_limit(rho) - 1) < 0.002


@pytest.mark.parametrize("argv", [["--ratio", "1"], ["--n-max", "8"], ["--eps", "1"],
                                  ["--logit-cap", "0"], ["--n-max", str(2**21)]])
def test_asymptotics_bad_input(argv: list[str], capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["asymptotics", *argv]) == 2
    assert len(capsys.readouterr().err.strip().splitlines()) == 1
