"""The kvpress adapter without torch: the spec, the message, Bob's side, the catalogue.

What these check runs in the main environment (no torch, no kvpress): a ``kvpress:`` spec is
parsed by ``ast`` and never evaluated (caches.kvpress.spec); a malformed spec, a refused
press or a missing extra ends ``kvbound verify`` with one line and exit code 2; the message
stores the kept rows and channels only and Bob rebuilds it with numpy
(caches.kvpress.state). The presses themselves are tested by ``make test-kvpress``
(tests/caches/kvpress/).
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from caches.kvpress import kvpress_entry
from caches.kvpress.adapter import compress_after_text, compress_boundaries, match_rows
from caches.kvpress.catalogue import REFUSED, RUNS, refusal
from caches.kvpress.spec import PressCall, parse_spec
from caches.kvpress.state import (
    SYNTHETIC,
    HeadRows,
    KvpressMessageCache,
    KvpressState,
)
from caches.registry import resolve_cache
from lowerbound.validation import InvalidArgument
from reduction.attention import attend
from reduction.cache import CacheParams
from reduction.message import CorruptMessageError
from reduction.schedule import Schedule

ROOT = Path(__file__).resolve().parents[2]


def test_nested_specs_parse_to_a_tree() -> None:
    call = parse_spec("kvpress:AdaKVPress(SnapKVPress(compression_ratio=.5, window_size=16),"
                      " alpha_safeguard=0.2)")
    assert call == PressCall("AdaKVPress", (PressCall("SnapKVPress", (), (
        ("compression_ratio", 0.5), ("window_size", 16))),), (("alpha_safeguard", 0.2),))
    assert parse_spec("kvpress:" + call.text()) == call
    composed = parse_spec("kvpress:ComposedPress([KnormPress(compression_ratio=0.5), "
                          "ThinKPress(key_channel_compression_ratio=-0.0)])")
    assert composed.names() == ["ComposedPress", "KnormPress", "ThinKPress"]
    assert parse_spec("kvpress:RandomPress(seed=None, compression_ratio=-1)").kwargs == (
        ("seed", None), ("compression_ratio", -1))


@pytest.mark.parametrize("body, culprit", [
    ("SnapKVPress(__import__('os'))", "__import__"),
    ("SnapKVPress(compression_ratio=os.system)", "os.system"),
    ("KnormPress(compression_ratio=1/2)", "1 / 2"),
    ("KnormPress(compression_ratio=x)", "'x'"),
    ("KnormPress(**{'compression_ratio': 0.5})", "**"),
    ("(lambda: 1)()", "lambda"),
    ("kvpress.KnormPress()", "kvpress.KnormPress"),
    ("KnormPress", "press call"),
    ("KnormPress(compression_ratio=[i for i in range(3)])", "for"),
    ("KnormPress(compression_ratio=f'{1}')", "f'"),
    ("KnormPress(a=1, a=2)", "a"),
    ("KnormPress(compression_ratio=0.5", "is not a call"),
    ("A(" * 12 + ")" * 12, "deeper"),
    ("KnormPress(x='" + "y" * 3000 + "')", "longer"),
])
def test_malformed_specs_are_one_line(body: str, culprit: str) -> None:
    with pytest.raises(InvalidArgument) as err:
        parse_spec("kvpress:" + body)
    assert "\n" not in str(err.value) and culprit in str(err.value)


def test_a_spec_is_never_evaluated(tmp_path: Path) -> None:
    marker = tmp_path / "evaluated"
    spec = f"kvpress:KnormPress(compression_ratio=__import__('pathlib').Path('{marker}').touch())"
    with pytest.raises(InvalidArgument):
        resolve_cache(spec)
    assert not marker.exists()


def _verify(spec: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "kvbound", "verify", "--schedule", "1,2,4", "--d", "32",
         "--quiet", "--cache", spec],
        capture_output=True, text=True, cwd=ROOT, timeout=300)


def _kvpress_installed() -> bool:
    from importlib.util import find_spec

    return find_spec("torch") is not None and find_spec("kvpress") is not None


@pytest.mark.parametrize("spec, words", [
    ("kvpress:SnapKVPress(__import__('os'))", "'__import__' is not a press name"),
    ("kvpress:KnormPress(compression_ratio=1/2)", "is not a literal"),
])
def test_cli_malformed_spec_exits_2(spec: str, words: str) -> None:
    proc = _verify(spec)
    assert proc.returncode == 2, proc.stderr
    assert words in proc.stderr and len(proc.stderr.strip().splitlines()) == 1


@pytest.mark.skipif(_kvpress_installed(), reason="the extra is installed here: "
                    "tests/caches/kvpress/test_presses.py runs these specs instead")
@pytest.mark.parametrize("spec", ["kvpress:KnormPress(compression_ratio=0.5)", "kvpress:Nope()"])
def test_cli_missing_extra_exits_2_saying_how_to_install(spec: str) -> None:
    proc = _verify(spec)
    assert proc.returncode == 2, proc.stderr
    line = proc.stderr.strip()
    assert len(line.splitlines()) == 1 and "pip install 'kvbound[kvpress]'" in line


def test_option_names_and_spelling_checked_at_resolution() -> None:
    entry = resolve_cache("kvpress:KnormPress(compression_ratio=0.5)")
    assert entry.merged_options("k", {"compress_after": "last", "dtype": "bfloat16"}) == {
        "compress_after": "last", "dtype": "bfloat16"}
    for bad, words in [({"budget": 0.5}, "has no option 'budget'"),
                       ({"dtype": "int8"}, "dtype='int8'"),
                       ({"compress_after": "sometimes"}, "compress_after='sometimes'")]:
        with pytest.raises(InvalidArgument, match=words):
            entry.merged_options("k", bad)


def test_compress_after_boundaries() -> None:
    params = CacheParams(8, Schedule.parse("1,2,3,4"), {})
    last = len(params.schedule.block_bounds) - 1
    assert last == 3
    for value, want in [("all", {1, 2, 3}), ("last", {3}), ("none", set()), (2, {2}),
                        ("1, 3", {1, 3}), (3.0, {3})]:
        got = compress_boundaries(CacheParams(8, params.schedule, {"compress_after": value}))
        assert got == want, value
    with pytest.raises(InvalidArgument, match="1..3"):
        compress_boundaries(CacheParams(8, params.schedule, {"compress_after": 4}))
    with pytest.raises(InvalidArgument):
        compress_after_text(True)


def _random_state(rng: np.random.Generator, d: int, seen: int, dtype: str) -> KvpressState:
    heads = []
    for n in (5, 0, 3):
        keys = rng.standard_normal((n, d))
        keys[:, rng.random(d) < 0.4] = 0.0  # channels zeroed in every row (ThinK)
        values = rng.integers(0, 2, (n, d)).astype(float)
        pos = rng.permutation(seen)[:n].astype(np.int64)
        if n:
            pos[0] = SYNTHETIC
        rows = HeadRows(pos, keys, values)
        heads.append(rows)
    state = KvpressState(d, dtype, seen, [heads[:1], heads[1:2], heads[2:]])
    cache = KvpressMessageCache(CacheParams(d, Schedule.parse("1,2,4,8"), {"dtype": dtype}))
    for layer in state.heads:  # values exact at the dtype, as the adapter stores them
        for i, r in enumerate(layer):
            layer[i] = HeadRows(r.positions, cache._round(r.keys), cache._round(r.values))
    return state


@pytest.mark.parametrize("dtype, size", [("float16", 2), ("bfloat16", 2), ("float32", 4)])
def test_message_round_trip_stores_kept_rows_and_channels_only(dtype: str, size: int) -> None:
    rng = np.random.default_rng(5)
    d, seen = 12, 20
    state = _random_state(rng, d, seen, dtype)
    data = state.to_bytes()
    params = CacheParams(d, Schedule.parse("1,2,4,8"), {"dtype": dtype})
    back = KvpressState.from_bytes(data, params, layers=3, heads=1)
    want = 8 + 11
    for layer, got_layer in zip(state.heads, back.heads, strict=True):
        rows, got = layer[0], got_layer[0]
        assert np.array_equal(rows.positions, got.positions)
        assert np.array_equal(rows.keys, got.keys) and np.array_equal(rows.values, got.values)
        n = rows.positions.size
        kc = int((rows.keys != 0).any(axis=0).sum())  # the channels not zero in every row
        vc = int((rows.values != 0).any(axis=0).sum())
        want += 4 + 2 * 2 + 4 * n + n * (kc + vc) * size
    assert len(data) == want  # nothing but the kept rows, channels and positions
    assert want < 8 + 11 + sum(4 + 4 + r.positions.size * (4 + 2 * d * size)
                               for layer in state.heads for r in layer)
    with pytest.raises(CorruptMessageError, match="layers"):
        KvpressState.from_bytes(data, params)


def test_message_rejects_corrupt_or_foreign_bytes() -> None:
    rng = np.random.default_rng(6)
    state = _random_state(rng, 12, 20, "float16")
    params = CacheParams(12, Schedule.parse("1,2,4,8"), {})
    data = state.to_bytes()
    for bad in (data[:-5], data[:4] + b"\0" + data[5:], b"KNM1" + data[4:], data + b"x"):
        with pytest.raises(CorruptMessageError):
            KvpressState.from_bytes(bad, params, layers=3)
    twice = _random_state(rng, 12, 20, "float16")
    rows = twice.heads[0][0]
    rows.positions[1:3] = 7  # a position stored twice
    with pytest.raises(CorruptMessageError, match="twice"):
        KvpressState.from_bytes(twice.to_bytes(), params, layers=3)
    rows.positions[1:3] = [7, 20]  # beyond the tokens seen
    with pytest.raises(CorruptMessageError, match="beyond"):
        KvpressState.from_bytes(twice.to_bytes(), params, layers=3)


def test_bob_attends_block_causally_over_the_kept_rows() -> None:
    rng = np.random.default_rng(7)
    d, schedule = 8, Schedule.parse("1,2,4,8")
    params = CacheParams(d, schedule, {"dtype": "float32"})
    rows = HeadRows(np.array([3, SYNTHETIC, 1]), rng.standard_normal((3, d)),
                    rng.integers(0, 2, (3, d)).astype(float))
    cache = KvpressMessageCache(params)
    rows = HeadRows(rows.positions, cache._round(rows.keys), cache._round(rows.values))
    message = KvpressState(d, "float32", 7, [[rows]]).to_bytes()
    bob = resolve_cache("kvpress:KnormPress()").cls.from_bytes(message, params)
    assert type(bob) is KvpressMessageCache  # numpy only: Bob never builds the press
    q, k, v = (rng.standard_normal((8, d)) for _ in range(3))
    got = bob.process(q, k, v)
    want = attend(q, np.r_[rows.keys, cache._round(k)], np.r_[rows.values, cache._round(v)])
    assert np.allclose(got, want, rtol=0, atol=1e-12)


def test_match_rows_finds_copied_rows_through_zeroed_channels() -> None:
    rng = np.random.default_rng(8)
    keys = np.sign(rng.standard_normal((6, 8)))
    values = rng.integers(0, 2, (6, 8)).astype(float)
    keys[4] = keys[1]  # two equal keys, told apart by their values
    pos = np.arange(10, 16)
    out_k = keys[[4, 0, 1]].copy()
    out_k[:, [2, 5]] = 0.0  # channels a press zeroed
    got = match_rows(pos, keys, values, out_k, values[[4, 0, 1]])
    assert got.tolist() == [14, 10, 11]
    merged = values[[0]] + 0.5  # a merge changed the value, not the key
    assert match_rows(pos, keys, values, keys[[0]], merged).tolist() == [10]
    assert match_rows(pos, keys, values, -keys[[0]], values[[0]]).tolist() == [SYNTHETIC]


def test_catalogue_splits_presses_and_names_what_refused_ones_need() -> None:
    assert not set(RUNS) & set(REFUSED)
    assert len(RUNS) >= 12
    for name in REFUSED:
        line = refusal(name)
        assert line is not None and "\n" not in line
        assert f"kvpress {name} is refused: it needs " in line and "presses/" in line


def test_entry_is_not_a_registered_name() -> None:
    from reduction.public import is_registered_cache

    spec = "kvpress:KnormPress(compression_ratio=0.5)"
    assert not is_registered_cache(spec)  # third-party code: only workers run it
    assert kvpress_entry(spec).cls.SPEC == spec
