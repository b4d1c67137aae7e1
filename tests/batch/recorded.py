"""The GPU double for batch tests: Verdicts from tests/batch/fixtures (see each file's provenance),
chosen by the `# verdict: NAME` marker in the candidate, after a short sleep standing in for the
GPU's time. Picklable, so a Ray worker can build and run it too."""

from __future__ import annotations

import json
import re
import time
from functools import cache
from pathlib import Path

from kernelwright.contracts import Candidate, Task, Verdict

FIXTURES = Path(__file__).parent / "fixtures"
_MARKER = re.compile(r"#\s*verdict:\s*([\w.\-]+)")


@cache
def load_verdict(name: str) -> Verdict:
    return Verdict.model_validate(json.loads((FIXTURES / f"{name}.json").read_text())["verdict"])


class RecordedEvaluator:
    """Evaluator replaying the fixture named in the candidate; `gpu_s` simulates evaluation time."""

    def __init__(self, gpu_s: float = 0.0):
        self.gpu_s = gpu_s

    def __call__(self, task: Task, candidate: Candidate) -> Verdict:
        found = _MARKER.search(candidate.source)
        if found is None:
            raise AssertionError("candidate has no '# verdict: NAME' marker")
        time.sleep(self.gpu_s)
        return load_verdict(found.group(1))


def recorded_factory(gpu_s: float = 0.0) -> RecordedEvaluator:
    """The Ray pool's evaluator factory (called inside the worker)."""
    return RecordedEvaluator(gpu_s)


def ray_pinned_factory(gpu_s: float = 0.0) -> RecordedEvaluator:
    """Inside a Ray task: fails the evaluation unless Ray gave it exactly one GPU and pinned
    CUDA_VISIBLE_DEVICES to it, which is what a Sandbox on a real GPU node relies on."""
    import os

    import ray

    ids = ray.get_gpu_ids()
    visible = os.environ.get("CUDA_VISIBLE_DEVICES")
    if len(ids) != 1 or visible != str(ids[0]):
        raise RuntimeError(f"evaluation not pinned to one GPU: ray ids {ids}, CUDA_VISIBLE_DEVICES={visible}")
    return RecordedEvaluator(gpu_s)
