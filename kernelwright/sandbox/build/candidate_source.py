"""What a candidate file holds, read statically: its build path and its CUDA source strings.

Everything here works on the Python AST and never executes the candidate (candidate code is hostile
and never runs in the CLI's process). CUDA strings are found where the two build paths put them:
the argument of `CudaModule(...)` (native) or the `cuda_sources=` of `load_inline(...)` (compat),
and the code of `cupy.RawKernel` / `cupy.RawModule` / pycuda's `SourceModule` (native candidates that
launch through those libraries directly), resolved through module-level string constants; a
module-level string containing `__global__` is taken as a last resort.
"""

from __future__ import annotations

import ast
import re
from collections.abc import Sequence
from pathlib import Path
from typing import Literal

from kernelwright.errors import KernelwrightError
from kernelwright.sandbox.build.load_inline_extract import extract_device_code

__all__ = [
    "CandidateFileError",
    "CandidateSyntaxError",
    "read_candidate_file",
    "cuda_sources",
    "builder_options",
    "detect_build",
    "extract_device_code",
    "parse_candidate",
    "runs_nvcc_at_load",
]

# The parameters each builder may be given by position, in order (guard.compiler_calls refuses any
# other positional argument; pycuda's SourceModule takes its nvcc program second). pycuda's
# SourceModule compiles with nvcc (a subprocess) and wraps the code in extern "C" unless
# no_extern_c=True; cupy compiles with NVRTC in-process (the guard refuses its nvcc backend).
BUILDER_POSITIONAL = {
    "CudaModule": ("source", "options"),
    "RawKernel": ("code", "name", "options"),
    "RawModule": ("code",),
    "SourceModule": ("source",),
}


class CandidateSyntaxError(KernelwrightError):
    """The candidate is not valid Python."""


class CandidateFileError(KernelwrightError):
    """The candidate file cannot be read as Python source."""


def read_candidate_file(path: str | Path, *, check_syntax: bool = True) -> str:
    """The text of a candidate file, checked to parse (unless the caller lets the guard report a
    syntax error as a verdict); every problem is one sentence."""
    path = Path(path)
    if not path.exists():
        raise CandidateFileError(f"{path}: no such file.")
    if not path.is_file():
        raise CandidateFileError(f"{path}: not a file.")
    if path.suffix != ".py":
        raise CandidateFileError(f"{path}: a candidate is a Python file (.py).")
    try:
        text = path.read_text(encoding="utf-8")
    except UnicodeDecodeError:
        raise CandidateFileError(f"{path}: not UTF-8 text, so not a Python source file.") from None
    except OSError as err:
        raise CandidateFileError(f"{path}: cannot be read ({err.strerror}).") from None
    if check_syntax:
        parse_candidate(text, filename=str(path))
    return text


def parse_candidate(py_src: str, filename: str = "candidate.py") -> ast.Module:
    """The candidate's AST; a syntax error becomes one sentence naming the line."""
    try:
        return ast.parse(py_src, filename=filename)
    except SyntaxError as err:
        raise CandidateSyntaxError(
            f"{filename} is not valid Python: {err.msg} at line {err.lineno}."
        ) from None
    except ValueError as err:  # null bytes
        raise CandidateSyntaxError(f"{filename} is not valid Python: {err}.") from None


def detect_build(py_src: str) -> Literal["native", "compat"]:
    """'compat' when the candidate uses torch's `load_inline` (or cpp_extension's `load`), else 'native'."""
    tree = parse_candidate(py_src)
    for node in ast.walk(tree):
        if isinstance(node, ast.Call) and _call_name(node) == "load_inline":
            return "compat"
        imports_loader = isinstance(node, ast.ImportFrom) and (node.module or "").endswith("cpp_extension")
        if (
            imports_loader
            and isinstance(node, ast.ImportFrom)
            and any(alias.name in ("load_inline", "load") for alias in node.names)
        ):
            return "compat"
    return "native"


def cuda_sources(py_src: str) -> list[str]:
    """The CUDA source strings of a candidate, in file order, without duplicates."""
    tree = parse_candidate(py_src)
    constants = module_string_constants(tree)
    found: list[str] = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Call) and (call := _builder_call(node, constants)) is not None:
            found += call[0]
    if not found:
        found = [value for value in constants.values() if "__global__" in value]
    return list(dict.fromkeys(s for s in found if s.strip()))


def runs_nvcc_at_load(py_src: str) -> bool:
    """Whether the candidate builds kernels with nvcc, a subprocess, while it is constructed
    (pycuda's SourceModule): its seal must follow the load, as a load_inline file's does. Only a
    call that the imports resolve to pycuda.compiler.SourceModule counts, so a function of the
    candidate's own that is merely named SourceModule does not buy the later seal."""
    tree = parse_candidate(py_src)
    imported = _imported_names(tree)
    for node in ast.walk(tree):
        if not isinstance(node, ast.Call):
            continue
        func, parts = node.func, []
        while isinstance(func, ast.Attribute):
            parts.append(func.attr)
            func = func.value
        root = imported.get(func.id) if isinstance(func, ast.Name) else None
        full = ".".join([root, *reversed(parts)]) if root else ""
        if full == "pycuda.compiler.SourceModule":
            return True
    return False


