"""Faster paths give the sequential, reference results: Bob's fast path, workers, Dask.

Bob's passes (each from the same message) and the points of a sweep are independent, so
they run in parallel; every GEMM runs on one BLAS thread, so the results are bit-identical
to the sequential run (docs/theorem.md#reduction for the protocol itself).
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any, ClassVar

import numpy as np
import pytest

from caches.exact import ExactCache
from kvbound.cli import main
from kvbound.experiments import SweepResult, run_sweep, running
from reduction.attention import attend, record_logits
from reduction.cache import CacheParams
from reduction.isolation.frames import REQ_BOB, RES_BAD_INPUT, encode_frame, read_frame
from reduction.isolation.parties import ProcessParties
from reduction.isolation.threads import PARALLEL_FLOPS, auto_workers, available_cores
from reduction.parties import alice_message, bob_answer, bob_outputs, offers_fast_path
from reduction.protocol import PublicParams, run_verification
from reduction.schedule import Schedule

TWO_PASSES = Schedule.parse("1,2,3,4,3x6")  # L = 30, T_K = 18: two passes
D = 32


def _public(cache: str = "exact", eta: float = 0.25) -> PublicParams:
    return PublicParams(TWO_PASSES, D, 0.75, eta, 12345, cache)


def _message(public: PublicParams) -> bytes:
    bits = np.random.default_rng(1).integers(0, 2, size=(TWO_PASSES.cached_tokens, D))
    return alice_message(bits, public, np.random.default_rng(2))


def test_exact_cache_zero_queries_give_the_mean_in_closed_form() -> None:
    rng = np.random.default_rng(0)
    cache = ExactCache(CacheParams(4, Schedule.parse("1,2,3")))
    k, v = rng.normal(size=(5, 4)), rng.integers(0, 2, size=(5, 4)).astype(float)
    out = cache.process(np.zeros((5, 4)), k, v)
    want = attend(np.zeros((5, 4)), cache.keys, cache.values)  # uniform weights
    np.testing.assert_allclose(out, want, rtol=0, atol=1e-15)
    np.testing.assert_allclose(out, np.tile(cache.values.astype(float).mean(axis=0), (5, 1)))


@pytest.mark.parametrize("cache", ["exact-fp16", "exact-fp32", "exact-fp64"])
def test_fast_path_matches_process_on_the_padded_block(cache: str) -> None:
    """attend_with_zero_block(rows) = process(padded rows, 0, 0) up to its bound; same bits."""
    public = PublicParams(TWO_PASSES, D, 0.75, 0.25, 7, cache)
    message = _message(public)
    keys = public.key_family().keys[:10] * public.scale
    fast = ExactCache.from_bytes(message, public.cache_params).attend_with_zero_block(
        keys, 18, threshold=public.tau)
    padded = np.zeros((18, D))
    padded[:10] = keys
    slow = ExactCache.from_bytes(message, public.cache_params).process(
        padded, np.zeros((18, D)), np.zeros((18, D)))[:10]
    np.testing.assert_allclose(fast, slow, rtol=0, atol=1e-3)
    np.testing.assert_array_equal(fast > public.tau, slow > public.tau)


class SpyCache(ExactCache):
    """The exact cache, recording what Bob asks of its fast path."""

    calls: ClassVar[list[tuple[int, int, float | None]]] = []

    def attend_with_zero_block(self, queries: np.ndarray, zero_tokens: int, *,
                               threshold: float | None = None, workers: int = 1
                               ) -> np.ndarray:
        SpyCache.calls.append((queries.shape[0], zero_tokens, threshold))
        return super().attend_with_zero_block(queries, zero_tokens, threshold=threshold,
                                              workers=workers)


def test_bob_gives_the_fast_path_his_rows_the_zero_block_and_tau() -> None:
    public = _public("tests.reduction.test_parallel:SpyCache")
    SpyCache.calls.clear()
    z = bob_outputs(_message(public), public, tokens=range(25))
    assert SpyCache.calls == [(18, 18, public.tau), (7, 18, public.tau)]
    assert z.shape == (25, D)


class FlippedCache(ExactCache):
    """The exact cache with its outputs flipped (1 - Z): it changes ``process`` only."""

    def process(self, queries: np.ndarray, keys: np.ndarray, values: np.ndarray
                ) -> np.ndarray:
        return 1.0 - super().process(queries, keys, values)


def test_a_subclass_changing_process_is_not_bypassed_by_the_fast_path() -> None:
    """Bob uses ``process`` of a subclass that changes it, not the inherited fast path."""
    assert offers_fast_path(SpyCache) and not offers_fast_path(FlippedCache)
    public = _public("tests.reduction.test_parallel:FlippedCache")
    exact = bob_outputs(_message(_public()), _public())
    np.testing.assert_allclose(bob_outputs(_message(public), public), 1.0 - exact, atol=1e-3)


@pytest.mark.parametrize("cache", ["exact", "uniform-q8"])
def test_bob_workers_are_bit_identical(cache: str) -> None:
    """Fast path (exact: threads share the rows) and generic path (threads share passes)."""
    public = _public(cache)
    message = _message(public)
    one = bob_outputs(message, public, workers=1)
    for w in (2, 3):
        np.testing.assert_array_equal(bob_outputs(message, public, workers=w), one)


@pytest.mark.parametrize("cache", ["exact", "uniform-q8"])
def test_the_logit_record_does_not_depend_on_workers(cache: str) -> None:
    """Passes in pool threads still feed Bob's logit record: same claim, same count."""
    public = _public(cache)
    message = _message(public)
    seen = []
    for w in (1, 2):
        with record_logits() as rec:
            answer = bob_answer(message, public, workers=w)
        seen.append((answer.max_abs_logit, rec.count))
    assert seen[0] == seen[1]
    assert seen[0][0] is not None and seen[0][0] > 0


