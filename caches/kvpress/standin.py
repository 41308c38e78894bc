"""The stand-in for what a kvpress press reads from a model's attention layer.

Purpose: kvpress's presses are written against a Hugging Face attention module; a VAR
cache has none. ``press.compress(module, hidden_states, keys, values, attentions, kwargs)``
(kvpress 0.5.5 ``presses/base_press.py`` lines 61-99) reads from ``module``:

* ``module.config.num_attention_heads``, ``num_key_value_heads``, ``head_dim``,
  ``hidden_size``, ``num_hidden_layers`` and ``_attn_implementation`` (e.g.
  ``presses/snapkv_press.py`` lines 48-50, ``presses/pyramidkv_press.py`` lines 84-86,
  ``presses/adakv_press.py`` line 58), ``module.head_dim``, ``module.layer_idx`` and
  ``module.num_key_value_groups`` (``presses/criticalkv_press.py`` line 76);
* ``q_proj`` / ``k_proj`` (``kvpress/utils.py`` lines 12-95: the queries and keys a
  press recomputes from the hidden states) and ``o_proj`` (``presses/criticalkv_press.py``
  lines 59-77: the weight of ‖W_o v‖₁);
* ``rotary_emb`` and its ``inv_freq`` (``presses/expected_attention_press.py`` line 112,
  ``presses/key_rerotation_press.py`` line 125).

The stand-in answers each as a VAR attention head without learned weights would: the
hidden state of a token is the concatenation [q | k | v] of its query, key and value over
the heads, and ``q_proj``, ``k_proj``, ``v_proj`` select those parts exactly, so a press
that recomputes queries or keys from the hidden states gets the real ones; ``o_proj``
embeds the heads' outputs in the q part (an isometry, so ‖W_o v‖₁ = ‖v‖₁). VAR has no
rotary position embedding: ``rotary_emb`` has ``inv_freq`` = 0, i.e. every rotation is
the identity (cos = 1, sin = 0). ``_attn_implementation`` reads ``"sdpa"``: the adapter
hands every press the attention weights it needs itself, so no press has to ask for
eager attention. Anything else a press reads (learned weights, a tokenizer, a model to
run) is not here: caches.kvpress.catalogue refuses those presses by name.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import nn

__all__ = ["StandInConfig", "StandInAttention", "IdentityRotary", "selection"]


@dataclass
class StandInConfig:
    """The fields of a Hugging Face config that presses read."""

    num_attention_heads: int
    num_key_value_heads: int
    head_dim: int
    num_hidden_layers: int
    _attn_implementation: str = "sdpa"
    name_or_path: str = "kvbound/var-head"

    @property
    def hidden_size(self) -> int:
        """[q | k | v] over the heads."""
        return (self.num_attention_heads + 2 * self.num_key_value_heads) * self.head_dim


def selection(out_features: int, in_features: int, offset: int, dtype: torch.dtype,
              transpose: bool = False) -> nn.Linear:
    """A bias-free linear map whose weight is an identity block at ``offset``: it selects
    ``out_features`` consecutive inputs (or, with ``transpose``, embeds its inputs there)."""
    layer = nn.Linear(in_features, out_features, bias=False)
    weight = torch.zeros(out_features, in_features, dtype=dtype)
    n = min(out_features, in_features)
    if transpose:
        weight[offset : offset + n, :n] = torch.eye(n, dtype=dtype)
    else:
        weight[:n, offset : offset + n] = torch.eye(n, dtype=dtype)
    layer.weight = nn.Parameter(weight, requires_grad=False)
    return layer


class IdentityRotary(nn.Module):
    """A rotary embedding with every frequency 0: cos = 1, sin = 0 at every position."""

    def __init__(self, head_dim: int) -> None:
        super().__init__()
        self.register_buffer("inv_freq", torch.zeros(head_dim // 2), persistent=False)
        self.head_dim = head_dim

    def forward(self, x: torch.Tensor, position_ids: torch.Tensor
                ) -> tuple[torch.Tensor, torch.Tensor]:
        shape = (*position_ids.shape, self.head_dim)
        return (torch.ones(shape, dtype=x.dtype, device=x.device),
                torch.zeros(shape, dtype=x.dtype, device=x.device))


class StandInAttention(nn.Module):
    """One attention layer of the stand-in model (layer ``layer_idx`` of ``layers``)."""

    def __init__(self, heads: int, head_dim: int, layer_idx: int, layers: int,
                 dtype: torch.dtype) -> None:
        super().__init__()
        self.config = StandInConfig(heads, heads, head_dim, layers)
        self.head_dim = head_dim
        self.layer_idx = layer_idx
        self.num_key_value_groups = 1
        width = heads * head_dim
        hidden = self.config.hidden_size
        self.q_proj = selection(width, hidden, 0, dtype)
        self.k_proj = selection(width, hidden, width, dtype)
        self.v_proj = selection(width, hidden, 2 * width, dtype)
        self.o_proj = selection(hidden, width, 0, dtype, transpose=True)
        self.rotary_emb = IdentityRotary(head_dim)
        self.masked_key_indices: tuple[torch.Tensor, ...] | None = None
