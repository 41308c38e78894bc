"""A slide deck from the course figures: one HTML file, offline, printable to PDF.

Purpose: ``kvbound figures --deck`` (issue 22). The deck is ``deck.html`` beside the
figure images it shows: a title slide with the headline fact, then one slide per figure
with its caption (the sentence the unit quotes) as the line to read out. Arrow keys, space
and Page Up/Down move between slides, ``#3`` opens slide 3; printing (to PDF) puts one
slide on each landscape page. No script or style is loaded from anywhere.
"""

from __future__ import annotations

import html
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

__all__ = ["DeckSlide", "deck_html", "write_deck"]


@dataclass(frozen=True)
class DeckSlide:
    """One slide: its heading, the image file (relative to the deck), the caption."""

    heading: str
    image: str
    caption: str


_STYLE = """
html, body { margin: 0; height: 100%; background: #ffffff; color: #1a1a1a;
  font-family: system-ui, "DejaVu Sans", sans-serif; }
section { display: none; box-sizing: border-box; width: 100vw; height: 100vh;
  padding: 2vh 4vw; flex-direction: column; align-items: center; justify-content: center; }
section.current { display: flex; }
h1 { font-size: 5vh; text-align: center; margin: 0 0 3vh; }
h2 { font-size: 3.6vh; margin: 0 0 1vh; }
img { max-width: 92vw; max-height: 72vh; }
p { font-size: 2.6vh; max-width: 80vw; text-align: center; margin: 1vh 0; }
.headline { background: #fff6e0; border-left: 0.6vh solid #E69F00; padding: 1.5vh 2vw; }
.count { position: fixed; right: 2vw; bottom: 1.5vh; font-size: 1.8vh; color: #777; }
@media print {
  @page { size: landscape; margin: 0; }
  section, section.current { display: flex; page-break-after: always; height: 100vh; }
  .count { display: none; }
}
"""

_SCRIPT = """
(function () {
  var slides = document.querySelectorAll("section");
  var count = document.getElementById("count");
  var i = 0;
  function show(n) {
    i = Math.max(0, Math.min(slides.length - 1, n));
    for (var j = 0; j < slides.length; j++) slides[j].className = j === i ? "current" : "";
    count.textContent = (i + 1) + " / " + slides.length;
    if (window.history && window.history.replaceState) {
      try { window.history.replaceState(null, "", "#" + (i + 1)); } catch (e) { }
    }
  }
  document.addEventListener("keydown", function (ev) {
    if (["ArrowRight", "ArrowDown", "PageDown", " "].indexOf(ev.key) >= 0) show(i + 1);
    else if (["ArrowLeft", "ArrowUp", "PageUp"].indexOf(ev.key) >= 0) show(i - 1);
    else if (ev.key === "Home") show(0);
    else if (ev.key === "End") show(slides.length - 1);
    else return;
    ev.preventDefault();
  });
  document.addEventListener("click", function () { show(i + 1); });
  var start = parseInt(window.location.hash.replace("#", ""), 10);
  show(isNaN(start) ? 0 : start - 1);
})();
"""


def deck_html(title: str, slides: Sequence[DeckSlide], *, headline: str | None = None,
              subtitle: str = "") -> str:
    """The deck as one HTML document (every text escaped)."""
    e = html.escape
    parts = [f"<section><h1>{e(title)}</h1>"]
    if headline:
        parts.append(f'<p class="headline">{e(headline)}</p>')
    if subtitle:
        parts.append(f"<p>{e(subtitle)}</p>")
    parts.append("</section>")
    for s in slides:
        parts.append(f'<section><h2>{e(s.heading)}</h2><img src="{e(s.image)}" '
                     f'alt="{e(s.heading)}"><p>{e(s.caption)}</p></section>')
    return ("<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n"
            "<meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'; "
            "img-src 'self'; style-src 'unsafe-inline'; script-src 'unsafe-inline'\">\n"
            f"<title>{e(title)}</title>\n<style>{_STYLE}</style>\n</head>\n<body>\n"
            + "\n".join(parts)
            + '\n<div class="count" id="count"></div>\n'
            f"<script>{_SCRIPT}</script>\n</body>\n</html>\n")


def write_deck(out: Path, title: str, slides: Sequence[DeckSlide], *,
               headline: str | None = None, subtitle: str = "") -> Path:
    """Write ``out/deck.html``; every image it names must already be in ``out``."""
    missing = [s.image for s in slides if not (out / s.image).is_file()]
    if missing:
        raise ValueError(f"the deck's images {', '.join(missing)} are not in {out}; "
                         "write the figures first")
    path = out / "deck.html"
    path.write_text(deck_html(title, slides, headline=headline, subtitle=subtitle),
                    encoding="utf-8")
    return path
