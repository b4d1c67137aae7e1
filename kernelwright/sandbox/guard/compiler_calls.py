"""The calls that hand a candidate's CUDA to a compiler, and what they may pass besides the source.

`CudaModule`, `cupy.RawKernel`/`RawModule` and pycuda's `SourceModule` compile in the runner, and
pycuda runs nvcc as a child process that the audit hooks trust. So every argument they get is
checked here, statically: options must be literal (or module constants bound once, TUNE values
included) and each one a define or a code-generation switch; nothing may name a file (`-I`,
`--pre-include`, `include_dirs=`, `cache_dir=`, `path=`), a program (`nvcc=`, `-ccbin`, `-Xcompiler
-wrapper`) or an options file. A builder passed around as a value (`functools.partial`) and the
libraries' other compile and module-load entry points are refused, since their arguments cannot
be read here. Rules: `compiler-options`, `compiler-entry`, and `process-control` for a program.
"""

from __future__ import annotations

import ast
import itertools
import re
from collections.abc import Iterator
from dataclasses import dataclass

from kernelwright.contracts import GuardFinding
from kernelwright.sandbox.build.candidate_source import (
    BUILDER_POSITIONAL,
    literal_text,
    module_string_constants,
    rebound_names,
    static_string,
)
from kernelwright.sandbox.guard.imports import dotted


@dataclass(frozen=True)
class Builder:
    positional: tuple[str, ...]  # the parameters that may be given by position, in order
    keywords: frozenset[str]


_COMMON_CUPY = {"options", "backend", "translate_cucomplex", "enable_cooperative_groups", "jitify"}
BUILDERS = {
    "CudaModule": Builder(BUILDER_POSITIONAL["CudaModule"], frozenset({"source", "options"})),
    "cupy.RawKernel": Builder(BUILDER_POSITIONAL["RawKernel"], frozenset({"code", "name", *_COMMON_CUPY})),
    "cupy.RawModule": Builder(
        BUILDER_POSITIONAL["RawModule"], frozenset({"code", "name_expressions", *_COMMON_CUPY})
    ),
    "pycuda.compiler.SourceModule": Builder(
        BUILDER_POSITIONAL["SourceModule"],
        frozenset({"source", "options", "no_extern_c", "arch", "code", "keep", "cache_dir", "include_dirs"}),
    ),
}
# Other ways into a compiler or a module loader: their code or cubin is not what the guard reads.
COMPILER_ENTRIES = (
    "pycuda.compiler.", "pycuda.driver.module_from_", "pycuda.driver.Linker", "pycuda.driver.JitLinker",
    "cupy.cuda.compiler.", "cupy.cuda.function.", "cupy.cuda.nvrtc.", "cupy._core.", "cupyx.jit.",
    "cuda.bindings.nvrtc", "cuda.nvrtc", "cuda.bindings.driver.cuModuleLoad", "cuda.bindings.driver.cuLibraryLoad",
    "cuda.bindings.driver.cuLink", "cuda.cuda.cuModuleLoad", "cuda.cuda.cuLibraryLoad", "cuda.cuda.cuLink",
    "torch.cuda.jiterator", "cupy.cuda.compile_with_cache", "cupy.cuda.Module", "cupy.cuda.driver.moduleLoad",
    "cupy.cuda.driver.link", "cupy.cuda.driver.cuModule", "cupy_backends.cuda.libs.nvrtc",
    "cupy_backends.cuda.api.driver.moduleLoad", "cupy_backends.cuda.api.driver.link", "numba.cuda.jit",
)  # fmt: skip
# Libraries whose attributes, fetched by a computed name, could be a builder the guard never sees.
GPU_MODULES = {"cupy", "cupyx", "pycuda", "cuda", "numba", "kernelwright"}
# Attributes of a class that build (or reach the building of) another instance.
CONSTRUCTORS = {
    "__init__",
    "__new__",
    "__call__",
    "__mro__",
    "__bases__",
    "__base__",
    "mro",
    "__subclasses__",
}
FLAGS = {"translate_cucomplex", "enable_cooperative_groups", "jitify", "no_extern_c"}
ARCH = re.compile(r"(sm|compute)_\d+[af]?")
# Defines and code-generation switches; nothing that names a file, a program or another tool's flags,
# no target (the sandbox picks it) and no define of a name the compiler reserves (__CUDA_ARCH__).
OPTION = re.compile(
    r"-D(?!__)[A-Za-z_]\w*(=[\w.+\-]*)?|-U(?!__)[A-Za-z_]\w*|-{1,2}use_fast_math|-{1,2}maxrregcount=\d+"
    r"|-{1,2}(ftz|prec-div|prec-sqrt|fmad)=(true|false)|-O[0-3]|-lineinfo|--generate-line-info"
    r"|-{1,2}std=c\+\+\d\d"
    r"|-{1,2}restrict|-{1,2}extra-device-vectorization|--expt-relaxed-constexpr|--expt-extended-lambda"
    r"|-Xptxas=(-v|-O[0-3]|--warn-on-spills)"
)
MAX_COMBINATIONS = 1024