def test_bobs_worker_reads_the_workers_field() -> None:
    """The request header's ``workers`` is checked by Bob's worker process."""
    public = _public()
    header = {"public": public.to_json(), "tokens": [0], "workers": 0}
    proc = subprocess.Popen([sys.executable, "-m", "reduction.isolation.worker", "bob"],
                            stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                            stderr=subprocess.DEVNULL)
    assert proc.stdin is not None and proc.stdout is not None
    proc.stdin.write(encode_frame(REQ_BOB, header, [_message(public)]))
    proc.stdin.close()
    ready = read_frame(proc.stdout.fileno(), max_bytes=0, deadline=None)
    assert ready is not None and ready.header == {"ready": "bob"}
    answer = read_frame(proc.stdout.fileno(), max_bytes=1 << 20, deadline=None)
    assert proc.wait(timeout=60) == 0
    assert answer is not None and answer.kind == RES_BAD_INPUT
    assert "workers" in answer.header["error"]
    with ProcessParties(timeout=60, workers=2) as parties:
        got = parties.bob_answer(_message(public), public, range(25))
    np.testing.assert_array_equal(got.outputs, bob_outputs(_message(public), public, range(25)))


def test_verify_workers_records_are_identical() -> None:
    runs = [run_verification(TWO_PASSES, D, 0.75, 0.25, 2, isolation="inline", workers=w)
            for w in (1, 2)]
    assert runs[0].to_json() == runs[1].to_json()
    assert runs[0].bit_errors == 0


def test_verify_cli_workers_flag(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = []
    for w in ("1", "2", "auto"):
        assert main(["verify", "--schedule", "1,2,3,4,3x6", "--d", "32", "--json", "--quiet",
                     "--workers", w]) == 0
        out.append(json.loads(capsys.readouterr().out))
    assert out[0] == out[1] == out[2]
    assert main(["verify", "--workers", "0"]) == 2
    assert "argument --workers: 0 is not a whole number >= 1" in capsys.readouterr().err
    assert main(["verify", "--workers", "many"]) == 2
    assert "'auto'" in capsys.readouterr().err


def test_auto_workers_use_every_core_only_for_large_work() -> None:
    """--workers auto (the default): one thread for var-256, every core at n128."""
    assert auto_workers(424, 64) == 1
    assert auto_workers(17856, 128) == available_cores()
    assert auto_workers(int((PARALLEL_FLOPS / (4 * 64)) ** 0.5) + 1, 64) == available_cores()


def _points(result: SweepResult) -> list[dict[str, Any]]:
    """The sweep's points without their wall-clock seconds."""
    points = result.to_json()["points"]
    for p in points:
        p.pop("seconds")
    return points


def test_attack_workers_bit_identical_at_var256() -> None:
    """Every registered cache at var-256: --workers 2 gives --workers 1's points."""
    schedule = Schedule.preset("var-256")
    seq = run_sweep(schedule, 64, 0.75, 0.25, seeds=1, isolation="inline")
    par = run_sweep(schedule, 64, 0.75, 0.25, seeds=1, isolation="inline", workers=2)
    assert _points(seq) == _points(par)
    assert not seq.failures and seq.all_feasible


@pytest.mark.parametrize("processes", [False, pytest.param(True, marks=pytest.mark.slow)])
def test_attack_on_a_local_dask_cluster(processes: bool) -> None:
    """The Dask engine (a LocalCluster started here) gives the sequential points."""
    distributed = pytest.importorskip("distributed")
    schedule = Schedule.parse("1,2,3,4")
    caches = ["exact", "uniform", "streaming-llm"]
    seq = run_sweep(schedule, D, 0.75, 0.25, caches=caches, seeds=2, isolation="inline")
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=processes,
                                  dashboard_address=None) as cluster:
        got = run_sweep(schedule, D, 0.75, 0.25, caches=caches, seeds=2, isolation="inline",
                        dask=cluster.scheduler_address)
    assert _points(got) == _points(seq)


def test_engine_arguments_are_checked() -> None:
    s = Schedule.parse("1,2,3,4")
    with pytest.raises(ValueError, match="workers=0"):
        run_sweep(s, D, 0.75, 0.25, caches=["exact"], workers=0)
    with pytest.raises(ValueError, match="either"):
        run_sweep(s, D, 0.75, 0.25, caches=["exact"], workers=2, dask="tcp://127.0.0.1:1")


def test_an_unreachable_dask_scheduler_is_bad_input(monkeypatch: pytest.MonkeyPatch) -> None:
    """Nothing listens on port 1: one ValueError after the connection timeout (10 s by
    default; 1 s here, as the refusal comes at once and only the waiting is shortened)."""
    pytest.importorskip("distributed")
    monkeypatch.setattr(running, "DASK_CONNECT_TIMEOUT", "1s")
    with pytest.raises(ValueError, match="cannot reach"):
        run_sweep(Schedule.parse("1,2,3,4"), D, 0.75, 0.25, caches=["exact"],
                  dask="tcp://127.0.0.1:1")
