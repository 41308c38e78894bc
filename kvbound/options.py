"""Shared argument parsing for the sub-commands (schedules, cache options)."""

from __future__ import annotations

import argparse
import math
import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from lowerbound.defaults import DEFAULTS
from lowerbound.validation import InvalidArgument
from reduction.isolation.parties import DEFAULT_TIMEOUT, MESSAGE_FACTOR
from reduction.isolation.party import MAX_TIMEOUT, MIN_TIMEOUT, check_timeout
from reduction.schedule import PRESETS, Schedule

__all__ = [
    "add_instance_arguments",
    "add_head_arguments",
    "add_shape_arguments",
    "resolve_shape",
    "RunShape",
    "add_run_arguments",
    "run_isolation",
    "check_seeds",
    "whole_at_least",
    "positive_seconds",
    "parse_schedule",
    "parse_cache_options",
    "add_precision_arguments",
    "resolve_precision",
    "workers_option",
    "add_renamed_flag",
    "describe",
    "DEFAULT_ETA",
]

MAX_MESSAGE = 1 << 40  # --max-message-bytes: a terabyte is beyond any run here


def parse_schedule(text: str) -> Schedule:
    """A schedule from the CLI text (preset name, geometric(n,r) or a list)."""
    return Schedule.parse(text)


def add_instance_arguments(parser: argparse.ArgumentParser) -> None:
    """--schedule, --d, --eps, --eta: the parameters of the hard instance."""
    parser.add_argument(
        "--schedule",
        default=DEFAULTS.schedule,
        help=f"preset ({', '.join(PRESETS)}), 'geometric(n,ratio)', or sides like '1,2,4' "
        "or '1x2,2x4' (default: var-256)",
    )
    parser.add_argument("--d", type=int, default=DEFAULTS.d,
                        help=f"head dimension d (default: {DEFAULTS.d})")
    parser.add_argument(
        "--eps", type=float, default=float(DEFAULTS.eps),
        help=f"near-orthogonality eps of the keys, in (0, 1) (default: {float(DEFAULTS.eps):g})",
    )
    parser.add_argument(
        "--eta", type=float, default=None,
        help="entrywise relative error the decoding tolerates, in [0, 1) (default: 0.25; "
        "0, i.e. exact attention, with --bits-per-value)",
    )


DEFAULT_ETA = float(DEFAULTS.eta)


def add_precision_arguments(parser: argparse.ArgumentParser) -> None:
    """--bits-per-value and --value-dtype: the precision construction (docs/theorem.md#prec)."""
    parser.add_argument(
        "--bits-per-value", dest="bits_per_value", metavar="B|auto",
        help="values on 2^B levels m 2^-B, B bits per coordinate (Lemma PREC); 'auto' = the "
        "largest B that eta and --value-dtype allow (default: the one-bit reduction)",
    )
    parser.add_argument(
        "--value-dtype", dest="value_dtype", default="float16",
        choices=("bfloat16", "float16", "float32", "float64"),
        help="format that must hold every level exactly, for --bits-per-value auto "
        "(default: float16, the real VAR cache's)",
    )


def resolve_precision(args: argparse.Namespace) -> tuple[float, int | None]:
    """(eta, bits_per_value) from the parsed flags; 'auto' resolved (Lemma PREC)."""
    from lowerbound.precision import bits_per_value_auto, max_bits_for_dtype

    text = getattr(args, "bits_per_value", None)
    if text is None:
        return (DEFAULT_ETA if args.eta is None else args.eta), None
    eta = 0.0 if args.eta is None else args.eta
    if text == "auto":
        b = bits_per_value_auto(eta, dtype=args.value_dtype, additive=args.additive)
        if b == 0:
            raise InvalidArgument(f"--bits-per-value auto: no number of levels separates under "
                             f"eta={eta:g}; lower eta")
        return eta, min(b, 16)
    try:
        b = int(text)
    except ValueError:
        raise InvalidArgument(
            f"--bits-per-value={text!r} must be an integer >= 1 or 'auto'") from None
    if b < 1:
        raise InvalidArgument(f"--bits-per-value={b} must be >= 1 (or 'auto')")
    top = max_bits_for_dtype(args.value_dtype)
    if b > top:
        raise InvalidArgument(f"--bits-per-value={b}: {args.value_dtype} holds the levels m 2^-b "
                         f"exactly only for b <= {top}; lower b or pick --value-dtype")
    return eta, b


def add_head_arguments(parser: argparse.ArgumentParser) -> None:
    """--logit-cap B and --var-head (= --normalise): the head the reduction runs in."""
    parser.add_argument(
        "--logit-cap", type=float, default=None, metavar="B", dest="logit_cap",
        help="every logit Bob's queries create must lie in [-B, B] (C <= B); when the "
        "requested regime does not fit, fewer tokens carry bits (default: no cap)",
    )
    parser.add_argument(
        "--var-head", "--normalise", action="store_true", dest="var_head",
        help="the released VAR head: q and k L2-normalised, logit scale clamped at 100 "
        "(the same as --logit-cap 100 --normalise)",
    )


