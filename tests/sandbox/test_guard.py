"""The static guard: each rule with a minimal positive case, and honest code with zero findings."""

from __future__ import annotations

from pathlib import Path

import pytest

from kernelwright.contracts import Candidate, Task
from kernelwright.sandbox.guard.policy import check

HONEST = Path(__file__).parent / "honest"

HEADER = '''import torch
from kernelwright.sandbox.native import CudaModule

SRC = r"""
extern "C" __global__ void k(const float* x, float* y, long long n) {
    long long i = (long long)blockIdx.x * blockDim.x + threadIdx.x;
    if (i < n) y[i] = x[i] > 0.f ? x[i] : 0.f;
}
"""
'''

HONEST_BODY = """
class ModelNew(torch.nn.Module):
    def __init__(self):
        super().__init__()
        self.kernels = CudaModule(SRC)

    def forward(self, x):
        x = x.contiguous().view(-1)
        y = torch.empty_like(x)
        n = x.numel()
        self.kernels.launch("k", grid=((n + 255) // 256,), block=(256,), args=(x, y, n))
        return y.view(x.shape)
"""


def task(level: int = 1, name: str = "19_ReLU") -> Task:
    return Task(name=name, level=level, path=f"level{level}/{name}.py", source="", source_sha256="0" * 64)


def rules(body: str, *, level: int = 1, allow_torch: bool = False, header: str = HEADER) -> list[str]:
    return [f.rule for f in check(task(level), Candidate(source=header + body), allow_torch=allow_torch)]


def with_forward_line(line: str) -> str:
    """The honest candidate with one extra statement at the start of forward."""
    return HONEST_BODY.replace("        x = x.contiguous()", f"        {line}\n        x = x.contiguous()")


@pytest.mark.parametrize("path", sorted(HONEST.glob("*.py")), ids=lambda p: p.name)
def test_honest_corpus_has_no_findings(path: Path) -> None:
    name = path.name.split(".")[0]
    assert check(task(1, name), Candidate(source=path.read_text())) == []


def test_the_minimal_honest_candidate_passes_at_every_level() -> None:
    for level in (1, 2, 3):
        assert rules(HONEST_BODY, level=level) == []


# (rule, line added at the top of forward) — each must produce exactly that rule.
FORWARD_CASES = [
    ("torch-op-in-forward", "x = torch.relu(x)"),
    ("torch-op-in-forward", "x = torch.nn.functional.relu(x)"),
    ("torch-op-in-forward", "x = x.clamp(min=0)"),
    ("torch-op-in-forward", "x = x * 1.0"),
    ("torch-op-in-forward", "x += 0"),
    ("side-stream", "s = torch.cuda.Stream()"),
    ("side-stream", "torch.cuda.stream(None)"),
    ("cuda-graph", "g = torch.cuda.CUDAGraph()"),
    ("monkeypatch", "torch.cuda.synchronize = lambda: None"),
    ("monkeypatch", "setattr(torch, 'relu', print)"),
    ("introspection", "import gc"),
    ("introspection", "import sys; f = sys._getframe(1).f_locals"),
    ("introspection", "import sys; m = sys.modules"),
    ("dynamic-code", "eval('1')"),
    ("dynamic-code", "__import__('os')"),
    ("dynamic-code", "import importlib"),
    ("native-code", "import ctypes"),
    ("concurrency", "import threading"),
    ("concurrency", "from concurrent.futures import ThreadPoolExecutor"),
    ("concurrency", "import subprocess"),
    ("file-access", "open('/tmp/x', 'w')"),
    ("file-access", "import os; os.remove('/tmp/x')"),
    ("file-access", "from pathlib import Path; Path('/tmp/x').write_text('1')"),
    ("file-access", "torch.save(x, 'x.pt')"),
    ("process-control", "import os; os.fork()"),
    ("process-control", "import os; os.kill(os.getppid(), 9)"),
    ("process-control", "import os; os._exit(0)"),
    ("process-control", "import os; os.system('ls')"),
    ("process-control", "import sys; sys.exit(0)"),
    ("network", "import socket"),
    ("network", "import urllib.request"),
    ("environment", "import os; key = os.environ['OPENAI_API_KEY']"),
    ("environment", "import os; key = os.getenv('OPENAI_API_KEY')"),
    ("reference-model", "ref = Model()"),
    ("tensor-subclass", "y = torch.Tensor._make_subclass(torch.Tensor, x)"),
]


