#!/usr/bin/env bash
# C2 (sandbox worker/verify/timing) on the GPU machine. The GPU hack classes and the honest-kernel
# test already run in scripts/gpu-check's `pytest -m gpu` step, and bench_worker.py --device cuda in
# its benchmark step; this part records the verdicts a user sees: `kernelwright verify --device cuda
# --json` on each native honest kernel, with timings, speedups and elapsed stages, plus the verdicts
# of the GPU hack candidates. Figures go to $KW_GPU_OUT/sandbox-worker/. System python3, no venv.
set -uo pipefail
cd "$(dirname "$0")/../.."
PY=${PYTHON:-python3}
out="${KW_GPU_OUT:-/tmp/kw-gpu-out}/sandbox-worker"
mkdir -p "$out"

summarise() {  # one line per verdict JSON file
  "$PY" - "$@" <<'PYEOF'
import json, sys
for path in sys.argv[1:]:
    try:
        v = json.load(open(path))
    except Exception as err:
        print(f"{path}: no verdict ({err})")
        continue
    c, e = v.get("candidate_timing") or {}, v.get("eager_timing") or {}
    speed = v.get("speedup_vs_eager")
    print(f"{path.rsplit('/', 1)[-1]}: {v['status']} rule={v.get('rule')} gpu={v.get('gpu_name')} "
          f"cand={c.get('median_ms')} ms cv={c.get('cv')} n={c.get('trials')} eager={e.get('median_ms')} ms "
          f"speedup={speed if speed is None else round(speed, 2)} elapsed={v.get('elapsed_s')}")
    if v["status"] not in ("ok", "suspicious"):
        print("   ", v.get("message"))
PYEOF
}

echo "== kernelwright verify --device cuda on the native honest kernels"
for cand in tests/sandbox/honest/*.native.py; do
  name=$(basename "$cand" .native.py)
  timeout 30 "$PY" -m kernelwright verify --task "$name" "$cand" --device cuda --json \
    >"$out/verify-$name.json" 2>"$out/verify-$name.err"
  echo "$name rc=$? (0 ok, 10 suspicious)"
done
summarise "$out"/verify-*.json

echo "== GPU hack candidates, full sandbox (guard on)"
for cand in tests/sandbox/hacks/gpu_*.py tests/sandbox/hacks/torch_does_work.py; do
  name=$(basename "$cand" .py)
  task=tests/sandbox/hacks/tasks/relu.py
  [ "$name" = torch_does_work ] && task=tests/sandbox/hacks/tasks/relu_large.py
  timeout 20 "$PY" -m kernelwright verify --task "$task" "$cand" --device cuda --json --no-timing \
    >"$out/hack-$name.json" 2>"$out/hack-$name.err"
  echo "$name rc=$?"
done
summarise "$out"/hack-*.json
