"""The trust boundary itself: the runner never holds the judge's code, its walls keep a candidate's
C-level network traffic in, a spinning forward is a timeout within a minute, and slowing everything
in the runner gives the candidate no advantage over the reference (timed in the judge)."""

from __future__ import annotations

import ast
import socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

import kernelwright
from kernelwright.contracts import Candidate, Status
from kernelwright.kernelbench import find_task
from kernelwright.sandbox.config import SandboxConfig
from kernelwright.sandbox.evaluate import Sandbox
from kernelwright.sandbox.isolation.walls import probe
from kernelwright.sandbox.isolation.worker import WorkerClient

HACKS = Path(__file__).parent / "hacks"
# The honest ReLU every probe below ends with, after the lines that look at its process.
HONEST_MODEL = (
    "class ModelNew(torch.nn.Module):\n    def forward(self, x):\n        return torch.clamp_min(x, 0.0)\n"
)
PACKAGE = Path(kernelwright.__file__).parent
FAST = {"device": "cpu", "allow_torch": True, "trials": 5, "timing_min_calls": 10, "timing_min_seconds": 0.0,
        "warmup_calls": 1, "memory_limit_gb": 8}  # fmt: skip
# What the runner child imports: its own package, the modules both sides share, and the fork server
# it is forked from (whose imports are in its memory).
RUNNER_SIDE = ["sandbox/runner", "sandbox/isolation/server.py", "sandbox/isolation/child.py",
               "sandbox/isolation/walls.py", "sandbox/isolation/wall_plan.py",
               "sandbox/isolation/network_namespace.py", "sandbox/isolation/landlock_rules.py",
               "sandbox/isolation/seccomp_filter.py", "sandbox/native.py"]  # fmt: skip


def relu() -> object:
    return find_task(str(HACKS / "tasks" / "relu.py"))


def _module_file(name: str) -> Path | None:
    base = PACKAGE.parent / name.replace(".", "/")
    for candidate in (base.with_suffix(".py"), base / "__init__.py"):
        if candidate.exists():
            return candidate
    return None


# The one function of the fork server that imports the judge runs only in the judge's child, after
# the fork that separates it from the runner (the dynamic test below shows the runner never has it).
JUDGE_CHILD_BODIES = {"judge_body"}


def _imports(path: Path) -> set[str]:
    found = set()
    tree = ast.parse(path.read_text())
    skipped = {
        id(inner)
        for node in ast.walk(tree)
        if isinstance(node, ast.FunctionDef) and node.name in JUDGE_CHILD_BODIES
        for inner in ast.walk(node)
    }
    for node in ast.walk(tree):
        if id(node) in skipped:
            continue
        if isinstance(node, ast.Import):
            found |= {a.name for a in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.add(node.module)
            found |= {f"{node.module}.{a.name}" for a in node.names}
    return {n for n in found if n.startswith("kernelwright")}


def test_nothing_on_the_runner_side_imports_the_judge() -> None:
    """Walks every kernelwright import reachable from the runner's modules, at any depth."""
    start = [
        p
        for entry in RUNNER_SIDE
        for p in sorted((PACKAGE / entry).rglob("*.py") if (PACKAGE / entry).is_dir() else [PACKAGE / entry])
    ]
    seen: dict[Path, Path | None] = {p: None for p in start}
    queue = list(start)
    while queue:
        path = queue.pop()
        for name in _imports(path):
            assert not name.startswith("kernelwright.sandbox.judge"), (
                f"{path} imports {name} (via {seen[path]})"
            )
            target = _module_file(name)
            if target is not None and target not in seen:
                seen[target] = path
                queue.append(target)
    assert len(seen) > len(start)  # the walk went somewhere


def test_the_runner_process_holds_no_judge_module(worker: WorkerClient) -> None:
    source = (
        "import sys, torch\n"
        "print('MODULES=' + ','.join(sorted(m for m in sys.modules if m.startswith('kernelwright'))))\n"
        + HONEST_MODEL
    )
    config = SandboxConfig(**FAST, timing=False, skip_guard=True)  # type: ignore[arg-type]
    verdict = Sandbox(config, worker=worker)(relu(), Candidate(source=source))
    assert verdict.status == Status.ok, verdict.message
    modules = verdict.log.split("MODULES=", 1)[1].split()[0].split(",")
    assert "kernelwright.sandbox.runner.serve" in modules
    assert not [m for m in modules if m.startswith("kernelwright.sandbox.judge")]


class Listener:
    """A TCP server on 127.0.0.1 that counts the connections it accepts."""

    def __init__(self) -> None:
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(8)
        self.sock.settimeout(0.1)
        self.port = self.sock.getsockname()[1]
        self.accepted = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._serve, daemon=True)
        self._thread.start()

    def _serve(self) -> None:
        while not self._stop.is_set():
            try:
                conn, _ = self.sock.accept()
            except OSError:
                continue
            self.accepted += 1
            conn.close()

    def close(self) -> None:
        self._stop.set()
        self._thread.join()
        self.sock.close()


