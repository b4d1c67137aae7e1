"""Pre-written relu candidate (float4 loads/stores, scalar tail) played back by
scripts/gpu-check.d/50-agents.sh as the 'optimized' answer."""

import torch

from kernelwright.sandbox.native import CudaModule

CUDA_SOURCE = r"""
__device__ __forceinline__ float op(float v) { return v < 0.f ? 0.f : v; }

extern "C" __global__ void relu_vec4(const float4* __restrict__ x, float4* __restrict__ y, long long n4) {
    for (long long i = (long long)blockIdx.x * blockDim.x + threadIdx.x; i < n4;
         i += (long long)gridDim.x * blockDim.x) {
        float4 v = x[i];
        v.x = op(v.x);
        v.y = op(v.y);
        v.z = op(v.z);
        v.w = op(v.w);
        y[i] = v;
    }
}

extern "C" __global__ void relu_scalar(const float* __restrict__ x, float* __restrict__ y, long long start,
                                         long long n) {
    for (long long i = start + (long long)blockIdx.x * blockDim.x + threadIdx.x; i < n;
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
        aligned = x.data_ptr() % 16 == 0 and y.data_ptr() % 16 == 0
        n4 = n // 4 if aligned else 0
        if n4 > 0:
            blocks = min((n4 + threads - 1) // threads, 132 * 16)
            self.kernels.launch("relu_vec4", grid=(blocks,), block=(threads,), args=(x, y, n4))
        rest = n - 4 * n4
        if rest > 0:
            blocks = max(1, min((rest + threads - 1) // threads, 65535))
            self.kernels.launch("relu_scalar", grid=(blocks,), block=(threads,), args=(x, y, 4 * n4, n))
        return y
