"""The judge child's whole life: evaluate, write the result to the fork server, release the runner."""

from __future__ import annotations

import contextlib
import json
import os
from typing import Any

from kernelwright.sandbox.config import WorkerJob, WorkerLimits
from kernelwright.sandbox.judge.link import RunnerLink
from kernelwright.sandbox.judge.protocol import Judge
from kernelwright.sandbox.precision import use_full_fp32
from kernelwright.sandbox.wire import Channel


def run(
    job: dict[str, Any],
    limits: WorkerLimits,
    workdir: str,
    exchange: str,
    to_runner: int,
    from_runner: int,
    result_fd: int,
) -> None:
    import torch

    parsed = WorkerJob.model_validate(job)
    use_full_fp32()
    if parsed.device == "cuda":
        torch.cuda.init()
        torch.cuda.set_device(0)
    channel = Channel(from_runner, to_runner)
    result = Judge(parsed, limits, workdir, exchange, RunnerLink(channel)).evaluate()
    data = (json.dumps({"result": result}) + "\n").encode()
    while data:
        data = data[os.write(result_fd, data) :]
    with contextlib.suppress(OSError):
        channel.send({"op": "exit"})
