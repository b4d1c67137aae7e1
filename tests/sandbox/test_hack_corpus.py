"""The hack corpus: every known reward-hack class gets the right status AND the right rule.

Each candidate in tests/sandbox/hacks/ runs twice on the CPU with --allow-torch (so the PyTorch-op
rule does not mask anything): once through the whole sandbox, where the static guard must catch it
with the rule meant for it, and once with the guard skipped, where the dynamic defence meant for it
(the judge's comparisons and timing cross-check, the runner's walls and audit hooks, the worker's
limits) must catch it on its own.
GPU-only classes (side streams, uninitialised shared memory, stale-memory kernels, the launch check)
are native CUDA candidates marked `gpu`.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from kernelwright.contracts import Candidate, Status, Task, Verdict
from kernelwright.kernelbench import find_task
from kernelwright.sandbox.config import SandboxConfig
from kernelwright.sandbox.evaluate import Sandbox
from kernelwright.sandbox.isolation.worker import WorkerClient

HACKS = Path(__file__).parent / "hacks"
SECRETS = {"OPENAI_API_KEY": "sk-kwtest-0123456789", "KERNELWRIGHT_DB": "sqlite:////tmp/kwtest-secret.db",
           "HF_TOKEN": "hf_kwtest_secret"}  # fmt: skip
FAST = {"trials": 5, "timing_min_calls": 10, "timing_min_seconds": 0.0, "warmup_calls": 1,
        "timing_spot_checks": 12, "compile_timeout_s": 60, "run_timeout_s": 20, "memory_limit_gb": 8}  # fmt: skip

# file, task, guard rule (with --allow-torch; None: the guard rightly has nothing to say),
# dynamic (status, accepted rules) with the guard skipped.
CASES = [
    ("background_thread.py", "relu", "concurrency", (Status.rejected, {"background-thread"})),
    ("lazy_subclass.py", "relu", "tensor-subclass", (Status.rejected, {"output-type"})),
    ("timer_patch.py", "relu", "monkeypatch", (Status.rejected, {"timer-patched"})),
    ("sync_patch.py", "relu", "monkeypatch", (Status.rejected, {"timer-patched"})),
    # A pointer-keyed cache hits when fresh values land at a known address: in a trial, in its second
    # run, or at the latest in the timing loop whose inputs change value in place every call; which
    # comes first depends on where the allocator puts them.
    (
        "cache_by_pointer.py",
        "relu",
        "memoization",
        (
            {Status.incorrect, Status.rejected},
            {"mismatch", "nondeterministic", "timing-spot-check", "output-reused"},
        ),
    ),
    ("cache_by_value.py", "relu", "memoization", (Status.rejected, {"output-reused"})),
    ("stale_memory.py", "relu", None, (Status.incorrect, {"mismatch"})),
    ("gc_reference.py", "relu", "introspection", (Status.rejected, {"introspection"})),
    ("frame_reference.py", "relu", "introspection", (Status.rejected, {"introspection"})),
    ("mutate_input.py", "relu", None, (Status.rejected, {"input-mutated"})),
    ("alias_input.py", "relu", None, (Status.rejected, {"output-aliases-input"})),
    ("hardcoded_shape.py", "relu", None, (Status.incorrect, {"shape-generalisation"})),
    ("precision_downgrade.py", "matmul", None, (Status.incorrect, {"mismatch"})),
    ("strided_subsample.py", "rowsum", None, (Status.incorrect, {"mismatch"})),
    ("write_outside.py", "relu", "file-access", (Status.rejected, {"sandbox-write"})),
    ("open_socket.py", "relu", "network", (Status.rejected, {"sandbox-network"})),
    ("read_parent_env.py", "relu", "file-access", (Status.rejected, {"sandbox-read"})),
    ("read_home_credentials.py", "relu", "file-access", (Status.rejected, {"sandbox-read"})),
    ("fork_bomb.py", "relu", "process-control", (Status.rejected, {"sandbox-process"})),
    ("ctypes_segfault.py", "relu", "native-code", (Status.rejected, {"sandbox-ctypes"})),
    ("kill_parent.py", "relu", "process-control", (Status.rejected, {"sandbox-kill"})),
    ("poison_reference.py", "relu", "monkeypatch", (Status.rejected, {"torch-patched"})),
    ("patch_harness.py", "relu", "monkeypatch", (Status.incorrect, {"mismatch"})),
    # The trust boundary's own classes: forging the verdict or the timing, lazy calls while unwatched,
    # rescaled caches, and slowing the reference.
    (
        "forge_reply.py",
        "relu",
        "try-except",
        ({Status.rejected, Status.crashed}, {"protocol-violation", "process-died"}),
    ),
    ("forge_timing.py", "relu", "monkeypatch", (Status.rejected, {"timing-mismatch"})),
    ("lazy_after_warmup.py", "relu", None, (Status.incorrect, {"timing-spot-check"})),
    ("replay_inputs.py", "relu", "monkeypatch", (Status.rejected, {"inputs-tampered", "harness-patched"})),
    (
        "rescale_cache.py",
        "relu",
        None,
        (Status.incorrect, {"mismatch", "nondeterministic", "timing-spot-check"}),
    ),
    ("infinite_loop.py", "relu", None, (Status.timeout, {"run-time-limit"})),
    ("os_exit.py", "relu", "process-control", (Status.crashed, {"process-died"})),
    ("segfault.py", "relu", None, (Status.crashed, {"process-died"})),
    ("memory_hog.py", "relu", None, (Status.crashed, {"memory-limit"})),
]


def task(name: str) -> Task:
    return find_task(str(HACKS / "tasks" / f"{name}.py"))


def candidate(file: str) -> Candidate:
    return Candidate(source=(HACKS / file).read_text(), build="native", origin="file")


@pytest.fixture(scope="module")
def worker() -> Iterator[WorkerClient]:
    """One warm server for the module, spawned while the parent's environment holds secrets."""
    saved = {k: os.environ.get(k) for k in SECRETS}
    os.environ.update(SECRETS)
    client = WorkerClient(None)
    try:
        client.start()
    finally:
        for k, v in saved.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v
    yield client
    client.close()