MESSAGES = {
    "compiler-options": "{what}; pass only literal defines and code-generation switches (-DNAME=value, "
    "--use_fast_math, -maxrregcount=N, -O3...), written in the call",
    # the same rule, said for the source: what the guard reads must be what is compiled
    "compiler-source": "{what}; the CUDA source must be a string literal or a module-level string "
    "constant bound once (built, if at all, with +, f-strings of such constants or numbers, or "
    ".replace), with sizes passed as kernel arguments or -DNAME=value options",
    "compiler-entry": "uses {what}: compile and load kernels only through CudaModule, cupy.RawKernel/"
    "RawModule with source code, or pycuda's SourceModule, so that the guard reads what is compiled",
}


def _finding(rule: str, node: ast.AST, what: str, *, about: str | None = None) -> GuardFinding:
    """`about` picks the message when it differs from the rule's own (the source, for compiler-options)."""
    message = (
        MESSAGES[about or rule].format(what=what) + "."
        if rule in MESSAGES
        else f"uses {what}; candidates must not create, signal or end processes."
    )
    return GuardFinding(rule=rule, line=getattr(node, "lineno", None), where="python", message=message)


def compiler_findings(tree: ast.Module, aliases: dict[str, str]) -> list[GuardFinding]:
    """Every builder call with an argument that is not allowed or not static, every builder used
    as a value, and every other compiler or loader entry point."""
    constants = module_string_constants(tree)
    rebound = rebound_names(tree)
    lists = _module_sequences(tree, rebound)
    tune = _tune_choices(tree, rebound)
    called = {id(n.func) for n in ast.walk(tree) if isinstance(n, ast.Call)}
    found: list[GuardFinding] = []
    parents = {id(child): parent for parent in ast.walk(tree) for child in ast.iter_child_nodes(parent)}
    for node in ast.walk(tree):
        if not isinstance(node, ast.Name | ast.Attribute) or isinstance(node.ctx, ast.Store | ast.Del):
            continue
        parent = parents.get(id(node))
        if isinstance(parent, ast.Attribute) and parent.value is node:
            continue  # judged as the longer chain it starts (a.b of a.b.c)
        full = dotted(node, aliases) or ""
        builder = _builder(full)
        # `M = CudaModule` is an alias the alias table resolves, so calls through M are checked
        alias = isinstance(parent, ast.Assign) and all(isinstance(t, ast.Name) for t in parent.targets)
        if builder is not None and id(node) not in called and not alias:
            found.append(_finding("compiler-options", node, f"passes {builder} around as a value"))
        elif builder is None and full.startswith(COMPILER_ENTRIES):
            found.append(_finding("compiler-entry", node, full))
    for node in ast.walk(tree):
        found += _rebuild_findings(node, parents, aliases)
        if isinstance(node, ast.Call):
            builder = _builder(dotted(node.func, aliases) or "")
            if builder is not None:
                found += _call_findings(node, builder, constants, lists, tune)
    return list({(f.line, f.rule, f.message): f for f in found}.values())


