"""Sandbox benchmark, compile half: NVRTC vs nvcc on the same sources, cached hits, and NVRTC on
device code extracted from load_inline files. Prints figures measured in this one run; asserts
nothing. The worker half lives in benchmarks/bench_worker.py and runs after this when present.

    .venv/bin/python benchmarks/bench_sandbox.py [--repeats 3] [--full-build] [--no-worker] [--launch-only]

The launch section comes first: the Python side of one 4-argument CudaModule launch (argument
packing up to the driver call), with and without the sandbox's audit hooks, for the current
packing and for the ctypes packing it replaced.

--full-build also times nvcc on a whole load_inline source with torch's headers (minutes on a
2-core machine); without it the issue's measured 168 s is quoted for comparison.
"""

from __future__ import annotations

import argparse
import importlib.util
import os
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
HONEST = REPO / "tests" / "sandbox" / "honest"

# The issue's reference: one ~30-line reduction kernel.
REDUCTION = r"""
#define THREADS 256
extern "C" __global__ void row_sum(const float* __restrict__ x, float* __restrict__ out, int cols) {
    __shared__ float partial[THREADS / 32];
    const float* row = x + (long long)blockIdx.x * cols;
    float acc = 0.f;
    for (int c = threadIdx.x; c < cols; c += THREADS) {
        acc += row[c];
    }
    for (int off = 16; off > 0; off >>= 1) {
        acc += __shfl_xor_sync(0xffffffff, acc, off);
    }
    int warp = threadIdx.x / 32, lane = threadIdx.x % 32;
    if (lane == 0) {
        partial[warp] = acc;
    }
    __syncthreads();
    if (warp == 0) {
        acc = lane < THREADS / 32 ? partial[lane] : 0.f;
        for (int off = 16; off > 0; off >>= 1) {
            acc += __shfl_xor_sync(0xffffffff, acc, off);
        }
        if (lane == 0) {
            out[blockIdx.x] = acc;
        }
    }
}
"""
ISSUE_FULL_BUILD_S = 168.0


def median_s(fn: Callable[[], object], repeats: int) -> float:
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def nvcc_object_s(source: str, repeats: int) -> float:
    """`nvcc -c`: the host+device object build that a build system (and a torch extension) runs
    per .cu file. `nvcc -cubin` skips the host compile, so it is the lower bound of nvcc's cost."""
    import subprocess

    with tempfile.TemporaryDirectory(prefix="kw-bench-nvcc-") as tmp:
        path = Path(tmp) / "kernel.cu"
        path.write_text(source)
        cmd = ["nvcc", "-c", "-arch=sm_90", str(path), "-o", str(Path(tmp) / "kernel.o")]
        return median_s(lambda: subprocess.run(cmd, check=True, capture_output=True), repeats)


def native_sources() -> dict[str, str]:
    from kernelwright.sandbox.build.candidate_source import cuda_sources

    sources = {"reduction (issue's 30 lines)": REDUCTION}
    for path in sorted(HONEST.glob("*.native.py")):
        sources[path.name] = cuda_sources(path.read_text())[0]
    return sources