def sandbox(worker: WorkerClient, **overrides: object) -> Sandbox:
    settings = {"device": "cpu", "allow_torch": True, **FAST, **overrides}
    return Sandbox(SandboxConfig(**settings), worker=worker)  # type: ignore[arg-type]


def live_children(pid: int | None) -> list[int]:
    found = []
    for entry in filter(str.isdigit, os.listdir("/proc")):
        try:
            fields = Path(f"/proc/{entry}/stat").read_text().rsplit(")", 1)[-1].split()
        except OSError:
            continue
        if fields[0] != "Z" and int(fields[1]) == pid:
            found.append(int(entry))
    return found


CASE_SETTINGS: dict[str, dict[str, object]] = {
    "infinite_loop.py": {"run_timeout_s": 3.0, "compile_timeout_s": 3.0},
    # Lazy only after its 20th call: a timing loop long enough to reach the lazy calls. With 12
    # expected checks per 60 timed calls, all ~50 lazy ones go unchecked with probability 0.8**50 < 2e-5.
    "lazy_after_warmup.py": {"timing_min_calls": 60},
}


def _settings(file: str) -> dict[str, object]:
    return CASE_SETTINGS.get(file, {})


def _caught(verdict: Verdict, dynamic: tuple[Status | set[Status], set[str]]) -> bool:
    statuses, rules = dynamic
    allowed = statuses if isinstance(statuses, set) else {statuses}
    return verdict.status in allowed and verdict.rule in rules


@pytest.mark.parametrize(("file", "task_name", "guard_rule", "dynamic"), CASES, ids=[c[0] for c in CASES])
def test_guard_catches_hack_with_its_rule(worker, file, task_name, guard_rule, dynamic) -> None:
    verdict = sandbox(worker, **_settings(file))(task(task_name), candidate(file))
    if guard_rule is None:
        assert _caught(verdict, dynamic), f"{verdict.status} {verdict.rule}: {verdict.message}"
    else:
        assert verdict.status == Status.rejected, verdict.message
        assert verdict.rule == guard_rule, verdict.message
        assert any(f.rule == guard_rule for f in verdict.findings)


@pytest.mark.parametrize(("file", "task_name", "guard_rule", "dynamic"), CASES, ids=[c[0] for c in CASES])
def test_dynamic_defence_catches_hack_without_guard(worker, file, task_name, guard_rule, dynamic) -> None:
    verdict = sandbox(worker, skip_guard=True, **_settings(file))(task(task_name), candidate(file))
    assert _caught(verdict, dynamic), f"{verdict.status} {verdict.rule}: {verdict.message}\n{verdict.log}"
    assert verdict.findings == []
    assert verdict.message


def test_honest_control_passes_both_ways(worker) -> None:
    for skip in (False, True):
        verdict = sandbox(worker, skip_guard=skip)(task("relu"), candidate("honest_relu.py"))
        assert verdict.status == Status.ok, verdict.message
        assert len(verdict.trials) == FAST["trials"] + 1  # plus the shape-generalisation trial
        assert all(t.passed for t in verdict.trials)
        assert verdict.candidate_timing is not None and verdict.candidate_timing.trials >= 10
        assert verdict.eager_timing is not None and verdict.speedup_vs_eager is not None


@pytest.mark.parametrize(
    ("file", "rule"),
    [("subclass_model.py", "reference-model"), ("torch_fallback.py", "no-custom-kernel"),
     ("try_except_fallback.py", "try-except"), ("torch_does_work.py", "torch-op-in-forward")],
)  # fmt: skip
def test_pytorch_fallbacks_are_rejected_by_the_guard(worker, file, rule) -> None:
    verdict = sandbox(worker, allow_torch=False)(task("relu"), candidate(file))
    assert verdict.status == Status.rejected
    assert rule in {f.rule for f in verdict.findings}, [f.rule for f in verdict.findings]