def add_shape_arguments(parser: argparse.ArgumentParser) -> None:
    """--heads, --layers, --model and --unused-heads: how many heads run at once
    (docs/theorem.md#c2-run, #alloc)."""
    parser.add_argument(
        "--heads", type=whole_at_least(1), default=None, metavar="H",
        help="heads per layer, each with its own instance (default: 1)")
    parser.add_argument(
        "--layers", type=whole_at_least(1), default=None, metavar="D",
        help="layers of H heads each, all solved at once (default: 1)")
    parser.add_argument(
        "--model", default=None, metavar="NAME",
        help="take the schedule, d, heads and layers of a released model (var-d16, "
        "var-d20, var-d24, var-d30, var-d36, infinity-2b; lowerbound.models)")
    parser.add_argument(
        "--unused-heads", type=whole_at_least(0), default=0, metavar="U", dest="unused_heads",
        help="the allocation variant: U of the D*H heads, a public seeded set, get zero "
        "keys and values and carry no bits (default: 0)")


@dataclass(frozen=True)
class RunShape:
    """The schedule, head dimension and head grid a command runs on."""

    schedule: Schedule
    d: int
    heads: int
    layers: int
    unused_heads: int

    @property
    def n_heads(self) -> int:
        return self.heads * self.layers


def resolve_shape(args: argparse.Namespace) -> RunShape:
    """--schedule/--d/--heads/--layers, or the shapes of --model (which then fixes them:
    a different --schedule, --d, --heads or --layers is refused)."""
    heads, layers = getattr(args, "heads", None), getattr(args, "layers", None)
    unused = getattr(args, "unused_heads", 0)
    name = getattr(args, "model", None)
    if name is None:
        return RunShape(parse_schedule(args.schedule), args.d, heads or 1, layers or 1, unused)
    from lowerbound.models import model_spec

    try:
        m = model_spec(name)
    except ValueError as exc:
        raise InvalidArgument(f"--model: {exc}") from None
    given = {"--schedule": (args.schedule, DEFAULTS.schedule, m.schedule),
             "--d": (args.d, DEFAULTS.d, m.head_dim),
             "--heads": (heads, None, m.heads), "--layers": (layers, None, m.depth)}
    for flag, (value, default, fixed) in given.items():
        if value != default and value != fixed:
            raise InvalidArgument(f"--model {name} fixes {flag} {fixed}; drop {flag} {value}")
    return RunShape(parse_schedule(m.schedule), m.head_dim, m.heads, m.depth, unused)


def add_run_arguments(parser: argparse.ArgumentParser, seeds_default: int) -> None:
    """--seeds, --isolation and --timeout, shared by the commands that run the protocol."""
    parser.add_argument(
        "--seeds", type=whole_at_least(1), default=seeds_default,
        help=f"number of seeds (per point in a sweep; default: {seeds_default})",
    )
    parser.add_argument(
        "--isolation", choices=("process", "inline"), default="process",
        help="run Alice and Bob in sandboxed worker processes (default) or in this one "
        "(inline: registered caches only, for tests)",
    )
    parser.add_argument(
        "--timeout", type=positive_seconds, default=DEFAULT_TIMEOUT, metavar="SECONDS",
        help="longest wait for one answer of a party's process before the cache is "
        f"declared hung, in [{MIN_TIMEOUT:g}, {MAX_TIMEOUT:g}] (default: {DEFAULT_TIMEOUT:g})",
    )
    parser.add_argument(
        "--no-sandbox", action="store_true", dest="no_sandbox",
        help="run the parties' workers as plain processes, without the bubblewrap sandbox "
        "(needed to run a module:Class cache where bubblewrap is missing; the record "
        "says so)",
    )
    parser.add_argument(
        "--max-message-bytes", type=int, default=None, metavar="BYTES",
        dest="max_message_bytes",
        help="largest state Alice's process may send (default: "
        f"{MESSAGE_FACTOR} x the float64 keys and values of the cached tokens, + 64 KiB); "
        "a larger one is a cache fault",
    )


def run_isolation(args: argparse.Namespace) -> dict[str, Any]:
    """The keyword arguments of --isolation, --timeout, --no-sandbox and
    --max-message-bytes for run_verification / run_sweep, checked up front."""
    check_timeout(args.timeout, "--timeout")
    limit = args.max_message_bytes
    if limit is not None and (isinstance(limit, bool) or limit < 1 or limit > MAX_MESSAGE):
        raise InvalidArgument(f"--max-message-bytes={limit} must lie in [1, {MAX_MESSAGE}]")
    return {"isolation": args.isolation, "timeout": float(args.timeout),
            "sandbox": False if args.no_sandbox else None, "max_message_bytes": limit}


