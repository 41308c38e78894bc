"""Plain words for a verification: what happened, in two sentences, before any jargon.

Purpose: the first lines of every ``verify`` report (terminal, markdown) and of the
interactive page's "your cache" panel. They read the public JSON record of ``kvbound
verify --json`` only, so the page (``kvbound/site/assets/kvbound.js``, ``verdictLines``)
says exactly the same thing; ``tests/kvbound/site/test_site_numbers.py`` compares the two.

The statement behind the words (docs/theorem.md#certificate, #fano, #l4): a message of m
bits carries at most m bits of information; Bob's decoded bits carry I = N(1 - H2(p)) bits
when he gets a fraction p of them wrong. The verdict is the record's ``certificate``: when
a code fixed in advance writes Alice's N bits down, given Bob's answers, in so few bits
that his answers reveal more than the message can hold (beyond chance), the cache passed
information outside its bytes: a leak. Otherwise nothing is wrong, whatever p is: the
bound (1 - H2(delta)) N is a floor for caches that answer right, and a cache that answers
wrong pays for its smaller message with the bits it loses.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

from lowerbound.validation import InvalidArgument

__all__ = ["verdict_lines", "group_digits", "fixed", "percent"]


def group_digits(x: float) -> str:
    """``x`` rounded half up to an integer, with thousands separators.

    >>> group_digits(5011.5), group_digits(27136.0), group_digits(-1234)
    ('5,012', '27,136', '-1,234')
    """
    return f"{math.floor(x + 0.5):,}"


def fixed(x: float, digits: int) -> str:
    """``x`` rounded half up to ``digits`` decimals (the same rule as the page's script).

    >>> fixed(32.0049, 2), fixed(2.5, 0), fixed(0.125, 2)
    ('32.00', '3', '0.13')
    """
    scale = 10**digits
    n = math.floor(x * scale + 0.5)
    whole, frac = divmod(n, scale)
    return str(whole) if digits == 0 else f"{whole}.{frac:0{digits}d}"


def percent(rate: float) -> str:
    """A rate in [0, 1] as a percentage: one decimal below 10 %, none above.

    >>> percent(0.25), percent(0.0123), percent(0.0), percent(0.0001)
    ('25 %', '1.2 %', '0 %', 'under 0.1 %')
    """
    p = 100 * rate
    if p == 0:
        return "0 %"
    if p < 0.05:
        return "under 0.1 %"
    return f"{fixed(p, 1 if p < 9.95 else 0)} %"


_NEED = ("message_bits", "information_bits", "error_rate")
_CERTIFICATE = ("instance_bits", "message_bits", "code_bits", "revealed_bits", "margin_bits")


def _certificate(value: Any, where: str) -> Mapping[str, Any]:
    """A certificate of the record (docs/theorem.md#certificate), its numbers checked."""
    if not isinstance(value, Mapping) or not all(isinstance(value.get(k), str)
                                                 for k in ("code", "scope")):
        raise InvalidArgument(f"{where} has no certificate")
    for key in _CERTIFICATE:
        number = value.get(key)
        if not isinstance(number, (int, float)) or isinstance(number, bool):
            raise InvalidArgument(f'{where}\'s certificate has no number "{key}"')
    return value


def verdict_lines(record: Mapping[str, Any]) -> list[str]:
    """The plain verdict of a ``verify --json`` record: what happened, then what it means.

    The record's decisive certificate says whether there is a leak; the run closest to its
    threshold speaks for all seeds otherwise. Raises InvalidArgument when ``record`` is not
    such a record.

    >>> cert = {"code": "errors", "scope": "seed 0", "leak": False, "instance_bits": 27136,
    ...         "message_bits": 5680, "code_bits": 22015, "revealed_bits": 5121,
    ...         "margin_bits": -650.0}
    >>> run = {"seed": 0, "message_bits": 5680, "information_bits": 5121.1,
    ...        "error_rate": 0.25, "certificate": cert}
    >>> first, second = verdict_lines({"cache": "h2o", "lower_bound_bits": 27136.0,
    ...                                "runs": [run], "certificate": cert})
    >>> first  # doctest: +NORMALIZE_WHITESPACE
    'No leak: Bob decoded 5,121 bits of information from a 5,680-bit message;
     cache "h2o" gets 25 % of the bits wrong.'
    >>> second.startswith("A cache that answers every query right needs at least 27,136")
    True
    """
    runs = record.get("runs") if isinstance(record, Mapping) else None
    if not isinstance(runs, list):
        raise InvalidArgument('not a `kvbound verify --json` record (no "runs" list)')
    if not runs:
        raise InvalidArgument("the record has no runs")
    worst: dict[str, Any] | None = None
    worst_margin = -math.inf
    for i, run in enumerate(runs):
        for key in _NEED:
            value = run.get(key) if isinstance(run, Mapping) else None
            if not isinstance(value, (int, float)) or isinstance(value, bool):
                raise InvalidArgument(f'run {i} has no number "{key}"')
        margin = _certificate(run.get("certificate"), f"run {i}")["margin_bits"]
        if worst is None or margin > worst_margin:
            worst, worst_margin = dict(run), margin
    assert worst is not None
    decisive = _certificate(record.get("certificate"), "the record")
    leak = decisive.get("leak") is True
    name = record.get("cache")
    cache = f'cache "{name}"' if isinstance(name, str) else "the cache"
    msg = group_digits(worst["message_bits"])
    if leak:
        lines = [f"LEAK: Bob's answers reveal {group_digits(decisive['revealed_bits'])} of "
                 f"Alice's {group_digits(decisive['instance_bits'])} bits (the "
                 f"{decisive['code']} code writes them down in "
                 f"{group_digits(decisive['code_bits'])} bits; {decisive['scope']}), "
                 f"more than the {group_digits(decisive['message_bits'])} message bits he "
                 f"received can hold: {cache} passed Bob information outside its bytes."]
    else:
        rate = worst["error_rate"]
        how = "gets every bit right." if rate == 0 else f"gets {percent(rate)} of the bits wrong."
        lines = [f"No leak: Bob decoded {group_digits(worst['information_bits'])} bits of "
                 f"information from a {msg}-bit message; {cache} {how}"]
    bound = record.get("lower_bound_bits")
    if isinstance(bound, (int, float)) and not isinstance(bound, bool) and bound > 0:
        if worst["error_rate"] == 0:
            lines.append(f"It answers every query right, so it must keep at least "
                         f"{group_digits(bound)} bits (the lower bound): its message is "
                         f"{fixed(worst['message_bits'] / bound, 2)} times that.")
        elif not leak:
            lines.append(f"A cache that answers every query right needs at least "
                         f"{group_digits(bound)} bits (the lower bound); one that answers "
                         "wrong may keep less, and the bits it loses pay for it.")
    return lines


#: Where each row of a verify report is proved: (start of the row's label, the section of
#: docs/theorem.md). ``--explain`` prints the link beside the row.
ROW_ANCHORS: tuple[tuple[str, str], ...] = (
    ("schedule", "model"), ("head dimension", "model"), ("cached tokens", "model"),
    ("parties ran in", "sandbox"),
    ("cache", "reduction"), ("last-scale tokens", "reduction"),
    ("instance bits", "index"), ("eps; d_min", "l1"), ("max <k_i,k_j>", "l1"),
    ("regime", "c1"), ("eps run", "cap"), ("L'_guaranteed", "c1"),
    ("L'_witnessed", "witness"), ("largest |logit|", "cap"), ("C_min", "l3"),
    ("C used", "subtleties"), ("gamma at C used; tau", "l3"),
    ("gamma at C used; thresholds", "prec"), ("seeds", "reduction"),
    ("bits checked", "multi"), ("bit errors", "l3"), ("symbol errors", "prec"),
    ("information", "fano"), ("memory", "mem"), ("exact fp16", "c2"),
    ("lower bound", "thm"), ("leak certificate", "certificate"), ("leak", "feasible"),
    ("bound respected", "feasible"),
)
THEOREM = "docs/theorem.md"


def row_anchor(label: str) -> str | None:
    """The docs/theorem.md section a report row's label points to (None: none known).

    >>> row_anchor("eps; d_min Hoeffding / exact"), row_anchor("nothing like it")
    ('l1', None)
    """
    return next((anchor for start, anchor in ROW_ANCHORS if label.startswith(start)), None)


def plain_report(lines: list[str], rows: list[tuple[str, str]], *,
                 explain: bool = False) -> str:
    """The plain lines first, then the detail rows; with ``explain`` each row names the
    section of docs/theorem.md that proves it.

    >>> print(plain_report(["No leak."], [("seeds", "0")], explain=True))
    No leak.
    <BLANKLINE>
    details:
      seeds  0  [docs/theorem.md#reduction]
    """
    width = max(len(a) for a, _ in rows)
    table = [f"  {a.ljust(width)}  {b}" + (f"  [{THEOREM}#{row_anchor(a)}]"
                                            if explain and row_anchor(a) else "")
             for a, b in rows]
    head = "details:" if explain else "details (--explain: where each row is proved):"
    return "\n".join([*lines, "", head, *(t.rstrip() for t in table)])


#: How to fix each failed check of ``kvbound check-cache`` (by the start of its name);
#: docs/caches.md states the contract, examples/every_other.py follows it.
CONTRACT_FIXES: tuple[tuple[str, str], ...] = (
    ("stream outputs", "process(queries, keys, values) must return one finite row of d "
     "numbers per query (shape (tokens, d)), and to_bytes() a non-empty bytes object"),
    ("round trip", "from_bytes(to_bytes()) must rebuild the state Bob needs: write every "
     "field process() reads into to_bytes and read them back in the same order"),
    ("same seed", "draw every random choice from the rng passed to __init__ (never "
     "np.random.* or the clock), so the same seed gives the same message"),
    ("builds without an rng", "__init__(params, rng=None) must work: start with "
     "rng = np.random.default_rng(rng)"),
    ("rejects foreign bytes", "from_bytes must raise ValueError on bytes it did not write: "
     "wrap the message with reduction.message.frame(TAG, ...) and open it with unframe"),
    ("rejects truncations", "from_bytes must raise ValueError on a truncated or altered "
     "message: frame() adds a CRC-32 that unframe() checks, and Reader checks every length"),
    ("fuzz from_bytes", "on corrupted bytes from_bytes must raise ValueError, not another "
     "exception, never hang, and never allocate by a length it has not checked against the "
     "bytes left (reduction.message.Reader does both)"),
)


def contract_fix(check: str) -> str | None:
    """How to fix the failed check named ``check`` (None when no advice is known).

    >>> contract_fix("round trip").startswith("from_bytes(to_bytes())")
    True
    """
    return next((fix for start, fix in CONTRACT_FIXES if check.startswith(start)), None)


def attack_lines(points: int, leaks: list[str], failures: list[str], n_bits: int,
                 lossless: list[tuple[str, int]]) -> list[str]:
    """The plain summary of an attack sweep: did any cache leak, which caches kept every
    bit and how small they were (``lossless``: (label, message bits) of the points with no
    error).

    >>> first, second = attack_lines(3, [], [], 100, [("packer", 113), ("exact", 3200)])
    >>> first
    'No leak: every one of the 3 points kept at least the information Bob decoded.'
    >>> second[:66]
    'The smallest cache that got every bit right is packer, at 113 bits'
    >>> second[66:]
    ' (1.13 times the 100-bit lower bound); every smaller one loses bits.'
    """
    if leaks:
        first = (f"LEAK: {', '.join(leaks)} decoded more information than their messages "
                 "hold: they keep state outside their bytes.")
    else:
        first = (f"No leak: every one of the {points} points kept at least the information "
                 "Bob decoded.")
    lines = [first]
    if lossless:
        label, bits = min(lossless, key=lambda x: x[1])
        lines.append(f"The smallest cache that got every bit right is {label}, at "
                     f"{group_digits(bits)} bits ({fixed(bits / n_bits, 2)} times the "
                     f"{group_digits(n_bits)}-bit lower bound); every smaller one loses bits.")
    if failures:
        lines.append(f"{len(failures)} point(s) failed to run: {', '.join(failures)}.")
    return lines
