"""``kvbound constants``: the theorem's constants for schedules and for real models."""

from __future__ import annotations

import json
import re
from fractions import Fraction

import pytest
from hypothesis import given
from hypothesis import strategies as st

from kvbound.cli import main
from kvbound.reports.constants_table import model_constants, schedule_constants
from lowerbound.intervals import Enclosure, gap_text, separating_digits
from lowerbound.jl import d_min, d_min_exact
from reduction.schedule import Schedule


def _json(capsys: pytest.CaptureFixture[str], argv: list[str]) -> object:
    assert main(argv) == 0
    return json.loads(capsys.readouterr().out)


def test_constants_default_json(capsys: pytest.CaptureFixture[str]) -> None:
    """THM on var-256, d = 64, eps = 3/4, eta = 1/4: N = 424 * 64 = 27136 = the bound."""
    r = _json(capsys, ["constants", "--json"])
    assert isinstance(r, dict)
    assert (r["cached_tokens"], r["last_scale_tokens"], r["total_tokens"]) == (424, 256, 680)
    assert r["d_min"] == d_min(424, Fraction(3, 4)) == 41
    assert r["d_min_exact"] == d_min_exact(424, Fraction(3, 4))
    assert r["n_bits"] == 27136 and r["bound_bits"] == 27136
    assert r["certified"] is True
    assert float(r["gamma_at_c_min"]["hi"]) <= 0.6 + 1e-12
    exact = r["exact_cache_bits"]
    assert exact["float16"] < exact["float32"] < exact["float64"]
    assert exact["float16"] >= 32 * r["n_bits"]  # K and V at 16 bits per entry


def test_constants_text_names_every_constant(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["constants", "--schedule", "var-512"]) == 0
    out = capsys.readouterr().out
    for word in ("d_min", "Hoeffding", "exact binomial", "C_min", "gamma", "tau", "N",
                 "bound", "float16", "float32", "float64", "certified: yes"):
        assert word in out


def test_constants_several_schedules(capsys: pytest.CaptureFixture[str]) -> None:
    r = _json(capsys, ["constants", "--schedule", "1,3,5", "--schedule", "1,2,4",
                       "--d", "16", "--json"])
    assert isinstance(r, list) and [x["cached_tokens"] for x in r] == [10, 5]