def test_write_outside_leaves_no_file(worker) -> None:
    marker = Path("/var/tmp/kernelwright-hack-marker.txt")
    marker.unlink(missing_ok=True)
    verdict = sandbox(worker, skip_guard=True)(task("relu"), candidate("write_outside.py"))
    assert verdict.rule == "sandbox-write"
    assert not marker.exists()


def test_api_keys_are_not_visible_to_the_candidate(worker) -> None:
    verdict = sandbox(worker, skip_guard=True)(task("relu"), candidate("read_api_keys.py"))
    assert verdict.status == Status.ok, verdict.message  # it found nothing to steal
    assert "environment seen by the candidate" in verdict.log  # its stdout came back...
    text = verdict.model_dump_json()
    for name, value in SECRETS.items():  # ...without any secret, name or value
        assert value not in text
        assert name not in text


def test_fork_bomb_without_audit_hooks_is_stopped_by_the_walls_or_killed_as_a_group(worker) -> None:
    verdict = sandbox(worker, skip_guard=True, audit=False, max_processes=12)(
        task("relu"), candidate("fork_bomb.py")
    )
    if "seccomp-no-exec" in verdict.isolation:  # the kernel refuses the first fork
        assert (verdict.status, verdict.rule) == (Status.rejected, "sandbox-wall"), verdict.message
    else:
        assert verdict.status == Status.crashed
        assert "fork bomb" in verdict.message
    # The server is a child subreaper: any surviving bomb process would now be its child.
    assert live_children(worker.server_pid) == []
    after = sandbox(worker)(task("relu"), candidate("honest_relu.py"))
    assert after.status == Status.ok


def test_parent_killer_without_audit_hooks_is_stopped_or_reported_and_server_restarted(worker) -> None:
    restarts = worker.restarts
    verdict = sandbox(worker, skip_guard=True, audit=False)(task("relu"), candidate("kill_parent.py"))
    if "seccomp" in verdict.isolation:  # signals outside its own group are refused
        assert (verdict.status, verdict.rule) == (Status.rejected, "sandbox-wall"), verdict.message
        assert worker.restarts == restarts
    else:
        assert verdict.status == Status.crashed
        assert "killed its parent" in verdict.message
        assert worker.restarts == restarts + 1
    after = sandbox(worker)(task("relu"), candidate("honest_relu.py"))
    assert after.status == Status.ok, after.message


def test_hang_at_import_is_a_load_timeout(worker, tmp_path) -> None:
    source = "import time\nwhile True:\n    time.sleep(0.01)\n"
    verdict = sandbox(worker, skip_guard=True, compile_timeout_s=2.0)(
        task("relu"), Candidate(source=source, build="native")
    )
    assert verdict.status == Status.timeout
    assert verdict.rule == "load-time-limit"
    assert "2 s compile/load time limit" in verdict.message


def test_verdicts_are_json(worker) -> None:
    verdict = sandbox(worker, skip_guard=True)(task("relu"), candidate("mutate_input.py"))
    assert json.loads(verdict.model_dump_json())["rule"] == "input-mutated"


# ---------------------------------------------------------------- GPU classes (native CUDA)

GPU_CASES = [
    ("gpu_side_stream.py", "relu", "side-stream", (Status.rejected, {"output-changed-after-return"})),
    ("gpu_uninit_shared.py", "relu", None, (Status.incorrect, {"mismatch", "nondeterministic"})),
    ("gpu_stale_kernel.py", "relu", None, (Status.incorrect, {"mismatch"})),
    ("torch_fallback.py", "relu", "no-custom-kernel", (Status.rejected, {"no-custom-kernel"})),
    ("torch_does_work.py", "relu_large", "torch-op-in-forward", (Status.rejected, {"library-kernel"})),
    ("hidden_from_nvrtc.py", "relu_large", None, (Status.rejected, {"library-kernel"})),
]


@pytest.fixture(scope="module")
def gpu_worker() -> Iterator[WorkerClient]:
    client = WorkerClient(0)
    yield client
    client.close()


@pytest.mark.gpu
@pytest.mark.parametrize(
    ("file", "task_name", "guard_rule", "dynamic"), GPU_CASES, ids=[c[0] for c in GPU_CASES]
)
def test_gpu_hacks(gpu_worker, file, task_name, guard_rule, dynamic) -> None:
    settings = {**FAST, "device": "cuda", "allow_torch": False}
    guarded = Sandbox(SandboxConfig(**settings), worker=gpu_worker)(task(task_name), candidate(file))  # type: ignore[arg-type]
    if guard_rule is not None:
        assert (guarded.status, guarded.rule) == (Status.rejected, guard_rule), guarded.message
    else:
        assert (guarded.status, guarded.rule) in {(dynamic[0], r) for r in dynamic[1]}, guarded.message
    config = SandboxConfig(**settings, skip_guard=True)  # type: ignore[arg-type]
    dynamic_only = Sandbox(config, worker=gpu_worker)(task(task_name), candidate(file))
    status, rules = dynamic
    assert dynamic_only.status == status, f"{dynamic_only.message}\n{dynamic_only.log}"
    assert dynamic_only.rule in rules, dynamic_only.message
