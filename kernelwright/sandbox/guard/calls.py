"""What a call does in the data flow: binds parameters, returns values, launches, computes.

A mixin of DataFlow (dataflow.py), split out to keep each module readable. Every callee kind of
values.Value has its case here; `None` from `call_value` means "not modeled", and the arguments of
an unmodeled call escape (`escape`).
"""

from __future__ import annotations

import ast
from collections.abc import Iterable
from typing import Protocol

from kernelwright.sandbox.guard.torch_names import (
    ARRAY_GLUE,
    ARRAY_LIBRARIES,
    CALL_THROUGH,
    GPU_ARRAY_LIBRARIES,
    INERT,
    KERNEL_GETTERS,
    MATH_BUILTINS,
    OPERATOR_GLUE,
    PASS_THROUGH,
    SCALAR_RESULTS,
    gpu_library_call,
    makes_kernels,
    torch_result,
)
from kernelwright.sandbox.guard.values import TENSOR, ScopeNode, Value, arith, container, elements


class DataFlow(Protocol):
    """What the call semantics use of the data flow they are mixed into (dataflow.DataFlow), named
    here so that this module does not import the one that imports it."""

    env: dict[ScopeNode, dict[str, set[Value]]]
    calls: dict[ScopeNode, set[ast.AST]]
    returns: dict[ast.AST, set[Value]]
    parent: dict[ScopeNode, ScopeNode | None]

    def add(self, target: set[Value], values: Iterable[Value]) -> None: ...
    def assign(
        self, target: ast.expr, values: set[Value], scope: ScopeNode, value: ast.expr | None = None
    ) -> None: ...
    def attribute(self, owner: Value, attr: str) -> set[Value]: ...
    def eval(self, node: ast.expr, scope: ScopeNode) -> set[Value]: ...
    def member(self, owner: Value, cls: ast.ClassDef, attr: str) -> set[Value]: ...
    def report(self, kind: str, node: ast.AST, what: str) -> None: ...
    def torch_based(self, cls: ast.ClassDef) -> bool: ...
    def call(self, node: ast.Call, scope: ScopeNode) -> set[Value]: ...
    def call_value(
        self,
        f: Value,
        node: ast.Call,
        scope: ScopeNode,
        args: Args,
        kwargs: Kwargs,
        star: bool,
        depth: int = 0,
    ) -> set[Value] | None: ...
    def call_path(
        self, f: Value, node: ast.Call, scope: ScopeNode, args: Args, kwargs: Kwargs, depth: int
    ) -> set[Value] | None: ...
    def escape(self, node: ast.Call, scope: ScopeNode, args: Args) -> None: ...
    def bind(
        self,
        fn: ast.AST,
        receiver: frozenset[Value],
        args: Args,
        kwargs: Kwargs,
        loose: set[Value] | None = None,
    ) -> None: ...


Args = list[set[Value]]
Kwargs = dict[str | None, set[Value]]
MUTATORS = {"append", "add", "insert", "extend", "update", "setdefault", "__setitem__"}
REGISTERS = {"register_buffer", "register_parameter", "add_module", "register_module"}
MAX_DEPTH = 8  # nested calls through __call__, getters and call-through builtins