def test_constants_d_below_d_min_names_d_min(capsys: pytest.CaptureFixture[str]) -> None:
    """d = d_min - 1 exits 2 with one line naming d_min and the C1 fallback."""
    assert main(["constants", "--d", "40"]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1
    assert "need d >= 41, got d=40" in err and "C1" in err
    assert main(["constants", "--d", "41"]) == 0  # the boundary itself is accepted


@pytest.mark.parametrize("argv", [["--eps", "1"], ["--eps", "0"], ["--eta", "1"],
                                  ["--delta", "1/2"], ["--resolution", "512"],
                                  ["--model", "var-d16", "--d", "64"]])
def test_constants_bad_input_exits_2(argv: list[str], capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["constants", *argv]) == 2
    assert capsys.readouterr().err.strip()


def test_constants_model_var_d16(capsys: pytest.CaptureFixture[str]) -> None:
    """C2 on VAR-d16 at 256 px: 16 x 16 heads of 64; fp16 cache 42.5 MiB; C_min fits 100."""
    r = _json(capsys, ["constants", "--model", "var-d16", "--json"])
    assert isinstance(r, dict)
    assert (r["depth"], r["heads"], r["head_dim"], r["cached_tokens"]) == (16, 16, 64, 424)
    assert r["per_head"]["bound_bits"] == 424 * 64
    assert r["whole_model"]["bound_bits"] == 16 * 16 * 424 * 64
    assert r["whole_model"]["fp16_cache_mib"] == 42.5
    assert r["c_min_fits_cap"] is True
    ratio = r["whole_model"]["ratio"]
    assert ratio == pytest.approx(2 * 16 * 680 / 424)  # independent of D, H, d (C2)
    assert r["per_head"]["ratio"] == pytest.approx(ratio)


@pytest.mark.parametrize("name", ["var-d16", "var-d20", "var-d24", "var-d30"])
@pytest.mark.parametrize("resolution", [256, 512])
def test_constants_models_both_resolutions(name: str, resolution: int) -> None:
    r = model_constants(name, resolution, Fraction(3, 4), Fraction(1, 4))
    assert r["resolution"] == resolution and r["certified"]
    assert r["released"] == (resolution == 256)


def test_constants_model_text(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["constants", "--model", "var-d36"]) == 0
    out = capsys.readouterr().out
    assert "512 px" in out and "708.8 MiB" in out and "fits the logit cap 100" in out


def test_schedule_constants_api_uses_exact_cache() -> None:
    """The exact cache's bits come from caches.exact (it must import)."""
    from caches.exact import exact_cache_bits

    r = schedule_constants(Schedule.preset("var-256"), 64, Fraction(3, 4), Fraction(1, 4))
    assert r["exact_cache_bits"]["float16"] == exact_cache_bits(424, 64, "float16")


_IV = re.compile(r"\[([-0-9.e]+), ([-0-9.e]+)\]")


@pytest.mark.parametrize("argv", [[], ["--schedule", "var-512", "--eta", "0"],
                                  ["--schedule", "infinity-1024", "--eta", "9/10"]])
def test_printed_enclosures_show_their_strict_inequalities(
    argv: list[str], capsys: pytest.CaptureFixture[str]
) -> None:
    """A passing certificate never looks failing: the printed gamma enclosure's upper end is
    below the printed target, and tau's printed value sits strictly between the printed
    ranges, read as exact decimals; each line says by how much."""
    assert main(["constants", *argv]) == 0
    lines = capsys.readouterr().out.splitlines()
    g_line = next(line for line in lines if line.strip().startswith("gamma"))
    g_hi = Fraction(_IV.search(g_line)[2])  # type: ignore[index]
    target = Fraction(g_line.split(" = ")[1].split(" by ")[0])
    assert g_hi < target and float(g_line.rsplit(" by ", 1)[1]) > 0
    t_line = next(i for i, line in enumerate(lines) if line.strip().startswith("tau"))
    tau = Fraction(lines[t_line].split()[3])
    zero_top = Fraction(_IV.search(lines[t_line])[2])  # type: ignore[index]
    one_bottom = Fraction(_IV.search(lines[t_line + 1])[1])  # type: ignore[index]
    assert zero_top < tau < one_bottom
    assert float(tau) == float(lines[t_line].split()[3])  # tau printed as its exact double


@pytest.mark.parametrize("argv", [["constants", "--json"],
                                  ["constants", "--eta", "0", "--json"],
                                  ["constants", "--logit-cap", "100", "--d", "16", "--json"],
                                  ["constants", "--bits-per-value", "auto", "--eta", "0.01",
                                   "--json"]])
def test_json_enclosures_show_their_strict_inequalities(
    argv: list[str], capsys: pytest.CaptureFixture[str]
) -> None:
    """The same in JSON: hi < target read exactly, with the certified gap beside it."""
    r = _json(capsys, argv)
    assert isinstance(r, dict)
    gamma = r.get("gamma_at_c_min") or r["gamma_at_c"]
    assert Fraction(gamma["hi"]) < Fraction(r["gamma_target"])
    gap = r.get("gamma_below_target_by")
    assert gap is not None and float(gap) > 0
    if "tau" in r:
        tau = Fraction(r["tau"])
        assert Fraction(r["zero_range_top"]["hi"]) < tau < Fraction(r["one_range_bottom"]["lo"])
    if r.get("one_more_token_gamma_at_cap"):
        assert Fraction(r["one_more_token_gamma_at_cap"]["lo"]) > Fraction(r["gamma_target"])


@given(st.fractions(min_value=Fraction(-10**6), max_value=Fraction(10**6)),
       st.fractions(min_value=Fraction(1, 10**30), max_value=Fraction(10**3)))
def test_gap_text_is_a_lower_bound_and_digits_separate(lower: Fraction, gap: Fraction) -> None:
    """The printed gap never exceeds the true one, and at separating_digits the rounded-up
    lower end prints strictly below the rounded-down upper end."""
    upper = lower + gap
    assert 0 < Fraction(gap_text(lower, upper)) <= gap
    digits = separating_digits(lower, upper, limit=80)
    shown = Enclosure(lower, upper).format(digits)[1:-1].split(", ")
    assert Fraction(shown[0]) <= lower and upper <= Fraction(shown[1])  # outward
    low_up = Enclosure(lower, lower).format(digits)[1:-1].split(", ")[1]
    up_down = Enclosure(upper, upper).format(digits)[1:-1].split(", ")[0]
    assert Fraction(low_up) < Fraction(up_down)
    assert gap_text(upper, lower) == "none"
