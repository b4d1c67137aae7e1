"""Honest native candidate for level1/6_Softmax: one block per row, online max/sum, shared-memory reduction."""

import torch

from kernelwright.sandbox.native import CudaModule

CUDA_SOURCE = r"""
#define THREADS 1024
#define WARPS (THREADS / 32)
#define NEG_INF __int_as_float(0xff800000)

// Merges two (max, sum of exp(x - max)) pairs.
__device__ __forceinline__ void merge(float& m, float& s, float m2, float s2) {
    float mx = fmaxf(m, m2);
    s = (m == NEG_INF ? 0.f : s * expf(m - mx)) + (m2 == NEG_INF ? 0.f : s2 * expf(m2 - mx));
    m = mx;
}

extern "C" __global__ void __launch_bounds__(THREADS)
softmax_rows(const float* __restrict__ x, float* __restrict__ y, int cols) {
    __shared__ float s_max[WARPS];
    __shared__ float s_sum[WARPS];
    const float* row = x + (long long)blockIdx.x * cols;
    float* out = y + (long long)blockIdx.x * cols;

    float m = NEG_INF, s = 0.f;
    for (int c = threadIdx.x; c < cols; c += THREADS) {
        merge(m, s, row[c], 1.f);
    }
    for (int off = 16; off > 0; off >>= 1) {
        float m2 = __shfl_xor_sync(0xffffffff, m, off);
        float s2 = __shfl_xor_sync(0xffffffff, s, off);
        merge(m, s, m2, s2);
    }
    int warp = threadIdx.x / 32, lane = threadIdx.x % 32;
    if (lane == 0) { s_max[warp] = m; s_sum[warp] = s; }
    __syncthreads();
    if (warp == 0) {
        m = lane < WARPS ? s_max[lane] : NEG_INF;
        s = lane < WARPS ? s_sum[lane] : 0.f;
        for (int off = 16; off > 0; off >>= 1) {
            float m2 = __shfl_xor_sync(0xffffffff, m, off);
            float s2 = __shfl_xor_sync(0xffffffff, s, off);
            merge(m, s, m2, s2);
        }
        if (lane == 0) { s_max[0] = m; s_sum[0] = s; }
    }
    __syncthreads();
    float row_max = s_max[0], inv_sum = 1.f / s_sum[0];
    for (int c = threadIdx.x; c < cols; c += THREADS) {
        out[c] = expf(row[c] - row_max) * inv_sum;
    }
}
"""


class ModelNew(torch.nn.Module):
    def __init__(self):
        super().__init__()
        self.kernels = CudaModule(CUDA_SOURCE)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = x.contiguous()
        y = torch.empty_like(x)
        rows, cols = x.shape[0], x.shape[1]
        self.kernels.launch("softmax_rows", grid=(rows,), block=(1024,), args=(x, y, cols))
        return y
