"""The static guard: AST rules on the candidate's Python, text rules on its CUDA, and the PyTorch policy.

PyTorch policy, per task level: a level-1 task is one op, so any PyTorch compute in the code that
`ModelNew.forward` reaches is a finding (`torch-op-in-forward`): that op must be a custom kernel.
A task outside a levelN folder (level 0) gets the level-1 policy, the strict one.
Level 2/3 candidates may keep PyTorch layers, but forward must launch at least one custom kernel
(`no-custom-kernel`). `allow_torch=True` switches this policy off and nothing else. Glue is allowed
everywhere: allocation (empty/zeros/full...), views and reshapes, contiguous, sizes, device moves.
"""

from __future__ import annotations

import ast

from kernelwright.contracts import Candidate, GuardFinding, Task
from kernelwright.sandbox.build.candidate_source import CandidateSyntaxError, cuda_sources, parse_candidate
from kernelwright.sandbox.guard.cuda_rules import cuda_rules
from kernelwright.sandbox.guard.python_rules import dotted, import_aliases, module_rules

TORCH_GLUE = {
    "empty", "empty_like", "empty_strided", "zeros", "zeros_like", "ones", "ones_like", "full", "full_like",
    "tensor", "as_tensor", "Size", "device", "dtype", "finfo", "iinfo", "is_tensor", "no_grad", "inference_mode",
    "get_default_dtype", "broadcast_shapes", "promote_types", "current_stream", "current_device",
    "get_device_capability", "is_available", "set_device", "device_count", "Parameter",
}  # fmt: skip
TENSOR_GLUE = {
    "contiguous", "view", "view_as", "reshape", "reshape_as", "flatten", "unflatten", "squeeze", "unsqueeze",
    "permute", "transpose", "t", "expand", "expand_as", "narrow", "select", "split", "chunk", "unbind",
    "as_strided", "size", "dim", "ndimension", "numel", "nelement", "stride", "storage_offset",
    "is_contiguous", "data_ptr", "element_size", "to", "cuda", "cpu", "float", "half", "bfloat16", "double",
    "int", "long", "type", "type_as", "new_empty", "new_zeros", "new_ones", "new_full", "new_tensor",
    "zero_", "fill_", "detach", "requires_grad_", "get_device", "item", "tolist", "__len__",
}  # fmt: skip
SCALAR_RESULTS = {"size", "dim", "ndimension", "numel", "nelement", "stride", "storage_offset", "is_contiguous",
                  "data_ptr", "element_size", "get_device", "item", "tolist", "__len__"}  # fmt: skip
KERNEL_FACTORIES = {"CudaModule", "load_inline", "cpp_extension.load"}
MUTATORS = {"setdefault", "update", "append", "add", "insert", "extend", "__setitem__"}
NON_TENSOR_FACTORIES = {"device", "dtype", "Size", "Generator", "Stream", "Event", "finfo", "iinfo"}
TENSOR_OPERATORS = (ast.Add, ast.Sub, ast.Mult, ast.Div, ast.MatMult, ast.Pow, ast.FloorDiv, ast.Mod)


def check(task: Task, candidate: Candidate, *, allow_torch: bool = False) -> list[GuardFinding]:
    """All findings for `candidate` against `task`; an empty list means the guard lets it through."""
    try:
        tree = parse_candidate(candidate.source)
    except CandidateSyntaxError as err:
        return [GuardFinding(rule="syntax", line=None, message=str(err))]
    found = module_rules(tree, reference_names={task.name, "reference", "kernelbench"})
    for index, source in enumerate(cuda_sources(candidate.source)):
        found += cuda_rules(source, label=f"CUDA source {index + 1}" if index else "CUDA source")
    model_new = next((n for n in tree.body if isinstance(n, ast.ClassDef) and n.name == "ModelNew"), None)
    if model_new is None:
        return [*found, GuardFinding(rule="no-model-new", message="The candidate defines no class ModelNew.")]
    policy = ForwardPolicy(tree, model_new)
    found += policy.state_findings()
    if not allow_torch:
        found += policy.findings(task.level)
    return found


