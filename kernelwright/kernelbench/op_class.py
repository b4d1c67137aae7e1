"""The operator class of a task ('matmul', 'conv', 'softmax', ...): which kind of kernel it needs,
so that kernels that won on one task can be shown as examples for another of the same kind.

Read from the task's source without running it (stored tasks are classified too, and the store may
hold sources from anywhere): the ops of `Model.forward` in evaluation order, with `self.x(...)`
resolved through what `__init__` assigned to `self.x`, and the class's own helper methods, module
functions and module classes followed. The first heavy op (attention, conv, RNN, matmul) decides;
otherwise the most specific class among the ops, or one that the task's name states (RMSNorm written
out as pow/mean/rsqrt is still a norm). Deterministic: same source and name, same class."""

from __future__ import annotations

import ast
import re
from enum import StrEnum

from kernelwright.contracts import Task


class OpClass(StrEnum):
    attention = "attention"
    conv_transpose = "conv_transpose"
    conv = "conv"
    rnn = "rnn"
    matmul = "matmul"
    loss = "loss"
    norm = "norm"
    softmax = "softmax"
    scan = "scan"
    pooling = "pooling"
    reduction = "reduction"
    activation = "activation"
    data_movement = "data_movement"
    elementwise = "elementwise"
    other = "other"


# The op that does most of the work names the kernel's kind, whatever light ops follow it.
HEAVY = (OpClass.attention, OpClass.conv_transpose, OpClass.conv, OpClass.rnn, OpClass.matmul)
# Among light ops the most specific one wins: a softmax kernel also scales, a norm also reduces.
LIGHT_PRIORITY = (
    OpClass.loss,
    OpClass.norm,
    OpClass.softmax,
    OpClass.scan,
    OpClass.pooling,
    OpClass.reduction,
    OpClass.activation,
    OpClass.data_movement,
    OpClass.elementwise,
)

