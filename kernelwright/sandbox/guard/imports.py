"""Imports a candidate must never make, whatever the PyTorch policy: the harness and the reference.

The worker imports the task as module `kw_reference` (its file is named after the task, so older
workers and the KernelBench tools also know it by the task's stem), and kernelwright's own modules
hold the verifier and the timer. A candidate may import only the runtime it launches kernels with,
`kernelwright.sandbox.native`. The rules read `import` statements, attribute chains through the
`kernelwright` name, and dynamic imports whose module name is a static string
(`importlib.import_module("kw_" + "reference")`, `__import__(...)`, `sys.modules[...]`).
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import PurePosixPath

from kernelwright.contracts import GuardFinding
from kernelwright.sandbox.build.candidate_source import static_string

REFERENCE_MODULE = "kw_reference"
CANDIDATE_RUNTIME = "kernelwright.sandbox.native"
# What kernelwright.sandbox.native exports (its __all__); the rest of that module is harness too.
RUNTIME_EXPORTS = {"CudaModule", "CudaCompileError", "CudaLaunchError", "KernelArgumentError"}
DYNAMIC_IMPORTS = {"importlib.import_module", "__import__", "importlib.__import__", "builtins.__import__"}
FILE_LOADERS = {"spec_from_file_location", "SourceFileLoader", "run_path"}

MESSAGES = {
    "harness-import": "uses {what}: kernelwright's modules are the harness (verifier, timer, sandbox); "
    "import only CudaModule from kernelwright.sandbox.native",
    "reference-model": "uses {what}: ModelNew must compute the result itself",
}


def _finding(rule: str, node: ast.AST, what: str) -> GuardFinding:
    message = MESSAGES[rule].format(what=what) + "."
    return GuardFinding(rule=rule, line=getattr(node, "lineno", None), where="python", message=message)


def harness_module(module: str, *, on_the_way: bool = False) -> bool:
    """True for kernelwright modules and names other than the candidate runtime and its exports;
    `on_the_way`: an attribute chain may pass through `kernelwright.sandbox` to reach native."""
    parts, runtime = module.split("."), CANDIDATE_RUNTIME.split(".")
    if parts[0] != "kernelwright":
        return False
    if parts[: len(runtime)] != runtime:
        return not (on_the_way and parts == runtime[: len(parts)])
    # native's own imports and helpers are harness; attributes of an export (CudaModule.launch) are not
    return len(parts) > len(runtime) and parts[len(runtime)] not in RUNTIME_EXPORTS


def reference_module(module: str, reference_names: set[str]) -> bool:
    """The reference by one of its names (`import relu`, `from kw_reference import x`), or anything
    of KernelBench's (the reference tasks themselves)."""
    parts = module.split(".")
    return parts[0] in reference_names or "kernelbench" in parts


def import_findings(
    node: ast.AST, aliases: dict[str, str], reference_names: set[str], constants: dict[str, str]
) -> Iterator[GuardFinding]:
    """Findings of both rules at one node of the (rewritten) tree."""
    for module, where in _imported(node, aliases, constants):
        if harness_module(module, on_the_way=isinstance(node, ast.Attribute)):
            yield _finding("harness-import", where, module)
        if reference_module(module, reference_names):
            yield _finding("reference-model", where, f"the task module '{module}'")


def _imported(
    node: ast.AST, aliases: dict[str, str], constants: dict[str, str]
) -> Iterator[tuple[str, ast.AST]]:
    """(module or module.name, node) for each thing `node` imports or reaches through `kernelwright`."""
    if isinstance(node, ast.Import):
        for alias in node.names:
            yield alias.name, node
    elif isinstance(node, ast.ImportFrom):
        module = node.module or ""
        for alias in node.names:
            # `from kernelwright.sandbox import verify` imports kernelwright.sandbox.verify; a
            # relative `from . import relu` imports the module `relu` next to the candidate
            name = f"{module}.{alias.name}" if module else alias.name
            yield module if alias.name == "*" else name, node
    elif isinstance(node, ast.Attribute) and isinstance(node.ctx, ast.Load):
        full, inner = dotted(node, aliases), dotted(node.value, aliases)
        # report the first step out of bounds only, not every longer chain through it
        if (
            full
            and full.startswith("kernelwright.")
            and not (inner and harness_module(inner, on_the_way=True))
        ):
            yield full, node
    elif isinstance(node, ast.Call):
        full = dotted(node.func, aliases) or ""
        if full in DYNAMIC_IMPORTS or full == "importlib.util.find_spec" or full.endswith("sys.modules.get"):
            named = static_string(node.args[0], constants) if node.args else None
            if named is not None:
                yield named, node
        elif full.split(".")[-1] in FILE_LOADERS:
            # loading the task's file by path: the module name given and the file's stem
            for arg in node.args[:2]:
                text = static_string(arg, constants)
                if text is not None:
                    yield PurePosixPath(text).stem if text.endswith(".py") else text, node
    elif isinstance(node, ast.Subscript) and dotted(node.value, aliases) == "sys.modules":
        subscripted = static_string(node.slice, constants)
        if subscripted is not None:
            yield subscripted, node


def dotted(node: ast.expr, aliases: dict[str, str]) -> str | None:
    """`F.relu` -> 'torch.nn.functional.relu' given the imports; None for non-name expressions."""
    parts: list[str] = []
    while isinstance(node, ast.Attribute):
        parts.append(node.attr)
        node = node.value
    if not isinstance(node, ast.Name):
        return None
    return ".".join([aliases.get(node.id, node.id), *reversed(parts)])
