"""The guard by data flow, not by names (issue #14 item 5).

Every HOLE below is a red-team candidate the name-based guard let through (each returned no
finding before this change); each must now be `torch-op-in-forward`. Every HONEST case is a pattern
of legitimate code the data flow must not mistake for compute. The import rules (harness-import,
reference-model) hold under allow_torch; the C++ rules (no-cuda-kernel, aten-op, library-op) are
PyTorch policy and do not. The recorded honest candidates of the whole repository pass.
"""

from __future__ import annotations

import ast
import textwrap
from pathlib import Path

import pytest

from kernelwright.contracts import Candidate, Task
from kernelwright.sandbox.guard import dataflow
from kernelwright.sandbox.guard.policy import check
from kernelwright.sandbox.guard.python_rules import import_aliases

TESTS = Path(__file__).parents[1]
HEADER = '''import torch
from kernelwright.sandbox.native import CudaModule

SRC = r"""
extern "C" __global__ void k(const float* x, float* y, long long n) {
    long long i = (long long)blockIdx.x * blockDim.x + threadIdx.x;
    if (i < n) y[i] = x[i] > 0.f ? x[i] : 0.f;
}
"""
'''
# The hack corpus's task: the worker writes it as relu.py and imports it as kw_reference.
RELU = Task(name="relu", level=1, path="tests/sandbox/hacks/tasks/relu.py", source="", source_sha256="0" * 64)


def candidate(prelude: str = "", init: str = "", members: str = "", forward: str = "") -> str:
    """The honest ReLU candidate with extra module code, __init__ lines, class members and
    forward lines (after the launch)."""

    def block(code: str, indent: int) -> str:
        return textwrap.indent(textwrap.dedent(code).strip("\n"), " " * indent) + "\n" if code else ""

    return (
        HEADER
        + block(prelude, 0)
        + "\n\nclass ModelNew(torch.nn.Module):\n"
        + "    def __init__(self):\n        super().__init__()\n        self.kernels = CudaModule(SRC)\n"
        + block(init, 8)
        + block(members, 4)
        + "    def forward(self, x):\n"
        + "        x = x.contiguous().view(-1)\n        y = torch.empty_like(x)\n        n = x.numel()\n"
        + '        self.kernels.launch("k", grid=((n + 255) // 256,), block=(256,), args=(x, y, n))\n'
        + block(forward, 8)
        + "        return y.view(x.shape)\n"
    )


def rules(source: str, *, task: Task = RELU, allow_torch: bool = False) -> list[str]:
    return [f.rule for f in check(task, Candidate(source=source), allow_torch=allow_torch)]