def _rebuild_findings(
    node: ast.AST, parents: dict[int, ast.AST], aliases: dict[str, str]
) -> list[GuardFinding]:
    """Ways to reach a builder class that no name shows: `type(obj)` / `obj.__class__` of a kernel
    module (then called with other options), a subclass of a builder, and a library attribute
    fetched by a computed name."""
    parent = parents.get(id(node))
    if isinstance(node, ast.ClassDef):
        for base in node.bases:
            full = dotted(base, aliases) or ""
            if _builder(full) is not None or full.startswith(COMPILER_ENTRIES):
                return [_finding("compiler-options", node, f"subclasses {full}, which hides its calls")]
        return []
    if isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id in ("getattr", "type"):
        if node.func.id in aliases:
            return []
        if node.func.id == "getattr" and len(node.args) >= 2 and not isinstance(node.args[1], ast.Constant):
            root = (dotted(node.args[0], aliases) or "").split(".")[0]
            if root in GPU_MODULES:
                return [_finding("compiler-entry", node, f"getattr on {root} with a computed name")]
        if node.func.id == "type" and len(node.args) == 1 and not _is_self(node.args[0]):
            return _class_of(node, parent)
    if isinstance(node, ast.Attribute) and node.attr == "__class__" and not _is_self(node.value):
        return _class_of(node, parent)
    return []


def _is_self(node: ast.expr) -> bool:
    return isinstance(node, ast.Name) and node.id in ("self", "cls")


def _class_of(node: ast.AST, parent: ast.AST | None) -> list[GuardFinding]:
    if isinstance(parent, ast.Compare) or (
        isinstance(parent, ast.Attribute) and parent.attr not in CONSTRUCTORS
    ):
        return []  # type(y).__add__ is a method lookup, which the data flow judges
    if isinstance(parent, ast.Call) and parent.func is not node:
        callee = parent.func
        if isinstance(callee, ast.Name) and callee.id in ("isinstance", "issubclass", "print", "repr", "str"):
            return []
    return [
        _finding(
            "compiler-entry",
            node,
            "the class of an object other than self (type(x), x.__class__), "
            "which can build another kernel module with other arguments",
        )
    ]


def _builder(full: str) -> str | None:
    if full in BUILDERS:
        return full
    return "CudaModule" if full.split(".")[-1] == "CudaModule" else None


def _call_findings(
    call: ast.Call,
    builder: str,
    constants: dict[str, str],
    lists: dict[str, list[ast.expr]],
    tune: dict[str, tuple[str, ...]],
) -> Iterator[GuardFinding]:
    spec = BUILDERS[builder]
    short = builder.split(".")[-1]
    for index, arg in enumerate(call.args):
        if isinstance(arg, ast.Starred):
            yield _finding("compiler-options", call, f"unpacks arguments (*) into {short}")
        elif builder == "pycuda.compiler.SourceModule" and index == 1:
            yield _finding(
                "process-control", call, "SourceModule's second argument (nvcc), the program it runs"
            )
        elif index >= len(spec.positional):
            yield _finding(
                "compiler-options", call, f"passes {short} an argument by position after the source"
            )
        elif spec.positional[index] == "options":
            yield from _options_findings(arg, short, constants, lists, tune)
        elif index == 0 and static_string(arg, constants) is None:
            yield _unreadable_source(call, short)
    for keyword in call.keywords:
        name, value = keyword.arg, keyword.value
        if builder == "pycuda.compiler.SourceModule" and name in (None, "nvcc"):
            continue  # the program pycuda runs: process-control (python_rules._compiler_process)
        if name is None:
            yield _finding("compiler-options", call, f"unpacks keywords (**) into {short}")
        elif name not in spec.keywords:
            yield _finding("compiler-options", call, f"passes {short} `{name}=`, which is not allowed")
        elif name == "options":
            yield from _options_findings(value, short, constants, lists, tune)
        elif name in FLAGS and not (isinstance(value, ast.Constant) and type(value.value) is bool):
            yield _finding("compiler-options", call, f"passes {short} `{name}=` other than True or False")
        elif name == "keep" and not (isinstance(value, ast.Constant) and value.value is False):
            yield _finding("compiler-options", call, f"passes {short} `keep=` (its files stay on disk)")
        elif name == "cache_dir" and not (isinstance(value, ast.Constant) and value.value in (None, False)):
            yield _finding("compiler-options", call, f"passes {short} a `cache_dir=` (a folder it picks)")
        elif name == "include_dirs" and not (isinstance(value, ast.List | ast.Tuple) and not value.elts):
            yield _finding("compiler-options", call, f"passes {short} `include_dirs=` (folders it picks)")
        elif name == "source" or (name == "code" and builder != "pycuda.compiler.SourceModule"):
            if static_string(value, constants) is None:
                yield _unreadable_source(call, short)
        elif name in ("arch", "code") and not ARCH.fullmatch(static_string(value, constants) or ""):
            yield _finding(
                "compiler-options", call, f"passes {short} an `{name}=` that is not sm_NN or compute_NN"
            )
        elif name == "name_expressions" and _static_texts(value, constants, lists, {}) is None:
            yield _finding(
                "compiler-options", call, f"passes {short} `name_expressions=` that are not literal"
            )


