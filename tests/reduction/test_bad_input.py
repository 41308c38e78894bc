"""Every parameter outside the theorem's regime gets a ValueError naming the values and
what would work; the CLI turns it into one line on stderr and exit code 2 (issue 2)."""

from __future__ import annotations

import math
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest

from caches import resolve_cache
from caches.exact import ExactCache
from kvbound.cli import main
from lowerbound.bound import index_lower_bound_bits, theorem_bound_bits
from lowerbound.decoding import tau
from lowerbound.entropy import binary_entropy
from lowerbound.jl import d_min, max_keys
from lowerbound.softmax import c_min, gamma
from reduction.attention import attend
from reduction.cache import CacheParams, budget_tokens
from reduction.instance import load_instance, make_instance
from reduction.keys import sample_keys
from reduction.protocol import PublicParams
from reduction.schedule import Schedule

V256 = Schedule.preset("var-256")

API_CASES: list[tuple[str, Callable[[], object], str]] = [
    ("L=0", lambda: d_min(0, 0.5), r"L=0 must be an integer >= 1"),
    ("eps=0", lambda: d_min(10, 0), r"eps=0 must lie in the open interval \(0, 1\)"),
    ("eps=1", lambda: d_min(10, 1), r"eps=1 must lie in the open interval \(0, 1\)"),
    ("eps=nan", lambda: d_min(10, math.nan), r"eps=nan"),
    ("eps str", lambda: d_min(10, "0.5"), r"eps='0.5' must be a real number"),
    ("L float", lambda: d_min(10.5, 0.5), r"L=10.5 must be an integer"),
    ("max_keys d=0", lambda: max_keys(0, 0.5), r"d=0 must be an integer >= 1"),
    ("eta=1", lambda: c_min(424, 256, 0.75, 1), r"eta=1 must lie in the interval \[0, 1\)"),
    ("eta<0", lambda: c_min(424, 256, 0.75, -0.1), r"eta=-0.1"),
    ("additive eta", lambda: c_min(424, 256, 0.75, 0.5, additive=True), r"\[0, 0.5\)"),
    ("no least C", lambda: c_min(2, 0, 0.25, 0), r"there is no least C"),
    ("C=0", lambda: gamma(424, 256, 0.0, 0.75), r"C=0.0 must be a finite number > 0"),
    ("tau eta", lambda: tau(0.1, 1.5), r"eta=1.5"),
    ("H2(1.5)", lambda: binary_entropy(1.5), r"p=1.5 must lie in the closed interval"),
    ("delta", lambda: index_lower_bound_bits(100, 0.7), r"delta=0.7"),
    ("theorem d<d_min", lambda: theorem_bound_bits(16, 424, 0.75), r"need d >= 41, got d=16"),
    ("empty schedule", lambda: Schedule.parse(""), r"the schedule is empty"),
    ("empty tuple", lambda: Schedule(()), r"the schedule is empty"),
    ("one scale", lambda: Schedule.parse("4"), r"K >= 2"),
    ("non-increasing", lambda: Schedule.parse("4,2"), r"strictly increase"),
    ("repeat", lambda: Schedule.parse("2,2"), r"strictly increase"),
    ("zero side", lambda: Schedule.parse("0,2"), r"h_1=0 must be an integer >= 1"),
    ("junk side", lambda: Schedule.parse("a,b"), r"cannot read scale 'a'"),
    ("ratio=1", lambda: Schedule.geometric(16, 1.0), r"ratio=1.0 must lie in the open"),
    ("unknown preset", lambda: Schedule.preset("var-2048"), r"unknown schedule preset"),
    ("instance L=0", lambda: make_instance(0, 4, 0), r"L=0 must be an integer >= 1"),
    ("too many queries", lambda: make_instance(3, 4, 0, num_queries=13), r"exceeds N=12"),
    ("d below d_min", lambda: sample_keys(424, 8, 0.75, 0), r"need d >= 41 .* got d=8"),
    ("keys eps", lambda: sample_keys(10, 64, 1.2, 0), r"eps=1.2"),
    ("empty cache", lambda: attend(np.ones((1, 2)), np.zeros((0, 2)), np.zeros((0, 2))),
     r"the cache is empty"),
    ("dim mismatch", lambda: attend(np.ones((1, 3)), np.ones((2, 2)), np.ones((2, 2))),
     r"query dimension 3 differs from key dimension 2"),
    ("budget 0", lambda: budget_tokens(0, 10), r"budget=0 must be an integer >= 1"),
    ("budget 1.5", lambda: budget_tokens(1.5, 10), r"kept fraction in \(0, 1\]"),
    ("budget nan", lambda: budget_tokens(math.nan, 10), r"kept fraction"),
    ("public d<d_min", lambda: PublicParams(V256, 32, 0.75, 0.25, 0), r"need d >= 41"),
    ("unknown cache", lambda: resolve_cache("nope"), r"unknown cache 'nope'"),
    ("bad module", lambda: resolve_cache("no_such_mod:X"), r"cannot import cache module"),
    ("bad class", lambda: resolve_cache("math:nothing"), r"has no class 'nothing'"),
    ("exact dtype", lambda: ExactCache(CacheParams(4, V256, {"dtype": "int8"})),
     r"dtype='int8'; choose one of float16"),
    ("cache option", lambda: CacheParams(4, V256, {"budget": [1, 2]}),
     r"must be a JSON scalar"),
]


