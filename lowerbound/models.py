"""The released VAR-family models whose KV caches the theorem is compared with.

Purpose: the one table of real model sizes (depth, width, heads, head dimension, scale
schedule, logit cap) that Corollary C2 (docs/theorem.md#c2) is evaluated on. Written once here,
with its sources; every command reads it from here.

Main statement (C2, docs/theorem.md#c2): H independent heads in each of D layers need
D * H * (1 - H2(delta)) * d_head * L_{K-1} bits, against the real fp16 cache of
2 * D * L_K * H * d_head * 16 bits.

References:
- VAR: Tian et al., "Visual Autoregressive Modeling", arXiv 2404.02905; code
  FoundationVision/VAR (``models/__init__.py: build_vae_var`` sets width = 64 * depth and
  heads = depth; ``models/basic_var.py`` L2-normalises q and k per head and multiplies by
  a learned scale clamped at log(100), so every logit lies in [-100, 100]). Released
  checkpoints: depth 16, 20, 24, 30 at 256 px and depth 36 at 512 px.
- Infinity: Han et al., "Infinity: Scaling Bitwise AutoRegressive Modeling", arXiv
  2412.04431; code FoundationVision/Infinity. Infinity-2B: depth 32, width 2048, 16 heads
  of 128, 13 square scales at 1024 px. Its heads normalise q and k and clamp the scale at
  100 like VAR's, then rotate both by a 2-D RoPE (infinity/models/basic.py L282-L291).
- The fp16 cache sizes the tests compare with are the published ones
  (docs/theorem.md#c2) (VAR-d16: 42.5 MiB for K and V at float16). Under float16
  autocast the released code caches K at float32 (63.75 MiB per sequence), and
  classifier-free guidance runs two sequences per image (:data:`CFG_SEQUENCES`).

lowerbound imports nothing else of kvbound, so schedules are stored as VAR's
``patch_nums`` tuples; ``reduction.schedule.PRESETS`` holds the same tuples by name
(``tests/lowerbound/test_lowerbound_models.py`` checks that they agree).
"""

from __future__ import annotations

from dataclasses import dataclass
from fractions import Fraction

from lowerbound.validation import InvalidArgument

__all__ = [
    "CFG_SEQUENCES",
    "DEFAULT_RESOLUTION",
    "ModelSpec",
    "MODELS",
    "PATCH_NUMS",
    "VAR_LOGIT_CAP",
    "model_spec",
    "realisable_value_heads",
]

#: VAR's ``patch_nums`` per resolution (side of every square token map), and Infinity's.
PATCH_NUMS: dict[str, tuple[int, ...]] = {
    "var-256": (1, 2, 3, 4, 5, 6, 8, 10, 13, 16),
    "var-512": (1, 2, 3, 4, 6, 9, 13, 18, 24, 32),
    "infinity-1024": (1, 2, 4, 6, 8, 12, 16, 20, 24, 32, 40, 48, 64),
}

#: The released VAR heads clamp their logit scale at 100 (FoundationVision/VAR); so do
#: Infinity's (FoundationVision/Infinity infinity/models/basic.py L220, L282-L284).
VAR_LOGIT_CAP = Fraction(100)

#: Classifier-free guidance runs every image as two sequences (conditional and
#: unconditional), each with its own KV cache (FoundationVision/VAR models/var.py L151-L154,
#: L187 at 78b9539: the batch is doubled), so an image costs twice the per-sequence cache.
CFG_SEQUENCES = 2


def realisable_value_heads(heads: int) -> int:
    """Heads of ONE real layer whose values can carry independent bits when the instance
    chooses the layer's weights: H - 2 (docs/theorem.md#c2, "One real layer").

    Every head's q, k, v are linear images of the same H * d-wide input row. Alice's rows
    need keys (d dimensions, shared by all heads) and values (d per carrying head) that
    are onto; Bob's rows need key 0 and value 0 with queries spanning d dimensions, so
    the input needs d + h d + d <= H d dimensions: h <= H - 2, and a block-diagonal choice
    of weights reaches it.

    >>> realisable_value_heads(16), realisable_value_heads(2)
    (14, 0)
    """
    if heads < 2:
        raise ValueError(f"heads={heads}: one layer needs H >= 2 (a key block and a query "
                         "block of d dimensions each)")
    return heads - 2

