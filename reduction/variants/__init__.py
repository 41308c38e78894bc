"""Variants of the reduction beyond the theorem's regime (docs/theorem.md#c1, #cap, #var-head).

* :mod:`.witnessed` a greedy search for a key family whose measured max inner product is
  <= eps (a certificate, docs/theorem.md#witness), usable below d_min;
* :mod:`.low_dimension` the C1 variant: L' bit-carrying tokens, the rest with zero keys
  and values (docs/theorem.md#c1, #unused), under an optional logit cap (#cap);
* :mod:`.var_head` the released VAR head's attention (q, k L2-normalised, scale clamped
  at 100; docs/theorem.md#var-head), mirrored for the parties and the verifier.
"""

from __future__ import annotations