class ForwardPolicy:
    """What `ModelNew.forward` and the functions it calls do: kernel launches and PyTorch compute."""

    def __init__(self, tree: ast.Module, model_new: ast.ClassDef) -> None:
        self.aliases = import_aliases(tree)
        self.methods = {n.name: n for n in model_new.body if isinstance(n, ast.FunctionDef)}
        self.functions = {n.name: n for n in tree.body if isinstance(n, ast.FunctionDef)}
        # Methods of the candidate's other classes, by name: `Helper().run(x)` reaches every `run`.
        self.other_methods: dict[str, list[ast.FunctionDef]] = {}
        for cls in tree.body:
            if isinstance(cls, ast.ClassDef) and cls is not model_new:
                for fn in cls.body:
                    if isinstance(fn, ast.FunctionDef):
                        self.other_methods.setdefault(fn.name, []).append(fn)
        assigns = _module_assigns(tree)
        self.kernel_globals = {name for name, value in assigns if self._makes_kernels(value)}
        self.module_containers = {name for name, value in assigns if _is_container(value)}
        self.kernel_attrs, self.layer_attrs, self.tensor_attrs = self._init_attributes()

    def findings(self, level: int) -> list[GuardFinding]:
        forward = self.methods.get("forward")
        if forward is None:
            return [GuardFinding(rule="no-forward", message="ModelNew defines no forward method.")]
        reached = self._reachable(forward)
        found: list[GuardFinding] = []
        if not any(self._launches(fn) for fn in reached):
            message = (
                "forward launches no custom kernel; do the work in a CUDA kernel "
                "(CudaModule.launch or a load_inline function)."
            )
            found.append(GuardFinding(rule="no-custom-kernel", line=forward.lineno, message=message))
        if level <= 1:
            found += [f for fn in reached for f in self._torch_ops(fn)]
        return found

    def state_findings(self) -> list[GuardFinding]:
        """Results kept across calls in module-level containers: a cache keyed by pointer or value
        replays outputs, so timing loops measure a lookup. (Every level; not a PyTorch rule.)"""
        forward = self.methods.get("forward")
        if forward is None:
            return []
        found: list[GuardFinding] = []
        for fn in self._reachable(forward):
            for node in ast.walk(fn):
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

    # ---------------------------------------------------------------- what is what

    def _makes_kernels(self, value: ast.expr) -> bool:
        if isinstance(value, ast.Call):
            full = dotted(value.func, self.aliases) or ""
            return (
                full.split(".")[-1] in KERNEL_FACTORIES or ".".join(full.split(".")[-2:]) in KERNEL_FACTORIES
            )
        return isinstance(value, ast.Name) and value.id in self.kernel_globals

    def _init_attributes(self) -> tuple[set[str], set[str], set[str]]:
        kernels, layers, tensors = set(), set(), set()
        for fn in self.methods.values():
            for node in ast.walk(fn):
                if not isinstance(node, ast.Assign):
                    continue
                for target in node.targets:
                    if not (isinstance(target, ast.Attribute) and _is_self(target.value)):
                        continue
                    made_by = (
                        dotted(node.value.func, self.aliases) or ""
                        if isinstance(node.value, ast.Call)
                        else ""
                    )
                    if self._makes_kernels(node.value):
                        kernels.add(target.attr)
                    elif made_by.startswith("torch.nn.") and made_by.split(".")[-1] != "Parameter":
                        layers.add(target.attr)
                    elif made_by.startswith("torch.") and _makes_tensors(made_by):
                        tensors.add(target.attr)
        return kernels, layers, tensors

    def _callees(self, call: ast.Call) -> list[ast.FunctionDef]:
        func = call.func
        if isinstance(func, ast.Attribute) and _is_self(func.value) and func.attr in self.methods:
            return [self.methods[func.attr]]
        if isinstance(func, ast.Attribute):
            return self.other_methods.get(func.attr, [])
        if isinstance(func, ast.Name) and func.id in self.functions:
            return [self.functions[func.id]]
        if isinstance(func, ast.Name):  # constructing a helper class runs its __init__/__call__
            return [m for name in ("__init__", "__call__") for m in self.other_methods.get(name, [])]
        return []

    def _reachable(self, start: ast.FunctionDef) -> list[ast.FunctionDef]:
        seen, todo = [start], [start]
        while todo:
            for node in ast.walk(todo.pop()):
                for callee in self._callees(node) if isinstance(node, ast.Call) else []:
                    if callee not in seen:
                        seen.append(callee)
                        todo.append(callee)
        return seen

    def _launches(self, fn: ast.FunctionDef) -> bool:
        for node in ast.walk(fn):
            if not (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute)):
                continue
            receiver = node.func.value
            if node.func.attr == "launch" and not (dotted(receiver, self.aliases) or "").startswith("torch"):
                return True
            if isinstance(receiver, ast.Name) and receiver.id in self.kernel_globals:
                return True
            if (
                isinstance(receiver, ast.Attribute)
                and _is_self(receiver.value)
                and receiver.attr in self.kernel_attrs
            ):
                return True
        return False

    # ---------------------------------------------------------------- PyTorch compute

    def _torch_ops(self, fn: ast.FunctionDef) -> list[GuardFinding]:
        is_method = fn in self.methods.values() or any(fn in fns for fns in self.other_methods.values())
        tensors = {a.arg for a in fn.args.args[1 if is_method else 0 :]}
        found: list[GuardFinding] = []
        for stmt in ast.walk(fn):
            if isinstance(stmt, ast.Assign) and self._is_tensor(stmt.value, tensors):
                tensors |= {t.id for t in stmt.targets if isinstance(t, ast.Name)}
        for node in ast.walk(fn):
            what = self._compute(node, tensors)
            if what:
                message = (
                    f"{what} computes in PyTorch inside forward; this level-1 task's op must be done "
                    "by your own kernel (allocation, views and reshapes are fine)."
                )
                found.append(
                    GuardFinding(
                        rule="torch-op-in-forward", line=getattr(node, "lineno", None), message=message
                    )
                )
        return found

    def _compute(self, node: ast.AST, tensors: set[str]) -> str | None:
        if isinstance(node, ast.Call):
            full = dotted(node.func, self.aliases) or ""
            # torch.cuda.* is device and stream management (the stream rules judge that), not math.
            if (
                full.startswith("torch.")
                and not full.startswith("torch.cuda.")
                and full.split(".")[-1] not in TORCH_GLUE
            ):
                return f"{full}()"
            func = node.func
            if isinstance(func, ast.Attribute) and _is_self(func.value) and func.attr in self.layer_attrs:
                return f"the PyTorch layer self.{func.attr}"
            if (
                isinstance(func, ast.Attribute)
                and func.attr not in TENSOR_GLUE
                and self._is_tensor(func.value, tensors)
            ):
                return f".{func.attr}()"
        operands = (node.left, node.right) if isinstance(node, ast.BinOp) else ()
        if (
            isinstance(node, ast.BinOp)
            and isinstance(node.op, TENSOR_OPERATORS)
            and any(self._is_tensor(operand, tensors) for operand in operands)
        ):
            return f"the operator {type(node.op).__name__}"
        if isinstance(node, ast.AugAssign) and self._is_tensor(node.target, tensors):
            return f"the in-place operator {type(node.op).__name__}"
        return None

    def _is_tensor(self, node: ast.expr, tensors: set[str]) -> bool:
        if isinstance(node, ast.Name):
            return node.id in tensors
        if isinstance(node, ast.Attribute) and _is_self(node.value):
            return node.attr in self.tensor_attrs
        if isinstance(node, ast.Subscript):
            return self._is_tensor(node.value, tensors)
        if isinstance(node, ast.BinOp):
            return self._is_tensor(node.left, tensors) or self._is_tensor(node.right, tensors)
        if isinstance(node, ast.Call):
            full = dotted(node.func, self.aliases) or ""
            if full.startswith("torch.") and full.split(".")[-1] not in (
                "Size",
                "device",
                "dtype",
                "finfo",
                "iinfo",
            ):
                return True
            func = node.func
            if isinstance(func, ast.Attribute) and func.attr not in SCALAR_RESULTS:
                return self._is_tensor(func.value, tensors)
        return False


