"""Which expressions of a candidate are PyTorch values, followed by data flow rather than by names.

A may-analysis over the whole file, flow-insensitive within a scope, run to a fixpoint: names,
attributes set on `self` or on a class (in `__init__` or anywhere, by assignment, `setattr`,
`register_buffer`, `__dict__`), class attributes, properties, parameters (bound from every call
site, defaults included), return values and yields, loop/comprehension/walrus/with targets,
container elements, `functools.partial`, `operator.*`, `methodcaller`/`attrgetter`, `map`/`reduce`,
lambdas, static and class methods, `super()`, `type(self)`, helper classes, nn.Module subclasses and
autograd Functions. A value passed to a callee the analysis cannot see escapes: a PyTorch function
escaping is reported, a function of the candidate escaping is analysed as called with tensors.

Out of reach: values through `eval`/`exec`/`__import__`, attribute names computed at run time,
other modules' code, and objects changed behind the analysis's back (through `gc`, frames, ctypes).
The rules for those (dynamic-code, introspection, native-code, monkeypatch) and the dynamic checks
are the defence there.
"""

from __future__ import annotations

import ast
from collections import defaultdict
from collections.abc import Callable, Iterable

from kernelwright.sandbox.guard.calls import CallSemantics
from kernelwright.sandbox.guard.torch_names import KERNEL_GETTERS, TENSOR_META_ATTRS, TENSOR_VIEW_ATTRS
from kernelwright.sandbox.guard.values import (
    TENSOR,
    FunctionNode,
    ScopeNode,
    Value,
    arith,
    bound_names,
    container,
    decorator_kind,
    elements,
    merged,
    own_nodes,
    scope_tree,
)

MAX_ROUNDS = 64  # an honest candidate settles in two or three
Note = Callable[[str, ast.AST, str], None]


