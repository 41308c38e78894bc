"""Chunked log-sum-exp attention against the dense one-shot baseline, and against the
machine's measured matrix-multiply peak, in the same run.

Prints, for 10^4 and 10^5 cached tokens: seconds for ``reduction.attention.attend`` and
for the dense ``softmax(Q K^T) V`` (when its score matrix fits in 2 GiB), their ratio,
the peak working memory of each, and the achieved GFLOP/s of ``attend`` as a fraction of
a plain float64 GEMM measured just before.
"""

from __future__ import annotations

import numpy as np
from _timing import best_seconds  # bench/ is on sys.path when a script runs

from reduction.attention import KEY_CHUNK, QUERY_CHUNK, attend, softmax_rows


def gemm_peak_gflops(n: int = 1024) -> float:
    """Measured float64 GEMM throughput of this machine (the 'peak' we compare with)."""
    rng = np.random.default_rng(0)
    a, b = rng.normal(size=(n, n)), rng.normal(size=(n, n))
    seconds = best_seconds(lambda: a @ b)
    return 2 * n**3 / seconds / 1e9


def main() -> None:
    rng = np.random.default_rng(0)
    d, n_queries = 64, 1024
    peak = gemm_peak_gflops()
    print(f"float64 GEMM peak measured here: {peak:.1f} GFLOP/s")
    print(f"{'keys':>8} {'chunked s':>10} {'dense s':>9} {'dense/chunked':>13} "
          f"{'chunked MiB':>11} {'dense MiB':>9} {'of peak':>8}")
    for n_keys in (10_000, 100_000):
        q = rng.normal(size=(n_queries, d)) * 4
        k = rng.normal(size=(n_keys, d)) / np.sqrt(d)
        v = rng.normal(size=(n_keys, d))
        t_chunk = best_seconds(lambda q=q, k=k, v=v: attend(q, k, v), repeat=2)
        flops = 4 * n_queries * n_keys * d  # QK^T and PV
        chunk_mib = 8 * min(n_queries, QUERY_CHUNK) * min(n_keys, KEY_CHUNK) * 3 / 2**20
        dense_mib = 8 * n_queries * n_keys * 3 / 2**20
        if dense_mib < 2048:
            t_dense = best_seconds(lambda q=q, k=k, v=v: softmax_rows(q @ k.T) @ v, repeat=2)
            dense = f"{t_dense:9.3f} {t_dense / t_chunk:13.2f}"
        else:
            dense = f"{'(skip)':>9} {'-':>13}"
        print(f"{n_keys:>8} {t_chunk:10.3f} {dense} {chunk_mib:11.0f} {dense_mib:9.0f} "
              f"{flops / t_chunk / 1e9 / peak:8.1%}")


if __name__ == "__main__":
    main()
