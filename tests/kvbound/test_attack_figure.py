"""``kvbound attack``'s figure and output directory: a readable default, vector output,
results in out/ unless told otherwise."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from kvbound.cli import main
from kvbound.experiments import run_sweep
from kvbound.reports.attack import DEFAULT_PLOT_CACHES, attack_figure, plotted_caches
from reduction.schedule import Schedule

TINY = ["--schedule", "1,2,3,4", "--d", "32", "--seeds", "1", "--quiet"]


def test_attack_writes_to_out_by_default(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    assert main(["attack", *TINY, "--caches", "exact,packer", "--isolation", "inline"]) == 0
    assert sorted(p.name for p in (tmp_path / "out" / "attack-001").iterdir()) == [
        "attack.json", "attack.md", "attack.png", "attack.svg"]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out"]
    root = ET.fromstring((tmp_path / "out" / "attack-001" / "attack.svg").read_bytes())
    assert root.tag.endswith("svg")


def test_plot_caches_is_checked_before_the_run(tmp_path: Path,
                                              capsys: pytest.CaptureFixture[str]) -> None:
    code = main(["attack", *TINY, "--caches", "exact", "--plot-caches", "packer",
                 "--out", str(tmp_path)])
    assert code == 2 and "--plot-caches names packer" in capsys.readouterr().err
    assert list(tmp_path.iterdir()) == []


@pytest.fixture(scope="module")
def sweep():  # type: ignore[no-untyped-def]
    return run_sweep(Schedule.parse("1,2,3,4"), 32, 0.75, 0.25,
                     caches=["exact", "packer", "random", "tova", "uniform-q2"],
                     budgets=[0.5], seeds=[0], isolation="inline")


def test_default_subset_one_per_family(sweep) -> None:  # type: ignore[no-untyped-def]
    assert plotted_caches(sweep) == ["exact", "packer", "random"]
    assert set(plotted_caches(sweep)) <= set(DEFAULT_PLOT_CACHES)
    assert plotted_caches(sweep, ["tova"]) == ["tova"]
    with pytest.raises(ValueError, match="did not measure"):
        plotted_caches(sweep, ["quest"])


def test_figure_labels_settings_and_writes_the_takeaway(
    sweep, tmp_path: Path  # type: ignore[no-untyped-def]
) -> None:
    fig = attack_figure(sweep, tmp_path / "a.svg")
    ax = fig.axes[0]
    texts = [t.get_text() for t in ax.texts]
    assert "budget=0.5" in texts  # random's setting, written next to its point
    legend = [t.get_text() for t in ax.get_legend().get_texts()]
    assert {"exact", "packer", "random"} <= set(legend) and "tova" not in legend
    boxes = [a for a in ax.artists if hasattr(a, "txt")]
    message = boxes[0].txt.get_text()
    assert "all on the feasible side" in message and "2 more cache(s)" in message
    colours = {(line.get_color(), line.get_marker()) for line in ax.lines
               if line.get_marker() not in (None, "None", "")}
    assert len(colours) >= 3  # distinct colour-marker pairs
