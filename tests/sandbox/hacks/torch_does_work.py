"""Hack: PyTorch doing the work. A custom kernel is launched on one element for show while an ATen
kernel computes the output.
Expected: guard 'torch-op-in-forward' (without --allow-torch); on the GPU the launch check
'library-kernel' (the candidate's kernel takes a sliver of the GPU time)."""

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
        scratch = torch.empty(1, device=x.device)
        self.kernels.launch("relu_kernel", grid=(1,), block=(32,), args=(x, scratch, 1))
        return torch.relu(x)
