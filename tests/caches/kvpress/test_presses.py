"""Every press of kvpress through the adapter, in-process: what runs, what is refused, what
the message holds, and what the press is handed (tests of caches.kvpress)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import kvpress
import numpy as np
import pytest
import torch

from caches.kvpress.adapter import build_press, cache_class, press_names
from caches.kvpress.catalogue import KVPRESS_VERSION, REFUSED, RUNS
from caches.kvpress.spec import parse_spec
from caches.kvpress.standin import StandInAttention
from caches.kvpress.state import SYNTHETIC, KvpressState
from kvbound.experiments.kvpress_table import TEMPLATES, press_spec
from lowerbound.validation import InvalidArgument
from reduction.cache import CacheParams
from reduction.schedule import Schedule

SCHEDULE = Schedule.parse("var-256")
D = 64
L = SCHEDULE.cached_tokens


def instance(seed: int = 0, gaussian: bool = False) -> tuple[np.ndarray, np.ndarray]:
    """Keys (sign vectors / sqrt(d), as the reduction's; or Gaussian) and 0/1 values."""
    rng = np.random.default_rng(seed)
    n = SCHEDULE.total_tokens
    keys = (rng.standard_normal((n, D)) if gaussian
            else (rng.integers(0, 2, (n, D)) * 2 - 1) / np.sqrt(D))
    return keys, rng.integers(0, 2, (n, D)).astype(float)


def stream(cache: object, keys: np.ndarray, values: np.ndarray) -> list[bytes]:
    """Alice's scales 1..K-1 (zero queries), the state after each."""
    states = []
    for a, b in SCHEDULE.block_bounds[:-1]:
        cache.process(np.zeros((b - a, D)), keys[a:b], values[a:b])  # type: ignore[attr-defined]
        states.append(cache.to_bytes())  # type: ignore[attr-defined]
    return states


def run(spec: str, seed: int = 0, **options: object) -> tuple[object, list[bytes]]:
    params = CacheParams(D, SCHEDULE, options)
    cache = cache_class(spec)(params, np.random.default_rng(seed))
    return cache, stream(cache, *instance(seed))


def kept(message: bytes, **options: object) -> np.ndarray:
    state = KvpressState.from_bytes(message, CacheParams(D, SCHEDULE, options))
    return state.heads[0][0].positions


def test_catalogue_covers_the_installed_kvpress() -> None:
    from importlib.metadata import version

    assert version("kvpress") == KVPRESS_VERSION
    assert sorted(set(RUNS) | set(REFUSED)) == press_names(kvpress)
    assert set(TEMPLATES) == set(RUNS)


@pytest.mark.parametrize("name", sorted(REFUSED))
def test_refused_presses_are_refused_before_they_are_built(name: str) -> None:
    with pytest.raises(InvalidArgument, match=f"kvpress {name} is refused: it needs"):
        build_press(parse_spec(f"kvpress:{name}()"), kvpress)


@pytest.mark.parametrize("name", RUNS)
def test_every_runnable_press_runs_unported(name: str) -> None:
    spec = press_spec(name, 0.5, L)
    cache, states = run(spec, compress_after="last")
    rows = kept(states[-1])
    assert not cache.declined  # type: ignore[attr-defined]
    assert rows.size <= L and (rows[rows != SYNTHETIC] < L).all()
    if name != "ThinKPress":  # ThinK prunes channels, not rows
        assert rows.size < L
    _, whole = run(spec, compress_after="none")
    assert len(states[-1]) < len(whole[-1])  # the message holds what the press kept, only


def test_masking_presses_store_only_the_unmasked_rows() -> None:
    """AdaKVPress only masks (adakv_press.py lines 76-81); the message drops those rows."""
    cache, states = run("kvpress:AdaKVPress(KnormPress(compression_ratio=0.5))",
                        compress_after="last")
    rows = kept(states[-1])
    assert rows.size == 212 and len(set(rows.tolist())) == 212
    full, _ = run("kvpress:KnormPress(compression_ratio=0.5)", compress_after="last")
    assert len(states[-1]) == len(full.to_bytes())  # type: ignore[attr-defined]


def test_channel_pruning_stores_only_the_kept_channels() -> None:
    """ThinKPress zeroes half of the key channels (think_press.py lines 84-88): half of the
    key bytes go, the rows stay."""
    _, states = run("kvpress:ThinKPress(key_channel_compression_ratio=0.5, window_size=32)",
                    compress_after="last")
    _, plain = run("kvpress:ThinKPress(key_channel_compression_ratio=0.0)",
                   compress_after="last")
    state = KvpressState.from_bytes(states[-1], CacheParams(D, SCHEDULE, {}))
    rows = state.heads[0][0]
    assert rows.positions.size == L
    assert int((~rows.keys.any(axis=0)).sum()) == D // 2
    assert len(plain[-1]) - len(states[-1]) == L * (D // 2) * 2  # float16 entries saved


def test_compressing_every_boundary_compounds_and_skips_what_a_press_declines() -> None:
    """compress_after=all (the default): kvpress's ratio applies to what is left at each
    boundary; StreamingLLMPress asserts more than n_sink tokens, so scale 1 is left whole."""
    cache, states = run("kvpress:StreamingLLMPress(compression_ratio=0.5)")
    assert cache.declined == [  # type: ignore[attr-defined]
        "after scale 1: Input should contain more tokens than n_sink=4"]
    assert kept(states[-1]).size < L // 2
    with pytest.raises(InvalidArgument, match="declined every boundary"):
        run("kvpress:SnapKVPress(compression_ratio=0.5, window_size=1000)")


def test_same_seed_same_bytes_and_the_cache_coins_decide_random_presses() -> None:
    for spec in ("kvpress:RandomPress(compression_ratio=0.5)",
                 "kvpress:LeverageScorePress(compression_ratio=0.5)"):
        a, b, c = (run(spec, seed)[1] for seed in (3, 3, 4))
        assert a == b and a != c


def test_standin_projections_give_back_the_real_queries_keys_and_values() -> None:
    from kvpress.utils import get_prerope_key_states, get_prerope_query_states

    heads, d, n = 2, 8, 5
    module = StandInAttention(heads, d, 0, 1, torch.float32)
    q, k, v = (torch.randn(1, heads, n, d) for _ in range(3))
    hidden = torch.cat([x.transpose(1, 2).reshape(1, n, heads * d) for x in (q, k, v)], -1)
    assert torch.equal(get_prerope_query_states(module, hidden), q)
    assert torch.equal(get_prerope_key_states(module, hidden), k)
    assert module.config.hidden_size == hidden.shape[-1]
    out = torch.randn(3, heads * d)
    assert torch.equal(module.o_proj(out)[:, : heads * d], out)  # an isometry into q's slot
    cos, sin = module.rotary_emb(q, torch.arange(n)[None])
    assert torch.equal(cos, torch.ones(1, n, d)) and torch.equal(sin, torch.zeros(1, n, d))


def test_key_rerotation_is_the_identity_without_rope() -> None:
    """KeyRerotationPress re-rotates kept keys by module.rotary_emb.inv_freq
    (key_rerotation_press.py line 125): 0 for VAR, so its rows are its inner press's."""
    inner = kept(run("kvpress:KeyDiffPress(compression_ratio=0.5)", compress_after="last")[1][-1])
    outer = kept(run("kvpress:KeyRerotationPress(KeyDiffPress(compression_ratio=0.5))",
                     compress_after="last")[1][-1])
    assert sorted(inner.tolist()) == sorted(outer.tolist()) and SYNTHETIC not in outer


def test_bob_rebuilds_the_message_without_torch(tmp_path: Path) -> None:
    _, states = run("kvpress:SnapKVPress(compression_ratio=0.5, window_size=16)",
                    compress_after="last")
    (tmp_path / "message.bin").write_bytes(states[-1])
    script = f"""
import sys
sys.modules["torch"] = None; sys.modules["kvpress"] = None  # any import of them fails
import numpy as np
import caches
from caches.registry import resolve_cache
from reduction.cache import CacheParams
from reduction.schedule import Schedule
params = CacheParams({D}, Schedule.parse("var-256"), {{}})
cls = resolve_cache("kvpress:SnapKVPress(compression_ratio=0.5, window_size=16)").cls
bob = cls.from_bytes(open(sys.argv[1], "rb").read(), params)
print(bob.state.heads[0][0].positions.size)
out = bob.process(np.ones((256, {D})), np.zeros((256, {D})), np.zeros((256, {D})))
print(out.shape, "torch" in sys.modules and sys.modules["torch"] is not None)
"""
    proc = subprocess.run([sys.executable, "-c", script, str(tmp_path / "message.bin")],
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.split() == ["212", "(256,", "64)", "False"]


def test_malformed_specs_are_bad_input_with_the_extra_installed() -> None:
    for spec, words in [("kvpress:Nope()", "has no press 'Nope'; its presses: AdaKVPress"),
                        ("kvpress:KnormPress(compression_ratio=2)",
                         "cannot be built: AssertionError: Compression ratio must be"),
                        ("kvpress:AdaKVPress(KnormPress(), QFilterPress())",
                         "QFilterPress is refused")]:
        with pytest.raises(InvalidArgument, match=words):
            build_press(parse_spec(spec), kvpress)


def test_an_unknown_press_exits_2_from_the_command_line() -> None:
    proc = subprocess.run(
        [sys.executable, "-m", "kvbound", "verify", "--schedule", "1,2,4", "--d", "32",
         "--quiet", "--cache", "kvpress:Nope()"], capture_output=True, text=True, timeout=600)
    assert proc.returncode == 2, proc.stderr
    line = proc.stderr.strip()
    assert len(line.splitlines()) == 1 and "kvpress 0.5.5 has no press 'Nope'" in line
