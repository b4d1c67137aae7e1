"""The static guard: AST rules on the candidate's Python, text rules on its CUDA, and the PyTorch policy.

PyTorch policy, per task level: a level-1 task is one op, so any PyTorch compute in the code that
`ModelNew.forward` reaches is a finding (`torch-op-in-forward`): that op must be a custom kernel.
A task outside a levelN folder (level 0) gets the level-1 policy, the strict one.
Level 2/3 candidates may keep PyTorch layers, but forward must launch at least one custom kernel
(`no-custom-kernel`) and the CUDA must define one (`no-cuda-kernel`). On the C++ side the level-1
rules are `aten-op` and `library-op` (cuda_policy.py). `allow_torch=True` switches this policy off
and nothing else. Glue is allowed everywhere: allocation (empty/zeros/full...), views and reshapes,
contiguous, sizes, device moves.

What is PyTorch compute is decided by data flow (dataflow.py), not by the spelling of a call: a
torch function stored on `self`, in a lambda, a loop variable, a `functools.partial` or reached
through `getattr` with a constant name is still that function. The guard is the fast first answer;
the sandbox's dynamic checks (the launch check, the audit hooks, the correctness protocol) decide.
"""

from __future__ import annotations

import ast
from pathlib import Path

from kernelwright.contracts import Candidate, GuardFinding, Task
from kernelwright.sandbox.build.candidate_source import CandidateSyntaxError, cuda_sources, parse_candidate
from kernelwright.sandbox.guard.cuda_policy import cuda_policy, host_sources
from kernelwright.sandbox.guard.cuda_rules import cuda_rules
from kernelwright.sandbox.guard.dataflow import DataFlow
from kernelwright.sandbox.guard.imports import REFERENCE_MODULE
from kernelwright.sandbox.guard.python_rules import import_aliases, module_rules
from kernelwright.sandbox.guard.rewrite import normalize
from kernelwright.sandbox.guard.values import TENSOR, ScopeNode, own_nodes

MUTATORS = {"setdefault", "update", "append", "add", "insert", "extend", "__setitem__"}
CONTAINER_FACTORIES = {"dict", "list", "set", "defaultdict", "OrderedDict", "WeakValueDictionary",
                       "WeakKeyDictionary", "deque"}  # fmt: skip


def check(
    task: Task, candidate: Candidate, *, allow_torch: bool = False, filename: str = "candidate.py"
) -> list[GuardFinding]:
    """All findings for `candidate` against `task`; an empty list means the guard lets it through.
    `filename` is the name a syntax error gives the file (the user's own, when there is one)."""
    try:
        tree, constants = normalize(parse_candidate(candidate.source, filename=filename))
    except CandidateSyntaxError as err:
        return [GuardFinding(rule="syntax", line=None, message=str(err))]
    found = module_rules(tree, reference_names(task), constants)
    cuda = cuda_sources(candidate.source)
    host = host_sources(tree, constants)
    for index, source in enumerate(cuda):
        found += cuda_rules(source, label=f"CUDA source {index + 1}" if index else "CUDA source")
    for index, source in enumerate(host):
        found += cuda_rules(source, label=f"C++ source {index + 1}")
    model_new = next((n for n in tree.body if isinstance(n, ast.ClassDef) and n.name == "ModelNew"), None)
    if model_new is None:
        return [*found, GuardFinding(rule="no-model-new", message="The candidate defines no class ModelNew.")]
    policy = ForwardPolicy(tree, model_new)
    found += policy.state_findings()
    if not allow_torch:
        found += policy.findings(task.level)
        found += cuda_policy(cuda, host, task.level)
    return found


def reference_names(task: Task) -> set[str]:
    """Every module name the reference is or was importable under in the worker."""
    names = {
        REFERENCE_MODULE,
        "reference",
        "kernelbench",
        task.name,
        Path(task.path).stem if task.path else "",
    }
    return {n for n in names if n}


