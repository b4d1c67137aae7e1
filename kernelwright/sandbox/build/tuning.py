"""A candidate's tuning declaration, read statically, and the variants it expands to.

A candidate may declare launch and tile parameters with candidate values in one module-level literal:

    TUNE = {"BLOCK": (128, 256, 512), "UNROLL": (1, 2, 4)}

and use `TUNE["BLOCK"]` in its Python (launch configuration, `-D` options of `CudaModule`). A variant
is the same file with that literal's value replaced by one choice per name
(`TUNE = {"BLOCK": 256, "UNROLL": 2}`); every other byte of the file is kept, so the code stored with
an attempt is exactly the code that was measured. A variant is itself a valid declaration (each name
with one value), so a Coder that edits the chosen code can keep or widen it.

Nothing here executes the candidate: the declaration is read from the AST and its values must be
literals. docs/tuning.md is the user-facing description.
"""

from __future__ import annotations

import ast
import keyword
import re
from dataclasses import dataclass

from kernelwright.errors import KernelwrightError
from kernelwright.sandbox.build.candidate_source import rebound_names

NAME = "TUNE"
MAX_NAMES = 8
MAX_VALUES = 16
MAX_STRING_CHARS = 64
DEFAULT_LIMIT = 8
# A string value reaches the compiler inside a -D define (f"-DMODE={TUNE['MODE']}"): one token, so
# that it can never become an option, a second argument or a path of its own.
STRING_VALUE = re.compile(r"[A-Za-z0-9_.+][A-Za-z0-9_.+\-]*")

TuneValue = int | float | str


class TuneError(KernelwrightError):
    """The TUNE declaration is malformed: `reason` is one sentence, `line` where; the message names
    both ("line 3: ...")."""

    def __init__(self, reason: str, line: int | None = None):
        super().__init__(f"line {line}: {reason}" if line is not None else reason)
        self.reason = reason
        self.line = line


@dataclass(frozen=True)
class TuneSpec:
    """The declaration: each name's candidate values in file order, and where its value expression
    lies in the file (UTF-8 byte offsets, end exclusive)."""

    choices: dict[str, tuple[TuneValue, ...]]
    line: int
    start: int
    end: int

    @property
    def combinations(self) -> int:
        count = 1
        for values in self.choices.values():
            count *= len(values)
        return count


@dataclass(frozen=True)
class Variant:
    """One configuration: a value per name, and the candidate file with TUNE set to it."""

    values: dict[str, TuneValue]
    source: str

    def label(self) -> str:
        return ", ".join(f"{k}={v!r}" for k, v in self.values.items()) or "(no TUNE)"


def parse_tune(source: str) -> TuneSpec | None:
    """The module-level TUNE declaration of `source`; None when there is none, or when the file is
    not valid Python (the guard reports that). Raises TuneError when the declaration is malformed."""
    try:
        tree = ast.parse(source)
    except (SyntaxError, ValueError):
        return None
    found: list[tuple[ast.stmt, ast.expr]] = []
    for stmt in tree.body:
        if isinstance(stmt, ast.Assign) and any(_names_tune(t) for t in stmt.targets):
            if len(stmt.targets) != 1 or not isinstance(stmt.targets[0], ast.Name):
                raise TuneError("assign TUNE on its own (TUNE = {...}).", stmt.lineno)
            found.append((stmt, stmt.value))
        elif isinstance(stmt, ast.AnnAssign) and _names_tune(stmt.target):
            if stmt.value is None or not isinstance(stmt.target, ast.Name):
                raise TuneError("assign TUNE a dict literal.", stmt.lineno)
            found.append((stmt, stmt.value))
        elif isinstance(stmt, ast.AugAssign) and _names_tune(stmt.target):
            raise TuneError("TUNE is assigned once, as one dict literal.", stmt.lineno)
    if not found:
        return None
    if len(found) > 1:
        line = found[1][0].lineno
        raise TuneError("TUNE is assigned more than once; declare it once.", line)
    stmt, value = found[0]
    choices = _choices(value)
    _check_unchanged(tree, stmt.lineno)
    start, end = _byte_span(source, value)
    return TuneSpec(choices=choices, line=stmt.lineno, start=start, end=end)


def variants(source: str, limit: int = DEFAULT_LIMIT) -> list[Variant]:
    """At most `limit` variants of `source`: every combination when there are at most `limit`, in
    product order (the first name varies slowest); otherwise the first combination (each name's
    first value), the last, and an even spread between them over that order. A file without TUNE is
    one variant, itself. Raises TuneError for a malformed declaration."""
    if limit < 1:
        raise ValueError("limit must be at least 1")
    spec = parse_tune(source)
    if spec is None:
        return [Variant(values={}, source=source)]
    names = list(spec.choices)
    total = spec.combinations
    picks = range(total) if total <= limit else _spread(total, limit)
    encoded = source.encode("utf-8")
    head, tail = encoded[: spec.start], encoded[spec.end :]
    out: list[Variant] = []
    for index in picks:
        values = dict(zip(names, _combination(spec, index), strict=True))
        literal = render(values).encode("utf-8")
        out.append(Variant(values=values, source=(head + literal + tail).decode("utf-8")))
    return out


def render(values: dict[str, TuneValue]) -> str:
    """The dict literal a variant's TUNE is set to."""
    return "{" + ", ".join(f"{name!r}: {value!r}" for name, value in values.items()) + "}"


