"""Any kvpress press as a kvbound cache: Alice's side of ``kvpress:PressName(...)``.

Purpose: an engineer who uses NVIDIA kvpress attacks *their* press against the hard
instance, unported. kvpress compresses once, after the prefill, from a forward hook that
reads a Hugging Face cache (``presses/base_press.py`` lines 101-162 of kvpress 0.5.5); a
VAR cache has neither hook nor HF cache, so this adapter calls
``press.compress(module, hidden_states, keys, values, attentions, kwargs)`` itself
(lines 61-99 there) at the scale boundaries the option ``compress_after`` names, and keeps
what the press returns. What it hands the press, at a boundary after scale k with n rows
per head (the rows kept so far, then the T_k rows of scale k):

* ``keys``, ``values``: torch tensors (1, H, n, d) at the storage dtype (option
  ``dtype``, default float16), rows in the order the press left them;
* ``module``: the stand-in layer of caches.kvpress.standin (config, layer_idx,
  projections that select the real q, k, v, identity rotary embedding);
* ``hidden_states`` (1, n, 3·H·d): row i is [q | k | v] of row i; q is the query of the
  token if it belongs to scale k and 0 otherwise (a VAR forward pass at scale k computes
  queries for that scale's tokens only);
* ``attentions`` (1, H, n, n): the scale's real attention weights - row i, for a token of
  scale k, is softmax(q_i K^T) over the n rows of its head (block-causal: all visible, no
  1/sqrt(d), no RoPE, as kvbound's attention); other rows are 0. SnapKV, TOVA and
  ObservedAttention read these instead of recomputing token-causal attention;
* ``kwargs``: ``hidden_states``, ``position_embeddings`` (cos = 1, sin = 0),
  ``cache_position`` and ``position_ids`` = seen − n, ..., seen − 1 (so kvpress's
  ``is_prefilling`` holds exactly while no row has been dropped yet, and
  ``position_ids.max() + 1`` is the number of tokens seen), ``attention_mask`` None.

After the call, rows the press only masked (``module.masked_key_indices``) are dropped,
and each returned row is matched to the input row it copies (its key on the channels the
press left nonzero; ties by value, then first unused) to keep its position; a row that
copies none is stored as written (caches.kvpress.state.SYNTHETIC). The message holds the
kept rows only (caches.kvpress.state). torch's global generator is seeded from the
cache's own coins before every call (RandomPress, LeverageScorePress draw from it), and
torch runs on one thread: the same seed gives the same bytes.

Heads of one layer can hold different numbers of rows (a masking press ran at an earlier
boundary): the shorter ones are padded with zero rows before their block rows, and no
padding row is ever stored. A boundary where the press's own ``assert`` fails (too few
rows for its window or its sinks, e.g. ``streaming_llm_press.py`` line 49) is left as it
is; a press that declines every boundary it was asked to compress is bad input. A press
whose rule lives in its forward hook is run the way that hook runs it (``run_press``), or
refused by name (caches.kvpress.catalogue).

Where a press is applied again to rows it already pruned, kvpress's ratio applies to
what is left: compressing at every boundary with ``compression_ratio`` r keeps less than
a fraction 1 − r of the tokens. ``compress_after=last`` is kvpress's own schedule (once,
after the last cached scale); ``DecodingPress(base_press=..., target_size=B)`` keeps B
rows at every boundary, which is what kvbound's ports do.
"""

from __future__ import annotations

import re
from typing import Any, ClassVar

import numpy as np

from caches.kvpress.catalogue import HOOK_WRAPPERS, KVPRESS_VERSION, NO_ATTENTIONS, refusal
from caches.kvpress.spec import PREFIX, PressCall, parse_spec
from caches.kvpress.state import SYNTHETIC, HeadRows, KvpressMessageCache, stored_channels
from lowerbound.validation import InvalidArgument
from reduction.attention import softmax_rows
from reduction.cache import CacheParams

__all__ = ["INSTALL_HINT", "KvpressCache", "build_press", "cache_class", "compress_after_text",
           "compress_boundaries", "import_kvpress", "match_rows", "press_names", "run_press"]

INSTALL_HINT = "pip install 'kvbound[kvpress]' (make test-kvpress builds such an environment)"
_PAD = -2  # position of a padding row (heads of different lengths); never stored


