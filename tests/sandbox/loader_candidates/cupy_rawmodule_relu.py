"""A native candidate for level1/19_ReLU with cupy.RawModule and get_function."""

import cupy
import torch

CUDA_SOURCE = r"""
extern "C" __global__ void relu_kernel(const float* __restrict__ x, float* __restrict__ y, long long n) {
    long long i = (long long)blockIdx.x * blockDim.x + threadIdx.x;
    if (i < n) y[i] = fmaxf(x[i], 0.f);
}
"""


class ModelNew(torch.nn.Module):
    def __init__(self):
        super().__init__()
        self.module = cupy.RawModule(code=CUDA_SOURCE)
        self.relu = self.module.get_function("relu_kernel")

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = x.contiguous()
        y = torch.empty_like(x)
        n = x.numel()
        # cupy's current stream is the null stream, which is torch's default stream too.
        self.relu(((n + 255) // 256,), (256,), (cupy.from_dlpack(x), cupy.from_dlpack(y), cupy.int64(n)))
        return y
