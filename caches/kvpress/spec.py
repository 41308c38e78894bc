"""The cache spec ``kvpress:PressName(arg=value, ...)``, parsed without evaluating it.

Purpose: a user names a kvpress press as a kvbound cache,
``kvbound verify --cache 'kvpress:SnapKVPress(compression_ratio=0.5, window_size=16)'``.
The text after ``kvpress:`` is parsed with :mod:`ast` into a :class:`PressCall` tree and
never evaluated: a node is a call of a bare press name, whose arguments are literals
(numbers, strings, True/False/None, negative numbers, lists and tuples of literals) or
further press calls (kvpress composes presses: ``AdaKVPress(SnapKVPress(...))``,
``ComposedPress([KnormPress(...), ThinKPress(...)])``). Anything else (an attribute, a
subscript, a name that is not called, a lambda, ``**kwargs``, ``__import__('os')``) is
refused with one line naming the construct. Whether a name is one of kvpress's exported
presses is decided later, where kvpress is imported (caches.kvpress.adapter); this module
needs neither kvpress nor torch, so Bob's worker and the verifier can parse a spec.
A press name is letters and digits only (no underscore, so no dunder such as
``__import__`` gets that far), and arguments nest at most :data:`MAX_DEPTH` deep.
"""

from __future__ import annotations

import ast
import re
from dataclasses import dataclass
from typing import Union

from lowerbound.validation import InvalidArgument

__all__ = ["PREFIX", "PressCall", "Literal", "is_kvpress_spec", "parse_spec", "MAX_SPEC_CHARS"]

PREFIX = "kvpress:"
MAX_SPEC_CHARS = 2000
MAX_DEPTH = 8
_NAME = re.compile(r"[A-Za-z][A-Za-z0-9]*")

Literal = Union[None, bool, int, float, str, "PressCall", tuple["Literal", ...]]


@dataclass(frozen=True)
class PressCall:
    """One press constructor call: its name, positional and keyword arguments."""

    name: str
    args: tuple[Literal, ...] = ()
    kwargs: tuple[tuple[str, Literal], ...] = ()

    def text(self) -> str:
        """The canonical spelling (the spec without ``kvpress:``).

        >>> parse_spec("kvpress: AdaKVPress( SnapKVPress(compression_ratio=.5) )").text()
        'AdaKVPress(SnapKVPress(compression_ratio=0.5))'
        """
        parts = [_text(a) for a in self.args]
        parts += [f"{k}={_text(v)}" for k, v in self.kwargs]
        return f"{self.name}({', '.join(parts)})"

    def names(self) -> list[str]:
        """Every press name in the tree, outermost first."""
        out = [self.name]
        for value in [*self.args, *(v for _, v in self.kwargs)]:
            out += _names(value)
        return out


def _names(value: Literal) -> list[str]:
    if isinstance(value, PressCall):
        return value.names()
    if isinstance(value, tuple):
        return [n for v in value for n in _names(v)]
    return []


def _text(value: Literal) -> str:
    if isinstance(value, PressCall):
        return value.text()
    if isinstance(value, tuple):
        return "[" + ", ".join(_text(v) for v in value) + "]"
    return repr(value)


def is_kvpress_spec(spec: str) -> bool:
    """Whether a cache spec names a kvpress press (it starts with ``kvpress:``).

    >>> is_kvpress_spec("kvpress:KnormPress()"), is_kvpress_spec("knorm")
    (True, False)
    """
    return spec.strip().startswith(PREFIX)


def parse_spec(spec: str) -> PressCall:
    """The press call a ``kvpress:`` spec names, or an InvalidArgument naming what is wrong.

    >>> parse_spec("kvpress:KnormPress(compression_ratio=0.5)")
    PressCall(name='KnormPress', args=(), kwargs=(('compression_ratio', 0.5),))
    >>> parse_spec("kvpress:SnapKVPress(__import__('os'))")  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    lowerbound.validation.InvalidArgument: kvpress spec: '__import__' is not a press name ...
    """
    text = spec.strip()
    if not text.startswith(PREFIX):
        raise InvalidArgument(f"a kvpress cache spec starts with {PREFIX!r}, got {spec!r}")
    body = text[len(PREFIX):].strip()
    if len(body) > MAX_SPEC_CHARS:
        raise InvalidArgument(f"kvpress spec of {len(body)} characters is longer than "
                              f"{MAX_SPEC_CHARS}")
    try:
        tree = ast.parse(body, mode="eval")
    except SyntaxError as exc:
        raise InvalidArgument(f"kvpress spec {body!r} is not a call such as "
                              f"KnormPress(compression_ratio=0.5): {exc.msg}") from None
    node = tree.body
    if not isinstance(node, ast.Call):
        raise InvalidArgument(f"kvpress spec {body!r} must be a press call, e.g. "
                         "kvpress:KnormPress(compression_ratio=0.5)")
    return _call(node, 0)


def _call(node: ast.Call, depth: int) -> PressCall:
    if depth > MAX_DEPTH:
        raise InvalidArgument(f"kvpress spec nests presses deeper than {MAX_DEPTH}")
    func = node.func
    if not isinstance(func, ast.Name):
        raise InvalidArgument(f"kvpress spec: {ast.unparse(func)!r} is not a bare press name")
    if not _NAME.fullmatch(func.id):
        raise InvalidArgument(
            f"kvpress spec: {func.id!r} is not a press name (letters and digits, e.g. "
            "SnapKVPress); arguments must be literals or press calls")
    args = tuple(_value(a, depth) for a in node.args)
    kwargs = []
    for kw in node.keywords:
        if kw.arg is None:
            raise InvalidArgument("kvpress spec: **mapping arguments are not allowed; name "
                                  "each one")
        kwargs.append((kw.arg, _value(kw.value, depth)))
    names = [k for k, _ in kwargs]
    if len(set(names)) != len(names):
        raise InvalidArgument(f"kvpress spec: an argument of {func.id} is given twice")
    return PressCall(func.id, args, tuple(kwargs))


def _value(node: ast.expr, depth: int) -> Literal:
    if depth > MAX_DEPTH:
        raise InvalidArgument(f"kvpress spec nests arguments deeper than {MAX_DEPTH}")
    if isinstance(node, ast.Call):
        return _call(node, depth + 1)
    if isinstance(node, ast.Constant) and (
        node.value is None or isinstance(node.value, (bool, int, float, str))
    ):
        return node.value
    if (isinstance(node, ast.UnaryOp) and isinstance(node.op, (ast.USub, ast.UAdd))
            and isinstance(node.operand, ast.Constant)
            and isinstance(node.operand.value, (int, float))
            and not isinstance(node.operand.value, bool)):
        v = node.operand.value
        return -v if isinstance(node.op, ast.USub) else v
    if isinstance(node, (ast.List, ast.Tuple)):
        return tuple(_value(e, depth + 1) for e in node.elts)
    raise InvalidArgument(
        f"kvpress spec: {ast.unparse(node)!r} is not a literal (numbers, strings, True, False, "
        "None, lists) nor a press call")
