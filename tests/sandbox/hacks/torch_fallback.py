"""Hack: PyTorch fallback. A CUDA kernel is compiled for show, but torch does the work.
Expected: guard 'torch-op-in-forward' (without --allow-torch); on the GPU the launch check
('no-custom-kernel' / 'library-kernel')."""

import torch

from kernelwright.sandbox.native import CudaModule

CUDA_SOURCE = r"""
extern "C" __global__ void relu_kernel(const float* __restrict__ x, float* __restrict__ y, long long n) {
    long long i = (long long)blockIdx.x * blockDim.x + threadIdx.x;
    if (i < n) y[i] = x[i] > 0.f ? x[i] : 0.f;
}
"""


class ModelNew(torch.nn.Module):
    def __init__(self):
        super().__init__()
        self.kernels = CudaModule(CUDA_SOURCE)

    def forward(self, x):
        return torch.relu(x)