def import_kvpress() -> tuple[Any, Any]:
    """(torch, kvpress), or an InvalidArgument saying how to install them."""
    try:
        import kvpress
        import torch
    except ImportError as exc:
        raise InvalidArgument(f"the kvpress cache needs the kvpress extra ({exc.name} is not "
                              f"installed): {INSTALL_HINT}") from None
    return torch, kvpress


def _one_line(text: object) -> str:
    return re.sub(r"\s+", " ", str(text)).strip()


def press_names(kvpress: Any) -> list[str]:
    """The presses kvpress exports in ``__all__`` (its abstract bases left out)."""
    base = kvpress.BasePress
    return sorted(n for n in getattr(kvpress, "__all__", ())
                  if isinstance(getattr(kvpress, n, None), type)
                  and issubclass(getattr(kvpress, n), base)
                  and n not in ("BasePress", "ScorerPress"))


def build_press(call: PressCall, kvpress: Any) -> Any:
    """The press object a parsed spec names: exported names only, refusals by name, every
    argument a literal or a press built the same way."""
    names = press_names(kvpress)
    if call.name not in names:
        raise InvalidArgument(f"kvpress {_version()} has no press {call.name!r}; its presses: "
                              f"{', '.join(names)}")
    why = refusal(call.name)
    if why is not None:
        raise InvalidArgument(why)
    args = [_argument(a, kvpress) for a in call.args]
    kwargs = {k: _argument(v, kvpress) for k, v in call.kwargs}
    try:
        return getattr(kvpress, call.name)(*args, **kwargs)
    except Exception as exc:  # kvpress validates with assert, TypeError, ValueError
        raise InvalidArgument(f"{PREFIX}{call.text()} cannot be built: {type(exc).__name__}: "
                              f"{_one_line(exc)}") from None


def _argument(value: Any, kvpress: Any) -> Any:
    if isinstance(value, PressCall):
        return build_press(value, kvpress)
    if isinstance(value, tuple):  # kvpress takes lists (ComposedPress, compression_ratios)
        return [_argument(v, kvpress) for v in value]
    return value


def _version() -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("kvpress")
    except PackageNotFoundError:
        return KVPRESS_VERSION


def compress_after_text(value: Any) -> str:
    """The option ``compress_after`` spelled as text, its form checked (not its range).

    ``all`` (default: after every scale 1..K-1), ``last`` (after scale K-1 only: kvpress's
    once-after-prefill), ``none``, or scale numbers joined by commas.

    >>> compress_after_text(3), compress_after_text("2, 5"), compress_after_text("last")
    ('3', '2,5', 'last')
    """
    if isinstance(value, (int, float)) and not isinstance(value, bool) \
            and float(value).is_integer():
        value = str(int(value))
    text = re.sub(r"\s+", "", value) if isinstance(value, str) else None
    if text in ("all", "last", "none") or (text and re.fullmatch(r"\d+(,\d+)*", text)):
        return str(text)
    raise InvalidArgument(f"compress_after={value!r}: give all, last, none, or scale numbers "
                          "joined by commas (e.g. compress_after=3,6,9)")


def compress_boundaries(params: CacheParams) -> frozenset[int]:
    """The scales after which the press runs (option ``compress_after``), in 1..K-1."""
    last = len(params.schedule.block_bounds) - 1
    text = compress_after_text(params.option("compress_after", "all"))
    if text == "all":
        return frozenset(range(1, last + 1))
    if text == "last":
        return frozenset({last})
    if text == "none":
        return frozenset()
    chosen = frozenset(int(p) for p in text.split(","))
    if not all(1 <= k <= last for k in chosen):
        raise InvalidArgument(f"compress_after={text}: Alice's scales are 1..{last} on this "
                              f"schedule (e.g. compress_after={last})")
    return chosen


