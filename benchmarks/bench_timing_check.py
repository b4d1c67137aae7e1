"""How often the judge's timing cross-check refuses an honest candidate under bursts of machine load,
with one timed loop against several (`SandboxConfig.timing_loops`), counted on the same evaluations
(a first loop the judge's clock disagreed with is what one loop would refuse), and that a runner
which misreports its times is still refused every time. Figures from this one run; asserts nothing.

    .venv/bin/python benchmarks/bench_timing_check.py [--evaluations 100] [--loops 3]
        [--burst-ms 100] [--idle-ms 300] [--nice -10]

The load is as a busy CI machine makes it: one spinning process per core, at a higher priority
(as another VM's steal takes a core), on for --burst-ms, off for --idle-ms, for the whole run. The
honest candidate is the hack corpus's ReLU (0.02-0.05 ms per call on the CPU, below the ~0.1 ms
harness overhead: the hardest case for the cross-check); the misreporting one is
tests/sandbox/hacks/forge_timing.py (it reports a fiftieth of each call).
"""

from __future__ import annotations

import argparse
import contextlib
import multiprocessing
import os
import sys
import time
from collections import Counter
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from kernelwright.contracts import Candidate  # noqa: E402
from kernelwright.kernelbench import find_task  # noqa: E402
from kernelwright.sandbox.config import SandboxConfig  # noqa: E402
from kernelwright.sandbox.evaluate import Sandbox  # noqa: E402
from kernelwright.sandbox.isolation.worker import WorkerClient  # noqa: E402

HACKS = REPO / "tests" / "sandbox" / "hacks"
SETTINGS = {"device": "cpu", "allow_torch": True, "skip_guard": True, "trials": 2, "shape_trial": False,
            "timing_min_calls": 10, "timing_min_seconds": 0.0, "warmup_calls": 1, "memory_limit_gb": 8}  # fmt: skip


def _spin(burst_s: float, idle_s: float, stop: float, nice: int) -> None:
    with contextlib.suppress(OSError):
        os.nice(nice)  # below zero (as root): the spinners take the cores as another VM's steal would
    while time.monotonic() < stop:
        until = time.monotonic() + burst_s
        while time.monotonic() < until:
            pass
        time.sleep(idle_s)


def _outcomes(worker: WorkerClient, loops: int, source: str, evaluations: int) -> tuple[Counter[str], float]:
    """Per evaluation: "first loop disagreed" (what timing_loops=1 refuses) and "refused"."""
    sandbox = Sandbox(SandboxConfig(**SETTINGS, timing_loops=loops), worker=worker)  # type: ignore[arg-type]
    task = find_task(str(HACKS / "tasks" / "relu.py"))
    seen: Counter[str] = Counter()
    started = time.perf_counter()
    for _ in range(evaluations):
        verdict = sandbox(task, Candidate(source=source))
        refused = verdict.rule == "timing-mismatch"
        seen["first loop disagreed"] += refused or "timed again after loop 1" in verdict.message
        seen["refused"] += refused
        seen[verdict.status.value] += 1
    return seen, (time.perf_counter() - started) / evaluations


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--evaluations", type=int, default=100)
    parser.add_argument("--loops", type=int, default=3, help="SandboxConfig.timing_loops")
    parser.add_argument("--burst-ms", type=float, default=100.0)
    parser.add_argument("--idle-ms", type=float, default=300.0)
    parser.add_argument(
        "--nice", type=int, default=-10, help="niceness of the spinners (negative needs root)"
    )
    args = parser.parse_args()
    honest = (HACKS / "honest_relu.py").read_text()
    forged = (HACKS / "forge_timing.py").read_text()
    worker = WorkerClient()
    worker.start()
    cores = os.cpu_count() or 1
    stop = time.monotonic() + 3600
    spinners = [
        multiprocessing.Process(
            target=_spin, args=(args.burst_ms / 1000, args.idle_ms / 1000, stop, args.nice), daemon=True
        )
        for _ in range(cores)
    ]
    for spinner in spinners:
        spinner.start()
    print(
        f"load: {cores} spinning processes (nice {args.nice}), {args.burst_ms:.0f} ms on / {args.idle_ms:.0f} ms off"
    )
    n = args.evaluations
    try:
        for name, source in (("honest ReLU", honest), ("forge_timing", forged)):
            seen, per_eval = _outcomes(worker, args.loops, source, n)
            print(
                f"{name:13s} first loop disagreed (refused with timing_loops=1): {seen['first loop disagreed']:3d}/{n}; "
                f"refused with timing_loops={args.loops}: {seen['refused']:3d}/{n}; {per_eval:.2f} s per evaluation"
            )
            if name == "honest ReLU":
                one, more = seen["first loop disagreed"], seen["refused"]
                ratio = f"{one / more:.1f}x" if more else f"{one} vs 0"
                print(f"honest refusals, timing_loops=1 vs {args.loops} (same evaluations): {ratio}")
    finally:
        for spinner in spinners:
            spinner.terminate()
        worker.close()


if __name__ == "__main__":
    main()
