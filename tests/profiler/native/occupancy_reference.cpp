// Runs NVIDIA's own occupancy calculator (cuda_occupancy.h, host-only C++) on configurations read
// from stdin: "major minor threads regs smem" per line -> "blocks_per_sm" per line.
// Device properties are those of the CUDA C++ Programming Guide's per-compute-capability table.
#include <cstdio>
#include <climits>
#include <cuda_occupancy.h>

static cudaOccDeviceProp props_for(int major, int minor) {
    cudaOccDeviceProp p;
    p.computeMajor = major;
    p.computeMinor = minor;
    p.maxThreadsPerBlock = 1024;
    p.regsPerBlock = 65536;
    p.regsPerMultiprocessor = 65536;
    p.warpSize = 32;
    p.sharedMemPerBlock = 48 * 1024;
    int warps = 64, smem_kib = 228, block_kib = 227;
    if (major == 7 && minor == 0) { warps = 64; smem_kib = 96; block_kib = 96; }
    if (major == 7 && minor == 5) { warps = 32; smem_kib = 64; block_kib = 64; }
    if (major == 8 && minor == 0) { warps = 64; smem_kib = 164; block_kib = 163; }
    if (major == 8 && (minor == 6 || minor == 9)) { warps = 48; smem_kib = 100; block_kib = 99; }
    p.maxThreadsPerMultiprocessor = warps * 32;
    p.sharedMemPerMultiprocessor = (size_t)smem_kib * 1024;
    p.sharedMemPerBlockOptin = (size_t)block_kib * 1024;
    p.reservedSharedMemPerBlock = major >= 8 ? 1024 : 0;
    p.numSms = 100;
    return p;
}

int main() {
    int major, minor, threads, regs;
    size_t smem;
    while (scanf("%d %d %d %d %zu", &major, &minor, &threads, &regs, &smem) == 5) {
        cudaOccDeviceProp p = props_for(major, minor);
        cudaOccFuncAttributes a;
        a.maxThreadsPerBlock = INT_MAX;
        a.numRegs = regs;
        a.sharedSizeBytes = smem;
        a.maxDynamicSharedSizeBytes = (int)p.sharedMemPerBlockOptin - (int)smem;
        a.shmemLimitConfig = FUNC_SHMEM_LIMIT_OPTIN;
        cudaOccDeviceState s;
        cudaOccResult r;
        cudaOccError e = cudaOccMaxActiveBlocksPerMultiprocessor(&r, &p, &a, &s, threads, 0);
        printf("%d\n", e == CUDA_OCC_SUCCESS ? r.activeBlocksPerMultiprocessor : -1);
    }
    return 0;
}
