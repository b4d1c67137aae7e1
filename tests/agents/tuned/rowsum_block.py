"""Row sums, one thread per row; the block size is tuned. The kernel's register count is fixed, so
the block size alone decides the theoretical occupancy."""

import torch

from kernelwright.sandbox.native import CudaModule

TUNE = {"BLOCK": (1024, 256)}

CUDA_SOURCE = r"""
#define UNROLL 32
extern "C" __global__ void rowsum_kernel(const float* __restrict__ x, float* __restrict__ y, int rows, int cols) {
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
        self.kernels = CudaModule(CUDA_SOURCE)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = x.contiguous()
        rows, cols = x.shape
        y = torch.empty(rows, device=x.device, dtype=x.dtype)
        block = TUNE["BLOCK"]
        self.kernels.launch(
            "rowsum_kernel", grid=((rows + block - 1) // block,), block=(block,), args=(x, y, rows, cols)
        )
        return y
