"""``kvbound figures``: nine valid slide images whose data are the library's numbers.

Each figure is written with its data as JSON; the tests check the image files (format,
size), recompute every data field from lowerbound/ or a fresh run (Bob inline: the same
bytes give the same outputs), check that the drawing shows those data, and that every
caption is quoted in the course unit.
"""

from __future__ import annotations

import html
import json
import math
import struct
import xml.etree.ElementTree as ET
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from kvbound.cli import main
from kvbound.course import data as D
from kvbound.course.draw import draw_dimension, draw_schedule
from kvbound.course.slides import SLIDES, parse_only, slide
from kvbound.experiments import run_sweep
from lowerbound.bound import fp16_cache_bits, low_dimension_bound_bits, model_bound_bits
from lowerbound.entropy import binary_entropy
from lowerbound.jl import d_min
from lowerbound.models import MODELS, VAR_LOGIT_CAP
from lowerbound.softmax import c_min, gamma
from reduction.keys import sample_keys
from reduction.protocol import PublicParams, run_verification
from reduction.schedule import Schedule

UNIT = Path(__file__).resolve().parents[2] / "docs" / "course" / "unit.md"
S = Schedule.preset("var-256")


@pytest.fixture(scope="module")
def pngs(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("figures")
    assert main(["figures", "--out", str(out), "--deck", "--quiet"]) == 0
    return out


def _data(out: Path, number: int) -> dict[str, Any]:
    s = slide(number)
    record = json.loads((out / f"{s.stem}.json").read_text())
    assert record["figure"] == number and record["caption"] == s.caption
    return record["data"]


@pytest.mark.slow
def test_every_figure_is_a_png_of_slide_size(pngs: Path) -> None:
    for s in SLIDES:
        raw = (pngs / f"{s.stem}.png").read_bytes()
        assert raw[:8] == b"\x89PNG\r\n\x1a\n", s.stem
        width, height = struct.unpack(">II", raw[16:24])
        assert (width, height) == (2000, 1125), s.stem  # 10 x 5.625 in at 200 dpi
        assert len(raw) > 30_000, s.stem


@pytest.mark.parametrize("fmt", ["svg", "pdf"])
@pytest.mark.slow
def test_vector_formats(tmp_path: Path, fmt: str) -> None:
    assert main(["figures", "--out", str(tmp_path), "--format", fmt, "--only", "1,6"]) == 0
    files = {p.name for p in tmp_path.iterdir()}
    assert files == {f"01-schedule.{fmt}", "01-schedule.json", f"06-real-models.{fmt}",
                     "06-real-models.json"}
    for name in (f"01-schedule.{fmt}", f"06-real-models.{fmt}"):
        raw = (tmp_path / name).read_bytes()
        if fmt == "svg":
            root = ET.fromstring(raw)
            assert root.tag.endswith("svg") and root.get("width") == "720pt"
        else:
            assert raw.startswith(b"%PDF") and raw.rstrip().endswith(b"%%EOF")
        assert len(raw) > 5_000


def test_bad_figure_arguments_exit_2(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["figures", "--out", str(tmp_path), "--only", "9"]) == 2
    assert main(["figures", "--out", str(tmp_path), "--d", "8"]) == 2
    assert "need d >=" in capsys.readouterr().err
    assert list(tmp_path.iterdir()) == []
    assert parse_only("8,1,1") == [1, 8]


@pytest.mark.slow
def test_schedule_data(pngs: Path) -> None:
    data = _data(pngs, 1)
    assert data["tokens"] == list(S.tokens) and data["cumulative"] == list(S.cumulative)
    assert (data["cached_tokens"], data["last_scale_tokens"], data["passes"]) == (424, 256, 2)
    bars = draw_schedule(data).axes[0].patches
    assert [b.get_height() for b in bars] == list(S.tokens)


@pytest.mark.slow
def test_inner_product_data_is_the_runs_key_family(pngs: Path) -> None:
    data = _data(pngs, 2)
    run = run_verification(S, 64, 0.75, 0.25, [0], isolation="inline").runs[0]
    assert data["key_seed"] == run.key_seed
    assert data["max_inner_product"] == run.max_inner_product == max(data["inner_products"])
    signs = sample_keys(424, 64, 0.75, np.random.default_rng(run.key_seed)).signs
    gram = signs.astype(np.int64) @ signs.T.astype(np.int64)
    values, counts = np.unique(gram[np.triu_indices(424, 1)], return_counts=True)
    assert data["inner_products"] == [v / 64 for v in values.tolist()]
    assert data["counts"] == counts.tolist() and sum(data["counts"]) == 424 * 423 // 2
    assert data["max_inner_product"] <= data["eps"]


@pytest.mark.slow
def test_concentration_data(pngs: Path) -> None:
    data = _data(pngs, 3)
    public = PublicParams(S, 64, 0.75, 0.25, 0)
    assert data["C_min"] == c_min(424, 256, 0.75, 0.25) and data["C_used"] == public.scale
    assert data["logit_cap"] == float(VAR_LOGIT_CAP)
    for c, w in zip(data["C"], data["weight"]):
        assert w == 1 / (1 + gamma(424, 256, c, 0.75))
    assert data["weight_needed"] == 1 / (1 + 3 / 5)
    assert min(data["C"]) < data["C_min"] < data["C_used"] < data["logit_cap"] < max(data["C"])


@pytest.mark.slow
def test_outputs_data_is_a_measured_run(pngs: Path) -> None:
    data = _data(pngs, 4)
    seen: list[Any] = []
    result = run_verification(S, 64, 0.75, 0.25, [0], cache="noisy", isolation="inline",
                              observe=lambda p, z, t: seen.append((z.ravel(), t.ravel())))
    assert data["bit_errors"] == result.bit_errors == 0
    assert data["tau"] == result.public.tau and data["margin"] == result.runs[0].decoding_margin
    z, t = seen[0]
    edges = np.asarray(data["edges"])
    assert data["counts_0"] == np.histogram(z[t == 0], edges)[0].tolist()
    assert data["counts_1"] == np.histogram(z[t == 1], edges)[0].tolist()
    assert data["zero_range_top"] < data["tau"] < data["one_range_bottom"]
    assert data["options"] == {"noise": 0.25, "dtype": "float64"}


@pytest.mark.slow
def test_frontier_data_is_a_measured_sweep(pngs: Path) -> None:
    data = _data(pngs, 5)
    sweep = run_sweep(S, 64, 0.75, 0.25, caches=list(D.FRONTIER_CACHES),
                      budgets=D.SlideParams().frontier_budgets, seeds=[0], isolation="inline")
    assert [(p["cache"], p["bits_per_N"], p["error_rate"]) for p in data["points"]] == [
        (q.cache, q.ratio, q.error_rate) for q in sweep.measured]
    assert data["all_feasible"] is True
    for x, p in zip(data["frontier_bits_per_N"], data["frontier_error_rate"]):
        assert 0 <= p <= 0.5 and math.isclose(binary_entropy(p), 1 - x, abs_tol=1e-9)
        assert all(q["error_rate"] >= p - 1e-9 for q in data["points"] if q["bits_per_N"] <= x)


@pytest.mark.slow
def test_models_data(pngs: Path) -> None:
    data = _data(pngs, 6)
    released = [m for m in MODELS.values() if m.released and m.name.startswith("var-")]
    assert [r["model"] for r in data["models"]] == [m.name for m in released]
    for row, m in zip(data["models"], released):
        bound = model_bound_bits(m.depth, m.heads, 64, m.cached_tokens, 0.75)
        fp16 = fp16_cache_bits(m.depth, m.heads, 64, m.total_tokens)
        assert row["bound_mib"] * 8 * 2**20 == bound and row["fp16_mib"] * 8 * 2**20 == fp16
    assert data["models"][0]["fp16_mib"] == 42.5


@pytest.mark.slow
def test_dimension_data_and_its_drawing(pngs: Path) -> None:
    data = _data(pngs, 7)
    assert data["d_min"] == d_min(424, 0.75) == 41
    assert data["theorem_bits"] == [424 * d for d in data["d"]]
    assert data["low_dimension_bits"] == [low_dimension_bound_bits(d, 424, 0.75)
                                          for d in data["d"]]
    lines = {line.get_label(): line for line in draw_dimension(data).axes[0].lines}
    c1 = next(v for k, v in lines.items() if k.startswith("C1"))
    assert list(c1.get_ydata()) == data["low_dimension_bits"]


@pytest.mark.slow
def test_dmin_vs_n_data(pngs: Path) -> None:
    data = _data(pngs, 8)
    assert data["n"] == [16, 32, 64, 128, 256, 512, 1024, 2048, 4096]
    for curve in data["curves"]:
        eps = curve["eps"]
        assert data["ratio"] == 2.0  # the unit's geometric(n, 2)
        expected = [d_min(Schedule.geometric(n, 2).cached_tokens, D.Fraction(eps))
                    for n in data["n"]]
        assert curve["d_min"] == expected
    assert data["real_head_dims"] == [64, 128]
    var512 = next(p for p in data["presets"] if p["schedule"] == "var-512")
    assert var512["d_min"]["3/4"] == 49


@pytest.mark.slow
def test_the_reduction_figure_is_a_run(pngs: Path) -> None:
    """Figure 0 draws one run of the reduction: its numbers are that run's."""
    data = _data(pngs, 0)
    run = run_verification(S, 64, 0.75, 0.25, [0], cache="exact", isolation="inline")
    j, r = run.to_json(), run.runs[0]
    assert (data["L"], data["T_K"], data["n_bits"]) == (424, 256, 424 * 64)
    assert (data["message_bits"], data["bit_errors"]) == (r.message_bits, r.bit_errors)
    assert (data["C"], data["tau"], data["passes"]) == (j["C"], j["tau"], j["passes"])
    assert data["bound_bits"] == j["lower_bound_bits"] == 27136
    assert data["max_inner_product"] == r.max_inner_product


@pytest.mark.slow
def test_the_deck_shows_every_figure_with_its_caption(pngs: Path) -> None:
    deck = (pngs / "deck.html").read_text()
    for s in SLIDES:
        assert f'src="{s.stem}.png"' in deck and (pngs / f"{s.stem}.png").exists()
        assert html.escape(s.caption) in deck
    assert deck.count("<section>") == len(SLIDES) + 1  # the title slide first
    assert "No compressor can shrink a released VAR cache" in deck
    assert "http" not in deck.replace("http-equiv", "")  # nothing loaded from anywhere


def test_the_deck_refuses_pdf(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["figures", "--out", str(tmp_path), "--deck", "--format", "pdf"]) == 2
    assert "--deck shows the figures in a browser" in capsys.readouterr().err


def test_every_caption_is_quoted_in_the_unit() -> None:
    unit = UNIT.read_text()
    for s in SLIDES:
        assert f"*Figure {s.number} (`{s.stem}`): {s.caption}*" in unit
