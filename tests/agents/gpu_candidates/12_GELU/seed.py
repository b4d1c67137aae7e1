"""Pre-written gelu candidate (scalar, grid-stride) played back by scripts/gpu-check.d/50-agents.sh."""

import torch

from kernelwright.sandbox.native import CudaModule

CUDA_SOURCE = r"""
__device__ __forceinline__ float op(float v) { return 0.5f * v * (1.0f + erff(v * 0.70710678118654752f)); }

extern "C" __global__ void gelu_scalar(const float* __restrict__ x, float* __restrict__ y, long long n) {
    for (long long i = (long long)blockIdx.x * blockDim.x + threadIdx.x; i < n;
         i += (long long)gridDim.x * blockDim.x) {
        y[i] = op(x[i]);
    }
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
        threads = 256
        blocks = max(1, min((n + threads - 1) // threads, 65535))
        self.kernels.launch("gelu_scalar", grid=(blocks,), block=(threads,), args=(x, y, n))
        return y