class ForwardPolicy:
    """What `ModelNew.forward` and everything it reaches do: kernel launches and PyTorch compute."""

    def __init__(self, tree: ast.Module, model_new: ast.ClassDef) -> None:
        self.flow = DataFlow(tree, import_aliases(tree))
        self.forward = next(
            (n for n in model_new.body if isinstance(n, ast.FunctionDef) and n.name == "forward"), None
        )
        self.reached: list[ScopeNode] = []
        if self.forward is not None:
            self.flow.seed(self.forward, {TENSOR})
            self.reached = self.flow.reached(self.forward)
        self.module_containers = {
            t.id
            for stmt in tree.body
            if isinstance(stmt, ast.Assign) and _is_container(stmt.value)
            for t in stmt.targets
            if isinstance(t, ast.Name)
        }

    def findings(self, level: int) -> list[GuardFinding]:
        if self.forward is None:
            return [GuardFinding(rule="no-forward", message="ModelNew defines no forward method.")]
        launches, compute = self._replay()
        found: list[GuardFinding] = []
        if not self.flow.converged:
            message = (
                "the guard's data flow did not settle on this file (values passed through a very long "
                "chain of functions); simplify how forward reaches its kernels."
            )
            found.append(GuardFinding(rule="analysis-limit", line=self.forward.lineno, message=message))
        if not launches:
            message = (
                "forward launches no custom kernel; do the work in a CUDA kernel "
                "(CudaModule.launch or a load_inline function)."
            )
            found.append(GuardFinding(rule="no-custom-kernel", line=self.forward.lineno, message=message))
        if level <= 1:
            for line, what in compute:
                library = "a GPU library" if "GPU library" in what else "PyTorch"
                message = (
                    f"{what} computes in {library} inside forward; this level-1 task's op must be done "
                    "by your own kernel (allocation, views and reshapes are fine)."
                )
                found.append(GuardFinding(rule="torch-op-in-forward", line=line, message=message))
        return found

    def _replay(self) -> tuple[bool, list[tuple[int | None, str]]]:
        """Evaluates every expression of the reached scopes once more, noting launches and compute."""
        launches = False
        compute: dict[int, tuple[int | None, str]] = {}

        def note(kind: str, node: ast.AST, what: str) -> None:
            nonlocal launches
            if kind == "launch":
                launches = True
            else:
                compute.setdefault(id(node), (getattr(node, "lineno", None), what))

        self.flow.note = note
        try:
            for scope in self.reached:
                for node in own_nodes(scope):
                    if isinstance(node, ast.expr):
                        self.flow.eval(node, scope)
                    if isinstance(node, ast.AugAssign) and TENSOR in self.flow.eval(node.target, scope):
                        note("compute", node, f"the in-place operator {type(node.op).__name__}")
                    if _unknown_launch(node, scope, self.flow):
                        launches = True
        finally:
            self.flow.note = None
        return launches, sorted(compute.values(), key=lambda item: item[0] or 0)

    def state_findings(self) -> list[GuardFinding]:
        """Results kept across calls in module-level containers: a cache keyed by pointer or value
        replays outputs, so timing loops measure a lookup. (Every level; not a PyTorch rule.)"""
        found: list[GuardFinding] = []
        for scope in self.reached:
            for node in own_nodes(scope):
                what = self._shared_state(node)
                if what:
                    message = f"{what} keeps results across calls; compute the output on every call."
                    found.append(
                        GuardFinding(rule="memoization", line=getattr(node, "lineno", None), message=message)
                    )
        return found

    def _shared_state(self, node: ast.AST) -> str | None:
        if isinstance(node, ast.Global):
            return f"`global {', '.join(node.names)}`"
        target = None
        if isinstance(node, ast.Subscript) and isinstance(node.ctx, ast.Store):
            target = node.value
        elif (
            isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.func.attr in MUTATORS
        ):
            target = node.func.value
        if isinstance(target, ast.Name) and target.id in self.module_containers:
            return f"the module-level container `{target.id}`"
        return None


def _unknown_launch(node: ast.AST, scope: ScopeNode, flow: DataFlow) -> bool:
    """`obj.launch(...)` on an object the data flow knows nothing about (built where it cannot see)
    counts as a launch, as the name-based guard did; the dynamic launch check decides."""
    return (
        isinstance(node, ast.Call)
        and isinstance(node.func, ast.Attribute)
        and node.func.attr == "launch"
        and not flow.eval(node.func.value, scope)
    )


def _is_container(value: ast.expr) -> bool:
    if isinstance(value, ast.Dict | ast.List | ast.Set | ast.DictComp | ast.ListComp | ast.SetComp):
        return True
    func = value.func if isinstance(value, ast.Call) else None
    name = func.id if isinstance(func, ast.Name) else func.attr if isinstance(func, ast.Attribute) else ""
    return name in CONTAINER_FACTORIES