# Lower-cased callee names (the last attribute: torch.relu, F.relu, nn.ReLU and x.relu all read 'relu').
_OPS: dict[OpClass, frozenset[str]] = {
    OpClass.attention: frozenset(
        {
            "multiheadattention",
            "scaled_dot_product_attention",
            "transformer",
            "transformerencoder",
            "transformerencoderlayer",
            "transformerdecoder",
            "transformerdecoderlayer",
        }
    ),
    OpClass.conv_transpose: frozenset(
        {"convtranspose1d", "convtranspose2d", "convtranspose3d"}
        | {"conv_transpose1d", "conv_transpose2d", "conv_transpose3d"}
    ),
    OpClass.conv: frozenset({"conv1d", "conv2d", "conv3d", "conv_tbc"}),
    OpClass.rnn: frozenset({"lstm", "lstmcell", "gru", "grucell", "rnn", "rnncell"}),
    OpClass.matmul: frozenset(
        {"linear", "bilinear", "matmul", "mm", "bmm", "baddbmm", "addmm", "addbmm", "addmv", "mv"}
        | {"einsum", "tensordot", "chain_matmul", "multi_dot", "lazylinear"}
    ),
    OpClass.loss: frozenset(
        {"mse_loss", "l1_loss", "smooth_l1_loss", "huber_loss", "cross_entropy", "nll_loss", "kl_div"}
        | {"binary_cross_entropy", "binary_cross_entropy_with_logits", "triplet_margin_loss"}
        | {"margin_ranking_loss", "hinge_embedding_loss", "cosine_embedding_loss", "soft_margin_loss"}
        | {"multi_margin_loss", "poisson_nll_loss", "gaussian_nll_loss", "ctc_loss"}
    ),
    OpClass.norm: frozenset(
        {"layernorm", "layer_norm", "batchnorm1d", "batchnorm2d", "batchnorm3d", "batch_norm"}
        | {"groupnorm", "group_norm", "instancenorm1d", "instancenorm2d", "instancenorm3d"}
        | {"instance_norm", "rmsnorm", "rms_norm", "localresponsenorm", "local_response_norm"}
        | {"normalize", "norm", "vector_norm", "matrix_norm"}
    ),
    OpClass.softmax: frozenset({"softmax", "log_softmax", "logsoftmax", "softmin", "softmax2d"}),
    OpClass.scan: frozenset({"cumsum", "cumprod", "cummax", "cummin", "logcumsumexp"}),
    OpClass.pooling: frozenset(
        {"maxpool1d", "maxpool2d", "maxpool3d", "avgpool1d", "avgpool2d", "avgpool3d"}
        | {"max_pool1d", "max_pool2d", "max_pool3d", "avg_pool1d", "avg_pool2d", "avg_pool3d"}
        | {"adaptivemaxpool1d", "adaptivemaxpool2d", "adaptivemaxpool3d"}
        | {"adaptiveavgpool1d", "adaptiveavgpool2d", "adaptiveavgpool3d"}
        | {"adaptive_max_pool1d", "adaptive_max_pool2d", "adaptive_max_pool3d"}
        | {"adaptive_avg_pool1d", "adaptive_avg_pool2d", "adaptive_avg_pool3d"}
        | {"lppool1d", "lppool2d", "lp_pool1d", "lp_pool2d", "maxunpool2d", "max_unpool2d"}
    ),
    OpClass.reduction: frozenset(
        {"sum", "mean", "max", "min", "amax", "amin", "prod", "argmax", "argmin", "std", "var"}
        | {"logsumexp", "topk", "sort", "argsort", "kthvalue", "median", "nansum", "nanmean"}
        | {"all", "any", "count_nonzero", "cosine_similarity", "pairwise_distance", "cdist"}
    ),
    OpClass.activation: frozenset(
        {"relu", "relu6", "leaky_relu", "leakyrelu", "gelu", "silu", "sigmoid", "tanh", "elu", "selu"}
        | {"celu", "softplus", "softsign", "hardtanh", "hardsigmoid", "hardswish", "mish", "prelu"}
        | {"rrelu", "logsigmoid", "tanhshrink", "softshrink", "hardshrink", "threshold", "glu", "swish"}
    ),
    OpClass.data_movement: frozenset(
        {"transpose", "permute", "cat", "concat", "concatenate", "stack", "embedding", "gather"}
        | {"index_select", "scatter", "scatter_add", "take", "take_along_dim", "repeat", "tile"}
        | {"repeat_interleave", "flip", "roll", "pad", "pixel_shuffle", "pixel_unshuffle"}
        | {"interpolate", "upsample", "t", "movedim", "tril", "triu", "embedding_bag", "one_hot"}
    ),
    OpClass.elementwise: frozenset(
        {"add", "sub", "mul", "div", "pow", "exp", "exp2", "expm1", "log", "log2", "log1p", "sqrt"}
        | {"rsqrt", "abs", "neg", "reciprocal", "clamp", "clip", "clamp_min", "clamp_max", "where"}
        | {"maximum", "minimum", "sin", "cos", "square", "erf", "sign", "lerp", "addcmul", "addcdiv"}
        | {"masked_fill", "floor", "ceil", "round", "fmod", "remainder", "hypot", "atan2"}
    ),
}
_KIND = {name: op_class for op_class, names in _OPS.items() for name in names}
# Any other '...Loss' module or function is a loss.
_LOSS_SUFFIX = "loss"

