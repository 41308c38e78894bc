"""The feasibility check can fail: leaks are caught, honest caches pass.

docs/theorem.md#feasible and #certificate (ours): for any compressor, budget and seed, no
code fixed in advance describes X given Bob's output in fewer than N - message - allowance
bits (Lemma CERT; the false-alarm level 1e-6 per run). The
property is checked over every registered cache; then the same check is shown to flag a
cache that hides Alice's values outside its bytes (tests/leaky_cache.py), through the real
separate-process Bob, in run_verification, in the sweep and in ``kvbound attack`` (exit
3). A cache that hides them in a module global instead is caught by the process boundary
itself: Bob's process does not share the global, so he decodes garbage.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from caches import cache_names
from kvbound.cli import EXIT_BOUND_VIOLATED, main
from kvbound.experiments import run_sweep, sweep_axis
from reduction.protocol import SeedResult, run_verification
from reduction.schedule import Schedule
from tests.leaky_cache import LEAK_ENV

SCHEDULE = Schedule.parse("1,2,3,4")  # L = 14, T_K = 16
D = 32  # >= d_min(14, 0.75) = 17
N = SCHEDULE.cached_tokens * D
LEAKY = "tests.leaky_cache:LeakyCache"
GLOBAL_LEAKY = "tests.leaky_cache:GlobalLeakyCache"


@pytest.fixture(autouse=True)
def _leak_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Each test's leaky cache hides its state in its own temp file (Bob inherits the env)."""
    path = tmp_path / "hidden-state.npz"
    monkeypatch.setenv(LEAK_ENV, str(path))
    return path


@st.composite
def _configurations(draw: st.DrawFn) -> tuple[str, dict[str, object]]:
    """A registered cache with one of the values its sweep axis offers."""
    name = draw(st.sampled_from(cache_names()))
    axis = sweep_axis(name)
    if axis.option == "budget":
        return name, {"budget": draw(st.sampled_from([0.1, 0.25, 0.5, 0.75, 1.0, 3]))}
    values = axis.resolved(D)
    if axis.option is None or not values:
        return name, {}
    return name, {axis.option: draw(st.sampled_from(values))}


def _run(seed: int, cache: str, options: dict[str, object]) -> SeedResult:
    """One seed of the protocol, Bob inline (the same function as in his process)."""
    result = run_verification(SCHEDULE, D, 0.75, 0.25, [seed], cache=cache, options=options,
                              isolation="inline")
    return result.runs[0]


@given(config=_configurations(), seed=st.integers(0, 2**20))
def test_every_cache_is_on_the_feasible_side(
    config: tuple[str, dict[str, object]], seed: int
) -> None:
    """No certified leak (docs/theorem.md#certificate), for every cache/budget/seed."""
    name, options = config
    r = _run(seed, name, options)
    assert r.n_bits == N
    assert not r.leak, (name, options, seed, r.certificate.describe())
    assert r.certificate.margin_bits <= 0


# -- the check fails on a leaky cache --------------------------------------------------------

# The file crosses from Alice to Bob only between unsandboxed workers (docs/theorem.md
# #sandbox gives each its own /tmp): these tests of the check run them so, explicitly.

def test_leaky_cache_is_flagged() -> None:
    r = run_verification(SCHEDULE, D, 0.75, 0.25, [0], cache=LEAKY, isolation="process",
                         timeout=60, sandbox=False).runs[0]
    assert r.message_bits == 64 and r.bit_errors == 0
    assert r.leak and r.certificate.margin_bits > 0
    assert r.certificate.code_bits < N - r.message_bits - r.certificate.allowance_bits


def test_leaky_cache_is_flagged_through_the_separate_process_bob(_leak_file: Path) -> None:
    result = run_verification(SCHEDULE, D, 0.75, 0.25, seeds=2, cache=LEAKY,
                              isolation="process", sandbox=False)
    assert _leak_file.exists()  # the state really went around the bytes
    assert result.bit_errors == 0 and result.message_bits == 64
    assert result.leak and not result.bound_respected
    assert all(r.leak for r in result.runs)


def test_leaky_cache_is_flagged_in_the_sweep() -> None:
    r = run_sweep(SCHEDULE, D, 0.75, 0.25, caches=["exact", LEAKY], seeds=1, sandbox=False)
    exact, leaky = r.points
    assert exact.feasible and not exact.leak
    assert leaky.leak and not leaky.feasible and not r.all_feasible
    assert r.to_json()["leaks"] == [LEAKY]


def test_kvbound_attack_exits_3_on_the_leaky_cache(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "out"
    rc = main(["attack", "--schedule", "1,2,3,4", "--d", str(D), "--seeds", "1", "--quiet",
               "--caches", f"exact,{LEAKY}", "--out", str(out), "--no-plot", "--no-sandbox"])
    captured = capsys.readouterr()
    assert rc == EXIT_BOUND_VIOLATED == 3
    assert "LEAK" in captured.err and LEAKY in captured.err
    assert "NO: LEAK" in captured.out
    run = out / "attack-001"
    assert (run / "attack.json").exists() and (run / "attack.md").exists()


def test_leaky_cache_without_its_hidden_file_is_bad_input(_leak_file: Path) -> None:
    """Bob without the side channel: the leaky cache cannot rebuild, a ValueError."""
    from reduction.cache import CacheParams
    from reduction.message import frame
    from tests.leaky_cache import LeakyCache

    with pytest.raises(ValueError, match="no hidden state"):
        LeakyCache.from_bytes(frame(b"LEAK", b""), CacheParams(D, SCHEDULE))


# -- the process boundary is real --------------------------------------------------------------

def test_third_party_code_never_runs_inline() -> None:
    """Inline, Alice and Bob would share this process (and its globals): refused."""
    with pytest.raises(ValueError, match="third-party code"):
        run_verification(SCHEDULE, D, 0.75, 0.25, seeds=1, cache=GLOBAL_LEAKY,
                         isolation="inline")


def test_global_leak_is_cut_by_the_process_boundary() -> None:
    """In Bob's own process the global is empty: he decodes garbage, p near 1/2."""
    result = run_verification(SCHEDULE, D, 0.75, 0.25, seeds=2, cache=GLOBAL_LEAKY,
                              isolation="process")
    p = result.bit_errors / (2 * N)
    # Bob reads all zeros, so he is wrong on the 1 bits: Binomial(2N, 1/2) / 2N, sd 0.017.
    assert 0.4 < p < 0.6
    assert not result.leak  # garbage carries no information, so no bound is broken
