"""judge_tuned end to end: every TUNE variant through a real evaluator (NVRTC's static check, the CPU
sandbox; on a GPU, the CUDA sandbox), the best kept with every variant's outcome in verdict.tuning."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from kernelwright.agents.tuning import Tuned, judge_tuned
from kernelwright.agents.wiring import StaticCheck
from kernelwright.contracts import Attempt, Candidate, Status, Task, Verdict
from kernelwright.kernelbench import find_task
from kernelwright.sandbox.build import compile_cache
from kernelwright.sandbox.config import SandboxConfig
from kernelwright.sandbox.evaluate import Sandbox
from kernelwright.sandbox.guard.static_check import static_verdict
from kernelwright.sandbox.isolation.worker import WorkerClient
from kernelwright.store import SqlStore

HERE = Path(__file__).parent
TASKS = HERE.parent / "sandbox" / "hacks" / "tasks"
TUNED = HERE / "tuned"
# Few timing calls: the variants differ by orders of magnitude, not by percent.
FAST = SandboxConfig(device="cpu", allow_torch=True, shape_trial=False, timing_min_calls=10,
                     timing_min_seconds=0.0, warmup_calls=1, memory_limit_gb=8)  # fmt: skip

CHUNKED_RELU = '''"""ReLU in chunks of CHUNK elements (1: a thousand tiny ops; 1024: one), floored at FLOOR
(only 0.0 is correct)."""
import torch

TUNE = {"CHUNK": (1, 1024), "FLOOR": (1.0, 0.0)}


class ModelNew(torch.nn.Module):
    def forward(self, x):
        flat = x.reshape(-1)
        step = TUNE["CHUNK"]
        parts = [flat[i : i + step].clamp_min(TUNE["FLOOR"]) for i in range(0, flat.numel(), step)]
        return torch.cat(parts).view_as(x)
'''


@pytest.fixture(autouse=True)
def private_cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(compile_cache.CACHE_ENV, str(tmp_path / "cache"))


@pytest.fixture(scope="module")
def worker() -> Iterator[WorkerClient]:
    client = WorkerClient(None)
    client.start()
    yield client
    client.close()


def rowsum() -> Task:
    return find_task(str(TASKS / "rowsum.py"))


# ---------------------------------------------------------------- without running anything


def test_a_malformed_tune_is_a_compile_error_naming_the_line_and_nothing_is_evaluated() -> None:
    source = "import torch\nTUNE = {'BLOCK': (128, block)}\nclass ModelNew(torch.nn.Module):\n    pass\n"
    evaluated: list[Candidate] = []

    def evaluate(task: Task, candidate: Candidate) -> Verdict:
        evaluated.append(candidate)
        return static_verdict(task, candidate)

    tuned = judge_tuned(rowsum(), Candidate(source=source), evaluate, compile_only=True)
    assert (tuned.verdict.status, tuned.verdict.rule) == (Status.compile_error, "tune-spec")
    assert (
        tuned.verdict.message == "line 2: TUNE['BLOCK'] value block is not an int, float or string literal."
    )
    assert tuned.verdict.findings[0].line == 2 and tuned.candidate.source == source
    assert evaluated == [] and tuned.verdict.tuning == [] and tuned.summary() == ""


def test_a_candidate_without_tune_is_judged_once_as_it_is() -> None:
    source = (HERE.parent / "sandbox" / "honest" / "19_ReLU.native.py").read_text()
    candidate = Candidate(source=source, origin="coder")
    tuned = judge_tuned(find_task("level1/19_ReLU"), candidate, StaticCheck("sm_90"), compile_only=True)
    assert tuned.candidate == candidate and tuned.values == {}
    assert tuned.verdict.status == Status.ok and tuned.verdict.tuning == []


def test_compile_only_keeps_the_block_size_with_the_higher_occupancy() -> None:
    """48 registers a thread (real NVRTC, sm_90): a 1024-thread block fits once per SM (50%), five
    256-thread blocks fit (62.5%)."""
    candidate = Candidate(source=(TUNED / "rowsum_block.py").read_text(), origin="coder")
    tuned = judge_tuned(rowsum(), candidate, StaticCheck("sm_90"), compile_only=True)
    trials = tuned.verdict.tuning
    assert [(t.values, t.status, t.chosen) for t in trials] == [
        ({"BLOCK": 1024}, Status.ok, False),
        ({"BLOCK": 256}, Status.ok, True),
    ]
    assert [t.occupancy_pct for t in trials] == [50.0, 62.5]
    assert {t.registers_per_thread for t in trials} == {48} and {t.spill_bytes for t in trials} == {0}
    assert tuned.values == {"BLOCK": 256} and tuned.candidate.origin == "coder"
    assert "TUNE = {'BLOCK': 256}" in tuned.candidate.source
    assert tuned.verdict.kernel_names == ["rowsum_kernel"] and tuned.verdict.status == Status.ok
    assert tuned.summary() == "Tuned 2 configuration(s), 2 passed; kept BLOCK=256."
    first_only = judge_tuned(rowsum(), candidate, StaticCheck("sm_90"), compile_only=True, max_variants=1)
    assert [t.values for t in first_only.verdict.tuning] == [{"BLOCK": 1024}]
    assert first_only.values == {"BLOCK": 1024}


def _static_check_passes_options() -> bool:
    """Whether the static check compiles a CudaModule with its `-D` options (as the runner does)."""
    source = (TUNED / "rowsum_unroll.py").read_text().replace("#define UNROLL 1", "#error needs -DUNROLL")
    variant = source.replace('TUNE = {"UNROLL": (256, 4, 32)}', 'TUNE = {"UNROLL": 4}')
    assert variant != source
    return static_verdict(rowsum(), Candidate(source=variant)).status == Status.ok


@pytest.mark.skipif(
    not _static_check_passes_options(),
    reason="the static check does not yet compile a CudaModule with its -D options (docs/tuning.md)",
)
def test_compile_only_avoids_spills_then_prefers_occupancy_and_fewer_registers() -> None:
    """UNROLL reaches NVRTC as -DUNROLL: 256 accumulators spill, 4 hold 31 registers, 32 hold 48."""
    candidate = Candidate(source=(TUNED / "rowsum_unroll.py").read_text())
    tuned = judge_tuned(rowsum(), candidate, StaticCheck("sm_90"), compile_only=True)
    by_unroll = {t.values["UNROLL"]: t for t in tuned.verdict.tuning}
    assert by_unroll[256].spill_bytes and by_unroll[256].registers_per_thread == 255
    assert by_unroll[32].spill_bytes == 0 and by_unroll[4].spill_bytes == 0
    assert by_unroll[32].registers_per_thread > by_unroll[4].registers_per_thread  # type: ignore[operator]
    assert by_unroll[4].occupancy_pct == 100.0 > by_unroll[32].occupancy_pct > by_unroll[256].occupancy_pct  # type: ignore[operator]
    assert tuned.values == {"UNROLL": 4} and by_unroll[4].chosen
    assert tuned.verdict.resources[0].registers_per_thread == by_unroll[4].registers_per_thread
    # A variant that does not compile is never kept, however few registers it would claim.
    broken = candidate.source.replace("(256, 4, 32)", '("acc", 256, 32)')
    tuned = judge_tuned(rowsum(), Candidate(source=broken), StaticCheck("sm_90"), compile_only=True)
    assert [t.status for t in tuned.verdict.tuning] == [Status.compile_error, Status.ok, Status.ok]
    assert tuned.values == {"UNROLL": 32} and tuned.verdict.status == Status.ok


# ---------------------------------------------------------------- the CPU sandbox


@pytest.fixture(scope="module")
def tuned_relu(worker: WorkerClient) -> Tuned:
    sandbox = Sandbox(FAST, worker=worker)
    return judge_tuned(
        find_task(str(TASKS / "relu.py")), Candidate(source=CHUNKED_RELU), sandbox, compile_only=False
    )


def test_the_cpu_sandbox_keeps_the_fastest_correct_variant(tuned_relu: Tuned) -> None:
    trials = {(t.values["CHUNK"], t.values["FLOOR"]): t for t in tuned_relu.verdict.tuning}
    assert list(trials) == [(1, 1.0), (1, 0.0), (1024, 1.0), (1024, 0.0)]
    assert trials[(1, 0.0)].status == trials[(1024, 0.0)].status == Status.ok
    slow, fast = trials[(1, 0.0)].median_ms, trials[(1024, 0.0)].median_ms
    assert slow is not None and fast is not None and slow > 5 * fast, (slow, fast)
    assert tuned_relu.values == {"CHUNK": 1024, "FLOOR": 0.0} and trials[(1024, 0.0)].chosen
    assert tuned_relu.verdict.status == Status.ok
    assert (
        tuned_relu.verdict.candidate_timing is not None
        and tuned_relu.verdict.candidate_timing.median_ms == fast
    )
    assert "TUNE = {'CHUNK': 1024, 'FLOOR': 0.0}" in tuned_relu.candidate.source
    assert all(t.elapsed_s and t.elapsed_s > 0 for t in trials.values())


def test_a_wrong_variant_is_never_kept(tuned_relu: Tuned) -> None:
    wrong = [t for t in tuned_relu.verdict.tuning if t.values["FLOOR"] == 1.0]
    assert [t.status for t in wrong] == [Status.incorrect, Status.incorrect]
    assert not any(t.chosen for t in wrong) and all(t.median_ms is None for t in wrong)


def test_the_tuning_record_round_trips_through_the_store(tuned_relu: Tuned, store: SqlStore) -> None:
    run_id = store.create_run({}, coder_model="m", judge_model="m", gpu_name="none")
    attempt = Attempt(run_id=run_id, task_key="level0/relu", round=0, candidate_index=0,
                      code=tuned_relu.candidate.source, verdict=tuned_relu.verdict)  # fmt: skip
    stored = store.attempt(store.add_attempt(attempt))
    assert stored is not None and stored.attempt.verdict == tuned_relu.verdict
    assert [t.values for t in stored.attempt.verdict.tuning][3] == {"CHUNK": 1024, "FLOOR": 0.0}
    assert type(stored.attempt.verdict.tuning[3].values["FLOOR"]) is float


def test_with_no_correct_variant_the_first_variants_verdict_is_kept(worker: WorkerClient) -> None:
    source = CHUNKED_RELU.replace(
        '{"CHUNK": (1, 1024), "FLOOR": (1.0, 0.0)}', '{"CHUNK": 1024, "FLOOR": (1.0, 2.0)}'
    )
    tuned = judge_tuned(find_task(str(TASKS / "relu.py")), Candidate(source=source), Sandbox(FAST, worker=worker),
                        compile_only=False)  # fmt: skip
    assert [t.status for t in tuned.verdict.tuning] == [Status.incorrect, Status.incorrect]
    assert tuned.values == {"CHUNK": 1024, "FLOOR": 1.0} and tuned.verdict.tuning[0].chosen
    assert tuned.verdict.status == Status.incorrect
    assert tuned.summary() == "Tuned 2 configuration(s), none passed; kept the first (CHUNK=1024, FLOOR=1.0)."


def test_without_timing_the_first_correct_variant_is_kept(worker: WorkerClient) -> None:
    untimed = Sandbox(FAST.model_copy(update={"timing": False}), worker=worker)
    tuned = judge_tuned(
        find_task(str(TASKS / "relu.py")), Candidate(source=CHUNKED_RELU), untimed, compile_only=False
    )
    assert [t.status for t in tuned.verdict.tuning] == [Status.incorrect, Status.ok] * 2
    assert all(t.median_ms is None for t in tuned.verdict.tuning)
    assert tuned.values == {"CHUNK": 1, "FLOOR": 0.0} and tuned.verdict.tuning[1].chosen


def test_a_suspicious_variant_is_never_kept_however_fast(worker: WorkerClient) -> None:
    """slow_cumsum's reference is a Python loop: torch.cumsum beats it by more than the sandbox's
    10x limit (suspicious); the same loop is ok and is kept."""
    source = (
        "import torch\nTUNE = {'WAY': ('cumsum', 'loop')}\n"
        "class ModelNew(torch.nn.Module):\n    def forward(self, x):\n"
        "        if TUNE['WAY'] == 'cumsum':\n            return torch.cumsum(x, dim=1)\n"
        "        out, running = torch.empty_like(x), torch.zeros_like(x[:, 0])\n"
        "        for j in range(x.shape[1]):\n            running = running + x[:, j]\n"
        "            out[:, j] = running\n        return out\n"
    )
    tuned = judge_tuned(find_task(str(TASKS / "slow_cumsum.py")), Candidate(source=source),
                        Sandbox(FAST, worker=worker), compile_only=False)  # fmt: skip
    fast, loop = tuned.verdict.tuning
    assert (fast.status, loop.status) == (Status.suspicious, Status.ok)
    assert fast.median_ms is not None and loop.median_ms is not None and fast.median_ms < loop.median_ms
    assert tuned.values == {"WAY": "loop"} and tuned.verdict.status == Status.ok


# ---------------------------------------------------------------- on a GPU


GRID_RELU = '''"""ReLU with a tuned grid: one block walks 16M elements alone; 1024 blocks share them."""
import torch

from kernelwright.sandbox.native import CudaModule

TUNE = {"GRID": (1, 1024), "BLOCK": (256,)}

CUDA_SOURCE = r"""
extern "C" __global__ void relu_kernel(const float* __restrict__ x, float* __restrict__ y, long long n) {
    long long stride = (long long)gridDim.x * blockDim.x;
    for (long long i = (long long)blockIdx.x * blockDim.x + threadIdx.x; i < n; i += stride) {
        y[i] = fmaxf(x[i], 0.f);
    }
}
"""


class ModelNew(torch.nn.Module):
    def __init__(self):
        super().__init__()
        self.kernels = CudaModule(CUDA_SOURCE)

    def forward(self, x):
        x = x.contiguous()
        y = torch.empty_like(x)
        self.kernels.launch("relu_kernel", grid=(TUNE["GRID"],), block=(TUNE["BLOCK"],), args=(x, y, x.numel()))
        return y
'''


@pytest.mark.gpu
def test_the_gpu_sandbox_times_cuda_variants_and_keeps_the_fastest() -> None:
    config = SandboxConfig(device="cuda", timing_min_calls=20, timing_min_seconds=0.1, shape_trial=False)
    with Sandbox(config) as sandbox:
        tuned = judge_tuned(find_task(str(TASKS / "relu_large.py")), Candidate(source=GRID_RELU), sandbox,
                            compile_only=False)  # fmt: skip
    one, many = tuned.verdict.tuning
    assert one.status == many.status == Status.ok, (one.message, many.message)
    assert one.median_ms is not None and many.median_ms is not None and one.median_ms > 5 * many.median_ms
    assert tuned.values == {"GRID": 1024, "BLOCK": 256} and many.chosen
    assert one.occupancy_pct is not None and many.registers_per_thread is not None
    assert tuned.verdict.gpu_name and tuned.verdict.candidate_timing is not None
