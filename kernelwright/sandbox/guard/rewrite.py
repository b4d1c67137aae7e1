"""Constant strings folded and reflective access rewritten into plain syntax, before any rule runs.

`getattr(torch, "re" + "lu")` is `torch.relu`, `setattr(self, "f", torch.tanh)` is `self.f = ...`,
`vars(m)["x"]` and `m.__dict__["x"]` are `m.x`: rewriting them once lets every rule, name-based or
data-flow, see through them. The rewritten nodes keep their line numbers. Only strings whose value
is static (literals, known names, `+`, plain f-strings) are folded; a computed name stays as written
and the reflective call itself remains for the rules that judge it (dynamic-code, introspection).
"""

from __future__ import annotations

import ast
import copy

from kernelwright.sandbox.build.candidate_source import static_string


def string_constants(tree: ast.Module) -> dict[str, str]:
    """`NAME = <static string>` anywhere in the file (any scope: names rarely collide in a candidate,
    and a wrong guess can only add a finding, never hide one that is written out)."""
    constants: dict[str, str] = {}
    for _ in range(3):  # names defined from names defined later in the file
        for node in ast.walk(tree):
            if isinstance(node, ast.Assign | ast.AnnAssign | ast.NamedExpr) and node.value is not None:
                targets = node.targets if isinstance(node, ast.Assign) else [node.target]
                text = static_string(node.value, constants)
                for target in targets:
                    if text is not None and isinstance(target, ast.Name):
                        constants[target.id] = text
    return constants


def normalize(tree: ast.Module) -> tuple[ast.Module, dict[str, str]]:
    """A rewritten copy of `tree` and the string constants it was folded with."""
    constants = string_constants(tree)
    return _Rewriter(constants).visit(copy.deepcopy(tree)), constants


class _Rewriter(ast.NodeTransformer):
    def __init__(self, constants: dict[str, str]) -> None:
        self.constants = constants

    def _name(self, node: ast.expr | None) -> str | None:
        text = static_string(node, self.constants)
        return text if text is not None and text.isidentifier() else None

    def _attribute(self, obj: ast.expr, name: str, like: ast.AST, ctx: ast.expr_context) -> ast.Attribute:
        return ast.copy_location(ast.Attribute(value=obj, attr=name, ctx=ctx), like)

    def visit_Call(self, node: ast.Call) -> ast.AST:
        self.generic_visit(node)
        func, args = node.func, node.args
        # getattr(obj, "name"[, default]) and obj.__getattribute__("name")
        if isinstance(func, ast.Name) and func.id == "getattr" and len(args) in (2, 3):
            name = self._name(args[1])
            if name is not None:
                return self._attribute(args[0], name, node, ast.Load())
        if isinstance(func, ast.Attribute) and func.attr in ("__getattribute__", "__getattr__") and args:
            name = self._name(args[0])
            if name is not None:
                return self._attribute(func.value, name, node, ast.Load())
        return node

    def visit_Subscript(self, node: ast.Subscript) -> ast.AST:
        self.generic_visit(node)
        # obj.__dict__["name"] and vars(obj)["name"], read or written
        base = node.value
        obj: ast.expr | None = None
        if isinstance(base, ast.Attribute) and base.attr == "__dict__":
            obj = base.value
        elif isinstance(base, ast.Call) and isinstance(base.func, ast.Name) and base.func.id == "vars":
            obj = base.args[0] if len(base.args) == 1 else None
        name = self._name(node.slice) if obj is not None else None
        if obj is None or name is None:
            return node
        return self._attribute(obj, name, node, node.ctx)

    def visit_Expr(self, node: ast.Expr) -> ast.AST:
        self.generic_visit(node)
        # setattr(obj, "name", value), obj.__setattr__("name", value) and
        # object.__setattr__(obj, "name", value) as statements
        call = node.value
        if not isinstance(call, ast.Call):
            return node
        obj = name = value = None
        if isinstance(call.func, ast.Name) and call.func.id == "setattr" and len(call.args) == 3:
            obj, name, value = call.args[0], self._name(call.args[1]), call.args[2]
        elif isinstance(call.func, ast.Attribute) and call.func.attr == "__setattr__" and len(call.args) == 2:
            obj, name, value = call.func.value, self._name(call.args[0]), call.args[1]
        elif isinstance(call.func, ast.Attribute) and call.func.attr == "__setattr__" and len(call.args) == 3:
            obj, name, value = call.args[0], self._name(call.args[1]), call.args[2]  # object.__setattr__
        if obj is None or name is None or value is None:
            return node
        target = self._attribute(obj, name, call, ast.Store())
        return ast.copy_location(ast.Assign(targets=[target], value=value, lineno=node.lineno), node)