def _check_unchanged(tree: ast.Module, line: int) -> None:
    """TUNE is read, never changed or passed on: the static check resolves `TUNE["NAME"]` from the
    literal, so the code that runs must see exactly that value."""
    if NAME in rebound_names(tree):
        raise TuneError("TUNE is changed or bound again after its declaration; read it only.", line)
    parents = {id(c): p for p in ast.walk(tree) for c in ast.iter_child_nodes(p)}
    for node in ast.walk(tree):
        if isinstance(node, ast.Name) and node.id == NAME and isinstance(node.ctx, ast.Load):
            parent = parents.get(id(node))
            if not (isinstance(parent, ast.Subscript) and parent.value is node):
                at = node.lineno
                raise TuneError('TUNE is used other than as TUNE["NAME"]; read it only that way.', at)


def _names_tune(target: ast.expr) -> bool:
    if isinstance(target, ast.Name):
        return target.id == NAME
    if isinstance(target, ast.Tuple | ast.List):
        return any(_names_tune(t) for t in target.elts)
    return False


def _choices(value: ast.expr) -> dict[str, tuple[TuneValue, ...]]:
    line = value.lineno
    if not isinstance(value, ast.Dict):
        raise TuneError('TUNE must be a dict literal, e.g. TUNE = {"BLOCK": (128, 256)}.', line)
    if not value.keys:
        raise TuneError("TUNE is empty; give at least one name with its values.", line)
    if len(value.keys) > MAX_NAMES:
        raise TuneError(f"TUNE has {len(value.keys)} names; at most {MAX_NAMES} are allowed.", line)
    choices: dict[str, tuple[TuneValue, ...]] = {}
    for key, node in zip(value.keys, value.values, strict=True):
        if key is None:  # {**other}
            raise TuneError("TUNE cannot unpack another dict (**); list every name.", line)
        name = key.value if isinstance(key, ast.Constant) else None
        if not isinstance(name, str) or not name.isidentifier() or keyword.iskeyword(name):
            shown = ast.unparse(key)
            raise TuneError(f"TUNE name {shown} is not a string holding an identifier.", key.lineno)
        if name in choices:
            raise TuneError(f"TUNE names {name!r} twice.", key.lineno)
        choices[name] = _values(name, node)
    return choices


def _values(name: str, node: ast.expr) -> tuple[TuneValue, ...]:
    line = node.lineno
    elements = node.elts if isinstance(node, ast.Tuple | ast.List) else [node]
    if not elements:
        raise TuneError(f"TUNE[{name!r}] has no values.", line)
    if len(elements) > MAX_VALUES:
        raise TuneError(f"TUNE[{name!r}] has {len(elements)} values; at most {MAX_VALUES} are allowed.", line)
    values: list[TuneValue] = []
    for element in elements:
        value = _literal(element)
        if value is None:
            raise TuneError(
                f"TUNE[{name!r}] value {ast.unparse(element)} is not an int, float or string literal.",
                element.lineno,
            )
        if isinstance(value, str) and not STRING_VALUE.fullmatch(value):
            raise TuneError(
                f"TUNE[{name!r}] value {value!r} is not one token of letters, digits, "
                "_ . + - (not starting with -); values reach the compiler as -D defines.",
                element.lineno,
            )
        if isinstance(value, str) and len(value) > MAX_STRING_CHARS:
            raise TuneError(
                f"TUNE[{name!r}] has a string longer than {MAX_STRING_CHARS} characters.",
                element.lineno,
            )
        if any(type(v) is type(value) and v == value for v in values):
            raise TuneError(f"TUNE[{name!r}] lists {value!r} twice.", element.lineno)
        values.append(value)
    return tuple(values)


def _literal(node: ast.expr) -> TuneValue | None:
    """An int, float or str literal, a negative number included; booleans and anything computed are not."""
    if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.USub):
        inner = _literal(node.operand)
        return -inner if isinstance(inner, int | float) else None
    value = node.value if isinstance(node, ast.Constant) else None
    # type(), not isinstance: a bool is an int to isinstance, and is not a tuning value.
    return value if type(value) in (int, float, str) and isinstance(value, int | float | str) else None


def _byte_span(source: str, node: ast.expr) -> tuple[int, int]:
    """`node`'s UTF-8 byte offsets in `source`: ast's columns are byte offsets within the line."""
    # bytes.splitlines breaks on \n, \r and \r\n only, exactly the line ends Python's tokenizer counts.
    lines = source.encode("utf-8").splitlines(keepends=True)
    starts = [0]
    for line in lines:
        starts.append(starts[-1] + len(line))
    assert node.end_lineno is not None and node.end_col_offset is not None
    return starts[node.lineno - 1] + node.col_offset, starts[node.end_lineno - 1] + node.end_col_offset


def _combination(spec: TuneSpec, index: int) -> list[TuneValue]:
    """The `index`-th combination of the product in order (mixed radix, last name fastest)."""
    picked: list[TuneValue] = []
    for values in reversed(list(spec.choices.values())):
        index, digit = divmod(index, len(values))
        picked.append(values[digit])
    return picked[::-1]


def _spread(total: int, limit: int) -> list[int]:
    if limit == 1:
        return [0]
    return list(dict.fromkeys(i * (total - 1) // (limit - 1) for i in range(limit)))