def match_rows(positions: np.ndarray, keys: np.ndarray, values: np.ndarray,
               out_keys: np.ndarray, out_values: np.ndarray) -> np.ndarray:
    """The input position each returned row copies (SYNTHETIC when it copies none).

    A returned row copies input row i when its key equals key i on the channels the press
    left nonzero somewhere (ThinK zeroes the others); among equal keys an equal value is
    preferred, then the first row not matched yet (a merge keeps the key's position).

    >>> k = np.array([[1.0, 2.0], [3.0, 4.0], [1.0, 2.0]])
    >>> v = np.array([[0.0, 1.0], [1.0, 0.0], [1.0, 1.0]])
    >>> match_rows(np.array([7, 8, 9]), k, v, k[[2, 1]], v[[2, 1]]).tolist()
    [9, 8]
    >>> int(match_rows(np.array([7, 8, 9]), k, v, np.array([[5.0, 5.0]]), v[:1])[0]) == SYNTHETIC
    True
    """
    zeroed = ~stored_channels(out_keys)
    reference = keys.copy()
    reference[:, zeroed] = 0.0
    index: dict[bytes, list[int]] = {}
    for i, row in enumerate(reference + 0.0):  # + 0.0 turns -0.0 into 0.0
        index.setdefault(row.tobytes(), []).append(i)
    used = np.zeros(positions.size, dtype=bool)
    out = np.full(out_keys.shape[0], SYNTHETIC, dtype=np.int64)
    for j, row in enumerate(out_keys + 0.0):
        candidates = [i for i in index.get(row.tobytes(), ()) if not used[i]]
        if candidates:
            same = [i for i in candidates if np.array_equal(values[i], out_values[j])]
            i = (same or candidates)[0]
            used[i] = True
            out[j] = positions[i]
    return out


def run_press(press: Any, kvpress: Any, module: Any, hidden: Any, keys: Any, values: Any,
              attentions: Any, kwargs: dict[str, Any]) -> tuple[Any, Any]:
    """``press.compress`` as kvpress's forward hook would call it (module docstring)."""
    name = type(press).__name__
    if name in HOOK_WRAPPERS and isinstance(press, kvpress.ComposedPress):
        for inner in press.presses:  # composed_press.py lines 56-62: each on the last output
            keys, values = run_press(inner, kvpress, module, hidden, keys, values, attentions,
                                     kwargs)
        return keys, values
    if name in HOOK_WRAPPERS and isinstance(press, kvpress.PerLayerCompressionPress):
        inner, ratios = press.press, press.compression_ratios
        if module.layer_idx >= len(ratios):
            raise InvalidArgument(f"PerLayerCompressionPress has {len(ratios)} "
                                  f"compression_ratios for {module.config.num_hidden_layers} "
                                  "layers")
        saved = inner.compression_ratio
        inner.compression_ratio = ratios[module.layer_idx]  # per_layer_compression_press.py 56-61
        try:
            return run_press(inner, kvpress, module, hidden, keys, values, attentions, kwargs)
        finally:
            inner.compression_ratio = saved
    given = None if name in NO_ATTENTIONS else attentions
    out = press.compress(module, hidden, keys, values, given, kwargs)
    if not (isinstance(out, tuple) and len(out) == 2):
        raise TypeError(f"{name}.compress returned {type(out).__name__}, not (keys, values)")
    return out


class PressDeclined(Exception):
    """The press's own precondition (an ``assert`` in kvpress) failed at this boundary."""


