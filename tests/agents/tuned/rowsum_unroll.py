"""Row sums, one thread per row; the unroll depth is tuned and reaches
NVRTC as a -D option: deeper unrolling holds more registers, and at 256 spills."""

import torch

from kernelwright.sandbox.native import CudaModule

TUNE = {"UNROLL": (256, 4, 32)}

CUDA_SOURCE = r"""
#ifndef UNROLL
#define UNROLL 1
#endif
extern "C" __global__ void __launch_bounds__(256) rowsum_kernel(const float* __restrict__ x, float* __restrict__ y, int rows, int cols) {
    int row = blockIdx.x * blockDim.x + threadIdx.x;
    if (row >= rows) return;
    float acc[UNROLL];
    #pragma unroll
    for (int u = 0; u < UNROLL; ++u) acc[u] = 0.f;
    for (int c = 0; c + UNROLL <= cols; c += UNROLL) {
        #pragma unroll
        for (int u = 0; u < UNROLL; ++u) acc[u] += x[(long long)row * cols + c + u];
    }
    float total = 0.f;
    #pragma unroll
    for (int u = 0; u < UNROLL; ++u) total += acc[u];
    for (int c = cols - cols % UNROLL; c < cols; ++c) total += x[(long long)row * cols + c];
    y[row] = total;
}
"""


class ModelNew(torch.nn.Module):
    def __init__(self):
        super().__init__()
        self.kernels = CudaModule(CUDA_SOURCE, options=(f"-DUNROLL={TUNE['UNROLL']}",))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = x.contiguous()
        rows, cols = x.shape
        y = torch.empty(rows, device=x.device, dtype=x.dtype)
        block = 256
        self.kernels.launch(
            "rowsum_kernel", grid=((rows + block - 1) // block,), block=(block,), args=(x, y, rows, cols)
        )
        return y
