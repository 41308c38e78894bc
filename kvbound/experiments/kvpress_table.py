"""Every kvpress press against the hard instance: the table of docs/compressors.md, from a run.

Purpose: ``python -m kvbound.experiments.kvpress_table --write`` (in an environment with the
extra ``kvbound[kvpress]``; ``make test-kvpress`` builds one) runs each press that kvpress
exports through the protocol of ``kvbound verify`` - Alice and Bob in their worker
processes, Bob's outputs thresholded, the leak certificate as verdict - on var-256 at
d = 64, seed 0, at compression ratios 0.25 and 0.5, compressing once after the last
cached scale (``compress_after=last``: kvpress's own schedule, once after the prefill).
Beside each press: kvbound's port of the same rule where there is one (budget = 1 − ratio,
same seed), and (1 − f)/2, the error rate of a rule that keeps a fraction f of the rows
without looking at the values (docs/theorem.md#fano; the prediction of caches/_eviction.py).
f is read from Alice's message itself (caches.kvpress.state). A refused press gets the line
the adapter refuses it with. Without ``--write`` the table is printed;
tests/caches/kvpress/test_table.py regenerates it and compares it with the committed one.
"""

from __future__ import annotations

import argparse
import re
import sys
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from caches.kvpress.catalogue import KVPRESS_VERSION, REFUSED, RUNS, refusal
from caches.kvpress.state import KvpressState
from caches.registry import CACHES
from reduction.cache import CacheParams
from reduction.protocol import SeedResult, open_parties, run_seed
from reduction.schedule import Schedule

__all__ = ["SCHEDULE", "D", "RATIOS", "TEMPLATES", "PORTS", "Point", "RecordingParties",
           "press_spec", "run_table", "render", "splice", "main"]

SCHEDULE, D, EPS, ETA, SEED = "var-256", 64, 0.75, 0.25, 0
RATIOS = (0.25, 0.5)
DOC = Path(__file__).resolve().parents[2] / "docs" / "compressors.md"
BEGIN = ("<!-- BEGIN GENERATED: kvpress table "
         "(python -m kvbound.experiments.kvpress_table --write) -->")
END = "<!-- END GENERATED: kvpress table -->"

_R, _KEEP = "{r}", "{keep}"
_DIFF = "KeyDiffPress(compression_ratio={r})"
#: The spec each runnable press is run with; {r}: the ratio, {keep}: (1 − r) L rows. A
#: wrapper wraps a scorer whose order has no ties on the instance (KeyDiff) or the one its
#: paper pairs it with.
TEMPLATES: dict[str, str] = {
    "AdaKVPress": "AdaKVPress(SnapKVPress(compression_ratio={r}))",
    "BlockPress": f"BlockPress({_DIFF}, block_size=128)",
    "CapPress": "CapPress(compression_ratio={r})",
    "ChunkKVPress": f"ChunkKVPress({_DIFF})",
    "ChunkPress": f"ChunkPress({_DIFF}, chunk_length=128)",
    "CompactorPress": "CompactorPress(compression_ratio={r})",
    "ComposedPress": f"ComposedPress([{_DIFF}, ThinKPress(key_channel_compression_ratio=0.25)])",
    "CompressionRatioDecodingPress":
        "CompressionRatioDecodingPress(base_press=KnormPress(), target_compression_ratio={r})",
    "CriticalAdaKVPress": "CriticalAdaKVPress(SnapKVPress(compression_ratio={r}))",
    "CriticalKVPress": "CriticalKVPress(SnapKVPress(compression_ratio={r}))",
    "CURPress": "CURPress(compression_ratio={r})",
    "DecodingPress": "DecodingPress(base_press=KnormPress(), target_size={keep})",
    "EntropyGatedChunkKVPress": f"EntropyGatedChunkKVPress({_DIFF})",
    "ExpectedAttentionPress": "ExpectedAttentionPress(compression_ratio={r})",
    "KeyDiffPress": _DIFF,
    "KeyRerotationPress": f"KeyRerotationPress({_DIFF})",
    "KnormPress": "KnormPress(compression_ratio={r})",
    "LagKVPress": "LagKVPress(compression_ratio={r})",
    "LeverageScorePress": "LeverageScorePress(compression_ratio={r})",
    "MergingPress": f"MergingPress({_DIFF})",
    "NonCausalAttnPress": "NonCausalAttnPress(compression_ratio={r})",
    "ObservedAttentionPress": "ObservedAttentionPress(compression_ratio={r})",
    "PerLayerCompressionPress":
        "PerLayerCompressionPress(KeyDiffPress(), compression_ratios=[{r}])",
    "PrefillDecodingPress":
        "PrefillDecodingPress(prefilling_press=KnormPress(compression_ratio={r}))",
    "PyramidKVPress": "PyramidKVPress(compression_ratio={r})",
    "RandomPress": "RandomPress(compression_ratio={r})",
    "SimLayerKVPress": "SimLayerKVPress(lazy_threshold=0.0, n_recent={keep3})",
    "SnapKVPress": "SnapKVPress(compression_ratio={r})",
    "StreamingLLMPress": "StreamingLLMPress(compression_ratio={r})",
    "ThinKPress": "ThinKPress(key_channel_compression_ratio={r})",
    "TOVAPress": "TOVAPress(compression_ratio={r})",
}

