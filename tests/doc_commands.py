"""Shell commands quoted in the markdown docs, with the results the text claims for them.

Extracted (see docs/course/README.md, "For maintainers"):

* every fenced block tagged ``sh``/``bash``/``shell``/``console`` is one unit: its lines
  (comments stripped, ``\\`` continuations joined) run as one shell script;
* outside such blocks, a line that starts with ``kvbound <command>`` or ``make <target>``
  (a real command or target) is a unit of its own;
* HTML comments right after a block carry expectations: ``<!-- expect: EXPR OP VALUE -->``
  (EXPR over the JSON the block prints), ``<!-- expect-exit: N -->``,
  ``<!-- expect-output: TEXT -->``.

:func:`evaluate` reads EXPR with :mod:`ast` and allows only JSON paths (``a.b[0].c``),
numbers, arithmetic and ``round``/``abs``/``len``/``min``/``max``/``sum``, with ``_`` for the
whole record (``_[0].x`` when a command prints a list): nothing of the markdown is
executed as Python.

:func:`plan` splits a unit into :class:`Step` s so that its ``kvbound`` lines can run in
the test's own (warm) interpreter, through :func:`kvbound.cli.main`, the console script's
entry point: ``cd DIR``, ``A && B``, ``( ... )`` and the venv's ``activate`` are followed
by the runner; any other line runs in ``bash``; a unit with a line that changes the
shell's state otherwise (a variable, ``export``, ``source``...) is not split at all.
"""

from __future__ import annotations

import ast
import operator
import re
import shlex
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

__all__ = ["DocCommand", "Expectation", "Step", "extract", "evaluate", "check_expectation",
           "literal_in_prose", "plan"]

SHELL_TAGS = {"sh", "bash", "shell", "console"}
_FENCE = re.compile(r"^(\s*)(`{3,}|~{3,})\s*([\w+-]*)")
_COMMENT = re.compile(r"^\s*<!--\s*(expect(?:-exit|-output)?):\s*(.*?)\s*-->\s*$")
_EXPECT = re.compile(r"^(?P<expr>.+?)\s*(?P<op>==|≈|<=|>=|<|>)\s*(?P<value>.+?)"
                     r"(?:\s*±\s*(?P<tol>\S+))?$")


@dataclass(frozen=True)
class Expectation:
    """``expr op value [± tol]`` on the JSON a command printed."""

    expr: str
    op: str
    value: str
    tol: str | None = None


@dataclass
class DocCommand:
    """One runnable unit of a markdown file and what the text expects of it."""

    path: Path
    line: int
    script: str
    expects: list[Expectation] = field(default_factory=list)
    exit_code: int = 0
    outputs: list[str] = field(default_factory=list)
    section: str = ""

    @property
    def first_word(self) -> str:
        return self.script.split()[0] if self.script.split() else ""

    @property
    def id(self) -> str:
        return f"{self.path.parent.name}/{self.path.name}:{self.line}"


def _strip_comment(line: str) -> str:
    """The command part of a shell line: a trailing ``# ...`` comment removed."""
    out, quote = [], ""
    for i, ch in enumerate(line):
        if quote:
            quote = "" if ch == quote else quote
        elif ch in "'\"":
            quote = ch
        elif ch == "#" and (i == 0 or line[i - 1].isspace()):
            break
        out.append(ch)
    return "".join(out).rstrip()


def _block_script(lines: list[str]) -> str:
    commands: list[str] = []
    pending = ""
    for raw in lines:
        line = _strip_comment(raw.strip().removeprefix("$ "))
        if line.endswith("\\"):
            pending += line[:-1] + " "
            continue
        line = pending + line
        pending = ""
        if line.strip():
            commands.append(line.strip())
    return "\n".join(commands)


def _sections(text: str) -> list[tuple[int, str]]:
    """(first line number, text without HTML comments) of each ``#`` section."""
    lines = text.splitlines()
    starts, fenced = [], False
    for i, line in enumerate(lines):
        if _FENCE.match(line):
            fenced = not fenced
        elif not fenced and re.match(r"#{1,6} ", line):
            starts.append(i)
    out = []
    for a, b in zip([0, *starts], [*starts, len(lines)]):
        body = "\n".join(lines[a:b])
        out.append((a, re.sub(r"<!--.*?-->", "", body, flags=re.S)))
    return out