class KvpressCache(KvpressMessageCache):
    """Alice's side of ``kvpress:...``: the message cache plus the press named by ``SPEC``.

    Bob's side is :class:`caches.kvpress.state.KvpressMessageCache` (numpy only): the
    inherited ``from_bytes`` rebuilds that class, so Bob's worker never imports torch.
    """

    SPEC: ClassVar[str] = ""

    def __init__(self, params: CacheParams, rng: np.random.Generator | None = None) -> None:
        super().__init__(params, rng)
        self.after = compress_boundaries(params)
        self.torch, self.kvpress = import_kvpress()
        from caches.kvpress.standin import StandInAttention

        self.torch.set_num_threads(1)
        self.press = build_press(parse_spec(self.SPEC), self.kvpress)
        self.rng = rng if rng is not None else np.random.default_rng(0)
        self.torch_dtype = getattr(self.torch, self.state.dtype)
        layers, heads = len(self.state.heads), len(self.state.heads[0])
        self.modules = [StandInAttention(heads, self.d, i, layers, self.torch_dtype)
                        for i in range(layers)]
        self.scale = 0
        self.declined: list[str] = []

    def _after_block(self, queries: np.ndarray) -> None:
        self.scale += 1
        if self.scale not in self.after:
            return
        try:
            for layer in range(len(self.state.heads)):
                self._compress_layer(layer, queries[layer])
        except PressDeclined as exc:
            self.declined.append(str(exc))
            if self.scale == max(self.after) and len(self.declined) == len(self.after):
                raise InvalidArgument(f"{self.SPEC} declined every boundary it was asked to "
                                      f"compress (its own precondition), last {exc}") from None

    def _inputs(self, li: int, queries: np.ndarray) -> tuple[np.ndarray, ...]:
        """Positions, keys, values (heads, n, d), attention (heads, n, n) and hidden states
        (n, 3 heads d) of layer ``li`` (``queries``: its (H, T, d) block queries): each
        head's older rows, padding, then the block."""
        layer, d = self.state.heads[li], self.d
        heads, t = len(layer), queries.shape[1]
        n = max(r.positions.size for r in layer)
        pos = np.full((heads, n), _PAD, dtype=np.int64)
        k, v = np.zeros((heads, n, d)), np.zeros((heads, n, d))
        att = np.zeros((heads, n, n))
        hidden = np.zeros((n, 3, heads, d))
        for h, rows in enumerate(layer):
            m = rows.positions.size
            order = np.r_[0 : m - t, n - t : n]
            pos[h, order], k[h, order], v[h, order] = rows.positions, rows.keys, rows.values
            block = np.zeros((t, n))
            block[:, order] = softmax_rows(queries[h] @ rows.keys.T)
            att[h, n - t :] = block
            hidden[n - t :, 0, h] = queries[h]
        hidden[:, 1] = k.transpose(1, 0, 2)
        hidden[:, 2] = v.transpose(1, 0, 2)
        return pos, k, v, att, hidden.reshape(n, 3 * heads * d)

    def _compress_layer(self, li: int, queries: np.ndarray) -> None:
        torch, dt = self.torch, self.torch_dtype
        pos, k, v, att, hidden = self._inputs(li, queries)
        heads, n, d = k.shape
        seen = self.state.seen
        labels = torch.arange(seen - n, seen)
        hidden_t = torch.tensor(hidden[None], dtype=dt)
        kwargs: dict[str, Any] = {
            "hidden_states": hidden_t,
            "position_embeddings": (torch.ones(1, n, d, dtype=dt), torch.zeros(1, n, d, dtype=dt)),
            "cache_position": labels, "position_ids": labels.unsqueeze(0),
            "attention_mask": None,
        }
        module = self.modules[li]
        module.masked_key_indices = None
        torch.manual_seed(int(self.rng.integers(2**63)))
        try:
            out_k, out_v = run_press(self.press, self.kvpress, module, hidden_t,
                                     torch.tensor(k[None], dtype=dt),
                                     torch.tensor(v[None], dtype=dt),
                                     torch.tensor(att[None], dtype=dt), kwargs)
        except AssertionError as exc:
            raise PressDeclined(f"after scale {self.scale}: {_one_line(exc) or 'assert'}"
                                ) from None
        kh_all = self._returned(out_k, heads, n, "keys")
        vh_all = self._returned(out_v, heads, n, "values")
        if kh_all.shape != vh_all.shape:
            raise ValueError(f"the press returned keys {kh_all.shape} and values "
                             f"{vh_all.shape}")
        keep = np.ones(kh_all.shape[:2], dtype=bool)
        masked = module.masked_key_indices
        if masked is not None:  # adakv_press.py lines 76-81: (batch, head, row) indices
            _, mh, ms = (np.asarray(x.cpu()) for x in masked)
            keep[mh, ms] = False
        layer = self.state.heads[li]
        for h in range(heads):
            kh, vh = kh_all[h][keep[h]], vh_all[h][keep[h]]
            where = match_rows(pos[h], k[h], v[h], kh, vh)
            real = where != _PAD
            layer[h] = HeadRows(where[real], kh[real], vh[real])

    def _returned(self, tensor: Any, heads: int, n: int, what: str) -> np.ndarray:
        """A returned tensor as float64 (heads, rows, d) at the storage dtype, checked."""
        torch = self.torch
        if not isinstance(tensor, torch.Tensor) or tensor.ndim != 4 or tensor.shape[0] != 1 \
                or tensor.shape[1] != heads or tensor.shape[3] != self.d or tensor.shape[2] > n:
            shape = tuple(getattr(tensor, "shape", ())) or type(tensor).__name__
            raise ValueError(f"the press returned {what} of shape {shape}; expected "
                             f"(1, {heads}, at most {n}, {self.d})")
        a = self._round(tensor.detach().to(torch.float64).cpu().numpy()[0])
        if not np.isfinite(a).all():
            raise ValueError(f"the press returned non-finite {what}")
        return a


def cache_class(spec: str) -> type[KvpressCache]:
    """Alice's cache class for a ``kvpress:`` spec (parsed here; built by Alice)."""
    call = parse_spec(spec)
    return type("KvpressCache", (KvpressCache,), {"SPEC": PREFIX + call.text()})
