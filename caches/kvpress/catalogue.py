"""Which kvpress presses the adapter runs, and why it refuses the others.

Purpose: the adapter (caches.kvpress.adapter) calls ``press.compress`` on a stand-in
layer (caches.kvpress.standin). A press that needs more than the stand-in offers -
learned weights or statistics downloaded from a hub, forward or backward passes of a
real model, a tokenizer, state its own forward hook accumulates across decoding steps -
cannot run on a VAR cache without inventing that model; it is refused with one line
naming what it needs and where kvpress reads it (file and lines of kvpress 0.5.5, the
version the extra pins). Every other exported press runs unported. The lists are checked
against kvpress's own list of presses by tests/caches/kvpress/ (a press added by a later
kvpress is neither run nor refused silently).

Two further facts the adapter needs by name:

* :data:`NO_ATTENTIONS`: wrappers that assert ``attentions is None``
  (``presses/block_press.py`` line 62, ``chunk_press.py`` line 63, ``chunkkv_press.py``
  line 64, ``entropy_gated_chunkkv_press.py`` line 72); the press inside then recomputes
  attention from the stand-in's q_proj itself (token-causal, scaled by 1/sqrt(d), as its
  code does);
* :data:`HOOK_WRAPPERS`: presses whose rule lives in ``forward_hook``, not ``compress``:
  ``ComposedPress`` runs its presses in turn (``presses/composed_press.py`` lines 56-62)
  and ``PerLayerCompressionPress`` sets the inner ratio from ``layer_idx``
  (``presses/per_layer_compression_press.py`` lines 56-61); the adapter does the same
  around ``compress``.

This module imports neither torch nor kvpress.
"""

from __future__ import annotations

__all__ = ["REFUSED", "RUNS", "NO_ATTENTIONS", "HOOK_WRAPPERS", "KVPRESS_VERSION",
           "refusal"]

#: The kvpress release the extra pins and these facts were read from.
KVPRESS_VERSION = "0.5.5"

_HUB = "downloads from the Hugging Face Hub"
#: Press name -> what it needs that the stand-in does not have (file, lines).
REFUSED: dict[str, str] = {
    "CAMPress": "cumulative attention its forward hook sums over decoding steps "
                "(cam_press.py lines 74-300) and a Bernoulli merge over it",
    "DMSPress": "per-layer score buffers its forward hook keeps across forward passes "
                "(dms_press.py lines 69-128)",
    "DuoAttentionPress": f"per-model streaming-head patterns it {_HUB} or measures with a "
                         "model on a dataset (duo_attention_press.py lines 72-92, 124-210)",
    "ExpectedAttentionStatsPress": f"query statistics it {_HUB} or computes with a model "
                                   "on a dataset (expected_attention_with_stats.py lines "
                                   "72-100, 210-289)",
    "FastKVzipPress": f"learned gates it {_HUB} (fastkvzip_press.py lines 111-130, 182-190)",
    "FinchPress": "a delimiter token found in the prompt's input ids by its model hook "
                  "(finch_press.py lines 55, 124-167)",
    "KVComposePress": "a forward pass of the model in eager mode over the prompt "
                      "(kvcompose_press.py lines 373-441)",
    "KVgradPress": "forward and backward passes of the model over the context "
                   "(kvgrad_press.py lines 133-242)",
    "KVzapPress": f"a learned scorer per model it {_HUB} (kvzap_press.py lines 65-83)",
    "KVzipPress": "forward passes of the model over the repeated context "
                  "(kvzip_press.py lines 83-200)",
    "LUKVPress": "per-model budget curves it downloads (lukv_press.py lines 32-36, 90-120)",
    "QFilterPress": f"per-model Q-filters it {_HUB} (qfilter_press.py lines 53-66)",
    "RestoreKVPress": f"embeddings and an adapter it {_HUB} and forward passes with them "
                      "(restorekv_press.py lines 46-90)",
}

#: Every other press of kvpress 0.5.5's ``__all__``: run unported through the adapter.
RUNS: tuple[str, ...] = (
    "AdaKVPress", "BlockPress", "CapPress", "ChunkKVPress", "ChunkPress", "CompactorPress",
    "ComposedPress", "CompressionRatioDecodingPress", "CriticalAdaKVPress", "CriticalKVPress",
    "CURPress", "DecodingPress", "EntropyGatedChunkKVPress", "ExpectedAttentionPress",
    "KeyDiffPress", "KeyRerotationPress", "KnormPress", "LagKVPress", "LeverageScorePress",
    "MergingPress", "NonCausalAttnPress", "ObservedAttentionPress", "PerLayerCompressionPress",
    "PrefillDecodingPress", "PyramidKVPress", "RandomPress", "SimLayerKVPress", "SnapKVPress",
    "StreamingLLMPress", "ThinKPress", "TOVAPress",
)

NO_ATTENTIONS = frozenset({"BlockPress", "ChunkPress", "ChunkKVPress",
                           "EntropyGatedChunkKVPress"})
HOOK_WRAPPERS = frozenset({"ComposedPress", "PerLayerCompressionPress"})


def refusal(name: str) -> str | None:
    """The one line refusing press ``name``, or None when the adapter runs it.

    >>> refusal("KnormPress") is None
    True
    >>> print(refusal("QFilterPress"))  # doctest: +NORMALIZE_WHITESPACE
    kvpress QFilterPress is refused: it needs per-model Q-filters it downloads from the
    Hugging Face Hub (kvpress 0.5.5 presses/qfilter_press.py lines 53-66); the adapter's
    stand-in has none
    """
    need = REFUSED.get(name)
    if need is None:
        return None
    where = need.replace("(", f"(kvpress {KVPRESS_VERSION} presses/", 1)
    return f"kvpress {name} is refused: it needs {where}; the adapter's stand-in has none"
