#!/usr/bin/env bash
# Bundled suite on a real GPU: times every bundled task eagerly at its full size (fp32, inputs and
# model built directly on the GPU), to check the suite's target of roughly 1-20 ms per call on an
# H100-class GPU, and lists the suite as the doctor's `tasks list` does.
# Prints one line per task and writes $KW_GPU_OUT/tasks/eager_ms.json (task -> median ms, min ms,
# peak GiB, or the error). Figures only: nothing here asserts a time.
set -uo pipefail
cd "$(dirname "$0")/../.."
out="${KW_GPU_OUT:-$PWD/gpu-check-out/figures}/tasks"
mkdir -p "$out"
PY=${PYTHON:-python3}

"$PY" -m kernelwright tasks list --json >"$out/tasks_list.json" 2>"$out/tasks_list.err"
echo "tasks list rc=$? ($(grep -c '"key"' "$out/tasks_list.json") tasks)"

"$PY" - "$out" <<'PYEOF'
import json
import sys
import time
from pathlib import Path

import torch

from kernelwright.kernelbench import bundled_suite_dir, load_module, task_files

out = Path(sys.argv[1])
budget_s = 120.0  # the whole part runs under a 150 s limit in scripts/gpu-check
started = time.monotonic()
figures: dict[str, dict] = {"_gpu": {"name": torch.cuda.get_device_name(0), "torch": torch.__version__}}
print(f"{'task':45s} {'median ms':>10s} {'min ms':>9s} {'peak GiB':>9s}  target 1-20 ms")
for path in task_files(bundled_suite_dir()):
    key = f"{path.parent.name}/{path.stem}"
    if time.monotonic() - started > budget_s:
        figures[key] = {"error": "skipped: time budget of this check used up"}
        continue
    try:
        module = load_module(path)
        torch.manual_seed(0)
        with torch.device("cuda"):
            model = module.Model(*module.get_init_inputs())
            inputs = module.get_inputs()
        torch.cuda.reset_peak_memory_stats()
        times_ms = []
        with torch.no_grad():
            for rep in range(12):
                begin, end = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
                begin.record()
                model(*inputs)
                end.record()
                torch.cuda.synchronize()
                if rep >= 2:  # two warm-up calls (cuDNN/cuBLAS heuristics, lazy init)
                    times_ms.append(begin.elapsed_time(end))
        times_ms.sort()
        median = times_ms[len(times_ms) // 2]
        peak_gib = torch.cuda.max_memory_allocated() / 2**30
        flag = "" if 1.0 <= median <= 20.0 else "  <- outside 1-20 ms"
        print(f"{key:45s} {median:10.3f} {times_ms[0]:9.3f} {peak_gib:9.2f}{flag}")
        figures[key] = {"median_ms": median, "min_ms": times_ms[0], "peak_gib": peak_gib}
    except Exception as err:  # one task failing must not hide the others' figures
        print(f"{key:45s} error: {type(err).__name__}: {err}".splitlines()[0])
        figures[key] = {"error": f"{type(err).__name__}: {err}"}
    finally:
        model = inputs = None
        torch.cuda.empty_cache()
(out / "eager_ms.json").write_text(json.dumps(figures, indent=2))
timed = [f["median_ms"] for k, f in figures.items() if "median_ms" in f]
inside = sum(1.0 <= t <= 20.0 for t in timed)
print(f"{inside}/{len(timed)} timed tasks inside 1-20 ms; figures in {out / 'eager_ms.json'}")
PYEOF
