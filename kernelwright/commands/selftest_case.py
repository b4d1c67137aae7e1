"""What `kernelwright selftest` runs: one small, honest, memory-bound kernel (ReLU over 16 Mi floats)
and its KernelBench-format task, small enough that every stage together fits in about a minute."""

from __future__ import annotations

import tempfile
from pathlib import Path

from kernelwright.contracts import Candidate, Task

KERNEL_NAME = "selftest_relu"

KERNEL_SOURCE = r"""
extern "C" __global__ void selftest_relu(const float* __restrict__ x, float* __restrict__ y, long long n) {
    long long stride = (long long)gridDim.x * blockDim.x;
    for (long long i = (long long)blockIdx.x * blockDim.x + threadIdx.x; i < n; i += stride) {
        y[i] = fmaxf(x[i], 0.f);
    }
}
"""

TASK_SOURCE = '''"""kernelwright selftest: y = relu(x) over 16 Mi float32 (64 MiB read, 64 MiB written)."""

import torch
import torch.nn as nn

n = 1 << 24


class Model(nn.Module):
    def __init__(self):
        super().__init__()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.relu(x)


def get_inputs():
    # randn, not rand: on non-negative inputs ReLU is the identity and a copy would pass.
    return [torch.randn(n)]


def get_init_inputs():
    return []
'''

CANDIDATE_SOURCE = f'''"""The selftest's honest candidate: a grid-stride ReLU through kernelwright's native runtime."""

import torch

from kernelwright.sandbox.native import CudaModule

CUDA_SOURCE = r"""{KERNEL_SOURCE}"""


class ModelNew(torch.nn.Module):
    def __init__(self):
        super().__init__()
        self.kernels = CudaModule(CUDA_SOURCE)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = x.contiguous()
        y = torch.empty_like(x)
        n = x.numel()
        blocks = min((n + 255) // 256, 65536)
        self.kernels.launch("{KERNEL_NAME}", grid=(blocks,), block=(256,), args=(x, y, n))
        return y
'''


def selftest_task() -> Task:
    """The task, loaded the way every task is (the loader needs a file: it reads sizes and shapes)."""
    from kernelwright.kernelbench.loader import load_task

    with tempfile.TemporaryDirectory(prefix="kw-selftest-") as folder:
        path = Path(folder) / "selftest_relu.py"
        path.write_text(TASK_SOURCE)
        return load_task(path)


def selftest_candidate() -> Candidate:
    return Candidate(source=CANDIDATE_SOURCE, build="native", origin="selftest")