C_LEVEL_CLIENTS = {
    # torch.distributed's TCPStore connects from C++: no Python audit event is raised.
    "tcpstore": (
        "from datetime import timedelta\nimport torch.distributed as dist\n"
        "def reach(port):\n"
        "    dist.TCPStore('127.0.0.1', port, is_master=False, timeout=timedelta(seconds=2)).set('k', 'v')\n"
    ),
    # libc's socket/connect straight through ctypes.
    "libc": (
        "import ctypes, socket, struct\n"
        "def reach(port):\n"
        "    libc = ctypes.CDLL(None, use_errno=True)\n"
        "    fd = libc.socket(socket.AF_INET, socket.SOCK_STREAM, 0)\n"
        "    if fd < 0:\n        raise PermissionError(ctypes.get_errno(), 'socket refused')\n"
        "    addr = struct.pack('!HH4s8x', socket.AF_INET, port, socket.inet_aton('127.0.0.1'))\n"
        "    addr = struct.pack('=H', socket.AF_INET) + addr[2:]\n"
        "    libc.connect(fd, addr, len(addr))\n"
    ),
}


@pytest.mark.parametrize("client", sorted(C_LEVEL_CLIENTS))
def test_a_listener_on_loopback_receives_no_connection_from_c_level_code(
    worker: WorkerClient, client: str
) -> None:
    walls = probe()
    if not {"seccomp", "network-namespace"} & set(walls.active):
        pytest.skip(
            "neither seccomp nor a network namespace is available here: "
            + "; ".join(walls.unavailable.values())
        )
    listener = Listener()
    try:
        source = C_LEVEL_CLIENTS[client] + (
            "import torch\n"
            "class ModelNew(torch.nn.Module):\n"
            "    def forward(self, x):\n"
            f"        try:\n            reach({listener.port})\n        except Exception as err:\n"
            "            print('REFUSED', type(err).__name__, err)\n"
            "        return torch.clamp_min(x, 0.0)\n"
        )
        # Audit hooks and guard off: only the kernel's walls stand between this code and the port.
        config = SandboxConfig(**FAST, timing=False, skip_guard=True, audit=False)  # type: ignore[arg-type]
        verdict = Sandbox(config, worker=worker)(relu(), Candidate(source=source))
        time.sleep(0.3)
    finally:
        listener.close()
    assert listener.accepted == 0, verdict.log
    assert "REFUSED" in verdict.log
    assert {"seccomp", "network-namespace"} & set(verdict.isolation)


def test_a_unix_socket_listener_receives_no_connection(worker: WorkerClient, tmp_path: Path) -> None:
    """Pathname sockets (a Docker daemon's, say) are outside any network namespace: the seal denies
    every new socket before a native candidate's code is imported."""
    walls = probe()
    if "seccomp-no-exec" not in walls.active:
        pytest.skip("the seccomp seal is not available here: " + "; ".join(walls.unavailable.values()))
    path = tmp_path / "daemon.sock"
    server = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    server.bind(str(path))
    server.listen(4)
    server.settimeout(0.5)
    source = (
        "import socket, torch\n"
        "try:\n"
        f"    socket.socket(socket.AF_UNIX, socket.SOCK_STREAM).connect({str(path)!r})\n"
        "except Exception as err:\n"
        "    print('REFUSED', type(err).__name__, err)\n" + HONEST_MODEL
    )
    config = SandboxConfig(**FAST, timing=False, skip_guard=True, audit=False)  # type: ignore[arg-type]
    try:
        verdict = Sandbox(config, worker=worker)(relu(), Candidate(source=source))
        with pytest.raises(TimeoutError):
            server.accept()
    finally:
        server.close()
    assert "REFUSED" in verdict.log, verdict.log


def test_a_forward_that_spins_is_a_timeout_within_a_minute_under_default_limits(worker: WorkerClient) -> None:
    source = (
        "import torch\nclass ModelNew(torch.nn.Module):\n    def forward(self, x):\n"
        "        while True:\n            pass\n"
    )
    config = SandboxConfig(device="cpu", allow_torch=True, skip_guard=True)
    started = time.monotonic()
    verdict = Sandbox(config, worker=worker)(relu(), Candidate(source=source))  # type: ignore[arg-type]
    elapsed = time.monotonic() - started
    assert (verdict.status, verdict.rule) == (Status.timeout, "run-time-limit"), verdict.message
    assert "30 s time limit of one call" in verdict.message
    assert elapsed < 60


