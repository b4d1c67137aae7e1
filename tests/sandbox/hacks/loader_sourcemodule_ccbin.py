"""Hack: pycuda's SourceModule runs nvcc before the no-exec seal, and the audit hooks trust
pycuda's compiler to start it; `-ccbin` makes nvcc run a "host compiler" the candidate picks (and
`-Xcompiler -wrapper,...` would make gcc run one). Caught by `compiler-options`."""

import numpy as np
import pycuda.autoprimaryctx  # noqa: F401
import torch
from pycuda.compiler import SourceModule

CUDA_SOURCE = r"""
__global__ void relu_kernel(const float* __restrict__ x, float* __restrict__ y, long long n) {
    long long i = (long long)blockIdx.x * blockDim.x + threadIdx.x;
    if (i < n) y[i] = fmaxf(x[i], 0.f);
}
"""


class ModelNew(torch.nn.Module):
    def __init__(self):
        super().__init__()
        self.module = SourceModule(CUDA_SOURCE, options=["-ccbin", "/var/tmp/kernelwright-cc"])
        self.relu = self.module.get_function("relu_kernel")

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = x.contiguous()
        y = torch.empty_like(x)
        n = x.numel()
        self.relu(
            np.uintp(x.data_ptr()),
            np.uintp(y.data_ptr()),
            np.int64(n),
            block=(256, 1, 1),
            grid=((n + 255) // 256, 1),
        )
        return y