HOLES: dict[str, dict[str, str]] = {
    # attributes set in __init__ (and by setattr, register_module, __dict__, class bodies)
    "init-attribute": {"init": "self.act = torch.relu", "forward": "y = self.act(y)"},
    "init-attribute-F": {
        "prelude": "import torch.nn.functional as F",
        "init": "self.f = F.gelu",
        "forward": "y = self.f(y)",
    },
    "init-attribute-copy": {"init": "self.a = torch.relu\nself.b = self.a", "forward": "y = self.b(y)"},
    "setattr-layer": {"init": 'setattr(self, "lin", torch.nn.Linear(4, 4))', "forward": "y = self.lin(y)"},
    "object-setattr": {"init": 'object.__setattr__(self, "act", torch.relu)', "forward": "y = self.act(y)"},
    "register-module": {
        "init": "self.register_module('lin', torch.nn.Linear(4, 4))",
        "forward": "y = self.lin(y)",
    },
    "dict-update": {"init": "self.__dict__.update(act=torch.relu)", "forward": "y = self.act(y)"},
    "class-attribute": {"members": "act = torch.relu", "forward": "y = self.act(y)"},
    "class-staticmethod-object": {"members": "act = staticmethod(torch.relu)", "forward": "y = self.act(y)"},
    "property": {"members": "@property\ndef act(self):\n    return torch.relu", "forward": "y = self.act(y)"},
    "property-body": {
        "members": "@property\ndef out(self):\n    return self.buf.exp()",
        "init": "self.buf = torch.ones(4)",
        "forward": "z = self.out",
    },
    "nested-varargs": {"forward": "def more(*xs):\n    return xs[0].tanh()\nz = more(y)"},
    "getattr-hook": {
        "members": "def __getattr__(self, name):\n    return torch.relu",
        "forward": "y = self.f(y)",
    },
    # containers
    "dict-of-ops": {"init": "self.ops = {'a': torch.relu}", "forward": "y = self.ops['a'](y)"},
    "dict-call": {"init": "self.ops = dict(a=torch.relu)", "forward": "y = self.ops['a'](y)"},
    "appended-op": {
        "init": "self.ops = []\nself.ops.append(torch.relu)",
        "forward": "for op in self.ops:\n    y = op(y)",
    },
    "stored-by-key": {
        "init": "self.store = {}\nself.store['f'] = torch.relu",
        "forward": "y = self.store['f'](y)",
    },
    # static and class methods, helpers, returns
    "staticmethod-operator": {
        "members": "@staticmethod\ndef finish(t):\n    return t * 2",
        "forward": "y = self.finish(y)",
    },
    "staticmethod-through-class": {
        "members": "@staticmethod\ndef finish(t):\n    return torch.tanh(t)",
        "forward": "y = ModelNew.finish(y)",
    },
    "returned-tensor": {
        "members": "def prep(self, t):\n    return t",
        "forward": "z = self.prep(y)\ny = z * 2",
    },
    "nested-def": {"forward": "def inner(t):\n    return t.tanh()\ny = inner(y)"},
    "helper-module": {
        "prelude": "class Helper(torch.nn.Module):\n    def forward(self, t):\n        return t.sigmoid()",
        "init": "self.h = Helper()",
        "forward": "y = self.h(y)",
    },
    "autograd-function": {
        "prelude": "class Fn(torch.autograd.Function):\n    @staticmethod\n    def forward(ctx, t):\n        return t.tanh()",
        "forward": "y = Fn.apply(y)",
    },
    "generator": {"prelude": "def gen():\n    yield torch.relu", "forward": "y = next(gen())(y)"},
    "default-argument": {
        "members": "def finish(self, t, act=torch.relu):\n    return act(t)",
        "forward": "y = self.finish(y)",
    },
    # lambdas
    "module-lambda": {"prelude": "act = lambda t: t.tanh()", "forward": "y = act(y)"},
    "inline-lambda": {"forward": "y = (lambda t: t.tanh())(y)"},
    "returned-lambda": {"prelude": "def mk():\n    return lambda t: t.tanh()", "forward": "y = mk()(y)"},
    # loop, comprehension, walrus and unpacking targets
    "loop-target": {"forward": "for f in (torch.tanh,):\n    y = f(y)"},
    "walrus": {"forward": "y = (g := torch.sigmoid)(y)"},
    "comprehension-target": {"forward": "y = [f(y) for f in (torch.tanh,)][0]"},
    "tuple-unpacking": {"forward": "f, g = torch.relu, torch.tanh\ny = g(y)"},
    "starred-unpacking": {"forward": "*fs, = [torch.relu]\ny = fs[0](y)"},
    # getattr and friends with constant strings
    "getattr-tensor": {"forward": 'y = getattr(y, "tanh")()'},
    "getattr-torch": {"forward": 'y = getattr(torch, "relu")(y)'},
    "getattr-folded": {"forward": 'y = getattr(torch, "re" + "lu")(y)'},
    "getattr-constant": {"prelude": 'OP = "relu"', "forward": "y = getattr(torch, OP)(y)"},
    "module-dict": {"forward": "y = torch.nn.functional.__dict__['relu'](y)"},
    "module-alias": {"prelude": "T = torch", "forward": "y = T.relu(y)"},
    "bound-method-call": {"forward": "y = y.tanh.__call__()"},
    "tensor-class": {"forward": "y = type(y).__add__(y, y)"},
    # operator and functools
    "operator-mul": {"prelude": "import operator", "forward": "y = operator.mul(y, y)"},
    "operator-matmul": {"prelude": "import operator", "forward": "y = operator.matmul(y, y)"},
    "operator-imported": {"prelude": "from operator import mul", "forward": "y = mul(y, 2)"},
    "methodcaller": {"prelude": "import operator", "forward": "y = operator.methodcaller('tanh')(y)"},
    "partial": {"prelude": "import functools", "forward": "y = functools.partial(torch.add, alpha=2)(y, y)"},
    "partial-in-init": {
        "prelude": "import functools",
        "init": "self.f = functools.partial(torch.add, alpha=2)",
        "forward": "y = self.f(y, y)",
    },
    "reduce": {
        "prelude": "import functools\nimport operator",
        "forward": "y = functools.reduce(operator.add, [y, y])",
    },
    "map": {"forward": "y = list(map(torch.tanh, [y]))[0]"},
    "sort-key": {"forward": "y = sorted([y], key=torch.norm)[0]"},
    # operators the name-based guard did not count
    "masked-assignment": {"forward": "y[y < 0] = 0"},
    "negation": {"forward": "y = -y"},
    "abs-builtin": {"forward": "y = abs(y)"},
    "sum-builtin": {"forward": "y = sum([y, y])"},
    "numpy": {"prelude": "import numpy as np", "forward": "a = np.asarray(y)\ny = np.tanh(a)"},
}