def _makes_tensors(qualified: str) -> bool:
    """torch.cuda.Stream(), torch.device(...), torch.Generator() are objects, not tensors."""
    last = qualified.split(".")[-1]
    return not qualified.startswith(("torch.cuda.", "torch.backends.")) and last not in NON_TENSOR_FACTORIES


def _is_container(value: ast.expr) -> bool:
    if isinstance(value, ast.Dict | ast.List | ast.Set | ast.DictComp | ast.ListComp | ast.SetComp):
        return True
    return (
        isinstance(value, ast.Call)
        and isinstance(value.func, ast.Name | ast.Attribute)
        and (
            (value.func.id if isinstance(value.func, ast.Name) else value.func.attr)
            in (
                "dict",
                "list",
                "set",
                "defaultdict",
                "OrderedDict",
                "WeakValueDictionary",
                "WeakKeyDictionary",
                "deque",
            )
        )
    )


def _is_self(node: ast.expr) -> bool:
    return isinstance(node, ast.Name) and node.id == "self"


def _module_assigns(tree: ast.Module) -> list[tuple[str, ast.expr]]:
    pairs = []
    for stmt in tree.body:
        if isinstance(stmt, ast.Assign):
            pairs += [(t.id, stmt.value) for t in stmt.targets if isinstance(t, ast.Name)]
    return pairs
