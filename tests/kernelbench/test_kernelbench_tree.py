"""A generated 250-file tree in the layout and style of a KernelBench checkout (KernelBench/level1..4,
classes before constants, `super(Model, self).__init__()`, tuple init args, `.cuda()` inputs, some
with multi-GB inputs) lists completely, on meta, without allocating the inputs."""

from __future__ import annotations

import resource
import time
from pathlib import Path

import pytest

from kernelwright.kernelbench import load_suite

GEMM = '''import torch
import torch.nn as nn

class Model(nn.Module):
    """
    Simple model that performs a single square matrix multiplication (C = A * B)
    """
    def __init__(self):
        super(Model, self).__init__()

    def forward(self, A: torch.Tensor, B: torch.Tensor) -> torch.Tensor:
        return torch.matmul(A, B)

N = {n}

def get_inputs():
    A = torch.randn(N, N)
    B = torch.randn(N, N)
    return [A, B]

def get_init_inputs():
    return []  # No special initialization inputs needed
'''

CONV_BIAS = '''import torch
import torch.nn as nn

class Model(nn.Module):
    """
    Model that performs a convolution, adds a bias term, and applies ReLU.
    """
    def __init__(self, in_channels, out_channels, kernel_size, bias_shape):
        super(Model, self).__init__()
        self.conv = nn.Conv2d(in_channels, out_channels, kernel_size)
        self.bias = nn.Parameter(torch.randn(bias_shape))

    def forward(self, x):
        x = self.conv(x)
        x = x + self.bias
        return torch.relu(x)

batch_size = {n}
in_channels = 3
out_channels = 16
height, width = 32, 32
kernel_size = 3
bias_shape = (out_channels, 1, 1)

def get_inputs():
    return [torch.randn(batch_size, in_channels, height, width).cuda()]

def get_init_inputs():
    return [in_channels, out_channels, kernel_size, bias_shape]
'''

ELEMENTWISE = """import torch
import torch.nn as nn

class Model(nn.Module):
    def __init__(self, dim: int):
        super(Model, self).__init__()
        self.dim = dim

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.softmax(x, dim=self.dim)

batch_size = {n}
dim = 393216

def get_inputs():
    x = torch.randn(batch_size, dim, device="cuda")
    return [x]

def get_init_inputs():
    return [1]
"""

LEVEL_COUNTS = {1: 100, 2: 100, 3: 40, 4: 10}
TEMPLATES = (GEMM, CONV_BIAS, ELEMENTWISE)
# Every seventh file holds a 6 GiB input (4096 x 393216 float32), or an equally large GEMM.
HUGE = {GEMM: 29_000, CONV_BIAS: 530_000, ELEMENTWISE: 4096}


def make_tree(root: Path) -> int:
    count = 0
    for level, n_files in LEVEL_COUNTS.items():
        folder = root / "KernelBench" / f"level{level}"
        folder.mkdir(parents=True)
        for i in range(1, n_files + 1):
            template = TEMPLATES[i % len(TEMPLATES)]
            n = HUGE[template] if i % 7 == 0 else 16 + i
            (folder / f"{i}_Problem_{level}_{i}.py").write_text(template.format(n=n))
            count += 1
    (root / "scripts").mkdir()
    (root / "scripts" / "eval.py").write_text("raise SystemExit('not a task')\n")
    return count


@pytest.mark.timeout(180)
def test_kernelbench_like_tree_lists_every_problem_without_allocating(tmp_path: Path) -> None:
    expected = make_tree(tmp_path)
    load_suite(tmp_path / "KernelBench" / "level4")  # torch imports its meta kernels on first use
    before_mib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    started = time.perf_counter()
    listing = load_suite(tmp_path)
    elapsed_s = time.perf_counter() - started
    grown_mib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024 - before_mib
    print(f"listed {len(listing.tasks)} tasks in {elapsed_s:.2f} s; peak RSS grew {grown_mib:.0f} MiB")
    assert listing.errors == []
    assert len(listing.tasks) == expected == 250
    assert {level: sum(t.level == level for t in listing.tasks) for level in LEVEL_COUNTS} == LEVEL_COUNTS
    huge = [t for t in listing.tasks if t.task_id is not None and t.task_id % 7 == 0]
    assert huge and all(sum(a.numel for a in t.inputs) * 4 >= 6 * 1024**3 for t in huge)
    # Materialising even one of them would add gigabytes to the peak.
    assert grown_mib < 300, f"listing grew the peak RSS by {grown_mib:.0f} MiB"
    first = listing.tasks[0]
    assert (first.key, first.task_id) == ("level1/1_Problem_1_1", 1)
    conv = next(t for t in listing.tasks if t.name == "1_Problem_2_1")
    assert conv.init_args[3].kind == "other" and conv.init_args[3].value == "(16, 1, 1)"
