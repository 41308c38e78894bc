"""Variants of the reduction beyond the theorem's regime.

* :mod:`.witnessed` a greedy search for a key family whose measured max inner product is
  <= eps (a certificate, docs/theorem.md#witness), usable below d_min;
* :mod:`.low_dimension` the C1 variant: L' bit-carrying tokens, the rest with zero keys
  and values (docs/theorem.md#c1, #unused), under an optional logit cap (#cap);
* :mod:`.var_head` the released VAR head's attention (q, k L2-normalised, scale clamped
  at 100; docs/theorem.md#var-head), mirrored for the parties and the verifier;
* the sparsity variants (docs/theorem.md#s1 ... #s4; ours), each run through
  :mod:`.runner` (Alice -> bytes -> Bob, in-process, registered caches only) into a
  :class:`.runner.VariantReport`: :mod:`.s1` sparse attention (the hard instance keeps
  the promise; ``packer`` matches, ``topk-attention`` stays above the bound), :mod:`.s2`
  s-sparse values (``support``), :mod:`.s3` the last w scales (``window``), :mod:`.s4`
  keys of rank r (``cluster``).
"""

from __future__ import annotations

SPARSITY_VARIANTS: tuple[str, ...] = ("s1", "s2", "s3", "s4")

__all__ = ["SPARSITY_VARIANTS"]
