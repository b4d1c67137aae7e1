#!/usr/bin/env bash
# Part F on a GPU machine: a 3-task batch through the real Sandbox (LLM: the scripted, prompt-keyed
# OpenAI server from tests/batch, since the machine has no network), then `leaderboard` and
# `report --html` on its store. Outputs under $KW_GPU_OUT/batch/: batch.db, batch.log,
# leaderboard.txt, leaderboard.json, report.html, verdicts/*.json (recorded Verdicts that can replace the
# hand-written fixtures in tests/batch/fixtures), bench.txt (scheduling overhead and leaderboard time).
set -uo pipefail
cd "$(dirname "$0")/../.."
out="${KW_GPU_OUT:-$PWD/gpu-check-out}/batch"
mkdir -p "$out"
PY=${PYTHON:-python3}

echo "== 3-task batch + leaderboard + report --html"
timeout 80 "$PY" tests/batch/gpu_batch.py --out "$out"
rc=$?
echo "batch rc=$rc"
ls -la "$out" "$out/verdicts" 2>/dev/null | tail -n 20

echo "== bench_batch (small: 20k attempts, no Ray start on the lease)"
timeout 20 "$PY" benchmarks/bench_batch.py --attempts 20000 --evals 2000 --ray-evals 0 2>&1 | grep -v WARNING | tee "$out/bench.txt"
exit $rc
