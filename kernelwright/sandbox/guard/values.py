"""The abstract values the data flow tracks, and the scopes (module, classes, functions) it runs over."""

from __future__ import annotations

import ast
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field

from kernelwright.sandbox.guard.torch_names import TENSOR_GLUE, TORCH_CONSTANT, torch_glue

ScopeNode = ast.Module | ast.ClassDef | ast.FunctionDef | ast.AsyncFunctionDef | ast.Lambda
FunctionNode = ast.FunctionDef | ast.AsyncFunctionDef | ast.Lambda


@dataclass(frozen=True)
class Value:
    """One thing an expression may evaluate to. Kinds:

    tensor; path (a dotted name from an import or a builtin: `torch.relu`, `operator.mul`, `map`);
    method (a tensor's bound method, `name` is the method); layer (a torch.nn module instance);
    kernel (a CudaModule or load_inline extension, and anything reached from it); function (a def or
    lambda, `node`; `receiver` is the bound self/cls; `loose` binds every argument to every parameter);
    class and instance (a class of the candidate, `node`; `name == "super"` for super());
    container (tuple/list/dict/set: `receiver` holds its elements); cmethod (a container's method);
    getter (operator.methodcaller/attrgetter of `name`; `loose` for methodcaller).
    AST nodes compare by identity, so values of different defs or classes never merge.
    """

    kind: str
    name: str = ""
    node: ast.AST | None = None
    receiver: frozenset[Value] = field(default_factory=frozenset)
    loose: bool = False

    def is_torch_callable(self) -> bool:
        """A PyTorch function or layer (glue or not) that computes when called on tensors."""
        if self.kind == "path":
            last = self.name.split(".")[-1]
            return (
                self.name.startswith("torch.")
                and not last[:1].isupper()  # classes (torch.Tensor, torch.nn.Linear) are not ops
                and not TORCH_CONSTANT.match(last)
                and not self.name.startswith(("torch.cuda.", "torch.backends.", "torch.utils."))
            )
        return self.kind in ("method", "layer")

    def computes(self) -> bool:
        """Calling it is PyTorch compute (not glue)."""
        if self.kind == "path":
            return self.is_torch_callable() and not torch_glue(self.name)
        if self.kind == "method":
            return self.name not in TENSOR_GLUE
        return self.kind == "layer"

    def describe(self) -> str:
        if self.kind == "method":
            return f".{self.name}()"
        if self.kind == "layer":
            return f"the PyTorch layer {self.name}"
        return f"{self.name}()"


TENSOR = Value("tensor")
Values = frozenset[Value]


def container(items: Iterable[Value]) -> Value:
    """A container of `items`, flattened so that values never nest: a container or a container's
    method inside a container stands for its elements. That keeps the set of values finite, so
    the fixpoint ends."""
    flat: set[Value] = set()
    for item in items:
        flat |= item.receiver if item.kind in ("container", "cmethod") else {item}
    return Value("container", receiver=frozenset(flat))


def merged(values: Iterable[Value]) -> set[Value]:
    """`values` with all containers joined into one, and all methods of the same name on containers
    into one: a name holds one container whose elements only grow, so the fixpoint ends soon."""
    out: set[Value] = set()
    joined: dict[tuple[str, str], set[Value]] = {}
    for value in values:
        if value.kind in ("container", "cmethod"):
            joined.setdefault((value.kind, value.name), set()).update(value.receiver)
        else:
            out.add(value)
    out |= {Value(kind, name, receiver=frozenset(items)) for (kind, name), items in joined.items()}
    return out


def elements(values: Iterable[Value]) -> set[Value]:
    """What iterating, indexing or unpacking these values yields."""
    out: set[Value] = set()
    for value in values:
        if value.kind == "container":
            out |= value.receiver
        elif value.kind in ("tensor", "layer", "kernel"):
            out.add(value)  # rows of a tensor, modules of a ModuleList
    return out


def own_nodes(scope: ScopeNode) -> Iterator[ast.AST]:
    """The nodes that run in `scope` itself: nested defs, lambdas and classes appear (they bind a
    name; their decorators, defaults and bases run here) but their bodies are scopes of their own."""
    stack: list[ast.AST] = [scope.body] if isinstance(scope, ast.Lambda) else list(reversed(scope.body))
    while stack:
        node = stack.pop()
        yield node
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.Lambda):
            defaults = [*node.args.defaults, *(d for d in node.args.kw_defaults if d is not None)]
            stack += defaults + ([] if isinstance(node, ast.Lambda) else list(node.decorator_list))
        elif isinstance(node, ast.ClassDef):
            stack += [*node.bases, *(k.value for k in node.keywords), *node.decorator_list]
        else:
            stack += reversed(list(ast.iter_child_nodes(node)))


def scope_tree(tree: ast.Module) -> dict[ScopeNode, ScopeNode | None]:
    """Every scope of the module with its enclosing scope (None for the module)."""
    parents: dict[ScopeNode, ScopeNode | None] = {tree: None}
    todo: list[ScopeNode] = [tree]
    while todo:
        scope = todo.pop()
        for node in own_nodes(scope):
            if isinstance(node, ast.ClassDef | ast.FunctionDef | ast.AsyncFunctionDef | ast.Lambda):
                parents[node] = scope
                todo.append(node)
    return parents


def bound_names(scope: ScopeNode) -> set[str]:
    """Names local to `scope`: parameters, assignment targets, defs, classes, imports; minus those
    declared global or nonlocal."""
    names: set[str] = set()
    if isinstance(scope, ast.FunctionDef | ast.AsyncFunctionDef | ast.Lambda):
        a = scope.args
        names |= {p.arg for p in [*a.posonlyargs, *a.args, *a.kwonlyargs, a.vararg, a.kwarg] if p is not None}
    declared: set[str] = set()
    for node in own_nodes(scope):
        if isinstance(node, ast.Name) and isinstance(node.ctx, ast.Store | ast.Del):
            names.add(node.id)
        elif isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
            names.add(node.name)
        elif isinstance(node, ast.Import | ast.ImportFrom):
            names |= {a.asname or a.name.split(".")[0] for a in node.names if a.name != "*"}
        elif isinstance(node, ast.Global | ast.Nonlocal):
            declared |= set(node.names)
        elif isinstance(node, ast.ExceptHandler) and node.name:
            names.add(node.name)
    return names - declared


def decorator_kind(fn: ast.AST) -> str:
    """'staticmethod', 'classmethod', 'property' or '' for a plain function or method."""
    if not isinstance(fn, ast.FunctionDef | ast.AsyncFunctionDef):
        return ""
    for deco in fn.decorator_list:
        name = deco.id if isinstance(deco, ast.Name) else getattr(deco, "attr", "")
        if name in ("staticmethod", "classmethod"):
            return name
        if name in ("property", "cached_property"):
            return "property"
    return ""


def arith(values: Iterable[Value]) -> set[Value]:
    """Arithmetic (or a comparison) on anything tensor-valued gives a tensor."""
    return {TENSOR} if TENSOR in set(values) else set()