# What a task's name may state about its kind, read only where the ops leave it general.
_NAME_HINTS: tuple[tuple[OpClass, tuple[str, ...]], ...] = (
    (OpClass.loss, ("loss",)),
    (OpClass.norm, ("norm",)),
    (OpClass.softmax, ("softmax",)),
    (OpClass.scan, ("cumsum", "cumprod", "scan")),
    (OpClass.pooling, ("pool",)),
    (OpClass.activation, ("relu", "gelu", "silu", "swish", "sigmoid", "tanh", "elu", "softplus")),
    (OpClass.activation, ("softsign", "hardtanh", "mish", "activation")),
)
# When the source says nothing (no source, or none of its ops known), the name alone decides.
_NAME_ONLY: tuple[tuple[OpClass, tuple[str, ...]], ...] = (
    (OpClass.attention, ("attention", "transformer")),
    (OpClass.conv_transpose, ("convtranspose", "conv_transpose", "transposed_conv", "deconv")),
    (OpClass.conv, ("conv",)),
    (OpClass.rnn, ("lstm", "ltsm", "gru", "rnn")),
    (OpClass.matmul, ("matmul", "gemm", "bmm", "matrix_mult", "matrix_vector", "linear", "mlp")),
    *_NAME_HINTS,
    (OpClass.reduction, ("reduction", "argmax", "argmin", "topk", "sum", "mean")),
    (OpClass.data_movement, ("transpose", "gather", "embedding", "concat")),
)
# Matched only as whole words: 'Consumption' is no 'sum'.
_WHOLE_WORDS = frozenset({"sum", "mean", "mlp", "gru", "rnn", "bmm"})
_NOT_WORD = re.compile(r"[^a-z0-9]+")
_MAX_DEPTH = 8  # how deep helper methods, functions and submodule classes are followed


def classify_task(task: Task) -> OpClass:
    return classify(task.source, task.name)


def classify(source: str, name: str = "") -> OpClass:
    """The operator class of a KernelBench-format task from its source and its name ('19_ReLU')."""
    ops = _forward_ops(source)
    for op in ops:
        if op is OpClass.attention:
            return op
    if _written_out_attention(ops):
        return OpClass.attention
    for op in ops:
        if op in HEAVY:
            return op
    hinted = _hints(name, _NAME_HINTS)
    found = set(ops) | (hinted if ops else _hints(name, _NAME_ONLY))
    for op_class in HEAVY + LIGHT_PRIORITY:
        if op_class in found:
            return op_class
    return OpClass.other


def _written_out_attention(ops: list[OpClass]) -> bool:
    """Scores by a product, a softmax over them, then a product with the values."""
    if OpClass.softmax not in ops:
        return False
    first, last = ops.index(OpClass.softmax), len(ops) - 1 - ops[::-1].index(OpClass.softmax)
    return OpClass.matmul in ops[:first] and OpClass.matmul in ops[last + 1 :]


def _hints(name: str, table: tuple[tuple[OpClass, tuple[str, ...]], ...]) -> set[OpClass]:
    text = _NOT_WORD.sub("_", name.lower())
    words = set(text.split("_"))
    hits: set[OpClass] = set()
    for op_class, needles in table:
        if any((needle in words) if needle in _WHOLE_WORDS else (needle in text) for needle in needles):
            hits.add(op_class)
    return hits


def _kind(callee: str) -> OpClass | None:
    lowered = callee.lower()
    found = _KIND.get(lowered)
    if found is None and lowered.endswith(_LOSS_SUFFIX):
        return OpClass.loss
    return found


def _forward_ops(source: str) -> list[OpClass]:
    try:
        module = ast.parse(source)
    except (SyntaxError, ValueError):
        return []
    classes = {node.name: node for node in module.body if isinstance(node, ast.ClassDef)}
    functions = {node.name: node for node in module.body if isinstance(node, ast.FunctionDef)}
    model = classes.get("Model") or next((c for c in classes.values() if _method(c, "forward")), None)
    if model is None:
        return []
    return _Walker(classes, functions).class_ops(model, depth=0)


def _method(cls: ast.ClassDef, name: str) -> ast.FunctionDef | None:
    return next((n for n in cls.body if isinstance(n, ast.FunctionDef) and n.name == name), None)


def _callee_name(func: ast.expr) -> str | None:
    if isinstance(func, ast.Attribute):
        return func.attr
    if isinstance(func, ast.Name):
        return func.id
    return None


_BINARY_OPS = (ast.Add, ast.Sub, ast.Mult, ast.Div, ast.Pow, ast.Mod)