@pytest.mark.parametrize("label,call,message", API_CASES, ids=[c[0] for c in API_CASES])
def test_api_rejects_with_a_clear_message(label, call, message):
    with pytest.raises(ValueError, match=message):
        call()


def test_corrupt_instance_file(tmp_path: Path):
    path = tmp_path / "x.npz"
    path.write_bytes(b"not a zip file at all")
    with pytest.raises(ValueError, match="not a valid kvbound instance file"):
        load_instance(path)


CLI_CASES: list[tuple[list[str], str]] = [
    (["verify", "--d", "8", "--logit-cap", "5"], "no eps fits; raise B to >= 7.04"),
    (["verify", "--var-head", "--logit-cap", "200"], "clamp their scale at 100"),
    (["verify", "--eps", "1.5"], "eps=1.5 must lie in the open interval"),
    (["verify", "--eta", "1"], "eta=1.0 must lie in the interval"),
    (["verify", "--schedule", "4,2"], "strictly increase"),
    (["verify", "--schedule", ""], "the schedule is empty"),
    (["verify", "--schedule", "geometric(1,2)"], "n=1 must be an integer >= 2"),
    (["verify", "--seeds", "0"], "argument --seeds: 0 is not a whole number >= 1"),
    (["verify", "--first-seed", "-1"], "argument --first-seed: -1 is not a whole number >= 0"),
    (["verify", "--seed", "3"], "--seed is now --first-seed (the first of the --seeds seeds): "
                                "write --first-seed 3"),
    (["verify", "--cache", "noisy", "--option", "eta=0.5"], "'eta' is now 'noise'"),
    (["verify", "--cache", "nope"], "unknown cache 'nope'"),
    (["verify", "--option", "budget"], "must look like KEY=VALUE"),
    (["verify", "--d", "abc"], "invalid int value"),
    (["verify", "--cache", "exact", "--option", "dtype=int8"], "fixes dtype='float16'"),
    (["verify", "--cache", "uniform", "--option", "bits=9"], "bits=9"),
    (["verify", "--cache", "kivi-q2", "--option", "bits=1"], "fixes bits=2"),
    (["constants", "--d", "8"], "need d >= 41"),
    (["constants", "--eps", "0"], "eps=0.0 must lie in the open interval"),
    (["constants", "--schedule", "1"], "K >= 2"),
]


@pytest.mark.parametrize("argv,message", CLI_CASES, ids=[" ".join(c[0]) for c in CLI_CASES])
def test_cli_bad_input_is_one_line_exit_2(argv, message, capsys):
    with pytest.raises(SystemExit) as exc_info:
        raise SystemExit(main(argv))
    assert exc_info.value.code == 2
    err = capsys.readouterr().err
    assert message in err
    assert "Traceback" not in err
    assert err.strip().splitlines()[-1].startswith("kvbound: error:")
