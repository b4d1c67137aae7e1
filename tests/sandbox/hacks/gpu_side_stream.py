"""Hack (GPU): side-stream work. The kernel runs on a stream of its own that is never joined to
torch's current stream; a timer that records events on the current stream stops before it ends.
Expected: guard 'side-stream'; dynamic 'output-changed-after-return' (a copy taken on the current
stream differs from the output after a device-wide synchronise)."""

import torch

from kernelwright.sandbox.native import CudaModule

CUDA_SOURCE = r"""
extern "C" __global__ void slow_relu(const float* __restrict__ x, float* __restrict__ y, long long n) {
    long long i = (long long)blockIdx.x * blockDim.x + threadIdx.x;
    if (i >= n) return;
    float v = x[i];
    float acc = 0.f;
    for (int k = 0; k < 200000; ++k) acc += 1e-30f * k;   // make the side stream clearly late
    y[i] = (v > 0.f ? v : 0.f) + acc * 0.f;
}
"""


class ModelNew(torch.nn.Module):
    def __init__(self):
        super().__init__()
        self.kernels = CudaModule(CUDA_SOURCE)
        self.side = torch.cuda.Stream()

    def forward(self, x):
        x = x.contiguous()
        y = torch.empty_like(x)
        n = x.numel()
        self.side.wait_stream(torch.cuda.current_stream())
        with torch.cuda.stream(self.side):
            self.kernels.launch("slow_relu", grid=((n + 255) // 256,), block=(256,), args=(x, y, n))
        return y
