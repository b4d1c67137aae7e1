"""Honest compat (KernelBench load_inline) candidate for level1/13_SiLU."""

import torch
import torch.nn as nn
from torch.utils.cpp_extension import load_inline

silu_source = r"""
#include <torch/extension.h>
#include <ATen/cuda/CUDAContext.h>
#include <cuda_runtime.h>

__global__ void silu_kernel(const float* __restrict__ x, float* __restrict__ y, int64_t n) {
    int64_t i = (int64_t)blockIdx.x * blockDim.x + threadIdx.x;
    if (i < n) {
        float v = x[i];
        y[i] = v / (1.0f + expf(-v));
    }
}

torch::Tensor silu_cuda(torch::Tensor x) {
    TORCH_CHECK(x.is_cuda() && x.scalar_type() == torch::kFloat32, "x must be a float32 CUDA tensor");
    auto xc = x.contiguous();
    auto y = torch::empty_like(xc);
    int64_t n = xc.numel();
    const int threads = 256;
    const int64_t blocks = (n + threads - 1) / threads;
    silu_kernel<<<blocks, threads, 0, at::cuda::getCurrentCUDAStream()>>>(
        xc.data_ptr<float>(), y.data_ptr<float>(), n);
    return y;
}
"""

silu_cpp_source = "torch::Tensor silu_cuda(torch::Tensor x);"

silu = load_inline(
    name="kw_honest_silu",
    cpp_sources=silu_cpp_source,
    cuda_sources=silu_source,
    functions=["silu_cuda"],
    verbose=False,
)


class ModelNew(nn.Module):
    def __init__(self):
        super().__init__()
        self.silu = silu

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.silu.silu_cuda(x)