@pytest.mark.parametrize("parts", HOLES.values(), ids=HOLES.keys())
def test_torch_compute_is_followed_through_data_flow(parts: dict[str, str]) -> None:
    found = rules(candidate(**parts))
    assert "torch-op-in-forward" in found, found
    assert set(found) <= {"torch-op-in-forward", "dynamic-code"}
    assert rules(candidate(**parts), allow_torch=True) == []  # the PyTorch policy, and only it


def test_tensors_reach_parameters_through_call_chains_in_any_order() -> None:
    """Parameters hold what call sites pass (not "every parameter is a tensor", which flagged
    `(n + 255) // 256` in an honest grid helper), so arguments must flow down any chain."""
    chain = "def f3(t):\n    return f2(t)\ndef f2(t):\n    return f1(t)\ndef f1(t):\n    return t.tanh()"
    assert rules(candidate(prelude=chain, forward="y = f3(y)")) == ["torch-op-in-forward"]
    assert rules(candidate(prelude=chain, forward="z = f3(n)")) == []


def test_forward_varargs_hold_tensors() -> None:
    source = candidate().replace("def forward(self, x):", "def forward(self, x, *rest, **named):")
    assert rules(source.replace("return y.view", "z = rest[0] + named['w']\n        return y.view")) == [
        "torch-op-in-forward"
    ]


def test_the_finding_names_the_line_and_the_op() -> None:
    source = candidate(init="self.act = torch.relu", forward="y = self.act(y)")
    (finding,) = check(RELU, Candidate(source=source))
    assert "self.act(y)" in source.splitlines()[(finding.line or 0) - 1]
    assert "torch.relu()" in finding.message


HONEST: dict[str, dict[str, str]] = {
    "grid-helper": {
        "members": "def grid(self, n):\n    return (n + 255) // 256",
        "forward": "g = self.grid(n)",
    },
    "static-grid-helper": {
        "members": "@staticmethod\ndef grid(n):\n    return (n + 255) // 256",
        "forward": "g = self.grid(n)",
    },
    "grid-lambda": {"prelude": "blocks = lambda n: (n + 255) // 256", "forward": "g = blocks(n)"},
    "allocator-attribute": {"init": "self.alloc = torch.empty_like", "forward": "z = self.alloc(x)"},
    "checks-and-shapes": {"forward": "for d in x.shape:\n    pass\nassert isinstance(x, torch.Tensor)"},
    "dtypes-and-devices": {
        "forward": "z = torch.empty(n, dtype=torch.float32, device=x.device)\nw = x.to(torch.float16)\n"
        "if x.dim() == 1 and x.dtype == torch.float32:\n    pass"
    },
    "getattr-glue": {"forward": 'z = getattr(x, "contiguous")()'},
    "math-on-sizes": {
        "prelude": "import math",
        "forward": "b = math.ceil(n / 256)\nb2 = max(1, min(b, 65535))",
    },
    "shape-tuples": {"forward": "shape = tuple(x.shape)\n(b,) = shape\nc = shape[0] * 2"},
    "identity-tests": {"forward": "if y is None or x is y:\n    pass"},
    "partial-launch": {
        "prelude": "import functools",
        "init": "self.go = functools.partial(self.kernels.launch, 'k')",
        "forward": "self.go(grid=(1,), block=(1,), args=(x, y, n))",
    },
    "scalars-and-parameters": {
        "init": "self.eps = 1e-6\nself.w = torch.nn.Parameter(torch.ones(4))",
        "forward": "e = self.eps * 2\nz = self.w.contiguous()",
    },
    "alignment-check": {"forward": "aligned = x.data_ptr() % 16 == 0 and -n < 0"},
}