def extract(path: Path, commands: set[str], targets: set[str]) -> list[DocCommand]:
    """Every runnable unit of ``path`` (``commands``: kvbound sub-commands, ``targets``:
    make targets, so that prose such as "kvbound is ..." is not taken for a command)."""
    text = path.read_text()
    lines = text.splitlines()
    sections = _sections(text)
    found: list[DocCommand] = []
    i = 0
    while i < len(lines):
        fence = _FENCE.match(lines[i])
        if fence:
            marker, tag = fence.group(2), fence.group(3).lower()
            j = i + 1
            while j < len(lines) and not lines[j].strip().startswith(marker):
                j += 1
            body = lines[i + 1 : j]
            if tag in SHELL_TAGS:
                unit = DocCommand(path, i + 1, _block_script(body))
                k = j + 1
                while k < len(lines) and (not lines[k].strip() or _COMMENT.match(lines[k])):
                    m = _COMMENT.match(lines[k])
                    if m:
                        _add_expectation(unit, m.group(1), m.group(2))
                    k += 1
                if unit.script:
                    found.append(unit)
            else:
                found += _loose(path, i + 2, body, commands, targets)
            i = j + 1
            continue
        found += _loose(path, i + 1, [lines[i]], commands, targets)
        i += 1
    for unit in found:
        unit.section = next(body for start, body in reversed(sections) if start < unit.line)
    return found


def _loose(path: Path, first: int, lines: list[str], commands: set[str],
           targets: set[str]) -> list[DocCommand]:
    out = []
    for offset, raw in enumerate(lines):
        words = raw.strip().removeprefix("$ ").split()
        if len(words) >= 2 and ((words[0] == "kvbound" and words[1] in commands)
                                or (words[0] == "make" and words[1] in targets)):
            out.append(DocCommand(path, first + offset, _block_script([raw])))
    return out


def _add_expectation(unit: DocCommand, kind: str, text: str) -> None:
    if kind == "expect-exit":
        unit.exit_code = int(text)
    elif kind == "expect-output":
        unit.outputs.append(text)
    else:
        m = _EXPECT.match(text)
        if not m:
            raise ValueError(f"{unit.id}: cannot read expectation {text!r}")
        unit.expects.append(Expectation(m["expr"], m["op"], m["value"], m["tol"]))


_BINOPS = {ast.Add: operator.add, ast.Sub: operator.sub, ast.Mult: operator.mul,
           ast.Div: operator.truediv, ast.Pow: operator.pow}
_FUNCS = {"round": round, "abs": abs, "len": len, "min": min, "max": max, "sum": sum}


def evaluate(expr: str, record: Any) -> Any:
    """EXPR on a JSON record: paths, numbers, + - * / **, and a few functions; ``_`` is
    the record itself (for a command that prints a JSON list).

    >>> evaluate("runs[0].n / (a + 1)", {"runs": [{"n": 6}], "a": 2})
    2.0
    >>> evaluate("_[1].x - _[0].x", [{"x": 1}, {"x": 5}])
    4
    """

    def ev(node: ast.AST) -> Any:
        if isinstance(node, ast.Expression):
            return ev(node.body)
        if isinstance(node, ast.Constant) and isinstance(node.value, (int, float, str)):
            return node.value
        if isinstance(node, ast.Name):
            return record if node.id == "_" else record[node.id]
        if isinstance(node, ast.Attribute):
            return ev(node.value)[node.attr]
        if isinstance(node, ast.Subscript):
            return ev(node.value)[ev(node.slice)]
        if isinstance(node, ast.BinOp) and type(node.op) in _BINOPS:
            return _BINOPS[type(node.op)](ev(node.left), ev(node.right))
        if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.USub):
            return -ev(node.operand)
        if (isinstance(node, ast.Call) and isinstance(node.func, ast.Name)
                and node.func.id in _FUNCS and not node.keywords):
            return _FUNCS[node.func.id](*[ev(a) for a in node.args])
        raise ValueError(f"expression {expr!r}: {ast.dump(node)[:60]} is not allowed")

    return ev(ast.parse(expr, mode="eval"))


def check_expectation(e: Expectation, record: Any) -> str | None:
    """None if the record meets ``e``, else a message saying what was found."""
    actual = evaluate(e.expr, record)
    value = e.value.strip()
    if value in ("true", "false"):
        ok = actual is (value == "true")
    elif value.startswith('"'):
        ok = actual == value.strip('"')
    elif e.op == "≈":
        if e.tol is None:
            raise ValueError(f"{e.expr} ≈ {value} needs a tolerance: ≈ V ± T")
        ok = abs(float(actual) - float(value)) <= float(e.tol)
    elif e.op == "==":
        if re.fullmatch(r"-?\d+", value):
            ok = float(actual) == int(value)
        else:
            decimals = len(value.split(".")[1]) if "." in value else 0
            ok = abs(float(actual) - float(value)) <= 0.5 * 10.0 ** -decimals + 1e-12
    else:
        ok = {"<": operator.lt, "<=": operator.le, ">": operator.gt,
              ">=": operator.ge}[e.op](float(actual), float(value))
    if ok:
        return None
    return f"{e.expr} {e.op} {value}" + (f" ± {e.tol}" if e.tol else "") + f": got {actual!r}"


