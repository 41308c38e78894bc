"""The sparsity variants S1-S4 of the reduction (docs/theorem.md#s1 ... #s4; ours).

Each module builds its instance, runs its matching cache and the attack suite through
:mod:`reduction.variants.runner` (Alice -> bytes -> Bob, in-process, registered caches
only) and returns a :class:`reduction.variants.runner.VariantReport`:

* :mod:`.s1` sparse attention: the hard instance keeps a k-sparse promise; ``packer``
  matches the bound, ``topk-attention`` stores everything and stays above it;
* :mod:`.s2` s-sparse values: bits in the supports, bound L floor(log2 C(d, s));
  ``support`` matches it;
* :mod:`.s3` attention to the last w scales: bound d (T_{K-w+1} + ... + T_{K-1});
  ``window`` matches it;
* :mod:`.s4` keys of rank r: bound d L'(r); ``cluster`` matches it when keys cluster.
"""

from __future__ import annotations

VARIANTS: tuple[str, ...] = ("s1", "s2", "s3", "s4")

__all__ = ["VARIANTS"]
