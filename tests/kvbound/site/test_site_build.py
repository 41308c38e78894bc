"""``kvbound site`` writes a page that stands alone: local files only, data from kvbound.

Checks the files, that the page loads nothing from the network (every ``src``/``href`` is
one of the written files, and its content security policy forbids the rest), that
``data.js`` carries exactly ``data.json``, that its precomputed numbers are kvbound's
(the headline's ratios from the schedules' own sizes, Bob's outputs from a run), and that
``--result`` accepts a verify record and refuses anything else with exit code 2.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest

from kvbound.cli import main
from kvbound.site.build import ASSETS
from kvbound.site.data import ETAS, OUTPUT_RUNS
from lowerbound.bound import fp16_cache_bits
from reduction.schedule import Schedule


def _data(out: Path) -> dict[str, Any]:
    return dict(json.loads((out / "data.json").read_text()))


def test_every_file_is_written(built_site: tuple[Path, list[Path]]) -> None:
    out, written = built_site
    assert sorted(p.name for p in written) == sorted([*ASSETS, "data.js", "data.json"])
    assert all(p.is_file() and p.stat().st_size > 0 for p in written)


def test_the_page_loads_only_its_own_files(built_site: tuple[Path, list[Path]]) -> None:
    out, _ = built_site
    html = (out / "index.html").read_text()
    refs = re.findall(r'(?:src|href)="([^"#]+)"', html)
    assert refs and set(refs) <= {p.name for p in out.iterdir()}
    assert "default-src 'none'" in html
    for name in ("page.js", "kvbound.js", "style.css"):
        text = (out / name).read_text()
        assert not re.search(r"https?://|fetch\(|XMLHttpRequest|import\(", text), name


def test_data_js_is_data_json(built_site: tuple[Path, list[Path]]) -> None:
    out, _ = built_site
    script = (out / "data.js").read_text()
    match = re.search(r"^window\.KVBOUND_DATA = (.*);$", script, re.M)
    assert match is not None
    assert json.loads(match.group(1)) == _data(out)


def test_the_headline_is_the_schedules_ratio(built_site: tuple[Path, list[Path]]) -> None:
    """At eta = 1/4 every cached token carries one bit per coordinate under the cap 100, so
    fp16 / bound = 32 L_K / L_{K-1} (Corollary C2): 51.3 for var-256, 58.9 for var-512."""
    data = _data(built_site[0])
    h = data["headline"]
    for schedule, key in (("var-256", "low"), ("var-512", "high")):
        s = Schedule.preset(schedule)
        assert h[key] == f"{32 * s.total_tokens / s.cached_tokens:.1f}"
        assert h[key] + "×" in h["text"]
    s = Schedule.preset("var-256")
    assert h["precise"] == f"{32 * s.total_tokens / (11 * s.cached_tokens):.2f}"


def test_the_models_table(built_site: tuple[Path, list[Path]]) -> None:
    data = _data(built_site[0])
    assert [e["text"] for e in data["etas"]] == [str(e) for e in ETAS]
    for m in data["models"]:
        assert [r["eta"] for r in m["by_eta"]] == [str(e) for e in ETAS]
        fp16 = fp16_cache_bits(1, 1, m["head_dim"], m["LK"])
        for r in m["by_eta"]:
            assert r["fp16_bits_per_head"] == fp16
            assert r["bound_bits_per_head"] == r["bits_per_value"] * r["carrying_tokens"] * \
                m["head_dim"]
            assert r["ratio"] == pytest.approx(fp16 / r["bound_bits_per_head"], rel=1e-12)


def test_bobs_outputs_are_runs(built_site: tuple[Path, list[Path]]) -> None:
    data = _data(built_site[0])
    assert [(o["cache"], o["options"]) for o in data["outputs"]] == [
        (c, o) for c, o, _ in OUTPUT_RUNS]
    for o in data["outputs"]:
        assert sum(o["counts_0"]) + sum(o["counts_1"]) == o["n_bits"]
        assert len(o["edges"]) == len(o["counts_0"]) + 1
        assert o["verdict"][0].startswith("No leak")
    h2o = data["outputs"][-1]
    assert h2o["bit_errors"] > 0 and "of the bits wrong" in h2o["verdict"][0]
    conc = data["concentration"]
    assert len(conc["inner_products_times_d"]) == conc["L"] - 1
    assert max(conc["inner_products_times_d"]) <= conc["eps"] * conc["d"]
    assert isinstance(conc["key_seed"], str)  # 63-bit: a JavaScript number would round it


def test_a_result_is_built_in(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    result = tmp_path / "result.json"
    assert main(["verify", "--schedule", "1,2,3", "--d", "16", "--isolation", "inline",
                 "--json", "--quiet", "--out", str(result)]) == 0
    capsys.readouterr()
    out = tmp_path / "site"
    assert main(["site", "--out", str(out), "--result", str(result), "--quiet"]) == 0
    said = capsys.readouterr().out
    assert f"in {out}/" in said and "index.html" in said and "data.js" in said
    data = _data(out)
    assert data["student"]["cache"] == "exact"
    assert data["student_verdict"][0].startswith("No leak")


@pytest.mark.parametrize("content,words", [
    ("not json", "is not JSON"),
    ("[1, 2]", "holds a JSON list"),
    ('{"runs": []}', "has no runs"),
    ('{"runs": [{"message_bits": 5}]}', 'has no number "information_bits"'),
])
def test_a_bad_result_is_refused(tmp_path: Path, capsys: pytest.CaptureFixture[str],
                                 content: str, words: str) -> None:
    bad = tmp_path / "bad.json"
    bad.write_text(content)
    assert main(["site", "--out", str(tmp_path / "site"), "--result", str(bad)]) == 2
    err = capsys.readouterr().err
    assert words in err and "kvbound verify --json" in err
    assert not (tmp_path / "site").exists()  # refused before anything was written