#: kvbound's port of a press, where one is registered: its name and its options at ratio r
#: (budget = the kept fraction 1 - r unless said otherwise); the same rule in numpy,
#: applied after every scale. A port not registered in this tree is left out of the table.
PORTS: dict[str, tuple[str, Callable[[float], dict[str, Any]]]] = {
    "KnormPress": ("knorm", lambda r: {"budget": 1 - r}),
    "StreamingLLMPress": ("streaming-llm", lambda r: {"budget": 1 - r}),
    "RandomPress": ("random", lambda r: {"budget": 1 - r}),
    "SnapKVPress": ("snapkv", lambda r: {"budget": 1 - r, "window": 64, "kernel": 5,
                                         "pooling": "avg"}),
    "TOVAPress": ("tova", lambda r: {"budget": 1 - r}),
    "ObservedAttentionPress": ("h2o", lambda r: {"budget": 1 - r, "recent": 0.0}),
    "KeyDiffPress": ("keydiff", lambda r: {"budget": 1 - r}),
    "ExpectedAttentionPress": ("expected-attention", lambda r: {"budget": 1 - r}),
    "LagKVPress": ("lagkv", lambda r: {"budget": 1 - r}),
    "CriticalKVPress": ("criticalkv", lambda r: {"budget": 1 - r, "scorer": "snapkv"}),
    "AdaKVPress": ("adakv", lambda r: {"budget": 1 - r, "scorer": "snapkv"}),
    "PyramidKVPress": ("pyramidkv", lambda r: {"budget": 1 - r}),
    "ThinKPress": ("think", lambda r: {"key_channels": 1 - r}),
}


def press_spec(name: str, ratio: float, cached: int) -> str:
    """The ``kvpress:`` spec press ``name`` runs with at ``ratio`` on ``cached`` rows.

    >>> press_spec("DecodingPress", 0.5, 424)
    'kvpress:DecodingPress(base_press=KnormPress(), target_size=212)'
    """
    keep = int(cached * (1 - ratio))  # kvpress's own count (kvpress/utils.py compute_n_kept)
    text = TEMPLATES[name].replace("{keep3}", str(keep - 3)).replace(_KEEP, str(keep))
    return "kvpress:" + text.replace(_R, repr(ratio))


@dataclass(frozen=True)
class Point:
    """One press at one ratio: the spec, what its message kept, and the verdict."""

    press: str
    ratio: float
    spec: str
    kept_fraction: float
    run: SeedResult
    port: str | None
    port_run: SeedResult | None


class RecordingParties:
    """The parties, recording the states Alice's worker answered with."""

    def __init__(self, parties: Any) -> None:
        self.parties, self.states = parties, [b""]

    def __getattr__(self, name: str) -> Any:
        return getattr(self.parties, name)

    def alice_states(self, *args: Any, **kwargs: Any) -> list[bytes]:
        self.states = self.parties.alice_states(*args, **kwargs)
        return self.states


