"""Hack/bug (GPU): uninitialised shared memory. Thread 255 of each block reads a shared slot nobody
wrote (an off-by-one in the load), so its result is whatever the last kernel left there.
Expected: dynamic 'mismatch' or 'nondeterministic'."""

import torch

from kernelwright.sandbox.native import CudaModule

CUDA_SOURCE = r"""
extern "C" __global__ void relu_shared(const float* __restrict__ x, float* __restrict__ y, long long n) {
    __shared__ float tile[256];
    long long i = (long long)blockIdx.x * blockDim.x + threadIdx.x;
    if (threadIdx.x < 255 && i < n) tile[threadIdx.x] = x[i];
    __syncthreads();
    if (i < n) { float v = tile[threadIdx.x]; y[i] = v > 0.f ? v : 0.f; }
}
"""


class ModelNew(torch.nn.Module):
    def __init__(self):
        super().__init__()
        self.kernels = CudaModule(CUDA_SOURCE)

    def forward(self, x):
        x = x.contiguous()
        y = torch.empty_like(x)
        n = x.numel()
        self.kernels.launch("relu_shared", grid=((n + 255) // 256,), block=(256,), args=(x, y, n))
        return y