class DataFlow(CallSemantics):
    """Values of every name, attribute, parameter and return in the file, and who calls whom."""

    def __init__(self, tree: ast.Module, aliases: dict[str, str]) -> None:
        self.aliases = aliases
        self.parent = scope_tree(tree)
        self.module = tree
        self.local = {scope: bound_names(scope) for scope in self.parent}
        self.env: dict[ScopeNode, dict[str, set[Value]]] = {s: defaultdict(set) for s in self.parent}
        self.attrs: dict[tuple[ast.ClassDef, str], set[Value]] = defaultdict(set)
        self.returns: dict[ast.AST, set[Value]] = defaultdict(set)
        self.calls: dict[ScopeNode, set[ast.AST]] = defaultdict(set)
        self.classes = {s.name: s for s in self.parent if isinstance(s, ast.ClassDef)}
        self.note: Note | None = None  # set while the policy replays the reached scopes
        self._getters: set[ast.AST] = set()  # property and __getattr__ bodies an attribute ran
        self.converged = True
        self._changed = False
        for scope in self.parent:  # `self`/`cls` of every method, whether or not anything calls it
            owner = self.parent[scope]
            if isinstance(owner, ast.ClassDef) and isinstance(scope, ast.FunctionDef | ast.AsyncFunctionDef):
                kind, args = decorator_kind(scope), scope.args.posonlyargs + scope.args.args
                if args and kind != "staticmethod":
                    first = Value("class" if kind == "classmethod" else "instance", node=owner)
                    self.env[scope][args[0].arg].add(first)
        self._fixpoint()

    def seed(self, method: FunctionNode, values: set[Value]) -> None:
        """Every parameter of `method` but self holds `values` (forward's inputs); then to the fixpoint."""
        a = method.args
        for param in [*[*a.posonlyargs, *a.args][1:], *a.kwonlyargs]:
            self.add(self.env[method][param.arg], values)
        for packed in (a.vararg, a.kwarg):  # forward(self, *xs) and **kw hold tensors too
            if packed is not None:
                self.add(self.env[method][packed.arg], {container(values)})
        self._fixpoint()

    def reached(self, start: ast.AST) -> list[ScopeNode]:
        """`start` and every function it may call, directly or through values."""
        seen: list[ScopeNode] = [start] if isinstance(start, ast.FunctionDef) else []
        for scope in seen:
            seen += [c for c in self.parent if c in self.calls[scope] and c not in seen]
        return seen

    def report(self, kind: str, node: ast.AST, what: str) -> None:
        if self.note is not None:
            self.note(kind, node, what)

    def add(self, target: set[Value], values: Iterable[Value]) -> None:
        new = set(values)
        if new <= target:
            return
        joined = merged(target | new)
        if joined != target:
            target.clear()
            target |= joined
            self._changed = True

    def _fixpoint(self) -> None:
        scopes = list(self.parent)
        for _ in range(MAX_ROUNDS):
            self._changed = False
            # alternate directions: arguments flow from callers to callees, returns the other way
            scopes.reverse()
            for scope in scopes:
                self.run(scope)
            if not self._changed:
                return
        self.converged = False

    # ---------------------------------------------------------------- classes

    def mro(self, cls: ast.ClassDef) -> list[ast.ClassDef]:
        order: list[ast.ClassDef] = []
        todo = [cls]
        while todo:
            c = todo.pop(0)
            if c not in order:
                order.append(c)
                todo += [
                    self.classes[b.id] for b in c.bases if isinstance(b, ast.Name) and b.id in self.classes
                ]
        return order

    def torch_based(self, cls: ast.ClassDef) -> bool:
        """Some base is a torch class (an nn layer subclassed without its own forward)."""
        bases = [
            v for c in self.mro(cls) for b in c.bases for v in self.eval(b, self.parent[c] or self.module)
        ]
        return any(v.kind == "path" and v.name.startswith("torch.") for v in bases)

    def member(self, owner: Value, cls: ast.ClassDef, attr: str) -> set[Value]:
        """`owner.attr` for an instance or class of `cls` (or super() in it), methods bound."""
        classes = self.mro(cls)[1:] if owner.name == "super" else self.mro(cls)
        instance = Value("instance", node=cls)
        out: set[Value] = {Value("class", node=cls)} if attr == "__class__" else set()
        for c in classes:
            # self.x = ..., and self.__dict__.update(x=...) for any name
            out |= self.attrs[(c, attr)] | elements(self.attrs[(c, "__dict__")])
            for v in self.env[c].get(attr, set()) if attr in self.local[c] else set():
                kind = decorator_kind(v.node) if v.kind == "function" and v.node is not None else ""
                if v.kind != "function" or kind == "staticmethod":
                    out.add(v)
                elif kind == "classmethod":
                    out.add(Value("function", node=v.node, receiver=frozenset({Value("class", node=cls)})))
                elif kind == "property" and v.node is not None:
                    self.bind(v.node, frozenset({instance}), [], {})
                    self._getters.add(v.node)
                    out |= self.returns[v.node]
                elif owner.kind == "instance":
                    out.add(Value("function", node=v.node, receiver=frozenset({instance})))
                else:
                    out.add(v)  # a plain method through the class: self is passed explicitly
        if owner.kind == "class" and attr == "apply" and "forward" in self.local[cls]:
            # torch.autograd.Function: Fn.apply(x) runs the static forward(ctx, x)
            out |= {Value("function", node=v.node, loose=True) for v in self.env[cls]["forward"]}
        if not out and owner.kind == "instance" and attr != "__getattr__":
            for getter in self.member(owner, cls, "__getattr__"):  # def __getattr__(self, name)
                if getter.node is not None:
                    self._getters.add(getter.node)
                    out |= self.returns[getter.node]
        return out

    # ---------------------------------------------------------------- statements

    def run(self, scope: ScopeNode) -> None:
        """One pass over the statements of `scope`, adding what each binds."""
        if isinstance(scope, ast.Lambda):
            self.add(self.returns[scope], self.eval(scope.body, scope))
        for node in own_nodes(scope):
            if isinstance(node, ast.Assign):
                values = self.eval(node.value, scope)
                for target in node.targets:
                    self.assign(target, values, scope, node.value)
            elif isinstance(node, ast.AnnAssign) and node.value is not None:
                self.assign(node.target, self.eval(node.value, scope), scope, node.value)
            elif isinstance(node, ast.AugAssign):
                old = self.eval(node.target, scope)
                self.assign(node.target, old | arith(old | self.eval(node.value, scope)), scope)
            elif isinstance(node, ast.For | ast.AsyncFor | ast.comprehension):
                self.assign(node.target, elements(self.eval(node.iter, scope)), scope)
            elif isinstance(node, ast.NamedExpr):
                self.assign(node.target, self.eval(node.value, scope), scope)
            elif isinstance(node, ast.withitem) and node.optional_vars is not None:
                self.assign(node.optional_vars, self.eval(node.context_expr, scope), scope)
            elif isinstance(node, ast.Return) and node.value is not None:
                self.add(self.returns[scope], self.eval(node.value, scope))
            elif isinstance(node, ast.Yield | ast.YieldFrom) and node.value is not None:
                yielded = self.eval(node.value, scope)
                self.add(
                    self.returns[scope], yielded if isinstance(node, ast.YieldFrom) else {container(yielded)}
                )
            elif isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.Lambda):
                self._defaults(node, scope)
                if not isinstance(node, ast.Lambda):
                    self.add(self.env[scope][node.name], {Value("function", node=node)})
            elif isinstance(node, ast.ClassDef):
                self.add(self.env[scope][node.name], {Value("class", node=node)})
            elif isinstance(node, ast.Import | ast.ImportFrom):
                for alias in node.names:
                    local = alias.asname or alias.name.split(".")[0]
                    self.add(self.env[scope][local], {Value("path", self.aliases.get(local, local))})
            elif isinstance(node, ast.Call):
                self.eval(node, scope)  # binds parameters and fills containers

    def _defaults(self, fn: FunctionNode, scope: ScopeNode) -> None:
        a = fn.args
        positional = [*a.posonlyargs, *a.args]
        for param, default in zip(positional[len(positional) - len(a.defaults) :], a.defaults, strict=True):
            self.add(self.env[fn][param.arg], self.eval(default, scope))
        for param, kw_default in zip(a.kwonlyargs, a.kw_defaults, strict=True):
            if kw_default is not None:
                self.add(self.env[fn][param.arg], self.eval(kw_default, scope))

    def assign(
        self, target: ast.expr, values: set[Value], scope: ScopeNode, value: ast.expr | None = None
    ) -> None:
        if isinstance(target, ast.Name):
            self.add(self._binding(target.id, scope), values)
        elif isinstance(target, ast.Tuple | ast.List):
            literal = value.elts if isinstance(value, ast.Tuple | ast.List) else None
            pairwise = literal is not None and len(literal) == len(target.elts)
            for i, elt in enumerate(target.elts):
                if literal is not None and pairwise and not isinstance(elt, ast.Starred):
                    self.assign(elt, self.eval(literal[i], scope), scope, literal[i])
                else:
                    self.assign(elt, elements(values), scope)
        elif isinstance(target, ast.Starred):  # `values` are already the unpacked elements
            self.assign(target.value, {container(values)}, scope)
        elif isinstance(target, ast.Attribute):
            for owner in self.eval(target.value, scope):
                if owner.kind in ("instance", "class") and isinstance(owner.node, ast.ClassDef):
                    self.add(self.attrs[(owner.node, target.attr)], values)
        elif isinstance(target, ast.Subscript):
            self.assign(target.value, {container(values)} | self.eval(target.value, scope), scope)

    def _binding(self, name: str, scope: ScopeNode) -> set[Value]:
        for s in self._chain(scope):
            if name in self.local[s]:
                return self.env[s][name]
        return self.env[self.module][name]

    def _chain(self, scope: ScopeNode) -> list[ScopeNode]:
        """The scopes a name in `scope` resolves through: enclosing classes are skipped, as in Python."""
        chain: list[ScopeNode] = []
        s: ScopeNode | None = scope
        while s is not None:
            if s is scope or not isinstance(s, ast.ClassDef):
                chain.append(s)
            s = self.parent[s]
        return chain

    # ---------------------------------------------------------------- expressions

    def eval(self, node: ast.expr, scope: ScopeNode) -> set[Value]:
        """Every value `node` may have in `scope`; reports compute while the policy replays."""
        if isinstance(node, ast.Name):
            if any(node.id in self.local[s] for s in self._chain(scope)):
                return set(self._binding(node.id, scope))
            return {Value("path", self.aliases.get(node.id, node.id))}
        if isinstance(node, ast.Attribute):
            values = {v for owner in self.eval(node.value, scope) for v in self.attribute(owner, node.attr)}
            self.calls[scope] |= self._getters  # reading a property runs its body here
            self._getters.clear()
            return values
        if isinstance(node, ast.Call):
            return self.call(node, scope)
        if isinstance(node, ast.Lambda):
            return {Value("function", node=node)}
        if isinstance(node, ast.BinOp | ast.UnaryOp | ast.Compare):
            return self._operator(node, scope)
        if isinstance(node, ast.Subscript):
            base, index = self.eval(node.value, scope), self.eval(node.slice, scope)
            if TENSOR in base and TENSOR in index:
                self.report("compute", node, "indexing a tensor with a tensor")
            return elements(base) | {v for v in base if v.kind == "kernel"}
        if isinstance(node, ast.Tuple | ast.List | ast.Set | ast.Dict):
            items = node.values if isinstance(node, ast.Dict) else node.elts
            return {container(v for item in items for v in self.eval(item, scope))}
        if isinstance(node, ast.ListComp | ast.SetComp | ast.GeneratorExp | ast.DictComp):
            return {container(self.eval(node.value if isinstance(node, ast.DictComp) else node.elt, scope))}
        if isinstance(node, ast.IfExp):
            return self.eval(node.body, scope) | self.eval(node.orelse, scope)
        parts: list[ast.expr | None] = []
        if isinstance(node, ast.BoolOp):
            parts = list(node.values)
        elif isinstance(node, ast.NamedExpr | ast.Starred | ast.Await):
            parts = [node.value]
        elif isinstance(node, ast.Slice):
            parts = [node.lower, node.upper, node.step]
        return {v for part in parts if part is not None for v in self.eval(part, scope)}

    def _operator(self, node: ast.BinOp | ast.UnaryOp | ast.Compare, scope: ScopeNode) -> set[Value]:
        op: ast.unaryop | ast.operator | ast.cmpop
        if isinstance(node, ast.UnaryOp):
            operands, op = self.eval(node.operand, scope), node.op
            if isinstance(op, ast.Not):
                return set()
        elif isinstance(node, ast.BinOp):
            operands, op = self.eval(node.left, scope) | self.eval(node.right, scope), node.op
            if operands and all(v.kind == "container" for v in operands):
                return {container(elements(operands))}  # tuple and list concatenation
        else:
            operands = {v for x in [node.left, *node.comparators] for v in self.eval(x, scope)}
            op = node.ops[0]
            if all(isinstance(o, ast.Is | ast.IsNot | ast.In | ast.NotIn) for o in node.ops):
                return set()  # identity and membership tests compute nothing on the tensor
        if TENSOR in operands:
            self.report("compute", node, f"the operator {type(op).__name__}")
        return arith(operands)

    def attribute(self, owner: Value, attr: str) -> set[Value]:
        kind = owner.kind
        if attr == "__call__" and kind in ("path", "method", "layer", "function", "kernel"):
            return {owner}
        if kind == "path":  # a bounded chain: `x = x.next` in a loop must not grow names forever
            return {Value("path", f"{owner.name}.{attr}")} if owner.name.count(".") < 12 else {owner}
        if kind == "tensor":
            if attr in TENSOR_VIEW_ATTRS:
                return {TENSOR}
            if attr == "__class__":
                return {Value("path", "torch.Tensor")}
            return set() if attr in TENSOR_META_ATTRS else {Value("method", attr)}
        if kind == "layer":  # a member of a layer: a sub-module, a parameter or a method (loose marks it)
            return set() if owner.loose else {Value("layer", f"{owner.name}.{attr}", loose=True), TENSOR}
        if kind == "kernel":
            return {Value("kernel", f"{owner.name}.{attr}")} if attr in KERNEL_GETTERS else {owner}
        if kind == "container":
            return {Value("cmethod", attr, receiver=owner.receiver)}
        if kind in ("instance", "class") and isinstance(owner.node, ast.ClassDef):
            return self.member(owner, owner.node, attr)
        return set()