def bench_compile(repeats: int = 3, full_build: bool = False) -> dict[str, float]:
    """Prints the compile figures and returns them (seconds) keyed by name."""
    from kernelwright.sandbox.build.candidate_source import cuda_sources
    from kernelwright.sandbox.build.compile import (
        CompileConfig,
        compile_cuda,
        nvcc_path,
        nvcc_version,
        nvrtc_version,
    )
    from kernelwright.sandbox.build.load_inline_extract import extract

    figures: dict[str, float] = {}
    os.environ["KERNELWRIGHT_CACHE_DIR"] = tempfile.mkdtemp(prefix="kw-bench-cache-")
    fresh = CompileConfig(use_cache=False)
    nvcc_cfg = CompileConfig(use_cache=False, backend="nvcc")
    print(
        f"NVRTC {nvrtc_version()}, nvcc {nvcc_version()}, {os.cpu_count()} CPU(s); median of {repeats} runs, sm_90"
    )
    print(f"{'source':34} {'NVRTC s':>9} {'nvcc -cubin s':>13} {'ratio':>6} {'nvcc -c s':>10} {'ratio':>6}")
    for name, source in native_sources().items():
        nvrtc_s = median_s(lambda s=source: compile_cuda(s, "sm_90", config=fresh), repeats)
        figures[f"nvrtc:{name}"] = nvrtc_s
        if nvcc_path():
            nvcc_s = median_s(lambda s=source: compile_cuda(s, "sm_90", config=nvcc_cfg), repeats)
            object_s = nvcc_object_s(source, repeats)
            figures[f"nvcc:{name}"], figures[f"nvcc-c:{name}"] = nvcc_s, object_s
            print(
                f"{name:34} {nvrtc_s:9.3f} {nvcc_s:13.3f} {nvcc_s / nvrtc_s:5.1f}x"
                f" {object_s:10.3f} {object_s / nvrtc_s:5.1f}x"
            )
        else:
            print(f"{name:34} {nvrtc_s:9.3f} {'-':>9} {'(no nvcc)':>11}")

    compile_cuda(REDUCTION, "sm_90")  # fill the cache
    hits = []
    for _ in range(50):
        start = time.perf_counter()
        result = compile_cuda(REDUCTION, "sm_90")
        hits.append(time.perf_counter() - start)
        assert result.cached
    figures["cached_hit"] = statistics.median(hits)
    print(f"cached hit (disk cache, median of 50): {figures['cached_hit'] * 1e3:.2f} ms (target <= 10 ms)")

    print(f"{'load_inline file':34} {'extract ms':>10} {'NVRTC s':>9} {'vs full build':>14}")
    for path in sorted(HONEST.glob("*.compat.py")):
        source = cuda_sources(path.read_text())[0]
        extract_s = median_s(lambda s=source: extract(s), repeats)
        code = extract(source).code
        nvrtc_s = median_s(lambda c=code: compile_cuda(c, "sm_90", config=fresh), repeats)
        figures[f"extracted:{path.name}"] = extract_s + nvrtc_s
        full_s = _full_build_s(source) if full_build else ISSUE_FULL_BUILD_S
        label = "measured" if full_build else "issue's 168 s"
        print(
            f"{path.name:34} {extract_s * 1e3:10.2f} {nvrtc_s:9.3f} {full_s / (extract_s + nvrtc_s):8.0f}x ({label})"
        )
    return figures


def _full_build_s(source: str) -> float:
    from kernelwright.sandbox.build.compile import CompileConfig, compile_cuda
    from kernelwright.sandbox.guard.static_check import (
        StaticCheckConfig,
        _full_build_config,
        torch_extension_options,
    )

    config: CompileConfig = _full_build_config(StaticCheckConfig())
    config.use_cache = False
    start = time.perf_counter()
    result = compile_cuda(source, "sm_90", torch_extension_options(), config=config)
    elapsed = time.perf_counter() - start
    print(f"  full nvcc build with torch headers: {elapsed:.1f} s ({'ok' if result.ok else 'failed'})")
    return elapsed


