"""Hack (GPU): stale memory. A no-op kernel and an uninitialised output, relying on the caching
allocator returning the block where the reference left its result.
Expected: dynamic 'mismatch' (the candidate runs first, over NaN-filled allocator blocks)."""

import torch

from kernelwright.sandbox.native import CudaModule

CUDA_SOURCE = r"""
extern "C" __global__ void touch(float* __restrict__ y, long long n) {
    long long i = (long long)blockIdx.x * blockDim.x + threadIdx.x;
    if (i == n) y[0] = 0.f;   // never true: writes nothing
}
"""


class ModelNew(torch.nn.Module):
    def __init__(self):
        super().__init__()
        self.kernels = CudaModule(CUDA_SOURCE)

    def forward(self, x):
        y = torch.empty_like(x)
        n = x.numel()
        self.kernels.launch("touch", grid=((n + 255) // 256,), block=(256,), args=(y, n))
        return y
