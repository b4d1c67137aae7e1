"""Worker ready time: a fork of the warm server (torch already imported) vs a cold interpreter that
has to import torch. Prints figures measured in this run; asserts nothing.

    python benchmarks/bench_worker.py [--device cpu|cuda] [--jobs 10]

`ready` is the server's own measure: from receiving a request to the forked child reporting alive
(process group, limits, private directory, redirected output in place). `round trip` is a whole
small evaluation (5 trials + shape trial, no timing) as the parent sees it.
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from kernelwright.sandbox.config import WorkerJob, WorkerLimits
from kernelwright.sandbox.isolation.worker import WorkerClient

ROOT = Path(__file__).resolve().parent.parent
TASK = ROOT / "tests" / "sandbox" / "hacks" / "tasks" / "relu.py"
CANDIDATE = ROOT / "tests" / "sandbox" / "hacks" / "honest_relu.py"


def cold_import_s(repeats: int = 3) -> list[float]:
    samples = []
    for _ in range(repeats):
        started = time.perf_counter()
        subprocess.run([sys.executable, "-c", "import torch"], check=True)
        samples.append(time.perf_counter() - started)
    return samples


def warm_jobs(device: str, jobs: int) -> dict[str, Any]:
    client = WorkerClient(0 if device == "cuda" else None)
    started = time.perf_counter()
    client.start()
    server_start_s = time.perf_counter() - started
    job = WorkerJob(task_source=TASK.read_text(), candidate_source=CANDIDATE.read_text(), device=device,
                    timing=False)  # fmt: skip
    limits = WorkerLimits(compile_timeout_s=120, run_timeout_s=120)
    ready, round_trip, statuses = [], [], set()
    try:
        for _ in range(jobs):
            started = time.perf_counter()
            reply = client.run(job, limits)
            round_trip.append(time.perf_counter() - started)
            if reply.get("ready_s") is not None:
                ready.append(reply["ready_s"])
            statuses.add(
                ((reply.get("payload") or {}).get("verdict") or {}).get("status", reply.get("outcome"))
            )
    finally:
        client.close()
    return {
        "server_start_s": server_start_s,
        "ready_s": ready,
        "round_trip_s": round_trip,
        "statuses": statuses,
    }


def main(argv: list[str] | None = None) -> dict[str, float]:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--device", choices=["cpu", "cuda"], default="cpu")
    parser.add_argument("--jobs", type=int, default=10)
    args = parser.parse_args(argv)
    cold = cold_import_s()
    warm = warm_jobs(args.device, args.jobs)
    figures = {
        "cold_import_torch_s": statistics.median(cold),
        "server_start_s": warm["server_start_s"],
        "warm_ready_median_s": statistics.median(warm["ready_s"]),
        "warm_ready_max_s": max(warm["ready_s"]),
        "round_trip_median_s": statistics.median(warm["round_trip_s"]),
    }
    print(f"worker ready time ({args.device}, {args.jobs} jobs, python {sys.version.split()[0]})")
    print(
        f"  cold `python -c 'import torch'`   median {figures['cold_import_torch_s']:.3f} s  ({len(cold)} runs)"
    )
    print(f"  warm server start (once)          {figures['server_start_s']:.3f} s")
    print(f"  warm fork ready                    median {figures['warm_ready_median_s'] * 1e3:.1f} ms, "
          f"max {figures['warm_ready_max_s'] * 1e3:.1f} ms  (target <= 300 ms)")  # fmt: skip
    print(f"  small evaluation round trip        median {figures['round_trip_median_s']:.3f} s")
    print(
        f"  cold import / warm ready           {figures['cold_import_torch_s'] / figures['warm_ready_median_s']:.0f}x"
    )
    print(f"  verdicts: {sorted(map(str, warm['statuses']))}")
    return figures


if __name__ == "__main__":
    main()