def whole_at_least(lower: int) -> Any:
    """An argparse ``type``: a whole number >= ``lower`` (argparse turns the refusal into
    one usage line and exit 2).

    >>> whole_at_least(1)("3")
    3
    >>> whole_at_least(1)("0")
    Traceback (most recent call last):
    ...
    argparse.ArgumentTypeError: 0 is not a whole number >= 1
    """
    def convert(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"{text!r} is not a whole number") from None
        if value < lower:
            raise argparse.ArgumentTypeError(f"{value} is not a whole number >= {lower}")
        return value

    convert.__name__ = f"whole number >= {lower}"
    return convert


def positive_seconds(text: str) -> float:
    """An argparse ``type``: a deadline for one request to a worker, in seconds, within
    [MIN_TIMEOUT, MAX_TIMEOUT] (reduction.isolation.party.check_timeout): shorter would
    time the machine, not the cache.

    >>> positive_seconds("2.5")
    2.5
    """
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number of seconds") from None
    if not math.isfinite(value) or value <= 0:
        raise argparse.ArgumentTypeError(f"{text} is not a positive, finite number of seconds")
    try:
        return check_timeout(value, "--timeout")
    except InvalidArgument as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def workers_option(text: str) -> int | str:
    """``--workers``: 'auto' or a whole number >= 1 (an argparse ``type``).

    >>> workers_option("auto"), workers_option("2")
    ('auto', 2)
    """
    if text.strip().lower() == "auto":
        return "auto"
    try:
        return whole_at_least(1)(text)
    except argparse.ArgumentTypeError as exc:
        raise argparse.ArgumentTypeError(f"{exc} (or 'auto')") from None


def check_seeds(seeds: int) -> int:
    """``--seeds`` must be >= 1."""
    if seeds < 1:
        raise InvalidArgument(f"--seeds={seeds} must be >= 1")
    return seeds


def _scalar(text: str) -> Any:
    low = text.lower()
    if low in ("true", "false"):
        return low == "true"
    for conv in (int, float):
        try:
            return conv(text)
        except ValueError:
            pass
    return text


def parse_cache_options(items: list[str] | None) -> dict[str, Any]:
    """``KEY=VALUE`` pairs into a dict of JSON scalars (ints, floats, bools, strings).

    >>> parse_cache_options(["budget=0.5", "dtype=float32"])
    {'budget': 0.5, 'dtype': 'float32'}
    """
    out: dict[str, Any] = {}
    for item in items or []:
        key, sep, value = item.partition("=")
        if not sep or not key:
            raise InvalidArgument(
                f"cache option {item!r} must look like KEY=VALUE, e.g. budget=0.5")
        out[key.strip()] = _scalar(value.strip())
    return out


def add_renamed_flag(parser: argparse.ArgumentParser, old: str, new: str, what: str) -> None:
    """Refuse the old spelling ``old`` of the flag ``new``, naming the new one (exit 2).

    Kept as a hidden flag so argparse does not read ``old`` as an abbreviation of a
    longer flag (``--seed`` would otherwise mean ``--seeds``).
    """

    class Renamed(argparse.Action):
        def __call__(self, parser: argparse.ArgumentParser, namespace: argparse.Namespace,
                     values: Any, option_string: str | None = None) -> None:
            shown = values if isinstance(values, str) else " ".join(map(str, values or []))
            raise argparse.ArgumentError(
                self, f"{old} is now {new} ({what}): write {new} {shown}".rstrip())

    parser.add_argument(old, action=Renamed, nargs="?", default=argparse.SUPPRESS,
                        help=argparse.SUPPRESS)


_ROLE = re.compile(r":(?:mod|func|class|data|attr|meth):`~?([^`]+)`")


def plain_text(doc: str) -> str:
    """A docstring as ``--help`` shows it: no reStructuredText markup.

    >>> plain_text("``kvbound verify``: see :mod:`caches.contract` and `x`.")
    'kvbound verify: see caches.contract and x.'
    """
    text = _ROLE.sub(r"\1", doc)
    return text.replace("``", "").replace("`", "")


def describe(doc: str | None, examples: Sequence[str]) -> dict[str, Any]:
    """The ``add_parser`` keywords of a command: its docstring in plain text as the
    description, and an "examples:" epilog, laid out as written."""
    lines = [f"  {e}" for e in examples]
    return {"description": plain_text((doc or "").strip()),
            "epilog": "examples:\n" + "\n".join(lines),
            "formatter_class": argparse.RawDescriptionHelpFormatter}