def _kept_fraction(message: bytes, schedule: Schedule) -> float:
    state = KvpressState.from_bytes(message, CacheParams(D, schedule, {}))
    rows = sum(r.positions.size for layer in state.heads for r in layer)
    heads = sum(len(layer) for layer in state.heads)
    return rows / (heads * schedule.cached_tokens)


def run_table(presses: Iterable[str] = RUNS, ratios: Iterable[float] = RATIOS,
              parties: Any = None) -> list[Point]:
    """Run ``presses`` at ``ratios`` (and their ports) through the protocol, one seed."""
    schedule = Schedule.parse(SCHEDULE)
    own = parties is None
    # kvpress and our adapter are trusted code: the table runs them in worker processes
    # without the sandbox, whose per-seed fresh worker would import torch for every point
    parties = open_parties("process", sandbox=False) if own else parties
    recording = RecordingParties(parties)
    points = []
    try:
        for name in presses:
            for ratio in ratios:
                spec = press_spec(name, ratio, schedule.cached_tokens)
                run = run_seed(schedule, D, EPS, ETA, SEED, recording, cache=spec,
                               options={"compress_after": "last"})
                kept = _kept_fraction(recording.states[-1], schedule)
                port, options = PORTS.get(name, (None, lambda r: {}))
                port_run = None
                if port is not None and port in CACHES:
                    port_run = run_seed(schedule, D, EPS, ETA, SEED, parties, cache=port,
                                        options=options(ratio))
                points.append(Point(name, ratio, spec, kept, run,
                                    port if port_run else None, port_run))
    finally:
        if own:
            parties.close()
    return points


def render(points: list[Point], refused: Iterable[str] = sorted(REFUSED)) -> str:
    """The markdown table (runnable presses by name and ratio, then the refused ones)."""
    lines = [
        f"Measured on {SCHEDULE}, d = {D}, seed {SEED}, kvpress {KVPRESS_VERSION}, "
        "compress_after=last; f = rows kept / rows cached, read from the message; p = bit "
        "error rate; port: kvbound's own version of the rule, where one is registered, at "
        "budget 1 − r (ThinK: key channels 1 − r), same seed; feasible: the message "
        "carries at least what Bob decoded (no leak).",
        "",
        "| press | spec (kvpress:...) | r | f | p | (1 − f)/2 | port: p | message bits "
        "| memory bits | feasible |",
        "|---|---|---|---|---|---|---|---|---|---|",
    ]
    for p in sorted(points, key=lambda q: (q.press.lower(), q.ratio)):
        port = "-" if p.port_run is None else f"`{p.port}`: {p.port_run.error_rate:.4f}"
        spec = p.spec.removeprefix("kvpress:")
        lines.append(
            f"| {p.press} | `{spec}` | {p.ratio:g} | {p.kept_fraction:.4f} | "
            f"{p.run.error_rate:.4f} | {(1 - p.kept_fraction) / 2:.4f} | {port} | "
            f"{p.run.message_bits} | {p.run.memory_bits} | "
            f"{'yes' if not p.run.leak else 'NO (leak)'} |")
    lines += ["", "| refused press | what it needs |", "|---|---|"]
    for name in refused:
        why = str(refusal(name)).split(": it needs ", 1)[1]
        lines.append(f"| {name} | {why} |")
    return "\n".join(lines)


def splice(text: str, table: str) -> str:
    """``text`` with the generated section replaced by ``table``."""
    pattern = re.compile(re.escape(BEGIN) + ".*?" + re.escape(END), re.S)
    if not pattern.search(text):
        raise ValueError(f"{DOC.name} lacks the markers {BEGIN!r} ... {END!r}")
    return pattern.sub(lambda _: f"{BEGIN}\n{table}\n{END}", text)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--write", action="store_true",
                        help=f"write the table into {DOC} (default: print it)")
    args = parser.parse_args(argv)
    table = render(run_table())
    if args.write:
        DOC.write_text(splice(DOC.read_text(), table))
        print(f"wrote the kvpress table into {DOC}")
    else:
        print(table)
    return 0


if __name__ == "__main__":
    np.seterr(all="ignore")
    sys.exit(main())
