"""KernelBench's own adversarial kernels (src/kernelbench/unit_tests/test_kernels/, MIT-licensed,
copied unchanged under hacks/kernelbench/) are rejected by the static guard, on the CPU.

All three are load_inline files aimed at level1/1_Square_matrix_multiplication_, which is
kernelwright's bundled level1/1_Square_GEMM (the same C = A @ B at N = 4096). None defines a
`__global__` kernel: result_reuse returns `torch::empty` (whatever the allocator's recycled memory
holds), zero_out zeroes the inputs and returns `torch::zeros`, non_default_stream runs cuBLAS on a
stream of its own. Before the C++ policy rules the first two passed the static stage (after a
30-40 s nvcc build of the whole extension, there being no device code to extract) and the CPU
sandbox forked a worker that failed to load them (`runtime_error` when issue #14 was filed; the
extension build's cache write is a `sandbox-wall` rejection now); they are `rejected` in
milliseconds, by the rule that names the problem, before any process is forked. The sandbox's dynamic checks (input mutation, the launch check, the correctness
protocol) remain decisive on a GPU; the guard is the fast first answer.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from kernelwright.contracts import Candidate, Status, Task
from kernelwright.kernelbench import find_task
from kernelwright.sandbox.config import SandboxConfig
from kernelwright.sandbox.evaluate import Sandbox
from kernelwright.sandbox.guard.policy import check
from kernelwright.sandbox.guard.static_check import static_verdict

KERNELBENCH = Path(__file__).parent / "hacks" / "kernelbench"
# file, the verdict's rule, every rule the guard must find
CASES = [
    ("result_reuse_kernel.py", "no-cuda-kernel", {"no-cuda-kernel"}),
    ("zero_out_kernel.py", "no-cuda-kernel", {"no-cuda-kernel"}),
    # the stream is what the file was written to test; the cuBLAS GEMM is the work
    ("non_default_stream_kernel.py", "side-stream", {"side-stream", "no-cuda-kernel", "library-op"}),
]
IDS = [c[0] for c in CASES]


def task() -> Task:
    return find_task("level1/1_Square_GEMM")


def candidate(file: str) -> Candidate:
    return Candidate(source=(KERNELBENCH / file).read_text(), build="compat", origin="file")


def test_the_three_files_are_kernelbenchs_with_their_licence() -> None:
    assert sorted(p.name for p in KERNELBENCH.glob("*.py")) == sorted(IDS)
    assert "MIT License" in (KERNELBENCH / "LICENSE").read_text()
    for file in IDS:
        header = (KERNELBENCH / file).read_text().split("\n\n", 1)[0]
        assert "ScalingIntelligence/KernelBench" in header and "MIT License" in header
    assert "torch.matmul(A, B)" in task().source


@pytest.mark.parametrize(("file", "rule", "found"), CASES, ids=IDS)
def test_static_verdict_rejects_with_a_specific_rule(file: str, rule: str, found: set[str]) -> None:
    verdict = static_verdict(task(), candidate(file), arch="sm_90", allow_torch=False)
    assert verdict.status == Status.rejected, verdict.message
    assert verdict.rule == rule
    assert {f.rule for f in verdict.findings} == found
    assert "compile" not in verdict.elapsed_s  # rejected before any build


@pytest.fixture(scope="module")
def cpu_sandbox() -> Iterator[Sandbox]:
    with Sandbox(SandboxConfig(device="cpu")) as sandbox:
        yield sandbox


@pytest.mark.parametrize(("file", "rule", "found"), CASES, ids=IDS)
def test_the_cpu_sandbox_rejects_before_forking(
    cpu_sandbox: Sandbox, file: str, rule: str, found: set[str]
) -> None:
    """The default config (allow_torch=False): the static stage runs first and its rejection is
    the sandbox's verdict; no worker is started for these."""
    verdict = cpu_sandbox(task(), candidate(file))
    assert (verdict.status, verdict.rule) == (Status.rejected, rule), verdict.message
    assert {f.rule for f in verdict.findings} == found
    assert verdict.device == "cpu"
    assert not any(stage.startswith("worker") for stage in verdict.elapsed_s)


def test_the_kernel_rules_are_pytorch_policy_the_stream_rule_is_not() -> None:
    """Under allow_torch (PyTorch-level rewrites) a file without a kernel is allowed through the
    guard; a side stream never is."""
    rules = {file: [f.rule for f in check(task(), candidate(file), allow_torch=True)] for file in IDS}
    assert rules == {
        "result_reuse_kernel.py": [],
        "zero_out_kernel.py": [],
        "non_default_stream_kernel.py": ["side-stream"],
    }