# One process per (packing, hooks) pair: an audit hook cannot be removed once added. The loop runs
# in a code object named after the "candidate" file, as a candidate's forward would.
_LAUNCH_CHILD = r"""
import ctypes, json, os, sys, tempfile, time
import torch
from cuda.bindings import driver
from kernelwright.sandbox.runner.kernel_params import pack_args, parse_kernel_params

packing, hooks, calls = sys.argv[1], sys.argv[2] == "on", int(sys.argv[3])
params = parse_kernel_params(
    'extern "C" __global__ void axpy(float* x, float* y, long long n, float alpha) {}'
)["axpy"]
x, y = torch.ones(8), torch.zeros(8)


def current(args):
    packed = pack_args("axpy", params, args, device_type="cpu")
    return driver._HelperKernelParams((packed.values, packed.wire_types))


def old_ctypes(args):
    # The packing this replaced: the same checks, then one ctypes value and addressof per argument.
    packed = pack_args("axpy", params, args, device_type="cpu")
    values = [ctypes.c_void_p(packed.values[0]), ctypes.c_void_p(packed.values[1]),
              ctypes.c_int64(packed.values[2]), ctypes.c_float(packed.values[3])]
    pointers = (ctypes.c_void_p * len(values))(*[ctypes.addressof(v) for v in values])
    return driver._HelperKernelParams(ctypes.addressof(pointers))


workdir = tempfile.mkdtemp()
candidate = os.path.join(workdir, "candidate_model_new.py")
if hooks:
    from kernelwright.sandbox.runner.audit_hooks import install
    guard = install(candidate, workdir)
loop = compile(
    "def forward(launch, x, y, calls):\n"
    "    for _ in range(calls):\n"
    "        launch((x, y, 8, 2.0))\n",
    candidate, "exec",
)
scope = {}
exec(loop, scope)
launch = current if packing == "current" else old_ctypes
best = min(
    (lambda t0: (scope["forward"](launch, x, y, calls), time.perf_counter() - t0)[1])(time.perf_counter())
    for _ in range(5)
)
if hooks:
    assert not guard.violations, guard.violations
print(json.dumps({"us": best / calls * 1e6}))
"""


def bench_launch_overhead(calls: int = 20000) -> dict[str, float]:
    """Per-launch microseconds of the Python side of a 4-argument launch, hooks off and on."""
    import json
    import subprocess

    if importlib.util.find_spec("cuda") is None:
        print("launch overhead: cuda-python is not installed; skipped.")
        return {}
    figures: dict[str, float] = {}
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    # A real file, as native.py is: the hooks let frames of `-c` code ("<string>") pass as wrappers.
    child = Path(tempfile.mkdtemp()) / "launch_child.py"
    child.write_text(_LAUNCH_CHILD)
    for packing in ("current", "old_ctypes"):
        for hooks in ("off", "on"):
            done = subprocess.run(
                [sys.executable, str(child), packing, hooks, str(calls)],
                capture_output=True,
                text=True,
                env=env,
                check=True,
            )
            figures[f"{packing}/{hooks}"] = json.loads(done.stdout.strip().splitlines()[-1])["us"]
    print("launch overhead (4 arguments: 2 pointers, long long, float), best of 5 x", calls, "calls")
    print("  measured on the CPU up to the driver call: pack_args + cuda-bindings' parameter block;")
    print("  cuLaunchKernel itself cannot run without a GPU, so it is not in these figures.")
    print(f"  {'packing':22} {'no hooks us':>11} {'sandbox hooks us':>16} {'added us':>9} {'ratio':>6}")
    for packing, label in (("current", "values + types (now)"), ("old_ctypes", "ctypes.addressof (old)")):
        off, on = figures[f"{packing}/off"], figures[f"{packing}/on"]
        print(f"  {label:22} {off:11.2f} {on:16.2f} {on - off:9.2f} {on / off:6.2f}")
    added = figures["current/on"] - figures["current/off"]
    print(f"  added by the hooks per launch now: {added:.2f} us (target <= 2 us)")
    return figures


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument(
        "--full-build", action="store_true", help="also time the full torch-extension nvcc build"
    )
    parser.add_argument("--no-worker", action="store_true", help="skip benchmarks/bench_worker.py")
    parser.add_argument("--launch-only", action="store_true", help="only the launch-overhead figures")
    args = parser.parse_args(argv)
    sys.path.insert(0, str(REPO))
    bench_launch_overhead()
    if args.launch_only:
        return
    print()
    bench_compile(args.repeats, args.full_build)
    worker_bench = Path(__file__).with_name("bench_worker.py")
    if worker_bench.exists() and not args.no_worker:
        spec = importlib.util.spec_from_file_location("bench_worker", worker_bench)
        assert spec and spec.loader
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
        print()
        module.main([])


if __name__ == "__main__":
    main()
