"""The explicit lower bound on KV-cache memory and its corollaries.

Purpose: Lemma L4 (Index lower bound), the explicit theorem, C1 (low dimension) and C2
(heads and layers) of docs/theorem.md.

Main statement (theorem, explicit): for any schedule, any eps < 1 with
d >= d_min(L_{K-1}, eps), any eta < 1 and delta < 1/2, every (eta, delta)-correct
streaming attention algorithm keeps >= (1 - H2(delta)) * d * L_{K-1} bits.

References: arXiv 2503.14881 (VAR, Omega(n^2 d)); arXiv 2502.15955 (Haris & Onak,
Theta(n d)); Kremer, Nisan & Ron (1999) for Index.
"""

from __future__ import annotations

from lowerbound.entropy import binary_entropy
from lowerbound.jl import d_min, max_keys
from lowerbound.validation import InvalidArgument, RealLike, check_int_at_least, check_interval

__all__ = [
    "index_lower_bound_bits",
    "theorem_bound_bits",
    "low_dimension_bound_bits",
    "model_bound_bits",
    "fp16_cache_bits",
    "autocast_cache_bits",
    "allocation_error_rates",
]


def index_lower_bound_bits(n_bits: int, delta: RealLike = 0.0) -> float:
    """(1 - H2(delta)) * N: least message length for Index_N with error <= delta < 1/2.

    Notes: Lemma L4 (docs/theorem.md#l4) (Fano on each bit plus the chain rule).

    >>> index_lower_bound_bits(27136)
    27136.0
    >>> index_lower_bound_bits(100, 0.5)
    0.0
    """
    n = check_int_at_least(n_bits, "N", 0)
    dl = float(check_interval(delta, "delta", 0, 0.5, closed_lower=True, closed_upper=True))
    return (1.0 - binary_entropy(dl)) * n


def theorem_bound_bits(
    d: int, cached_tokens: int, eps: RealLike, delta: RealLike = 0.0
) -> float:
    """(1 - H2(delta)) * d * L_{K-1}, valid when d >= d_min(L_{K-1}, eps).

    Raises ValueError when d is below d_min, naming the d that would work (see
    :func:`low_dimension_bound_bits` for that regime).

    Notes: the explicit theorem (docs/theorem.md#thm) (arXiv 2503.14881, main theorem).

    >>> theorem_bound_bits(64, 424, 0.75)
    27136.0
    """
    d = check_int_at_least(d, "d", 1)
    n_keys = check_int_at_least(cached_tokens, "L", 1)
    need = d_min(n_keys, eps)
    if d < need:
        raise InvalidArgument(
            f"L={n_keys} and eps={eps} need d >= {need}, got d={d}; raise d or eps "
            "(or use the low-dimension bound C1)"
        )
    return index_lower_bound_bits(n_keys * d, delta)


def low_dimension_bound_bits(
    d: int, cached_tokens: int, eps: RealLike, delta: RealLike = 0.0
) -> float:
    """(1 - H2(delta)) * d * L' with L' = max_keys(d, eps, cap=L): any d.

    Notes: Corollary C1 (docs/theorem.md#c1) (Haris & Onak, arXiv 2502.15955): the unified form
    Omega(d * min{L, e^{Theta(d)}}).

    >>> low_dimension_bound_bits(8, 424, 0.5)
    16.0
    >>> low_dimension_bound_bits(64, 424, 0.75)
    27136.0
    """
    n_keys = check_int_at_least(cached_tokens, "L", 1)
    d = check_int_at_least(d, "d", 1)
    return index_lower_bound_bits(max_keys(d, eps, cap=n_keys) * d, delta)


def model_bound_bits(
    depth: int,
    heads: int,
    head_dim: int,
    cached_tokens: int,
    eps: RealLike,
    delta: RealLike = 0.0,
) -> float:
    """D * H * (1 - H2(delta)) * d_head * L_{K-1}: independent heads and layers add up.

    Notes: Corollary C2 (docs/theorem.md#c2).

    >>> model_bound_bits(16, 16, 64, 424, 0.75)
    6946816.0
    """
    depth = check_int_at_least(depth, "depth", 1)
    heads = check_int_at_least(heads, "heads", 1)
    return depth * heads * theorem_bound_bits(head_dim, cached_tokens, eps, delta)


def fp16_cache_bits(depth: int, heads: int, head_dim: int, total_tokens: int) -> int:
    """Bits of a real fp16 KV cache: 2 (K and V) * D * L_K * H * d_head * 16.

    Notes: Corollary C2 (docs/theorem.md#c2) (the comparison it asks for); the published figure is
    42.5 MiB for VAR-d16 at 256 px.

    >>> fp16_cache_bits(16, 16, 64, 680) / 8 / 2**20
    42.5
    """
    parts = [check_int_at_least(v, n, 1) for v, n in
             ((depth, "depth"), (heads, "heads"), (head_dim, "head_dim"),
              (total_tokens, "L_K"))]
    depth, heads, head_dim, total_tokens = parts
    return 2 * depth * total_tokens * heads * head_dim * 16


def autocast_cache_bits(depth: int, heads: int, head_dim: int, total_tokens: int) -> int:
    """Bits of the KV cache a released VAR model holds under float16 autocast: keys float32,
    values float16, D * L_K * H * d_head * (32 + 16), i.e. 1.5 x :func:`fp16_cache_bits`.

    Why: the head L2-normalises k with ``F.normalize``, whose norm runs in float32 under
    autocast, so the normalised k (the tensor appended to the cache) is float32; v comes
    out of the float16 linear layer unchanged (FoundationVision/VAR models/basic_var.py
    L93, L104-L109 at 78b9539; the sampling demo runs under float16 autocast).
    docs/theorem.md#c2.

    >>> autocast_cache_bits(16, 16, 64, 680) / 8 / 2**20
    63.75
    """
    return fp16_cache_bits(depth, heads, head_dim, total_tokens) * 3 // 2


def allocation_error_rates(kept_fraction: RealLike, heads: int, unused: int
                           ) -> tuple[float, float]:
    """Proposition ALLOC (docs/theorem.md#alloc): the expected bit error rate, on the bits
    of the D H - U carrying heads, of an eviction cache keeping the fraction f of all
    D H L rows, (a) allocated evenly over all heads without looking at the values (the
    unused heads get their share), (b) allocated evenly over the carrying heads only:
    ((1 - f) / 2, (1 - min(1, f / rho)) / 2) with rho = (D H - U) / (D H).

    >>> allocation_error_rates(0.25, 4, 2)
    (0.375, 0.25)
    >>> allocation_error_rates(0.5, 4, 2)
    (0.25, 0.0)
    """
    n = check_int_at_least(heads, "heads", 1)
    u = check_int_at_least(unused, "unused", 0)
    if u >= n:
        raise InvalidArgument(f"unused={u} of heads={n} leaves no carrying head")
    f = float(kept_fraction)
    if not 0.0 <= f <= 1.0:
        raise InvalidArgument(f"kept_fraction={f} must lie in [0, 1]")
    rho = (n - u) / n
    return (1.0 - f) / 2.0, (1.0 - min(1.0, f / rho)) / 2.0
