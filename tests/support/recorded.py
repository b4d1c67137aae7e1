"""The GPU double: Verdicts and Profiles recorded as JSON fixtures (see each file's `provenance`),
chosen by a `# verdict: NAME` marker in the candidate's source. Everything else in the tests is real.

The agents' fixtures (tests/agents/fixtures) carry Profiles too; the batch's (tests/batch/fixtures)
only Verdicts. A RecordedEvaluator is picklable by reference, so a Ray worker can build one."""

from __future__ import annotations

import json
import re
import threading
import time
from functools import cache
from pathlib import Path

from kernelwright.contracts import Candidate, Profile, Task, Verdict

AGENTS_FIXTURES = Path(__file__).parents[1] / "agents" / "fixtures"
BATCH_FIXTURES = Path(__file__).parents[1] / "batch" / "fixtures"
_MARKER = re.compile(r"#\s*verdict:\s*([\w.\-]+)")


@cache
def load_fixture(name: str, folder: Path = AGENTS_FIXTURES) -> tuple[Verdict, Profile | None]:
    data = json.loads((folder / f"{name}.json").read_text())
    profile = Profile.model_validate(data["profile"]) if data.get("profile") else None
    return Verdict.model_validate(data["verdict"]), profile


def load_verdict(name: str, folder: Path = BATCH_FIXTURES) -> Verdict:
    return load_fixture(name, folder)[0]


def marker_of(source: str) -> str:
    found = _MARKER.search(source)
    if found is None:
        raise AssertionError("candidate has no '# verdict: NAME' marker")
    return found.group(1)


class RecordedEvaluator:
    """Evaluator + ProfilerFn that replay the fixture named in the candidate, from `fixtures`;
    `gpu_s` stands in for the GPU's time. Counts calls and how many ran at once."""

    def __init__(self, fixtures: Path = AGENTS_FIXTURES, *, gpu_s: float = 0.0) -> None:
        self.fixtures = fixtures
        self.gpu_s = gpu_s
        self.calls: list[str] = []
        self.profiled: list[str] = []
        self._lock = threading.Lock()
        self._inside = 0
        self.max_inside = 0

    def __call__(self, task: Task, candidate: Candidate) -> Verdict:
        with self._lock:
            self._inside += 1
            self.max_inside = max(self.max_inside, self._inside)
        try:
            name = marker_of(candidate.source)
            self.calls.append(name)
            time.sleep(self.gpu_s)
            return load_fixture(name, self.fixtures)[0]
        finally:
            with self._lock:
                self._inside -= 1

    def profile(self, task: Task, candidate: Candidate, verdict: Verdict) -> Profile:
        name = marker_of(candidate.source)
        self.profiled.append(name)
        profile = load_fixture(name, self.fixtures)[1]
        assert profile is not None, f"fixture {name} has no profile but its verdict is ok"
        return profile


def batch_evaluator(gpu_s: float = 0.0) -> RecordedEvaluator:
    """The batch tests' evaluator (tests/batch/fixtures)."""
    return RecordedEvaluator(BATCH_FIXTURES, gpu_s=gpu_s)


def ray_pinned_factory(gpu_s: float = 0.0) -> RecordedEvaluator:
    """Inside a Ray task: fails the evaluation unless Ray gave it exactly one GPU and pinned
    CUDA_VISIBLE_DEVICES to it, which is what a Sandbox on a real GPU node relies on."""
    import os

    import ray

    ids = ray.get_gpu_ids()
    visible = os.environ.get("CUDA_VISIBLE_DEVICES")
    if len(ids) != 1 or visible != str(ids[0]):
        raise RuntimeError(f"evaluation not pinned to one GPU: ray ids {ids}, CUDA_VISIBLE_DEVICES={visible}")
    return batch_evaluator(gpu_s)


NATIVE_RELU = '''import torch
from kernelwright.sandbox.native import CudaModule

CUDA_SOURCE = r"""
extern "C" __global__ void relu_kernel(const float* __restrict__ x, float* __restrict__ y, long long n) {
    long long i = (long long)blockIdx.x * blockDim.x + threadIdx.x;
    if (i < n) y[i] = x[i] > 0.f ? x[i] : 0.f;
}
"""


class ModelNew(torch.nn.Module):
    def __init__(self):
        super().__init__()
        self.kernels = CudaModule(CUDA_SOURCE)

    def forward(self, x):
        x = x.contiguous()
        y = torch.empty_like(x)
        n = x.numel()
        self.kernels.launch("relu_kernel", grid=((n + 255) // 256,), block=(256,), args=(x, y, n))
        return y
'''
"""A native ReLU candidate in the binding format: compiles with NVRTC and passes the guard."""


def candidate_reply(marker: str, note: str = "") -> str:
    """A Coder reply: some prose and a fenced python candidate carrying the fixture marker."""
    return f"Here is the kernel{note}.\n\n```python\n# verdict: {marker}\n{NATIVE_RELU}```\n"