class _Walker:
    """Collects op classes in evaluation order: arguments before the call that consumes them."""

    def __init__(self, classes: dict[str, ast.ClassDef], functions: dict[str, ast.FunctionDef]):
        self.classes = classes
        self.functions = functions

    def class_ops(self, cls: ast.ClassDef, depth: int) -> list[OpClass]:
        forward = _method(cls, "forward")
        init = _method(cls, "__init__")
        members = self._members(init, depth) if init is not None else {}
        if forward is None:
            return [op for ops in members.values() for op in ops]
        ops = self._body(forward.body, cls, members, depth)
        if not any(op in HEAVY for op in ops):
            # Submodules called indirectly (`for layer in self.layers: x = layer(x)`) are invisible
            # to the walk of forward; what __init__ built still says which heavy op runs.
            ops += [op for built in members.values() for op in built if op in HEAVY]
        return ops

    def _members(self, init: ast.FunctionDef, depth: int) -> dict[str, list[OpClass]]:
        """self.<name> -> the ops of what __init__ assigned to it (a module, a Sequential, a list)."""
        members: dict[str, list[OpClass]] = {}
        for node in ast.walk(init):
            if not isinstance(node, ast.Assign | ast.AnnAssign) or node.value is None:
                continue
            targets = node.targets if isinstance(node, ast.Assign) else [node.target]
            for target in targets:
                if (
                    isinstance(target, ast.Attribute)
                    and isinstance(target.value, ast.Name)
                    and target.value.id == "self"
                ):
                    members[target.attr] = self._constructed(node.value, depth)
        return members

    def _constructed(self, value: ast.expr, depth: int) -> list[OpClass]:
        ops: list[OpClass] = []
        for node in ast.walk(value):
            if not isinstance(node, ast.Call):
                continue
            name = _callee_name(node.func)
            if name is None:
                continue
            kind = _kind(name)
            if kind is not None:
                ops.append(kind)
            elif name in self.classes and depth < _MAX_DEPTH:
                ops += self.class_ops(self.classes[name], depth + 1)
        return ops

    def _body(
        self, body: list[ast.stmt], cls: ast.ClassDef, members: dict[str, list[OpClass]], depth: int
    ) -> list[OpClass]:
        ops: list[OpClass] = []
        for stmt in body:
            ops += self._node(stmt, cls, members, depth)
        return ops

    def _node(
        self, node: ast.AST, cls: ast.ClassDef, members: dict[str, list[OpClass]], depth: int
    ) -> list[OpClass]:
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef | ast.Lambda):
            return []
        ops: list[OpClass] = []
        if isinstance(node, ast.Call):
            ops += self._node(node.func, cls, members, depth)
            for arg in [*node.args, *(k.value for k in node.keywords)]:
                ops += self._node(arg, cls, members, depth)
            return ops + self._call(node.func, cls, members, depth)
        for child in ast.iter_child_nodes(node):
            ops += self._node(child, cls, members, depth)
        if isinstance(node, ast.BinOp):
            if isinstance(node.op, ast.MatMult):
                ops.append(OpClass.matmul)
            elif isinstance(node.op, _BINARY_OPS):
                ops.append(OpClass.elementwise)
        return ops

    def _call(
        self, func: ast.expr, cls: ast.ClassDef, members: dict[str, list[OpClass]], depth: int
    ) -> list[OpClass]:
        if isinstance(func, ast.Attribute) and isinstance(func.value, ast.Name) and func.value.id == "self":
            if func.attr in members:
                return members[func.attr]
            helper = _method(cls, func.attr)
            if helper is not None and depth < _MAX_DEPTH:
                return self._body(helper.body, cls, members, depth + 1)
            return []
        name = _callee_name(func)
        if name is None:
            return []
        if isinstance(func, ast.Name) and depth < _MAX_DEPTH:
            if name in self.functions:
                return self._body(self.functions[name].body, cls, members, depth + 1)
            if name in self.classes:
                return self.class_ops(self.classes[name], depth + 1)
        kind = _kind(name)
        return [kind] if kind is not None else []
