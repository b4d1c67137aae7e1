"""The GPU double: Verdicts and Profiles from tests/agents/fixtures (see each file's `provenance`),
chosen by a `# verdict: NAME` marker in the candidate's source. Everything else in the tests is real."""

from __future__ import annotations

import json
import re
import threading
from pathlib import Path

from kernelwright.contracts import Candidate, Profile, Task, Verdict

FIXTURES = Path(__file__).parent / "fixtures"
_MARKER = re.compile(r"#\s*verdict:\s*([\w.\-]+)")


def load_fixture(name: str) -> tuple[Verdict, Profile | None]:
    data = json.loads((FIXTURES / f"{name}.json").read_text())
    profile = Profile.model_validate(data["profile"]) if data["profile"] else None
    return Verdict.model_validate(data["verdict"]), profile


def marker_of(source: str) -> str:
    found = _MARKER.search(source)
    if found is None:
        raise AssertionError("candidate has no '# verdict: NAME' marker")
    return found.group(1)


class RecordedEvaluator:
    """Evaluator + ProfilerFn that replay the fixture named in the candidate; counts concurrency."""

    def __init__(self) -> None:
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
            return load_fixture(name)[0]
        finally:
            with self._lock:
                self._inside -= 1

    def profile(self, task: Task, candidate: Candidate, verdict: Verdict) -> Profile:
        name = marker_of(candidate.source)
        self.profiled.append(name)
        profile = load_fixture(name)[1]
        assert profile is not None, f"fixture {name} has no profile but its verdict is ok"
        return profile


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
