"""``kvbound structure``: the variants from the command line, their JSON and their figures."""

from __future__ import annotations

import json
import math
from pathlib import Path

import pytest

from kvbound.cli import main
from kvbound.plots.structure import read_plot_data
from lowerbound.sparsity import sparse_values_bound_bits

SMALL = ["--schedule", "1,2,3,4,5", "--d", "24"]  # L = 30, T_K = 25: d_min(30, 3/4) = 21


def _s2_series(plot: dict, label_start: str) -> dict:
    series = plot["panels"][0]["series"]
    return next(v for k, v in series.items() if k.startswith(label_start))


def test_s2_json_sweep_matches_figure(tmp_path: Path,
                                      capsys: pytest.CaptureFixture[str]) -> None:
    """Must-show: --variant s2 --json sweeps s = 1..d/2 with bound, cache bits and errors,
    and the figure's drawn series are those numbers."""
    assert main(["structure", "--variant", "s2", "--json", "--out", str(tmp_path), *SMALL]) == 0
    record = json.loads(capsys.readouterr().out)
    d, n = 24, 30
    assert record["variant"] == "s2" and record["ok"]
    sweep = record["sweep"]
    assert [row["s"] for row in sweep] == list(range(1, d // 2 + 1))
    for row in sweep:
        assert row["bound_bits"] == float(sparse_values_bound_bits(n, d, row["s"]))
        assert row["bound_bits"] == n * (math.comb(d, row["s"]).bit_length() - 1)
        assert row["bit_errors"] == 0 and row["symbol_errors"] == 0
        assert row["bound_bits"] <= row["message_bits"]
        assert row["within_match"]
    figure = Path(record["figure"])
    assert figure.exists() and figure == tmp_path / "structure-s2.png"
    plot = read_plot_data(figure)
    assert plot["variant"] == "s2"
    bound, cache = _s2_series(plot, "bound"), _s2_series(plot, "support cache")
    assert bound["x"] == cache["x"] == [row["s"] for row in sweep]
    assert bound["y"] == [row["bound_bits"] for row in sweep]
    assert cache["y"] == [row["message_bits"] for row in sweep]
    attack = plot["panels"][1]["series"]["caches (information, Fano at p)"]
    ran = [r for r in (record["matching"], *record["attack"]) if r["status"] == "ok"]
    assert attack["x"] == [r["message_bits"] for r in ran]
    assert json.loads((tmp_path / "structure-s2.json").read_text()) == record
    # the figure's count of attack runs is the table's "N ran", and the command says where
    # it wrote (on stderr, since stdout is JSON)
    attack_ran = sum(r["status"] == "ok" for r in record["attack"])
    assert plot["panels"][1]["title"].startswith(
        f"the matching cache and {attack_ran} attack runs")
    assert main(["structure", "--variant", "s2", "--out", str(tmp_path), "--quiet",
                 *SMALL]) == 0
    out = capsys.readouterr().out
    assert f"attack suite: {attack_ran} ran" in out
    assert f"kvbound structure: wrote {tmp_path / 'structure-s2.png'}" in out


def test_s3_prints_the_ratio_and_says_w1_is_zero(tmp_path: Path,
                                                capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["structure", "--variant", "s3", "--w", "2", "--caches", "none", "--no-plot",
                 "--out", str(tmp_path), *SMALL]) == 0
    out = capsys.readouterr().out
    assert "bound / (n^2 d) = 0.6400 (= 16/25)" in out
    assert main(["structure", "--variant", "s3", "--w", "1", "--caches", "none", "--no-plot",
                 "--out", str(tmp_path), *SMALL]) == 0
    out = capsys.readouterr().out
    assert "= 0 bits" in out and "w = 1: only the current scale is visible" in out


def test_s3_var512_w2_prints_ratio(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """Must-show: var-512, w = 2: bound 64 * 576 bits, window cache meets it, ratio printed."""
    assert main(["structure", "--variant", "s3", "--schedule", "var-512", "--d", "64",
                 "--caches", "exact,packer", "--out", str(tmp_path), "--no-plot"]) == 0
    out = capsys.readouterr().out
    assert "= 36864 bits (delta = 0)" in out
    assert "matching cache window {'w': 2}" in out and "0/36864 bit errors" in out
    assert "within 1.3 x bound + n ceil(log2(L+1)) + 256: True" in out
    assert "bound / (n^2 d) = 0.5625 (= 9/16)" in out


def test_every_variant_writes_json_and_figure(tmp_path: Path,
                                              capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["structure", "--json", "--caches", "exact,packer,subgen", "--out",
                 str(tmp_path), *SMALL]) == 0
    record = json.loads(capsys.readouterr().out)
    assert record["ok"] and [v["variant"] for v in record["variants"]] == ["s1", "s2", "s3", "s4"]
    for v in record["variants"]:
        assert (tmp_path / f"structure-{v['variant']}.png").exists()
        assert read_plot_data(tmp_path / f"structure-{v['variant']}.png")["variant"] == v["variant"]
        assert v["practice"]["sentence"] and isinstance(v["practice"]["number"], float)


@pytest.mark.parametrize(("argv", "needle"), [
    (["--variant", "s2", "--s", "13"], "s=13 must be <= d/2"),
    (["--variant", "s3", "--w", "0"], "w=0 must be an integer >= 1"),
    (["--variant", "s4", "--rank", "99"], "rank r=99 must be <= d=24"),
    (["--variant", "s1", "--sparse-attention", "0"], "k=0 must be an integer >= 1"),
    (["--caches", ""], "names no cache"),
    (["--variant", "s1", "--caches", "nope"], "unknown cache 'nope'"),
])
def test_bad_input_exits_2_with_one_line(argv: list[str], needle: str, tmp_path: Path,
                                         capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["structure", *argv, "--out", str(tmp_path), "--no-plot", *SMALL]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and needle in err[0]


def test_bad_input_is_refused_before_any_variant_runs(tmp_path: Path,
                                                      capsys: pytest.CaptureFixture[str]) -> None:
    """S1 could run at d = 22, but S2's s = 12 > d/2: exit 2 and nothing written."""
    assert main(["structure", "--variant", "s1", "--variant", "s2", "--s", "12", "--d", "22",
                 "--schedule", "1,2,3,4,5", "--out", str(tmp_path)]) == 2
    assert "s=12 must be <= d/2" in capsys.readouterr().err
    assert not list(tmp_path.iterdir())


@pytest.mark.slow
def test_defaults_run_every_variant_on_var256(tmp_path: Path,
                                              capsys: pytest.CaptureFixture[str]) -> None:
    """The documented command: every variant, var-256, d = 64, the whole attack suite."""
    assert main(["structure", "--json", "--out", str(tmp_path)]) == 0
    record = json.loads(capsys.readouterr().out)
    assert record["ok"]
    s2 = next(v for v in record["variants"] if v["variant"] == "s2")
    assert [row["s"] for row in s2["sweep"]] == list(range(1, 33))
    assert all(r["feasible"] for v in record["variants"] for r in v["attack"]
               if r["status"] == "ok")
