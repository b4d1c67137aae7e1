// Kernels chosen to exercise every static figure the cubin parser reads; compared against
// `nvcc -cubin -Xptxas -v` in tests/profiler/test_cubin.py.
extern "C" __global__ void k_plain(const float* __restrict__ x, float* __restrict__ y, long long n) {
    long long i = (long long)blockIdx.x * blockDim.x + threadIdx.x;
    if (i < n) y[i] = x[i] > 0.f ? x[i] : 0.f;
}

extern "C" __global__ void k_shared(const float* x, float* y) {
    __shared__ float tile[1024];
    __shared__ double extra[64];
    tile[threadIdx.x] = x[threadIdx.x];
    extra[threadIdx.x & 63] = x[threadIdx.x];
    __syncthreads();
    y[threadIdx.x] = tile[1023 - threadIdx.x] + (float)extra[threadIdx.x & 7];
}

extern "C" __global__ void k_local(const float* x, float* y, int j) {
    float a[256];  // dynamically indexed: lives in local memory
    for (int i = 0; i < 256; i++) a[(i * j + threadIdx.x) & 255] = x[i];
    y[threadIdx.x] = a[j & 255];
}

__constant__ float coefficients[256];

extern "C" __global__ void __launch_bounds__(256) k_const(float* y) {
    y[threadIdx.x] = coefficients[threadIdx.x];
}

// 240 live accumulators: ptxas needs (nearly) all 255 registers for them.
extern "C" __global__ void __launch_bounds__(256, 1) k_registers(const float* __restrict__ x, float* __restrict__ y, int n) {
    float acc[240];
#pragma unroll
    for (int i = 0; i < 240; i++) acc[i] = x[i * n + threadIdx.x];
#pragma unroll 1
    for (int k = 0; k < n; k++) {
#pragma unroll
        for (int i = 0; i < 240; i++) acc[i] = acc[i] * acc[(i + 1) % 240] + x[k];
    }
    float s = 0.f;
#pragma unroll
    for (int i = 0; i < 240; i++) s += acc[i];
    y[threadIdx.x] = s;
}

// 1024 threads per block cap registers at 64, so the 96-element working set spills.
extern "C" __global__ void __launch_bounds__(1024) k_spill(const float* x, float* y, int n) {
    float a[96];
#pragma unroll
    for (int i = 0; i < 96; i++) a[i] = x[i * n + threadIdx.x];
    float s = 0.f;
#pragma unroll
    for (int k = 0; k < 8; k++) {
#pragma unroll
        for (int i = 0; i < 96; i++) s += a[i] * a[(i + k) % 96];
    }
    y[threadIdx.x] = s;
}