def _unreadable_source(call: ast.Call, short: str) -> GuardFinding:
    return _finding(
        "compiler-options",
        call,
        f"passes {short} CUDA source the guard cannot read statically",
        about="compiler-source",
    )


def _options_findings(
    node: ast.expr,
    short: str,
    constants: dict[str, str],
    lists: dict[str, list[ast.expr]],
    tune: dict[str, tuple[str, ...]],
) -> Iterator[GuardFinding]:
    if isinstance(node, ast.Constant) and node.value is None:
        return
    texts = _static_texts(node, constants, lists, tune)
    if texts is None:
        yield _finding("compiler-options", node, f"passes {short} options the guard cannot read statically")
        return
    for text in texts:
        if not OPTION.fullmatch(text):
            yield _finding("compiler-options", node, f"passes {short} the option {text[:60]!r}")
            return


def _static_texts(
    node: ast.expr,
    constants: dict[str, str],
    lists: dict[str, list[ast.expr]],
    tune: dict[str, tuple[str, ...]],
) -> list[str] | None:
    """Every string the sequence `node` may hold (each TUNE choice of the names it uses), or None
    when some element is not static."""
    if isinstance(node, ast.Name) and node.id in lists:
        elements = lists[node.id]
    elif isinstance(node, ast.List | ast.Tuple):
        elements = node.elts
    else:
        return None
    texts: list[str] = []
    for element in elements:
        if isinstance(element, ast.Starred):
            inner = _static_texts(element.value, constants, lists, tune)
            if inner is None:
                return None
            texts += inner
            continue
        keys = sorted(
            {
                sub.slice.value
                for sub in ast.walk(element)
                if isinstance(sub, ast.Subscript)
                and isinstance(sub.value, ast.Name)
                and sub.value.id == "TUNE"
                and isinstance(sub.slice, ast.Constant)
                and isinstance(sub.slice.value, str)
                and sub.slice.value in tune
            }
        )
        choices = [tune[k] for k in keys]
        count = 1
        for c in choices:
            count *= len(c)
        if count > MAX_COMBINATIONS:
            return None
        for combination in itertools.product(*choices):
            known = {**constants, **{f"TUNE[{k!r}]": v for k, v in zip(keys, combination, strict=True)}}
            text = static_string(element, known)
            if text is None:
                return None
            texts.append(text)
    return texts


def _module_sequences(tree: ast.Module, rebound: set[str]) -> dict[str, list[ast.expr]]:
    """Module-level `NAME = [...]` / `(...)` literals bound once (shared option lists)."""
    found: dict[str, list[ast.expr]] = {}
    for stmt in tree.body:
        if (
            isinstance(stmt, ast.Assign)
            and len(stmt.targets) == 1
            and isinstance(stmt.targets[0], ast.Name)
            and isinstance(stmt.value, ast.List | ast.Tuple)
            and stmt.targets[0].id not in rebound
        ):
            found[stmt.targets[0].id] = list(stmt.value.elts)
    return found


def _tune_choices(tree: ast.Module, rebound: set[str]) -> dict[str, tuple[str, ...]]:
    """Each TUNE name's choices as the text an f-string gives them, when TUNE is one unchanged
    module-level dict literal (tuning.py validates the values)."""
    if "TUNE" in rebound:
        return {}
    for stmt in tree.body:
        value = stmt.value if isinstance(stmt, ast.Assign | ast.AnnAssign) else None
        targets = (
            stmt.targets
            if isinstance(stmt, ast.Assign)
            else [stmt.target]
            if isinstance(stmt, ast.AnnAssign)
            else []
        )
        if isinstance(value, ast.Dict) and any(isinstance(t, ast.Name) and t.id == "TUNE" for t in targets):
            out: dict[str, tuple[str, ...]] = {}
            for key, node in zip(value.keys, value.values, strict=True):
                if isinstance(key, ast.Constant) and isinstance(key.value, str):
                    items = node.elts if isinstance(node, ast.Tuple | ast.List) else [node]
                    texts = [literal_text(i) for i in items]
                    if all(t is not None for t in texts):
                        out[key.value] = tuple(t for t in texts if t is not None)
            return out
    return {}