def literal_in_prose(e: Expectation, section: str) -> bool:
    """Whether a number checked with == or ≈ also appears in the prose of its section
    (booleans, strings, zero -- "no errors" -- and inequalities are not required to)."""
    value = e.value.strip()
    if e.op not in ("==", "≈") or value in ("true", "false", "0") or value.startswith('"'):
        return True
    return re.search(rf"(?<![\d.]){re.escape(value)}(?![\d])", section) is not None


@dataclass(frozen=True)
class Step:
    """One step of a unit run in one process: ``kind`` is

    * ``"kvbound"``: ``kvbound`` with the arguments ``args`` (already split, as the shell would);
    * ``"cd"``: change to the directory ``args[0]``;
    * ``"activate"``: ``. .venv/bin/activate`` (the runner's interpreter is the venv's);
    * ``"shell"``: the line ``text`` run by ``bash`` in the current directory;
    * ``"group"``: the steps ``body`` in a subshell, ``( ... )``: the directory is restored.
    """

    kind: str
    text: str
    args: tuple[str, ...] = ()
    body: tuple[Step, ...] = ()


#: Shell syntax the runner does not follow: a line holding any of it runs in bash.
_SHELL_SYNTAX = re.compile(r"[|;&<>$`*?\[\]{}~!#\\]")
#: Builtins that change the shell's state for later lines: a unit using one runs in bash.
_STATEFUL = {"export", "source", ".", "set", "unset", "alias", "eval", "exec", "pushd",
             "popd", "shopt", "trap", "declare", "readonly", "local", "function", "cd",
             "umask", "ulimit", "hash", "builtin", "enable"}
_ACTIVATE = {". .venv/bin/activate", "source .venv/bin/activate"}
_ASSIGNMENT = re.compile(r"^[A-Za-z_]\w*=")


def _step(line: str) -> Step | None:
    """The step of one line (or of one side of ``&&``); None: the unit needs one shell."""
    line = line.strip()
    if line in _ACTIVATE:
        return Step("activate", line)
    if line.startswith("(") and line.endswith(")") and "(" not in line[1:-1]:
        body = _steps(line[1:-1])
        return None if body is None else Step("group", line, body=tuple(body))
    if "&&" in line and not _SHELL_SYNTAX.search(line.replace("&&", " ")):
        body = _steps(line)
        return None if body is None else Step("group", line, body=tuple(body))
    try:
        words = shlex.split(line)
        tokens = list(shlex.shlex(line, posix=True, punctuation_chars=True))
    except ValueError:
        return None
    if not words or any(t in _STATEFUL or _ASSIGNMENT.match(t) for t in tokens[1:]):
        return None if words[:1] != ["kvbound"] else _kvbound(line, words)
    if _ASSIGNMENT.match(words[0]):
        return None  # a variable for the later lines
    if words[0] == "cd" and len(words) == 2 and not _SHELL_SYNTAX.search(line):
        return Step("cd", line, (words[1],))
    if words[0] in _STATEFUL:
        return None
    return _kvbound(line, words) if words[0] == "kvbound" else Step("shell", line)


def _kvbound(line: str, words: list[str]) -> Step | None:
    if _SHELL_SYNTAX.search(line):  # a pipe, a redirection...: bash runs it
        return None if any(t in _STATEFUL for t in words) else Step("shell", line)
    return Step("kvbound", line, tuple(words[1:]))


def _steps(text: str) -> list[Step] | None:
    out: list[Step] = []
    for part in text.split("&&"):
        step = _step(part)
        if step is None:
            return None
        out.append(step)
    return out


def plan(script: str) -> list[Step] | None:
    """The steps of a unit's script (one per line; ``&&`` and ``( ... )`` kept as groups),
    or None if one of its lines changes the shell's state beyond the current directory.

    A ``&&`` group stops at its first failure, as does the unit (it runs as ``bash -e``); a
    ``cd`` inside a group is kept for the following lines of the unit, as in a shell,
    unless the group is a subshell.

    >>> [s.kind for s in plan("cd examples\\nkvbound verify --cache a:B --json")]
    ['cd', 'kvbound']
    >>> [s.kind for s in plan("(cd examples && kvbound verify)")[0].body]
    ['cd', 'kvbound']
    >>> plan("python -m kvbound --help")[0].kind, plan("X=1")
    ('shell', None)
    >>> plan("kvbound verify | head")[0].kind, plan("kvbound verify --option eta=0.9")[0].kind
    ('shell', 'kvbound')
    >>> plan("ls; cd examples"), plan("ls && export X=1"), plan("echo hi > f")[0].kind
    (None, None, 'shell')
    """
    out: list[Step] = []
    for line in script.splitlines():
        step = _step(line)
        if step is None:
            return None
        if step.kind == "group" and not line.strip().startswith("("):
            out.extend(step.body)  # `a && b` at top level: a then b, stop on failure
        else:
            out.append(step)
    return out
