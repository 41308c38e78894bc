"""Must-show: at least 12 kvpress presses run unported, every point on the feasible side,
the six ported rules within 0.01 of kvbound's ports, and the table of docs/compressors.md
is the one this run produces (tests of kvbound.experiments.kvpress_table)."""

from __future__ import annotations

from kvbound.experiments.kvpress_table import DOC, RUNS, Point, render, splice

#: The presses kvbound has its own version of (PORTS), the six of issue 19.
SIX = ("StreamingLLMPress", "RandomPress", "SnapKVPress", "TOVAPress",
       "ObservedAttentionPress", "KeyDiffPress")


def test_at_least_twelve_presses_run_and_every_point_is_feasible(table: list[Point]) -> None:
    assert len({p.press for p in table}) == len(RUNS) >= 12
    assert all(not p.run.leak for p in table)
    assert all(p.port_run is None or not p.port_run.leak for p in table)
    assert all(p.run.message_bits >= p.run.information_bits_lcb for p in table)


def test_ported_rules_agree_within_one_percent(table: list[Point]) -> None:
    compared = 0
    for p in table:
        if p.press not in SIX and p.press != "KnormPress":
            continue
        blind = (1 - p.kept_fraction) / 2  # no port registered: the value-blind prediction
        reference = blind if p.port_run is None else p.port_run.error_rate
        assert abs(p.run.error_rate - reference) <= 0.01, (p.press, p.ratio)
        assert abs(p.run.error_rate - blind) <= 0.01, (p.press, p.ratio)
        assert abs(p.kept_fraction - (1 - p.ratio)) < 1e-9
        compared += 1
    assert compared == 2 * (len(SIX) + 1)
    assert {p.press for p in table if p.port_run is not None} >= set(SIX) - {"KeyDiffPress"}


def test_the_committed_table_is_this_run(table: list[Point]) -> None:
    text = DOC.read_text()
    assert splice(text, render(table)) == text, (
        "docs/compressors.md's kvpress table is stale: run "
        "python -m kvbound.experiments.kvpress_table --write (in .venv-kvpress)")
