"""The Sandbox evaluator end to end on the CPU (guard + isolated worker), the parent-only rules
(speedup limit, roofline, torch.compile baseline cache in a real store), and, on a GPU, the honest
corpus."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import pytest

from kernelwright.contracts import Candidate, Status, TimingStats, Verdict
from kernelwright.errors import NoGPUError
from kernelwright.gpu.availability import gpu_available
from kernelwright.gpu.nvml import list_gpus
from kernelwright.kernelbench import find_task
from kernelwright.sandbox.config import SandboxConfig
from kernelwright.sandbox.evaluate import (
    Sandbox,
    suspicious_rule,
    torch_version,
    verdict_from_reply,
)
from kernelwright.sandbox.isolation.worker import WorkerClient

HERE = Path(__file__).parent
HACKS = HERE / "hacks"
CUMSUM = "import torch\nclass ModelNew(torch.nn.Module):\n    def forward(self, x):\n        return torch.cumsum(x, dim=1)\n"
FAST = {"device": "cpu", "allow_torch": True, "timing_min_calls": 10, "timing_min_seconds": 0.0,
        "warmup_calls": 1, "memory_limit_gb": 8}  # fmt: skip


def timed(candidate_ms: float, eager_ms: float, device: str = "cuda") -> Verdict:
    stats = lambda ms: TimingStats(median_ms=ms, iqr_ms=0.0, cv=0.0, trials=100)  # noqa: E731
    return Verdict(status=Status.ok, device=device, candidate_timing=stats(candidate_ms),
                   eager_timing=stats(eager_ms), speedup_vs_eager=eager_ms / candidate_ms)  # fmt: skip


def test_speedup_above_the_limit_is_suspicious() -> None:
    config = SandboxConfig()
    assert suspicious_rule(timed(1.0, 9.0), config, None, None) is None
    rule, message = suspicious_rule(timed(1.0, 11.0), config, None, None)  # type: ignore[misc]
    assert rule == "speedup-limit" and "11.0x" in message
    assert suspicious_rule(timed(1.0, 11.0), SandboxConfig(speedup_suspicious=20), None, None) is None


def test_faster_than_the_roofline_is_suspicious() -> None:
    # 3.35 TB/s (H100 SXM datasheet, in gpu_specs.yaml): 335 MB need at least 0.1 ms.
    verdict = timed(0.05, 0.2)
    found = suspicious_rule(verdict, SandboxConfig(), 335_000_000, "NVIDIA H100 80GB HBM3")
    assert found is not None and found[0] == "beats-roofline"
    assert suspicious_rule(timed(0.5, 1.0), SandboxConfig(), 335_000_000, "NVIDIA H100 80GB HBM3") is None
    assert suspicious_rule(verdict, SandboxConfig(), 335_000_000, "Unknown GPU") is None
    assert (
        suspicious_rule(timed(0.05, 0.2, device="cpu"), SandboxConfig(), 335_000_000, "NVIDIA H100") is None
    )


def test_verdict_from_reply_describes_timeouts_and_crashes_with_output() -> None:
    timeout, _ = verdict_from_reply({"outcome": "timeout", "phase": "run", "message": "too slow",
                                     "stdout": "hello", "stderr": "", "elapsed_s": {"load": 0.5}})  # fmt: skip
    assert (timeout.status, timeout.rule, timeout.message) == (Status.timeout, "run-time-limit", "too slow")
    assert "--- candidate stdout ---\nhello" in timeout.log and timeout.elapsed_s["worker_load"] == 0.5
    crashed, _ = verdict_from_reply({"outcome": "crashed", "message": "killed by SIGSEGV", "stderr": "Fatal"})
    assert crashed.status == Status.crashed and "SIGSEGV" in crashed.message and "Fatal" in crashed.log


def test_gpu_available_follows_nvml_and_cuda_device_is_refused_without_one(worker: WorkerClient) -> None:
    assert gpu_available() == (bool(list_gpus()) and __import__("torch").version.cuda is not None)
    if gpu_available():
        pytest.skip("a GPU is visible here")
    task = find_task(str(HACKS / "tasks" / "relu.py"))
    with pytest.raises(NoGPUError, match="needs an NVIDIA GPU"):
        Sandbox(SandboxConfig(device="cuda"), worker=worker)(task, Candidate(source=CUMSUM))


def test_a_large_honest_speedup_is_suspicious_not_ok(worker: WorkerClient) -> None:
    task = find_task(str(HACKS / "tasks" / "slow_cumsum.py"))
    assert task.atol == 1e-3
    verdict = Sandbox(SandboxConfig(**FAST), worker=worker)(task, Candidate(source=CUMSUM))  # type: ignore[arg-type]
    assert verdict.status == Status.suspicious, verdict.message
    assert verdict.rule == "speedup-limit"
    assert verdict.speedup_vs_eager is not None and verdict.speedup_vs_eager > 10
    assert verdict.correct and all(t.passed for t in verdict.trials)


def test_guard_findings_stop_before_the_worker(worker: WorkerClient) -> None:
    task = find_task(str(HACKS / "tasks" / "relu.py"))
    source = (HACKS / "timer_patch.py").read_text()
    verdict = Sandbox(SandboxConfig(**FAST), worker=worker)(task, Candidate(source=source))  # type: ignore[arg-type]
    assert verdict.status == Status.rejected and verdict.rule == "monkeypatch"
    assert not any(k.startswith("worker_") for k in verdict.elapsed_s)  # nothing ran


def test_compile_errors_come_back_from_the_static_stage(worker: WorkerClient) -> None:
    source = (
        (HERE / "honest" / "19_ReLU.native.py").read_text().replace("fmaxf(v.x, 0.f);", "fmaxf(v.x, 0.f)")
    )
    task = find_task("19_ReLU")
    config = SandboxConfig(**{**FAST, "allow_torch": False})  # type: ignore[arg-type]
    verdict = Sandbox(config, worker=worker)(task, Candidate(source=source))
    assert verdict.status == Status.compile_error
    assert re.search(r"candidate\.cu\(\d+\): error: expected a \";\"", verdict.log), verdict.log
    assert "v.x = fmaxf(v.x, 0.f) v.y" in verdict.log  # the offending source line is quoted


def test_runtime_errors_name_the_candidate_line(worker: WorkerClient) -> None:
    source = (
        "import torch\nclass ModelNew(torch.nn.Module):\n    def forward(self, x):\n        return x @ x\n"
    )
    task = find_task(str(HACKS / "tasks" / "relu.py"))
    verdict = Sandbox(SandboxConfig(**FAST), worker=worker)(task, Candidate(source=source))  # type: ignore[arg-type]
    assert verdict.status == Status.runtime_error
    assert "ModelNew.forward raised RuntimeError" in verdict.message and "candidate line 4" in verdict.message
    assert "line 4, in forward" in verdict.log


@pytest.mark.slow
def test_torch_compile_baseline_is_measured_once_and_cached(worker: WorkerClient, tmp_path: Path) -> None:
    from kernelwright.store import open_store

    store = open_store(f"sqlite:///{tmp_path / 'store.db'}")
    task = find_task(str(HACKS / "tasks" / "relu.py"))
    config = SandboxConfig(**FAST, torch_compile_baseline=True)  # type: ignore[arg-type]
    sandbox = Sandbox(config, store=store, worker=worker)
    honest = Candidate(source=(HACKS / "honest_relu.py").read_text())
    first = sandbox(task, honest)
    assert first.status == Status.ok, first.message
    assert first.compiled_timing is not None and first.speedup_vs_compiled is not None
    stored = store.get_baseline(task.key, "cpu", torch_version())
    assert stored is not None and stored.compiled == first.compiled_timing
    second = sandbox(task, honest)
    assert second.compiled_timing == first.compiled_timing  # from the store, not measured again
    assert second.speedup_vs_compiled == pytest.approx(
        first.compiled_timing.median_ms / second.candidate_timing.median_ms  # type: ignore[union-attr]
    )


HONEST = sorted((HERE / "honest").glob("*.py"))


@pytest.fixture(scope="module")
def gpu_worker() -> Iterator[WorkerClient]:
    client = WorkerClient(0)
    yield client
    client.close()


@pytest.mark.gpu
@pytest.mark.parametrize("path", HONEST, ids=[p.name for p in HONEST])
def test_honest_kernels_pass_on_the_gpu(gpu_worker: WorkerClient, path: Path) -> None:
    task = find_task(path.name.split(".")[0])
    build = "compat" if ".compat." in path.name else "native"
    config = SandboxConfig(device="cuda", timing_min_calls=50, timing_min_seconds=0.2, compile_timeout_s=600)
    verdict = Sandbox(config, worker=gpu_worker)(task, Candidate(source=path.read_text(), build=build))
    assert verdict.status in (Status.ok, Status.suspicious), (
        f"{verdict.status} {verdict.rule}: {verdict.message}\n{verdict.log}"
    )
    assert verdict.gpu_name and verdict.candidate_timing is not None and verdict.kernel_names