_VAR_SOURCE = (
    "FoundationVision/VAR models/__init__.py build_vae_var (width 64*depth, heads=depth, "
    "head dim 64); arXiv 2404.02905"
)
_INFINITY_SOURCE = (
    "FoundationVision/Infinity (Infinity-2B; infinity/models/basic.py L220, L282-L291 at "
    "4c27bbb: q, k normalised, scale clamped at log 100, then 2-D RoPE); arXiv 2412.04431"
)


@dataclass(frozen=True)
class ModelSpec:
    """One model at one resolution: the sizes Corollary C2 (docs/theorem.md#c2) needs.

    Invariant: ``width == heads * head_dim``.

    >>> m = model_spec("var-d16")
    >>> m.depth, m.heads, m.head_dim, m.cached_tokens, m.total_tokens
    (16, 16, 64, 424, 680)
    """

    name: str
    depth: int
    width: int
    heads: int
    head_dim: int
    resolution: int
    schedule: str
    patch_nums: tuple[int, ...]
    logit_cap: Fraction | None
    released: bool
    source: str

    def __post_init__(self) -> None:
        if self.width != self.heads * self.head_dim:
            raise InvalidArgument(
                f"{self.name}: width={self.width} must equal heads={self.heads} * "
                f"head_dim={self.head_dim}"
            )

    @property
    def tokens(self) -> tuple[int, ...]:
        """T_k = side_k^2 for every scale (square maps)."""
        return tuple(s * s for s in self.patch_nums)

    @property
    def cached_tokens(self) -> int:
        """L_{K-1}: the tokens cached before the last scale."""
        return sum(self.tokens[:-1])

    @property
    def last_scale_tokens(self) -> int:
        """T_K: the tokens of the last scale."""
        return self.tokens[-1]

    @property
    def total_tokens(self) -> int:
        """L_K: every token of the schedule (what the real cache holds at the end)."""
        return sum(self.tokens)


def _var(depth: int, resolution: int, released: bool) -> ModelSpec:
    return ModelSpec(
        name=f"var-d{depth}",
        depth=depth,
        width=64 * depth,
        heads=depth,
        head_dim=64,
        resolution=resolution,
        schedule=f"var-{resolution}",
        patch_nums=PATCH_NUMS[f"var-{resolution}"],
        logit_cap=VAR_LOGIT_CAP,
        released=released,
        source=_VAR_SOURCE,
    )


#: Every (model, resolution) we can evaluate. VAR's architecture does not depend on the
#: resolution, so depths released only at 256 px are also listed at 512 px with
#: ``released=False`` (a hypothetical checkpoint, same shapes).
MODELS: dict[tuple[str, int], ModelSpec] = {
    **{(f"var-d{D}", 256): _var(D, 256, released=D != 36) for D in (16, 20, 24, 30, 36)},
    **{(f"var-d{D}", 512): _var(D, 512, released=D == 36) for D in (16, 20, 24, 30, 36)},
    ("infinity-2b", 1024): ModelSpec(
        name="infinity-2b",
        depth=32,
        width=2048,
        heads=16,
        head_dim=128,
        resolution=1024,
        schedule="infinity-1024",
        patch_nums=PATCH_NUMS["infinity-1024"],
        logit_cap=VAR_LOGIT_CAP,
        released=True,
        source=_INFINITY_SOURCE,
    ),
}

#: Resolution of the released checkpoint, used when none is asked for.
DEFAULT_RESOLUTION: dict[str, int] = {
    name: res for (name, res), spec in MODELS.items() if spec.released
}


def model_spec(name: str, resolution: int | None = None) -> ModelSpec:
    """The table entry for ``name`` at ``resolution`` (default: the released one).

    Notes: the model table of Corollary C2 (docs/theorem.md#c2).

    >>> model_spec("var-d36").resolution
    512
    >>> model_spec("var-d16", 512).released
    False
    >>> model_spec("var-d99")  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    lowerbound.validation.InvalidArgument: unknown model 'var-d99'; known: var-d16, ...
    """
    if name not in DEFAULT_RESOLUTION:
        known = ", ".join(DEFAULT_RESOLUTION)
        raise InvalidArgument(f"unknown model {name!r}; known: {known}")
    res = DEFAULT_RESOLUTION[name] if resolution is None else resolution
    if (name, res) not in MODELS:
        have = ", ".join(str(r) for (n, r) in MODELS if n == name)
        raise InvalidArgument(f"model {name} has no resolution={res}; available: {have}")
    return MODELS[(name, res)]