@pytest.mark.parametrize("parts", HONEST.values(), ids=HONEST.keys())
def test_glue_and_scalars_stay_allowed(parts: dict[str, str]) -> None:
    assert rules(candidate(**parts)) == []


def recorded_candidates() -> list[Path]:
    """Every honest candidate file the repository keeps: the sandbox corpus, the agents' GPU
    candidates and the profiler's GPU cases."""
    return sorted(
        [
            *(TESTS / "sandbox" / "honest").glob("*.py"),
            *(TESTS / "agents" / "gpu_candidates").glob("*/*.py"),
            *(TESTS / "profiler" / "gpu_cases").glob("*_candidate.py"),
            TESTS / "sandbox" / "hacks" / "honest_relu.py",
        ]
    )


@pytest.mark.parametrize("path", recorded_candidates(), ids=lambda p: f"{p.parent.name}/{p.name}")
def test_recorded_honest_candidates_pass(path: Path) -> None:
    source = path.read_text()
    found = rules(source, allow_torch=True)
    assert found == [], found
    if "CudaModule" in source or "load_inline" in source:  # native and compat: the whole policy too
        assert rules(source) == []


def test_the_coder_prompts_worked_example_passes() -> None:
    from kernelwright.agents.parsing import extract_code
    from kernelwright.agents.prompting import prompt_text

    assert rules(extract_code(prompt_text("format_cuda"))) == []


def test_the_data_flow_settles_on_self_feeding_containers_and_attribute_chains() -> None:
    """Containers holding their own methods and `x = x.attr` loops made values nest without end;
    values are flattened and joined so the fixpoint ends in a few rounds."""
    prelude = """
import torch.nn as nn
STORE = {}


def grow(a, depth):
    STORE[depth] = [a, STORE.get, STORE.values]
    node = nn
    for _ in range(depth):
        node = node.next
    return grow([a, STORE.get, node], depth + 1)
"""
    tree = ast.parse(candidate(prelude=prelude, forward="z = grow(n, 0)"))
    assert dataflow.DataFlow(tree, import_aliases(tree)).converged


# ---------------------------------------------------------------- imports: harness and reference

REFERENCE_IMPORTS = [
    "import kw_reference",
    "from kw_reference import get_inputs",
    "import relu",  # the task's file stem, which older workers registered
    "from . import relu",
    "import importlib\nref = importlib.import_module('kw_' + 'reference')",
    "REF = 'kw_reference'\nref = __import__(REF)",
    "import sys\nref = sys.modules['kw_reference']",
    "import sys\nref = sys.modules.get('kw_reference')",
    "import importlib.util\nspec = importlib.util.spec_from_file_location('m', './relu.py')",
    "import runpy\nns = runpy.run_path('relu.py')",
]
HARNESS_IMPORTS = [
    "import kernelwright.sandbox.verify",
    "from kernelwright.sandbox import verify",
    "from kernelwright.sandbox.native import compile_cuda",
    "import kernelwright.sandbox.native as kn\nf = kn.compile_cuda",
    "import kernelwright.sandbox.native\nt = kernelwright.sandbox.timer",
    "import kernelwright",
    "import importlib\nv = importlib.import_module('kernelwright.sandbox.' + 'verify')",
]


@pytest.mark.parametrize("line", REFERENCE_IMPORTS)
def test_the_reference_module_by_any_name_is_flagged_even_with_allow_torch(line: str) -> None:
    for allow_torch in (False, True):
        assert "reference-model" in rules(candidate(prelude=line), allow_torch=allow_torch)


@pytest.mark.parametrize("line", HARNESS_IMPORTS)
def test_kernelwright_imports_other_than_the_runtime_are_flagged_even_with_allow_torch(line: str) -> None:
    for allow_torch in (False, True):
        assert "harness-import" in rules(candidate(prelude=line), allow_torch=allow_torch)


def test_the_candidate_runtime_may_be_imported_every_way() -> None:
    runtime = [
        "from kernelwright.sandbox.native import CudaModule, CudaLaunchError",
        "from kernelwright.sandbox import native",
        "import kernelwright.sandbox.native\nM = kernelwright.sandbox.native.CudaModule",
        "from kernelwright.sandbox.native import *",
    ]
    for line in runtime:
        assert rules(candidate(prelude=line)) == [], line
    # a torch function that shares the task's name is not the task module
    assert rules(candidate(prelude="from torch import relu as r")) == []