def _imported_names(tree: ast.Module) -> dict[str, str]:
    """Local name -> the dotted path an import statement binds it to."""
    names: dict[str, str] = {}
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                names[alias.asname or alias.name.split(".")[0]] = (
                    alias.name if alias.asname else alias.name.split(".")[0]
                )
        elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
            for alias in node.names:
                names[alias.asname or alias.name] = f"{node.module}.{alias.name}"
    return names


def _is_true(node: ast.expr | None) -> bool:
    return isinstance(node, ast.Constant) and node.value is True


# The NVRTC options the parent compiles a candidate's module with: defines and code-generation
# switches only. Anything naming a file (-I, --pre-include) could echo it into the stored log.
_STATIC_OPTION = re.compile(
    r"-D\s*[A-Za-z_]\w*(=[\w.+\-]*)?|-{1,2}maxrregcount=\d+|-{1,2}use_fast_math"
    r"|-{1,2}(ftz|prec-div|prec-sqrt|fmad)=(true|false)"
)


def builder_options(py_src: str) -> dict[str, tuple[str, ...]]:
    """Each CUDA source (as cuda_sources gives it) with the compile options its builder passes,
    as far as they are static and allowed in the parent (defines, register cap, math switches):
    the runner compiles with all of them, so the parent's static compile and resources must too
    (a TUNE variant's -D, a cupy kernel's -DSCALE; docs/tuning.md)."""
    tree = parse_candidate(py_src)
    constants = module_string_constants(tree)
    found: dict[str, tuple[str, ...]] = {}
    for node in ast.walk(tree):
        if not isinstance(node, ast.Call) or (call := _builder_call(node, constants)) is None:
            continue
        texts, options = call
        if options is not None and (len(texts) == 1 or _call_name(node) == "load_inline"):
            allowed = tuple(_safe_options(_resolve_strings(options, constants)))
            for text in texts:
                found.setdefault(text, allowed)
    return found


def _builder_call(call: ast.Call, constants: dict[str, str]) -> tuple[list[str], ast.expr | None] | None:
    """A builder call's CUDA source texts, as they are compiled (SourceModule's in extern "C"), and
    its options argument; None for a call that builds nothing."""
    name = _call_name(call)
    if name == "load_inline":
        return _resolve_strings(_keyword(call, "cuda_sources"), constants), _keyword(
            call, "extra_cuda_cflags"
        )
    if name not in BUILDER_POSITIONAL:
        return None
    positional = BUILDER_POSITIONAL[name]
    texts = _resolve_strings(call.args[0] if call.args else _keyword(call, positional[0]), constants)
    if name == "SourceModule" and not _is_true(_keyword(call, "no_extern_c")):
        texts = [f'extern "C" {{\n{t}\n}}\n' for t in texts]
    at = positional.index("options") if "options" in positional else len(call.args)
    return texts, call.args[at] if at < len(call.args) else _keyword(call, "options")


def _safe_options(options: Sequence[str]) -> list[str]:
    return [o for o in options if _STATIC_OPTION.fullmatch(o)]


def module_string_constants(tree: ast.Module) -> dict[str, str]:
    """Module-level `NAME = <string expression>` assignments whose value is static, and the entries
    `NAME["key"]` of module-level dict literals with literal values (a TUNE variant's values)."""
    constants: dict[str, str] = {}
    # A name bound anywhere else too (a local of the same name, a loop, a second assignment), or a
    # dict changed after its literal, may hold another value when the code runs: not static.
    rebound = rebound_names(tree)
    for stmt in tree.body:
        targets: list[ast.expr] = []
        value: ast.expr | None = None
        if isinstance(stmt, ast.Assign):
            targets, value = stmt.targets, stmt.value
        elif isinstance(stmt, ast.AnnAssign) and stmt.value is not None:
            targets, value = [stmt.target], stmt.value
        if value is None:
            continue
        if isinstance(value, ast.Dict) and len(targets) == 1 and isinstance(targets[0], ast.Name):
            if targets[0].id not in rebound:
                constants.update(_dict_entries(targets[0].id, value))
            continue
        text = static_string(value, constants)
        if text is None:
            # `BLOCK = 256`: kept as the text an f-string makes of it (`f"#define BLOCK {BLOCK}"`).
            text = _number_text(value)
        if text is None:
            continue
        for target in targets:
            if isinstance(target, ast.Name) and target.id not in rebound:
                constants[target.id] = text
    return constants


# Methods that change a dict or list in place.
_MUTATING_METHODS = {"update", "setdefault", "pop", "popitem", "clear", "__setitem__", "__delitem__",
                     "append", "extend", "insert", "remove", "__init__", "__ior__"}  # fmt: skip


