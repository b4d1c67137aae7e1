"""The package's import structure, read from the source (every import statement, including those
inside functions and under TYPE_CHECKING): no import circle between modules, and each stage imports
only from the stages below it.

    0  contracts, errors, interfaces,      the records, the errors, the seams,
       stop_rule                           and when a measuring loop has measured enough
    1  gpu, kernelbench, store             hardware facts, tasks, persistence
    2  sandbox, profiler                   judging and measuring candidates
    3  agents                              the Coder/Judge loop and its wiring
    4  batch, report                       suites across GPUs; reading results back
    5  commands, cli, doctor, __main__     the CLI

A module may import from its own stage and the ones below. Inside a stage, packages must not import
each other in a circle either, nor may any two modules. The sandbox adds its own rule on top (its
runner never imports its judge: tests/sandbox/test_trust_boundary.py).
"""

from __future__ import annotations

import ast
from collections import defaultdict
from collections.abc import Iterator
from functools import cache
from pathlib import Path

PACKAGE = Path(__file__).resolve().parents[1] / "kernelwright"
LAYERS = {
    "contracts": 0, "errors": 0, "interfaces": 0, "stop_rule": 0,
    "gpu": 1, "kernelbench": 1, "store": 1,
    "sandbox": 2, "profiler": 2,
    "agents": 3,
    "batch": 4, "report": 4,
    "commands": 5, "cli": 5, "doctor": 5, "__main__": 5,
}  # fmt: skip
ROOT = "kernelwright"


def _module_name(path: Path) -> str:
    parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


@cache
def modules() -> dict[str, Path]:
    return {_module_name(p): p for p in sorted(PACKAGE.rglob("*.py"))}


def _resolve(name: str) -> str | None:
    """The most specific known module `name` refers to (`from pkg import module` names a module)."""
    known = modules()
    while name and name not in known:
        name = name.rpartition(".")[0]
    return name or None


def _imported(module: str, path: Path) -> Iterator[str]:
    package = module if path.name == "__init__.py" else module.rpartition(".")[0]
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), str(path))):
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.rsplit(".", node.level - 1)[0] if node.level > 1 else package
                base = f"{anchor}.{base}" if base else anchor
            names = [f"{base}.{alias.name}" for alias in node.names]
        else:
            continue
        for name in names:
            if name == ROOT or name.startswith(ROOT + "."):
                target = _resolve(name)
                if target is not None and target != module:
                    yield target


@cache
def graph() -> dict[str, frozenset[str]]:
    return {module: frozenset(_imported(module, path)) for module, path in modules().items()}


def unit(module: str) -> str:
    """The stage-level unit a module belongs to: `kernelwright.agents.loop` -> 'agents'."""
    parts = module.split(".")
    return parts[1] if len(parts) > 1 else ROOT


def _cycles(edges: dict[str, set[str]] | dict[str, frozenset[str]]) -> list[list[str]]:
    """Strongly connected components with more than one member (Tarjan, iteratively)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []
    for start in sorted(edges):
        if start in index:
            continue
        work = [(start, iter(sorted(edges.get(start, ()))))]
        index[start] = low[start] = len(index)
        stack.append(start)
        on_stack.add(start)
        while work:
            node, children = work[-1]
            child = next(children, None)
            if child is not None:
                if child not in index:
                    index[child] = low[child] = len(index)
                    stack.append(child)
                    on_stack.add(child)
                    work.append((child, iter(sorted(edges.get(child, ())))))
                elif child in on_stack:
                    low[node] = min(low[node], index[child])
                continue
            work.pop()
            if work:
                low[work[-1][0]] = min(low[work[-1][0]], low[node])
            if low[node] == index[node]:
                component = []
                while True:
                    member = stack.pop()
                    on_stack.discard(member)
                    component.append(member)
                    if member == node:
                        break
                if len(component) > 1:
                    found.append(sorted(component))
    return found


def test_every_module_belongs_to_a_stage() -> None:
    unplaced = sorted({unit(m) for m in modules()} - set(LAYERS) - {ROOT})
    assert unplaced == [], f"add these to LAYERS in {__file__}: {unplaced}"


def test_stages_import_only_downward() -> None:
    upward = [
        f"{module} (stage {LAYERS[unit(module)]}) imports {target} (stage {LAYERS[unit(target)]})"
        for module, targets in graph().items()
        if unit(module) in LAYERS
        for target in sorted(targets)
        if unit(target) in LAYERS and LAYERS[unit(target)] > LAYERS[unit(module)]
    ]
    assert upward == []


def test_no_import_circle_between_packages() -> None:
    between: dict[str, set[str]] = defaultdict(set)
    for module, targets in graph().items():
        between[unit(module)] |= {unit(t) for t in targets if unit(t) != unit(module)}
    assert _cycles(between) == []


def test_no_import_circle_between_modules() -> None:
    assert _cycles(graph()) == []


def test_the_walk_sees_every_kind_of_import() -> None:
    """Guards the rules above against passing vacuously: module-level, function-level, relative and
    `from package import module` imports all become edges, and a circle is found as one."""
    edges = graph()
    assert "kernelwright.agents.loop" in edges["kernelwright.agents.session"]  # module level
    assert "kernelwright.sandbox.evaluate" in edges["kernelwright.agents.wiring"]  # inside a function
    assert "kernelwright.commands.optimize" in edges["kernelwright.cli"]  # from package import module
    assert _cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]