def test_analysis_limit_when_the_data_flow_does_not_settle(monkeypatch: pytest.MonkeyPatch) -> None:
    chain = "def f3(t):\n    return f2(t)\ndef f2(t):\n    return f1(t)\ndef f1(t):\n    return t\n"
    source = candidate(prelude=chain, forward="z = f3(y)")
    assert rules(source) == []
    monkeypatch.setattr(dataflow, "MAX_ROUNDS", 1)
    assert rules(source) == ["analysis-limit"]
    assert rules(source, allow_torch=True) == []


# ---------------------------------------------------------------- C++: no kernel, ATen, libraries

COMPAT = '''import torch
from torch.utils.cpp_extension import load_inline

cuda_src = r"""
#include <torch/extension.h>
#include <ATen/cuda/CUDAContext.h>
KERNEL
torch::Tensor run(torch::Tensor x) {
    auto y = torch::empty_like(x);
    HOST
    return y;
}
"""
ext = load_inline(name="kw_case", cpp_sources="torch::Tensor run(torch::Tensor x);", cuda_sources=cuda_src,
                  functions=["run"])


class ModelNew(torch.nn.Module):
    def forward(self, x):
        return ext.run(x)
'''
KERNEL = "__global__ void k(const float* x, float* y, int n) { int i = threadIdx.x; if (i < n) y[i] = x[i]; }"
LAUNCH = (
    "k<<<1, 256, 0, at::cuda::getCurrentCUDAStream()>>>(x.data_ptr<float>(), y.data_ptr<float>(), x.numel());"
)


def compat(kernel: str = KERNEL, host: str = LAUNCH) -> str:
    return COMPAT.replace("KERNEL", kernel).replace("HOST", host)


def test_the_compat_template_is_honest() -> None:
    assert rules(compat()) == []
    assert (
        rules(compat(), task=Task(name="x", level=2, path="level2/x.py", source="", source_sha256="0" * 64))
        == []
    )


@pytest.mark.parametrize(
    ("rule", "kernel", "host"),
    [
        ("no-cuda-kernel", "", "y.zero_();"),
        ("no-cuda-kernel", "// __global__ void fake() {}", "y.zero_();"),
        ("aten-op", KERNEL, "y = torch::matmul(x, x);"),
        ("aten-op", KERNEL, "y = at::relu(x);"),
        ("aten-op", KERNEL, "y = torch::nn::functional::gelu(x);"),
        ("aten-op", KERNEL, "y = x.sum(1);"),
        ("aten-op", KERNEL, "y.copy_(x);"),
        ("library-op", KERNEL, "cublasSgemm(h, CUBLAS_OP_N, CUBLAS_OP_N, 1, 1, 1, 0, 0, 1, 0, 1, 0, 0, 1);"),
    ],
)
def test_cpp_that_does_the_work_without_a_kernel_is_rejected(rule: str, kernel: str, host: str) -> None:
    source = compat(kernel, host)
    assert rule in rules(source)
    assert rules(source, allow_torch=True) == []  # PyTorch policy: off under allow_torch


def test_aten_and_libraries_are_allowed_from_level_two_but_a_kernel_is_not_optional() -> None:
    level2 = Task(name="x", level=2, path="level2/x.py", source="", source_sha256="0" * 64)
    assert rules(compat(host="y = torch::matmul(x, x);"), task=level2) == []
    assert rules(compat(kernel="", host="y = torch::matmul(x, x);"), task=level2) == ["no-cuda-kernel"]


def test_host_rules_also_read_the_cpp_sources() -> None:
    source = compat().replace(
        'cpp_sources="torch::Tensor run(torch::Tensor x);"',
        'cpp_sources="#include <thread>\\nvoid leak() { std::thread t([]{}); }\\n'
        'torch::Tensor run(torch::Tensor x);\\ntorch::Tensor twice(torch::Tensor x) { return x.mul(2); }"',
    )
    found = check(RELU, Candidate(source=source, build="compat"))
    assert {(f.rule, f.where) for f in found} == {("concurrency", "cuda"), ("aten-op", "cuda")}
    assert all("C++ source 1" in f.message for f in found)
