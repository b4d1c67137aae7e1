#!/usr/bin/env bash
# Profiler on a real GPU: profiles three kernels (memory-bound elementwise, row reduction, tiled
# GEMM; tests/profiler/gpu_cases/) through the sandbox and the Profiler, and writes what the CPU
# tests need as real fixtures, per kernel, under $KW_GPU_OUT/profiler/<kernel>/:
#   ncu_raw.csv + ncu_command.txt (the exact command), nvml.json (raw samples in NVML units and
#   the condensed reading), verdict.json, profile.json, digest.txt, ncu_wall_s.txt
# plus ncu_query_metrics.txt (`ncu --query-metrics`: the metric names this ncu offers),
# and a summary (digests, ncu wall time, ncu/NVML availability) on stdout.
# Commit them as tests/profiler/fixtures/*_captured_* (see tests/profiler/fixtures/README.md).
set -uo pipefail
cd "$(dirname "$0")/../.."
out="${KW_GPU_OUT:-$PWD/gpu-check-out/figures}/profiler"
mkdir -p "$out"
PY=${PYTHON:-python3}

"$PY" -c "from kernelwright.profiler.ncu import ncu_status; from kernelwright.gpu.nvml import list_gpus
print(ncu_status().message); print([g.model_dump() for g in list_gpus()])" >"$out/ncu_status.txt" 2>&1
cat "$out/ncu_status.txt"
# What this ncu lists (the profiler resolves renamed metrics from it before profiling): a real
# fixture for tests/profiler/test_ncu_versions.py, which reads a hand-written listing until then.
ncu_bin=$("$PY" -c "from kernelwright.profiler.ncu import find_ncu; print(find_ncu() or '')")
if [ -n "$ncu_bin" ]; then
  timeout 60 "$ncu_bin" --query-metrics >"$out/ncu_query_metrics.txt" 2>&1
  echo "ncu --query-metrics rc=$? ($(wc -l <"$out/ncu_query_metrics.txt") lines, $("$ncu_bin" --version | tail -n 1))"
fi

"$PY" - "$out" <<'PYEOF'
import json
import sys
import time
from pathlib import Path

from kernelwright.contracts import Candidate
from kernelwright.kernelbench.loader import load_task
from kernelwright.profiler.ncu import NcuConfig
from kernelwright.profiler.profile import Profiler, ProfilerConfig, build_profile
from kernelwright.sandbox.config import SandboxConfig
from kernelwright.sandbox.evaluate import Sandbox

out = Path(sys.argv[1])
cases = Path("tests/profiler/gpu_cases")
quick = SandboxConfig(trials=2, shape_trial=False, timing_min_calls=20, timing_min_seconds=0.3)
ncu_config = NcuConfig(calls=1, warmup_calls=2, timeout_s=60)
profiler = Profiler(ProfilerConfig(ncu=ncu_config, power_min_seconds=1.0))
with Sandbox(quick) as sandbox:
    for name in ("relu", "sum", "gemm"):
        started = time.perf_counter()
        folder = out / name
        folder.mkdir(parents=True, exist_ok=True)
        task = load_task(cases / f"{name}_task.py")
        candidate = Candidate(source=(cases / f"{name}_candidate.py").read_text())
        verdict = sandbox(task, candidate)
        (folder / "verdict.json").write_text(verdict.model_dump_json(indent=1))
        if not verdict.correct:
            print(f"== {name}: verdict {verdict.status.value}: {verdict.message}", flush=True)
            continue
        parts = profiler.gather(task, candidate, verdict)
        profile = build_profile(task, verdict, parts)
        if parts.ncu is not None:
            (folder / "ncu_raw.csv").write_text(parts.ncu.raw_output)
            (folder / "ncu_command.txt").write_text(" ".join(parts.ncu.command) + "\n")
            (folder / "ncu_wall_s.txt").write_text(f"{parts.ncu.wall_s:.2f}\n")
        nvml = {
            "gpu": parts.gpu.model_dump(mode="json") if parts.gpu else None,
            "reading": parts.power.model_dump(mode="json") if parts.power else None,
            "samples": [s.model_dump(mode="json") for s in parts.power_samples],
        }
        (folder / "nvml.json").write_text(json.dumps(nvml, indent=1))
        (folder / "profile.json").write_text(profile.model_dump_json(indent=1))
        (folder / "digest.txt").write_text(profile.digest + "\n")
        wall = f"{parts.ncu.wall_s:.1f} s" if parts.ncu is not None and parts.ncu.ok else "n/a"
        print(f"== {name}: ncu wall {wall}, case total {time.perf_counter() - started:.1f} s", flush=True)
        print(profile.digest, flush=True)
PYEOF
