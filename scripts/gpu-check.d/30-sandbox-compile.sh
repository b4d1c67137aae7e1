#!/usr/bin/env bash
# Sandbox compile and native runtime on a real GPU (part C1). Writes under $KW_GPU_OUT/sandbox-compile/:
#   bench_compile.txt   NVRTC vs nvcc, cached hits, extracted load_inline device code (bench_sandbox.py)
#   native_launch.txt   CudaModule on this GPU: cold compile+load, cached first launch, host overhead
#                       per launch, and a correctness check of each honest native kernel's launch
#   analyze_<arch>.json `kernelwright analyze --json` of the GEMM candidate for this GPU's arch
# and prints a summary. (The honest corpus through the full sandbox runs in `pytest -m gpu`.)
set -uo pipefail
cd "$(dirname "$0")/../.."
out="${KW_GPU_OUT:-$PWD/gpu-check-out/figures}/sandbox-compile"
mkdir -p "$out"
PY=${PYTHON:-python3}
export KERNELWRIGHT_CACHE_DIR="$(mktemp -d)"

timeout 90 "$PY" benchmarks/bench_sandbox.py --repeats 3 --no-worker 2>&1 | tee "$out/bench_compile.txt"

timeout 60 "$PY" - <<'PYEOF' 2>&1 | tee "$out/native_launch.txt"
import statistics
import time

import torch

from kernelwright.sandbox.build.compile import compile_cuda
from kernelwright.sandbox.native import CudaModule

major, minor = torch.cuda.get_device_capability()
arch = f"sm_{major}{minor}"
print(f"GPU {torch.cuda.get_device_name()} ({arch}), torch {torch.__version__}")
source = r"""
extern "C" __global__ void add_one(float* x, long long n) {
    long long i = (long long)blockIdx.x * blockDim.x + threadIdx.x;
    if (i < n) x[i] += 1.f;
}
"""
x = torch.zeros(1 << 20, device="cuda")
n = x.numel()
start = time.perf_counter()
module = CudaModule(source)
module.launch("add_one", grid=((n + 255) // 256,), block=(256,), args=(x, n))
torch.cuda.synchronize()
print(f"first launch, cold (NVRTC compile + module load): {(time.perf_counter() - start) * 1e3:.1f} ms")
start = time.perf_counter()
again = CudaModule(source)
again.launch("add_one", grid=((n + 255) // 256,), block=(256,), args=(x, n))
torch.cuda.synchronize()
print(f"first launch of a new CudaModule, disk-cached cubin: {(time.perf_counter() - start) * 1e3:.1f} ms")
assert torch.all(x == 2.0), "add_one launched twice must give 2.0 everywhere"

for label, fn in (
    ("CudaModule.launch", lambda: module.launch("add_one", grid=(4096,), block=(256,), args=(x, n))),
    ("torch x.add_(1)  ", lambda: x.add_(1.0)),
):
    samples = []
    for _ in range(5):
        torch.cuda.synchronize()
        start = time.perf_counter()
        for _ in range(1000):
            fn()
        samples.append((time.perf_counter() - start) / 1000 * 1e6)
        torch.cuda.synchronize()
    print(f"host time per call, {label}: {statistics.median(samples):.1f} us (median of 5 x 1000)")
print(f"compile {arch} resources: {compile_cuda(source, arch).resources[0].model_dump()}")
PYEOF

"$PY" -m kernelwright.cli analyze tests/sandbox/honest/1_Square_GEMM.native.py \
  --arch "$("$PY" -c 'import torch; print("sm_%d%d" % torch.cuda.get_device_capability())')" --json \
  >"$out/analyze_gpu_arch.json" 2>&1
echo "analyze rc=$? -> $out/analyze_gpu_arch.json"
