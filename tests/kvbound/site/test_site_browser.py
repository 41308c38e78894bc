"""The page in a real browser: headless Chromium loads it, a user moves sliders, loads a file.

What must hold: the page loads with no console error, no exception and no request beyond
its own files; moving a slider with the keyboard changes the numbers, to the values
:func:`kvbound.site.reference.page_numbers` computes; choosing a ``verify --json`` file
shows the verdict :func:`kvbound.reports.plain.verdict_lines` writes; the screenshots and
both drawings are not blank.

Skipped when no Chromium is installed, unless KVBOUND_REQUIRE_BROWSER=1 (``make
test-site`` and CI set it), where a missing browser fails.
"""

from __future__ import annotations

import io
import json
import os
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from kvbound.reports.plain import verdict_lines
from kvbound.site.reference import page_numbers
from reduction.protocol import run_verification
from reduction.schedule import Schedule
from tests.kvbound.site.devtools import Browser, find_chromium

CHROMIUM = find_chromium()
REQUIRED = os.environ.get("KVBOUND_REQUIRE_BROWSER") == "1"

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(CHROMIUM is None and not REQUIRED,
                       reason="no chromium: the page's browser test is skipped "
                       "(apt-get install chromium, then make test-site)"),
]

ARROW_RIGHT, ARROW_LEFT = ("ArrowRight", 39), ("ArrowLeft", 37)


def grouped(n: float) -> str:
    return f"{int(n):,}"


def not_blank(png: bytes) -> tuple[float, float]:
    """(share of pixels that are not background, spread of grey levels) of a PNG."""
    from matplotlib.image import imread

    pixels = imread(io.BytesIO(png), format="png")[..., :3]
    grey = pixels.mean(axis=2)
    background = np.median(grey)
    return float(np.mean(np.abs(grey - background) > 0.1)), float(grey.std())


@pytest.fixture(scope="module")
def page(built_site: tuple[Path, list[Path]]) -> Any:
    if CHROMIUM is None:
        pytest.fail("KVBOUND_REQUIRE_BROWSER=1 but no chromium is installed "
                    "(apt-get install chromium)")
    out, _ = built_site
    with Browser(CHROMIUM) as browser:
        browser.navigate((out / "index.html").as_uri())
        yield browser, out


def text(browser: Browser, element: str) -> str:
    return str(browser.evaluate(f"document.getElementById({json.dumps(element)}).textContent"))


def move(browser: Browser, slider: str, key: tuple[str, int], times: int = 1) -> None:
    browser.evaluate(f"document.getElementById({json.dumps(slider)}).focus()")
    browser.press(*key, times=times)


def test_it_loads_cleanly(page: Any) -> None:
    browser, out = page
    assert browser.problems() == []
    urls = browser.requested_urls()
    assert urls and all(u.startswith(out.as_uri()) for u in urls), urls
    assert "No compressor can shrink" in text(browser, "headline")


def test_the_first_numbers_are_kvbounds(page: Any) -> None:
    browser, _ = page
    ref = page_numbers(L=424, T=256, LK=680, d=64, eps=0.75, eta=0.25, b=1, cap=None)
    assert text(browser, "out-dmin").startswith(f"{ref['dMin']} ")
    assert text(browser, "out-bound") == f"{grouped(ref['boundBits'])} bits"
    assert text(browser, "out-cmin") == f"{ref['cMin']:.4f}"
    assert text(browser, "out-ratio") == f"{ref['fp16Ratio']:.2f}×"


def test_a_slider_move_changes_the_numbers(page: Any) -> None:
    browser, _ = page
    before = text(browser, "out-bound"), text(browser, "out-plain")
    move(browser, "in-d", ARROW_RIGHT)
    ref = page_numbers(L=424, T=256, LK=680, d=65, eps=0.75, eta=0.25, b=1, cap=None)
    after = text(browser, "out-bound"), text(browser, "out-plain")
    assert after != before
    assert after[0] == f"{grouped(ref['boundBits'])} bits"
    assert text(browser, "out-scale") == f"{ref['scale']:.4f}"
    # down to d = 16 with the cap of the released heads: only L* tokens carry bits
    move(browser, "in-d", ARROW_LEFT, times=49)
    move(browser, "in-cap", ARROW_RIGHT, times=10)
    assert "100" in text(browser, "lab-cap")
    capped = page_numbers(L=424, T=256, LK=680, d=16, eps=0.75, eta=0.25, b=1, cap=100.0)
    assert text(browser, "out-carrying") == f"{capped['carrying']} of 424"
    assert text(browser, "out-bound") == f"{grouped(capped['boundBits'])} bits"
    assert "only 54 of the 424" in text(browser, "out-plain")
    assert browser.problems() == []


def test_the_softmax_and_outputs_are_drawn(page: Any) -> None:
    browser, _ = page
    before = text(browser, "out-w-target")
    move(browser, "in-c", ARROW_RIGHT, times=30)
    assert text(browser, "out-w-target") != before
    for canvas in ("conc-canvas", "out-canvas"):
        inked = browser.evaluate(
            f"(() => {{ const c = document.getElementById('{canvas}');"
            "const d = c.getContext('2d').getImageData(0, 0, c.width, c.height).data;"
            "let n = 0; for (let i = 0; i < d.length; i += 4)"
            "  if (d[i] < 200 || d[i + 1] < 200 || d[i + 2] < 200) n++;"
            "return n / (d.length / 4); })()")
        assert inked > 0.01, canvas
    browser.evaluate("(() => { const s = document.getElementById('in-run');"
                     "s.value = String(s.options.length - 1);"
                     "s.dispatchEvent(new Event('change')); })()")
    assert "of the bits wrong" in text(browser, "run-verdict")


def test_a_students_result_is_read(page: Any, tmp_path: Path) -> None:
    browser, _ = page
    record = run_verification(Schedule.parse("1,2,3,4"), 16, 0.75, 0.25, 1, cache="h2o",
                              options={"budget": 0.5}, isolation="inline").to_json()
    path = tmp_path / "result.json"
    path.write_text(json.dumps(record))
    browser.set_file("#in-file", path)
    shown = browser.evaluate(
        "new Promise((done, fail) => { let n = 0; const t = setInterval(() => {"
        "  const v = document.getElementById('student-verdict').innerText;"
        "  if (v) { clearInterval(t); done(v); }"
        "  else if (++n > 400) { clearInterval(t); fail('no verdict'); } }, 25); })")
    assert [line for line in shown.split("\n") if line] == verdict_lines(record)
    browser.evaluate("document.getElementById('in-paste').value = '{\"runs\": 3}';"
                     "document.getElementById('btn-paste').click()")
    assert "Could not read the pasted text" in text(browser, "student-verdict")


def test_screenshots_are_not_blank(page: Any, tmp_path: Path) -> None:
    browser, _ = page
    png = browser.screenshot()
    (tmp_path / "page.png").write_bytes(png)
    inked, spread = not_blank(png)
    assert inked > 0.03 and spread > 0.05, (inked, spread)
    assert browser.problems() == []
