"""Honest compat (KernelBench load_inline) candidate for level1/8_RMSNorm: one block per row."""

import torch
import torch.nn as nn
from torch.utils.cpp_extension import load_inline

rmsnorm_source = r"""
#include <torch/extension.h>
#include <ATen/cuda/CUDAContext.h>

#define THREADS 512

template <typename scalar_t>
__global__ void rmsnorm_kernel(const scalar_t* __restrict__ x, const scalar_t* __restrict__ w,
                               scalar_t* __restrict__ y, int cols, float eps) {
    __shared__ float partial[THREADS / 32];
    const scalar_t* row = x + (int64_t)blockIdx.x * cols;
    scalar_t* out = y + (int64_t)blockIdx.x * cols;
    float ss = 0.f;
    for (int c = threadIdx.x; c < cols; c += THREADS) {
        float v = static_cast<float>(row[c]);
        ss += v * v;
    }
    for (int off = 16; off > 0; off >>= 1) ss += __shfl_xor_sync(0xffffffff, ss, off);
    if (threadIdx.x % 32 == 0) partial[threadIdx.x / 32] = ss;
    __syncthreads();
    if (threadIdx.x < 32) {
        ss = threadIdx.x < THREADS / 32 ? partial[threadIdx.x] : 0.f;
        for (int off = 16; off > 0; off >>= 1) ss += __shfl_xor_sync(0xffffffff, ss, off);
        if (threadIdx.x == 0) partial[0] = ss;
    }
    __syncthreads();
    float scale = rsqrtf(partial[0] / cols + eps);
    for (int c = threadIdx.x; c < cols; c += THREADS) {
        out[c] = static_cast<scalar_t>(static_cast<float>(row[c]) * scale * static_cast<float>(w[c]));
    }
}

torch::Tensor rmsnorm_cuda(torch::Tensor x, torch::Tensor w, double eps) {
    auto xc = x.contiguous();
    auto y = torch::empty_like(xc);
    int cols = xc.size(-1);
    int rows = xc.numel() / cols;
    rmsnorm_kernel<float><<<rows, THREADS, 0, at::cuda::getCurrentCUDAStream()>>>(
        xc.data_ptr<float>(), w.data_ptr<float>(), y.data_ptr<float>(), cols, static_cast<float>(eps));
    return y;
}
"""

rmsnorm_cpp_source = "torch::Tensor rmsnorm_cuda(torch::Tensor x, torch::Tensor w, double eps);"

rmsnorm = load_inline(
    name="kw_honest_rmsnorm",
    cpp_sources=rmsnorm_cpp_source,
    cuda_sources=rmsnorm_source,
    functions=["rmsnorm_cuda"],
    verbose=False,
)


class ModelNew(nn.Module):
    def __init__(self, dim: int):
        super().__init__()
        self.eps = 1e-6
        self.weight = nn.Parameter(torch.randn(dim) * 0.5 + 1.0)
        self.ext = rmsnorm

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.ext.rmsnorm_cuda(x, self.weight, self.eps)
