"""The child process the profiler runs under ncu or the NVML sampler; never imported by the CLI.

    python -m kernelwright.profiler.driver --task T.py --candidate C.py --mode ncu|power --out R.json

It loads the task's inputs and the candidate's ModelNew from files, warms up outside any profiled
range, then either (ncu) runs a few calls between cudaProfilerStart/Stop so that ncu, started
with --profile-from-start off, sees only the candidate's steady-state launches, or (power) runs
back-to-back calls under the NvmlSampler observer until the stop rule (kernelwright.stop_rule) says
enough. It writes a DriverReport (driver_io.py) as JSON.
"""

from __future__ import annotations

import argparse
import importlib.util
import os
import sys
import time
from collections.abc import Callable
from pathlib import Path
from types import ModuleType
from typing import Any

from kernelwright.profiler.driver_io import DriverReport
from kernelwright.profiler.power import NvmlSampler
from kernelwright.stop_rule import enough

# Calls between device synchronisations in the sampled loop: launches stay back to back, and the
# stop rule, checked at each synchronisation, still ends the loop close to its time.
SYNC_BATCH = 10


def load_module(path: str, name: str) -> ModuleType:
    spec = importlib.util.spec_from_file_location(name, path)
    if spec is None or spec.loader is None:
        raise SystemExit(f"cannot load {path}")
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    return module


def _to_device(value: Any, device: str) -> Any:
    import torch

    return value.to(device) if isinstance(value, torch.Tensor) else value


def _output_bytes(out: Any) -> int:
    import torch

    if isinstance(out, torch.Tensor):
        return out.numel() * out.element_size()
    if isinstance(out, (list, tuple)):
        return sum(_output_bytes(o) for o in out)
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--task", required=True)
    parser.add_argument("--candidate", required=True)
    parser.add_argument("--mode", choices=("ncu", "power"), required=True)
    parser.add_argument("--out", required=True)
    parser.add_argument("--warmup", type=int, default=3)
    parser.add_argument("--calls", type=int, default=3)
    parser.add_argument(
        "--min-seconds", type=float, default=1.0, help="power: sampled loop length, at least."
    )
    parser.add_argument("--min-calls", type=int, default=SYNC_BATCH, help="power: sampled calls, at least.")
    parser.add_argument(
        "--max-seconds", type=float, default=60.0, help="power: stop here even short of --min-calls."
    )
    parser.add_argument("--device-index", type=int, default=0, help="NVML index of the sampled GPU.")
    parser.add_argument(
        "--device", choices=("cuda", "cpu"), default="cuda", help="cpu: power mode only, for tests."
    )
    args = parser.parse_args(argv)
    if args.mode == "ncu" and args.device != "cuda":
        parser.error("--mode ncu needs --device cuda")

    import torch

    torch.manual_seed(0)
    task = load_module(args.task, "kw_task")
    from kernelwright.sandbox.runner.audit_hooks import install

    # The candidate passed the sandbox before it is profiled; here it keeps the same dynamic fences
    # (no sockets, subprocesses, signals or writes outside the working directory).
    install(args.candidate, workdir=os.getcwd())
    candidate = load_module(args.candidate, "kw_candidate")
    model = candidate.ModelNew(*[_to_device(a, args.device) for a in task.get_init_inputs()]).to(args.device)
    inputs = [_to_device(x, args.device) for x in task.get_inputs()]

    def sync() -> None:
        if args.device == "cuda":
            torch.cuda.synchronize()

    with torch.no_grad():
        out = None
        for _ in range(args.warmup):
            out = model(*inputs)
        sync()
        report = DriverReport(output_bytes=_output_bytes(out))
        if args.mode == "ncu":
            torch.cuda.profiler.start()
            for _ in range(args.calls):
                model(*inputs)
            torch.cuda.synchronize()
            torch.cuda.profiler.stop()
            report.calls = args.calls
        else:
            _power_loop(model, inputs, args, sync, report)
    Path(args.out).write_text(report.model_dump_json())
    return 0


def _power_loop(
    model: Any, inputs: list[Any], args: argparse.Namespace, sync: Callable[[], None], report: DriverReport
) -> None:
    sampler = NvmlSampler(args.device_index)
    sampler.before()
    start = time.perf_counter()
    while True:
        for _ in range(SYNC_BATCH):
            model(*inputs)
            sampler.during()
        sync()
        elapsed = time.perf_counter() - start
        if enough(
            sampler.calls,
            elapsed,
            min_calls=args.min_calls,
            min_seconds=args.min_seconds,
            max_seconds=args.max_seconds,
        ):
            break
    report.reading, report.samples = sampler.after()
    report.calls, report.seconds = sampler.calls, time.perf_counter() - start


if __name__ == "__main__":
    raise SystemExit(main())
