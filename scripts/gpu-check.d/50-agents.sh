#!/usr/bin/env bash
# Agents on a real GPU: `kernelwright optimize` end to end on three bundled tasks (ReLU, SiLU,
# GELU), a scripted OpenAI server playing back the pre-written kernels in
# tests/agents/gpu_candidates/ (round 0 scalar seed, round 1 float4 version after a Judge plan),
# through the real sandbox and, for ReLU, the profiler. Writes `kernelwright show TASK --json` per
# task (the speedups stored), summary.json, the store and the CLI logs under $KW_GPU_OUT/agents/,
# and prints one line per attempt. CPU dry run of the same plumbing:
#   python3 tests/agents/gpu_candidates/drive.py OUT --compile-only
set -uo pipefail
cd "$(dirname "$0")/../.."
out="${KW_GPU_OUT:-$PWD/gpu-check-out/figures}/agents"
mkdir -p "$out"
PY=${PYTHON:-python3}
timeout 140 "$PY" tests/agents/gpu_candidates/drive.py "$out"