@pytest.mark.parametrize(("rule", "line"), FORWARD_CASES, ids=[f"{r}:{ln}" for r, ln in FORWARD_CASES])
def test_each_rule_fires_on_its_minimal_case(rule: str, line: str) -> None:
    found = rules(with_forward_line(line))
    assert rule in found
    # every other rule stays quiet, except the level-1 torch-op rule on the same PyTorch call
    assert set(found) <= {rule, "torch-op-in-forward", "introspection"}


@pytest.mark.parametrize(("rule", "line"), [c for c in FORWARD_CASES if c[0] != "torch-op-in-forward"])
def test_allow_torch_keeps_every_other_rule(rule: str, line: str) -> None:
    assert rule in rules(with_forward_line(line), allow_torch=True)


def test_findings_name_the_line_and_talk_to_the_coder() -> None:
    (finding,) = check(task(), Candidate(source=HEADER + with_forward_line("x = torch.relu(x)")))
    source_lines = (HEADER + with_forward_line("x = torch.relu(x)")).splitlines()
    assert finding.line is not None and "torch.relu" in source_lines[finding.line - 1]
    assert finding.where == "python" and "torch.relu()" in finding.message and "kernel" in finding.message


def test_glue_is_not_compute() -> None:
    glue = [
        "z = torch.zeros(4, device=x.device)",
        "b, n = x.shape[0], x.size(1)",
        "x = x.reshape(-1).unsqueeze(0).squeeze(0).permute(0).contiguous()",
        "x = x.to(x.device).float()",
        "grid = (x.numel() + 255) // 256",
        "w = torch.empty((4, 4), dtype=x.dtype, device=x.device)",
    ]
    for line in glue:
        assert rules(with_forward_line(line)) == [], line


def test_level_two_allows_torch_layers_but_needs_a_kernel() -> None:
    layered = with_forward_line("x = torch.nn.functional.linear(x, torch.ones(4, 4))")
    assert rules(layered, level=2) == []
    assert "torch-op-in-forward" in rules(layered, level=1)
    pure_torch = (
        "\nclass ModelNew(torch.nn.Module):\n    def forward(self, x):\n        return torch.relu(x)\n"
    )
    assert rules(pure_torch, level=2) == ["no-custom-kernel"]
    assert rules(pure_torch, level=1) == ["no-custom-kernel", "torch-op-in-forward"]
    assert rules(pure_torch, level=1, allow_torch=True) == []


def test_layers_built_in_init_count_as_torch_compute() -> None:
    body = HONEST_BODY.replace(
        "        self.kernels = CudaModule(SRC)",
        "        self.kernels = CudaModule(SRC)\n        self.lin = torch.nn.Linear(4, 4)",
    ).replace("        return y.view(x.shape)", "        return self.lin(y)")
    assert rules(body, level=1) == ["torch-op-in-forward"]
    assert rules(body, level=2) == []


def test_torch_work_hidden_in_a_helper_is_found() -> None:
    body = HONEST_BODY.replace("        return y.view(x.shape)", "        return self._finish(y)") + (
        "\n    def _finish(self, y):\n        return torch.sigmoid(y)\n"
    )
    assert rules(body) == ["torch-op-in-forward"]


def test_launch_through_a_helper_method_counts() -> None:
    body = (
        "\nclass ModelNew(torch.nn.Module):\n"
        "    def __init__(self):\n        super().__init__()\n        self.kernels = CudaModule(SRC)\n"
        "    def _run(self, x, y, n):\n"
        "        self.kernels.launch('k', grid=(1,), block=(256,), args=(x, y, n))\n"
        "    def forward(self, x):\n        y = torch.empty_like(x)\n        self._run(x, y, x.numel())\n        return y\n"
    )
    assert rules(body) == []


def test_try_except_anywhere_is_flagged() -> None:
    body = HONEST_BODY.replace(
        '        self.kernels.launch("k", grid=((n + 255) // 256,), block=(256,), args=(x, y, n))',
        '        try:\n            self.kernels.launch("k", grid=(1,), block=(256,), args=(x, y, n))\n'
        "        except Exception:\n            y = x.clamp(min=0)",
    )
    assert "try-except" in rules(body, allow_torch=True)