def rebound_names(tree: ast.Module) -> set[str]:
    """Names bound more than once anywhere in the file (any scope, any binding form), declared
    global in a function, or changed in place (`NAME[k] = v`, `NAME.update(...)`, `del NAME[k]`)."""
    counts: dict[str, int] = {}
    changed: set[str] = set()

    def bind(name: str) -> None:
        counts[name] = counts.get(name, 0) + 1

    for node in ast.walk(tree):
        if isinstance(node, ast.Name) and isinstance(node.ctx, ast.Store | ast.Del):
            bind(node.id)
        elif isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
            bind(node.name)
        elif isinstance(node, ast.arg):
            bind(node.arg)
        elif isinstance(node, ast.Import | ast.ImportFrom):
            for alias in node.names:
                bind(alias.asname or alias.name.split(".")[0])
        elif isinstance(node, ast.Global | ast.Nonlocal):
            changed.update(node.names)
        elif isinstance(node, ast.ExceptHandler) and node.name:
            bind(node.name)
        elif isinstance(node, ast.MatchAs | ast.MatchStar) and node.name:
            bind(node.name)  # `case NAME:` at module level rebinds a module constant
        elif isinstance(node, ast.MatchMapping) and node.rest:
            bind(node.rest)
        elif isinstance(node, ast.Subscript) and isinstance(node.ctx, ast.Store | ast.Del):
            if isinstance(node.value, ast.Name):
                changed.add(node.value.id)
        elif (
            isinstance(node, ast.Call)
            and isinstance(node.func, ast.Attribute)
            and isinstance(node.func.value, ast.Name)
            and node.func.attr in _MUTATING_METHODS
        ):
            changed.add(node.func.value.id)
        elif isinstance(node, ast.AugAssign) and isinstance(node.target, ast.Name):
            changed.add(node.target.id)
    return changed | {name for name, count in counts.items() if count > 1}


def _dict_entries(name: str, node: ast.Dict) -> dict[str, str]:
    """`NAME['key']` -> the text an f-string gives each int, float or str literal value."""
    entries: dict[str, str] = {}
    for key, value in zip(node.keys, node.values, strict=True):
        if not (isinstance(key, ast.Constant) and isinstance(key.value, str)):
            continue
        if (text := literal_text(value)) is not None:
            entries[f"{name}[{key.value!r}]"] = text
    return entries


def literal_text(node: ast.expr | None) -> str | None:
    """The text an f-string makes of a str, int or float literal (numbers with a leading minus)."""
    if isinstance(node, ast.Constant) and type(node.value) is str:
        return node.value
    return _number_text(node)


def _number_text(node: ast.expr | None) -> str | None:
    """The text str() gives an int or float literal (a leading minus included); None for anything else."""
    negative = isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.USub)
    literal = node.operand if isinstance(node, ast.UnaryOp) and negative else node
    found = literal.value if isinstance(literal, ast.Constant) else None
    return ("-" if negative else "") + str(found) if type(found) in (int, float) else None


def static_string(node: ast.expr | None, constants: dict[str, str]) -> str | None:
    """The value of a string expression built from literals, known names, `+`, plain f-strings and
    `.replace()` with static arguments. (Not `str(...)`: the file may bind `str` to anything.)"""
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return node.value
    if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.func.attr == "replace":
        # The receiver is a str, so this is str.replace whatever the file defines.
        parts = [static_string(n, constants) for n in (node.func.value, *node.args)]
        if len(parts) == 3 and not node.keywords and all(part is not None for part in parts):
            text, old, new = (part or "" for part in parts)
            return text.replace(old, new)
        return None
    if isinstance(node, ast.Name):
        return constants.get(node.id)
    if isinstance(node, ast.Subscript) and isinstance(node.value, ast.Name):
        key = node.slice.value if isinstance(node.slice, ast.Constant) else None
        return constants.get(f"{node.value.id}[{key!r}]") if isinstance(key, str) else None
    if isinstance(node, ast.BinOp) and isinstance(node.op, ast.Add):
        left, right = static_string(node.left, constants), static_string(node.right, constants)
        return left + right if left is not None and right is not None else None
    if isinstance(node, ast.JoinedStr):
        parts = [
            static_string(v, constants) if not isinstance(v, ast.FormattedValue) else None
            for v in node.values
        ]
        # f-strings with placeholders of known names are resolved; any other placeholder is dynamic
        for i, v in enumerate(node.values):
            if isinstance(v, ast.FormattedValue) and v.conversion == -1 and v.format_spec is None:
                parts[i] = _number_text(v.value) or static_string(v.value, constants)
        return "".join(p for p in parts if p is not None) if all(p is not None for p in parts) else None
    return None


def _resolve_strings(node: ast.expr | None, constants: dict[str, str]) -> list[str]:
    if node is None:
        return []
    if isinstance(node, ast.List | ast.Tuple):
        return [s for elt in node.elts for s in _resolve_strings(elt, constants)]
    text = static_string(node, constants)
    return [text] if text is not None else []


def _keyword(call: ast.Call, name: str) -> ast.expr | None:
    return next((kw.value for kw in call.keywords if kw.arg == name), None)


def _call_name(call: ast.Call) -> str | None:
    if isinstance(call.func, ast.Name):
        return call.func.id
    if isinstance(call.func, ast.Attribute):
        return call.func.attr
    return None