def test_slowing_everything_in_the_runner_does_not_slow_the_reference(worker: WorkerClient) -> None:
    """slow_reference.py spins in a signal handler whenever the candidate's own code is not running;
    sharing the reference's process, it made an honest ReLU read 2-4x faster than PyTorch. Now the
    spinning lands in the runner's harness, outside the candidate's timed window but inside the wall
    time the judge observes, so the runner's times no longer add up."""
    config = SandboxConfig(**{**FAST, "timing_min_calls": 30}, skip_guard=True)  # type: ignore[arg-type]
    verdict = Sandbox(config, worker=worker)(
        relu(), Candidate(source=(HACKS / "slow_reference.py").read_text())
    )
    if verdict.status == Status.ok:
        assert verdict.speedup_vs_eager is not None and verdict.speedup_vs_eager < 2.0
    else:
        assert (verdict.status, verdict.rule) == (Status.rejected, "timing-mismatch"), verdict.message


def test_every_verdict_lists_the_walls_that_were_up(worker: WorkerClient) -> None:
    verdict = Sandbox(SandboxConfig(**FAST, timing=False), worker=worker)(  # type: ignore[arg-type]
        relu(), Candidate(source=(HACKS / "honest_relu.py").read_text())
    )
    assert {"process-group", "private-dir", "scrubbed-env", "rlimits", "audit-hooks"} <= set(
        verdict.isolation
    )
    assert set(probe().active) <= set(verdict.isolation)


# ---------------------------------------------------------------- the same boundary on a GPU

HONEST = Path(__file__).parent / "honest"


@pytest.fixture(scope="module")
def gpu_worker() -> Iterator[WorkerClient]:
    client = WorkerClient(0)
    yield client
    client.close()


def _gpu_sandbox(worker: WorkerClient, **overrides: object) -> Sandbox:
    settings = {"device": "cuda", "timing_min_calls": 50, "timing_min_seconds": 0.2, **overrides}
    return Sandbox(SandboxConfig(**settings), worker=worker)  # type: ignore[arg-type]


@pytest.mark.gpu
def test_gpu_honest_native_kernel_behind_every_wall(gpu_worker: WorkerClient) -> None:
    """CUDA works in the runner behind the walls; the judge's CUDA context times the reference."""
    task = find_task("19_ReLU")
    verdict = _gpu_sandbox(gpu_worker)(task, Candidate(source=(HONEST / "19_ReLU.native.py").read_text()))
    assert verdict.status == Status.ok, f"{verdict.message}\n{verdict.log}"
    assert set(probe().active) <= set(verdict.isolation)
    assert verdict.timing_check is not None and verdict.timing_check.consistent, verdict.timing_check
    assert verdict.speedup_vs_eager is not None and verdict.gpu_name


@pytest.mark.gpu
def test_gpu_forged_timing_is_refused(gpu_worker: WorkerClient) -> None:
    verdict = _gpu_sandbox(gpu_worker, allow_torch=True, skip_guard=True)(
        relu(), Candidate(source=(HACKS / "forge_timing.py").read_text())
    )
    assert (verdict.status, verdict.rule) == (Status.rejected, "timing-mismatch"), verdict.message


@pytest.mark.gpu
def test_gpu_lazy_calls_are_caught_by_the_spot_checks(gpu_worker: WorkerClient) -> None:
    verdict = _gpu_sandbox(gpu_worker, allow_torch=True, skip_guard=True, timing_min_calls=60)(
        relu(), Candidate(source=(HACKS / "lazy_after_warmup.py").read_text())
    )
    assert (verdict.status, verdict.rule) == (Status.incorrect, "timing-spot-check"), verdict.message


def test_both_sides_run_in_full_fp32(worker: WorkerClient) -> None:
    """TF32 off in the runner as in the judge (Hopper's cuDNN defaults to TF32, which misses the fp32
    tolerance); a candidate that turns it back on is caught by the runner's snapshot."""
    probe_flags = (
        "import torch\n"
        "print('FLAGS', torch.backends.cudnn.allow_tf32, torch.backends.cuda.matmul.allow_tf32,"
        " torch.get_float32_matmul_precision())\n" + HONEST_MODEL
    )
    config = SandboxConfig(**FAST, timing=False, skip_guard=True)  # type: ignore[arg-type]
    verdict = Sandbox(config, worker=worker)(relu(), Candidate(source=probe_flags))
    assert verdict.status == Status.ok, verdict.message
    assert "FLAGS False False highest" in verdict.log
    assert verdict.precision == "fp32 (TF32 off)"
    enable = probe_flags.replace("class ModelNew", "torch.backends.cudnn.allow_tf32 = True\nclass ModelNew")
    verdict = Sandbox(config, worker=worker)(relu(), Candidate(source=enable))
    assert (verdict.status, verdict.rule) == (Status.rejected, "torch-patched"), verdict.message