def test_subclassing_model_and_tensor_and_torch_function_hooks() -> None:
    assert "reference-model" in rules(HONEST_BODY.replace("ModelNew(torch.nn.Module)", "ModelNew(Model)"))
    lazy = (
        HONEST_BODY
        + "\nclass Lazy(torch.Tensor):\n    @classmethod\n    def __torch_function__(cls, *a, **k):\n        return 0\n"
    )
    assert rules(lazy).count("tensor-subclass") == 2
    assert "reference-model" in rules("from reference import Model\n" + HONEST_BODY)
    assert "reference-model" in rules("from kernelwright.kernelbench import loader\n" + HONEST_BODY)


def test_memoization_is_flagged() -> None:
    body = HONEST_BODY.replace(
        "    def forward(self, x):", "    @functools.lru_cache\n    def forward(self, x):"
    )
    assert "memoization" in rules("import functools\n" + body)


def test_cuda_side_rules_fire_on_host_code_of_load_inline() -> None:
    src = (HONEST / "13_SiLU.compat.py").read_text()
    hostile = src.replace(
        "    auto xc = x.contiguous();",
        '    cudaStream_t s; cudaStreamCreate(&s);\n    const char* k = getenv("OPENAI_API_KEY");\n'
        '    FILE* f = fopen("/tmp/leak", "w");\n    std::thread t([]{});\n    auto xc = x.contiguous();',
    )
    found = check(task(1, "13_SiLU"), Candidate(source=hostile, build="compat"))
    assert {f.rule for f in found} == {"side-stream", "environment", "file-access", "concurrency"}
    assert all(f.where == "cuda" and f.line and "line" in f.message for f in found)


def test_cuda_rules_ignore_comments_and_strings_but_not_include_paths() -> None:
    header = HEADER.replace('extern "C"', '// cudaStreamCreate(&s) is what we avoid\nextern "C"')
    assert rules(HONEST_BODY, header=header) == []
    header = HEADER.replace('SRC = r"""\n', 'SRC = r"""\n#include "/etc/passwd"\n')
    assert rules(HONEST_BODY, header=header) == ["include-path"]


def test_structural_problems() -> None:
    assert rules("\nclass Other:\n    pass\n") == ["no-model-new"]
    assert rules("\nclass ModelNew(torch.nn.Module):\n    pass\n") == ["no-forward"]
    assert rules("\ndef broken(:\n") == ["syntax"]


def test_module_level_caches_are_memoization_at_every_setting() -> None:
    cache = "\n_cache = {}\n" + HONEST_BODY.replace(
        "        return y.view(x.shape)", "        _cache[x.data_ptr()] = y\n        return y.view(x.shape)"
    )
    assert rules(cache) == ["memoization"]
    assert rules(cache, allow_torch=True) == ["memoization"]
    assert rules("\n_seen = []\n" + with_forward_line("_seen.append(x)")) == ["memoization"]
    assert rules("\n_n = 0\n" + with_forward_line("global _n")) == ["memoization"]
    # state built once in __init__ (a workspace, a compiled module) is fine
    init_only = "\n_shapes = {}\n" + HONEST_BODY.replace(
        "        super().__init__()", "        super().__init__()\n        _shapes['x'] = 1"
    )
    assert rules(init_only) == []


def test_stream_objects_in_init_are_not_tensors() -> None:
    body = HONEST_BODY.replace(
        "        self.kernels = CudaModule(SRC)",
        "        self.kernels = CudaModule(SRC)\n        self.dev = torch.device('cuda')\n        self.gen = torch.Generator()",
    ).replace("        x = x.contiguous()", "        self.gen.manual_seed(0)\n        x = x.contiguous()")
    assert rules(body) == []


def test_no_kernel_and_torch_compute_are_both_reported_no_kernel_first() -> None:
    body = "\nclass ModelNew(torch.nn.Module):\n    def forward(self, x):\n        return x.clamp(min=0)\n"
    assert rules(body, level=1) == ["no-custom-kernel", "torch-op-in-forward"]
    assert rules(body, level=2) == ["no-custom-kernel"]


def test_torch_work_hidden_in_a_helper_class_is_found() -> None:
    helper = "\nclass Helper:\n    def finish(self, y):\n        return y.sigmoid()\n"
    body = helper + HONEST_BODY.replace("        return y.view(x.shape)", "        return Helper().finish(y)")
    assert rules(body) == ["torch-op-in-forward"]
    fake_launch = "\nclass Fake:\n    def launch(self, x):\n        return torch.relu(x)\n"
    pure = (
        fake_launch
        + "\nclass ModelNew(torch.nn.Module):\n    def forward(self, x):\n        return Fake().launch(x)\n"
    )
    assert "torch-op-in-forward" in rules(pure)