class CallSemantics:
    def call(self: DataFlow, node: ast.Call, scope: ScopeNode) -> set[Value]:
        funcs = self.eval(node.func, scope)
        args = [self.eval(a, scope) for a in node.args]
        kwargs: Kwargs = {k.arg: self.eval(k.value, scope) for k in node.keywords}
        star = any(isinstance(a, ast.Starred) for a in node.args) or None in kwargs
        result: set[Value] = set()
        modeled = False
        for f in funcs:
            out = self.call_value(f, node, scope, args, kwargs, star)
            if out is not None:
                modeled = True
                result |= out
        if not modeled:
            self.escape(node, scope, [*args, *kwargs.values()])
        if isinstance(node.func, ast.Attribute) and node.func.attr in MUTATORS:
            # xs.append(torch.relu), self.__dict__.update(act=torch.relu): the container gains them
            added = elements(args[0]) if node.func.attr == "extend" and args else args[-1] if args else set()
            added = added | {v for vs in kwargs.values() for v in vs}
            self.assign(node.func.value, {container(added)}, scope)
        if isinstance(node.func, ast.Attribute) and node.func.attr in REGISTERS and len(node.args) >= 2:
            name = node.args[0].value if isinstance(node.args[0], ast.Constant) else None
            if isinstance(name, str):  # self.register_buffer("w", t) is self.w = t
                target = ast.Attribute(value=node.func.value, attr=name, ctx=ast.Store())
                self.assign(target, args[1], scope)
        return result

    def call_value(
        self: DataFlow,
        f: Value,
        node: ast.Call,
        scope: ScopeNode,
        args: Args,
        kwargs: Kwargs,
        star: bool,
        depth: int = 0,
    ) -> set[Value] | None:
        """What calling `f` returns, or None when the analysis does not model the callee."""
        flat = {v for vs in [*args, *kwargs.values()] for v in vs}
        if depth > MAX_DEPTH:
            return set()
        if f.kind == "kernel":
            if f.name.rsplit(".", 1)[-1] in KERNEL_GETTERS:
                return {Value("kernel", f"{f.name}()")}
            self.report("launch", node, "")
            return {TENSOR}
        if f.kind == "function" and f.node is not None:
            self.calls[scope].add(f.node)
            self.bind(f.node, f.receiver, args, kwargs, loose=flat if (f.loose or star) else None)
            return set(self.returns[f.node])
        if f.kind == "class" and isinstance(f.node, ast.ClassDef):
            instance = Value("instance", node=f.node)
            for init in self.member(instance, f.node, "__init__"):
                self.call_value(init, node, scope, args, kwargs, star, depth + 1)
            return {instance}
        if f.kind == "instance" and isinstance(f.node, ast.ClassDef):
            methods = self.member(f, f.node, "__call__") or self.member(f, f.node, "forward")
            if not methods and self.torch_based(f.node):
                methods = {Value("layer", f"the torch.nn subclass {f.node.name}")}
            outs = [self.call_value(m, node, scope, args, kwargs, star, depth + 1) for m in methods]
            return {v for out in outs for v in out or set()}
        if f.kind == "getter":  # operator.attrgetter(name)(x); methodcaller (loose) also calls it
            got = {v for r in (args[0] if args else set()) for v in self.attribute(r, f.name)}
            if not f.loose:
                return got
            outs = [self.call_value(g, node, scope, [], {}, False, depth + 1) for g in got]
            return {v for out in outs for v in out or set()}
        if f.kind == "cmethod":  # d.get(k), d.values(), xs.pop()
            return set(f.receiver) | {container(f.receiver)}
        if f.kind in ("method", "layer"):
            if f.computes():
                self.report("compute", node, f.describe())
            return set() if f.kind == "method" and f.name in SCALAR_RESULTS else {TENSOR}
        if f.kind == "path":
            return self.call_path(f, node, scope, args, kwargs, depth)
        return None

    def call_path(
        self: DataFlow, f: Value, node: ast.Call, scope: ScopeNode, args: Args, kwargs: Kwargs, depth: int
    ) -> set[Value] | None:
        name = f.name
        flat = {v for vs in [*args, *kwargs.values()] for v in vs}
        tensor_in = TENSOR in flat | elements(flat)
        if makes_kernels(name):
            return {Value("kernel", name)}
        if name.startswith("torch.") or name == "torch":
            if f.computes():
                self.report("compute", node, f.describe())
            made = torch_result(name)
            return {Value("layer", name)} if made == "layer" else {TENSOR} if made == "tensor" else set()
        if name.split(".")[0] in GPU_ARRAY_LIBRARIES:
            kind = gpu_library_call(name)
            if kind == "compute":
                self.report("compute", node, f"{name.removesuffix('()')}() (GPU library math)")
                return {TENSOR}
            if kind == "kernel-factory":  # calling what it made is library compute
                return {Value("path", f"{name}()")}
            if kind == "scalar":
                return set()
            if kind == "array" or tensor_in:
                return {TENSOR}
            return None
        if name.split(".")[0] in ARRAY_LIBRARIES and tensor_in:
            if name.split(".")[-1] not in ARRAY_GLUE:
                self.report("compute", node, f"{name}() on a tensor")
            return {TENSOR}  # an array viewing a tensor is as good as the tensor
        if name in ("functools.partial", "functools.partialmethod") and args:
            return {Value(v.kind, v.name, v.node, v.receiver, loose=True) for v in args[0]}
        if name in ("operator.methodcaller", "operator.attrgetter"):
            attr = node.args[0] if node.args else None
            text = attr.value if isinstance(attr, ast.Constant) and isinstance(attr.value, str) else None
            return {Value("getter", text, loose=name.endswith("methodcaller"))} if text else set()
        if name.startswith("operator.") and name[9:] not in OPERATOR_GLUE and tensor_in:
            self.report("compute", node, f"{name}()")
        if name in MATH_BUILTINS and tensor_in:
            self.report("compute", node, f"{name}() on a tensor")
        if name in CALL_THROUGH and args:  # map(f, xs), functools.reduce(f, xs), operator.call(f, x)
            inner = [a if name == "operator.call" else elements(a) for a in args[1:]] or [{TENSOR}]
            outs = [self.call_value(g, node, scope, inner, {}, True, depth + 1) for g in args[0]]
            return {v for out in outs for v in out or set()}
        if name in ("sorted", "min", "max") and None not in kwargs and "key" in kwargs:
            for key in kwargs["key"]:  # sorted(xs, key=torch.norm) calls the key on every element
                self.call_value(key, node, scope, [elements(flat)], {}, True, depth + 1)
        if name in PASS_THROUGH:
            items = elements(flat) | {v for vs in kwargs.values() for v in vs}
            if name in ("staticmethod", "classmethod"):
                return set(args[0]) if args else set()
            return {container(items)} | (items if name == "next" else set())
        if name in ("operator.getitem", "operator.__getitem__") and args:
            return elements(args[0])
        if name == "super":
            owner: ScopeNode | None = scope
            while owner is not None and not isinstance(owner, ast.ClassDef):
                owner = self.parent[owner]
            return {Value("instance", "super", owner)} if owner is not None else set()
        if name == "type" and len(args) == 1:
            tensors = {Value("path", "torch.Tensor")} if TENSOR in args[0] else set()
            return tensors | {Value("class", node=v.node) for v in args[0] if v.kind == "instance"}
        if name in MATH_BUILTINS or name.startswith("operator."):
            return arith(flat | elements(flat))
        return set() if name in INERT else None

    def escape(self: DataFlow, node: ast.Call, scope: ScopeNode, args: Args) -> None:
        """Arguments of a callee the analysis cannot see: PyTorch functions are reported, the
        candidate's own functions are analysed as called with tensors."""
        passed = {v for vs in args for v in vs}
        for value in passed | elements(passed):
            if value.kind == "function" and value.node is not None:
                self.calls[scope].add(value.node)
                self.bind(value.node, value.receiver, [], {}, loose={TENSOR})
            elif value.is_torch_callable() and value.computes():
                self.report("compute", node, f"{value.describe()} passed to a function")

    def bind(
        self: DataFlow,
        fn: ast.AST,
        receiver: frozenset[Value],
        args: Args,
        kwargs: Kwargs,
        loose: set[Value] | None = None,
    ) -> None:
        """Adds the call's argument values to `fn`'s parameters; `loose` goes to every parameter
        (partial objects, starred arguments, callbacks called where the analysis cannot see)."""
        if not isinstance(fn, ast.FunctionDef | ast.AsyncFunctionDef | ast.Lambda):
            return
        a, env = fn.args, self.env[fn]
        positional = [p.arg for p in [*a.posonlyargs, *a.args]]
        if receiver and positional:  # a bound method: self (or cls) is the receiver, not an argument
            self.add(env[positional[0]], receiver)
            positional = positional[1:]
        if loose is not None:
            spread = loose | elements(loose)
            names = [*positional, *(p.arg for p in a.kwonlyargs), *(p.arg for p in (a.vararg, a.kwarg) if p)]
            for name in names:
                self.add(env[name], spread | {container(spread)})
            return
        for name, values in zip(positional, args, strict=False):
            self.add(env[name], values)
        if a.vararg is not None and len(args) > len(positional):
            self.add(env[a.vararg.arg], {container(v for vs in args[len(positional) :] for v in vs)})
        known = set(positional) | {p.arg for p in a.kwonlyargs}
        for key, values in kwargs.items():
            if key in known:
                self.add(env[key], values)
            elif a.kwarg is not None:
                self.add(env[a.kwarg.arg], {container(values)})
