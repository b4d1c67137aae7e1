"""The reference side, in the judge: the task's Model built from the same seed as the candidate, its
outputs on the judge's own inputs, and its timing (eager and torch.compile) with the same timer the
runner uses. Nothing here ever sees candidate code."""

from __future__ import annotations

import os
import types
from typing import Any

import torch

from kernelwright.contracts import Status
from kernelwright.sandbox.config import WorkerJob
from kernelwright.sandbox.failures import CheckFailed
from kernelwright.sandbox.inputs import fresh_seed, import_task, make_inputs, synchronize
from kernelwright.sandbox.timer import Timer
from kernelwright.stop_rule import calls_until_enough


class Reference:
    def __init__(self, job: WorkerJob, workdir: str, device: torch.device):
        self.job = job
        self.device = device
        path = os.path.realpath(os.path.join(workdir, os.path.basename(job.task_filename) or "reference.py"))
        with open(path, "w") as f:
            f.write(job.task_source)
        self.module: types.ModuleType = import_task(path, "kw_reference")
        self.init_args = list(self.module.get_init_inputs())
        self.model: Any = None

    def build(self, seed: int, init_args: list[Any] | None = None) -> None:
        """Model(*init_args) after torch.manual_seed(seed): the runner builds ModelNew the same way,
        so parameters a candidate creates like the reference's come out equal."""
        torch.manual_seed(seed)
        self.model = self.module.Model(*(self.init_args if init_args is None else init_args)).to(self.device)

    def inputs(self, seed: int) -> list[Any]:
        return make_inputs(self.module, seed, self.device)

    def __call__(self, args: list[Any]) -> list[torch.Tensor]:
        try:
            with torch.no_grad():
                out = self.model(*args)
        except Exception as err:
            raise CheckFailed(
                Status.runtime_error,
                "reference-failed",
                f"the reference Model raised {type(err).__name__}: {err}",
            ) from None
        synchronize(self.device)
        return [out] if isinstance(out, torch.Tensor) else list(out)

    def time(self, timer: Timer, fn: Any = None) -> list[float]:
        """Per-call ms of `fn` (the eager model by default) on fresh inputs each call, after warm-up;
        inputs are made outside the timed region, as the runner makes them."""
        job = self.job
        fn = self.model if fn is None else fn
        for _ in range(max(1, job.warmup_calls)):
            timer(fn, self.inputs(fresh_seed()))
        return [
            timer(fn, self.inputs(fresh_seed()))[0]
            for _ in calls_until_enough(
                min_calls=job.timing_min_calls,
                min_seconds=job.timing_min_seconds,
                max_seconds=job.timing_max_seconds,
            )
        ]

    def time_compiled(self, timer: Timer) -> list[float]:
        return self.time(timer, torch.compile(self.model))
