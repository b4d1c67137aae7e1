"""The kernel-enforced walls around the runner, tested for real: each attack runs in a forked child
behind the walls (after setsid(), as in the runner) and reports back over a pipe. Every attack must
fail with the expected errno and leave no trace; the positive controls (torch, imports, NVRTC,
threads) must keep working. A wall this machine lacks skips its tests with probe()'s sentence."""

from __future__ import annotations

import ctypes
import errno
import json
import os
import random
import select
import shutil
import signal
import socket
import stat
import subprocess
import sys
import tempfile
import textwrap
import threading
import time
import traceback
from collections.abc import Callable, Collection, Iterator
from dataclasses import asdict
from datetime import timedelta
from functools import cache
from pathlib import Path
from typing import Any

import pytest
import torch.distributed

from kernelwright.sandbox.isolation import landlock_rules, network_namespace, seccomp_filter, walls
from kernelwright.sandbox.isolation.seccomp_filter import other_values
from kernelwright.sandbox.isolation.walls import WALL_NAMES, WallPlan, WallsReport

SECCOMP_ONLY = ("no-new-privs", "seccomp")
LANDLOCK_ONLY = ("no-new-privs", "landlock")
PTRACE_SEIZE = 0x4206
NEW_STDLIB_MODULES = ("tabnanny", "colorsys", "wave", "netrc", "mailbox")
KERNEL = r"""
extern "C" __global__ void axpy(float a, const float* x, float* y, int n) {
    int i = blockIdx.x * blockDim.x + threadIdx.x;
    if (i < n) y[i] = a * x[i] + y[i];
}
"""


@cache
def machine() -> WallsReport:
    return walls.probe()


def need(*names: str) -> None:
    """Skips the test, with probe()'s reason, when a wall it relies on is missing here."""
    for name in names:
        if name in machine().unavailable:
            pytest.skip(f"{name} is unavailable here: {machine().unavailable[name]}")


def landlock_abi() -> int:
    detail = machine().details.get("landlock", "ABI 0")
    return int(detail.split()[1])


@pytest.fixture
def plan(tmp_path: Path) -> Iterator[WallPlan]:
    work = tmp_path / "work"
    work.mkdir()
    shm = "/dev/shm" if os.access("/dev/shm", os.W_OK) else None
    exchange = tempfile.mkdtemp(prefix="kw-test-exchange-", dir=shm)
    try:
        yield WallPlan(workdir=str(work), exchange_dir=exchange, device="cpu")
    finally:
        shutil.rmtree(exchange, ignore_errors=True)


def walled(
    fn: Callable[[], Any],
    plan: WallPlan,
    *,
    layers: Collection[str] = WALL_NAMES,
    seal: bool = False,
    before: Callable[[], None] = lambda: None,
    timeout_s: float = 60.0,
) -> tuple[WallsReport, Any]:
    """fn() run in a forked child behind the walls; its result and the walls' report come back as
    JSON. An exception in the child fails the test with the child's traceback."""
    read_fd, write_fd = os.pipe()
    pid = os.fork()
    if pid == 0:
        os.close(read_fd)
        _child(fn, plan, layers, seal, before, write_fd)
    os.close(write_fd)
    data = _read(read_fd, time.monotonic() + timeout_s)
    os.close(read_fd)
    if data is None:
        os.killpg(pid, signal.SIGKILL)
    os.waitpid(pid, 0)
    assert data, "the walled child died without an answer" if data is not None else "the walled child hung"
    message = json.loads(data)
    assert "error" not in message, message.get("error")
    return WallsReport(**message["report"]), message["value"]


def _child(
    fn: Callable[[], Any],
    plan: WallPlan,
    layers: Collection[str],
    seal: bool,
    before: Callable[[], None],
    fd: int,
) -> None:
    code = 1
    try:
        os.setsid()
        before()
        report = walls.raise_walls(plan, layers=layers)
        if seal:
            report = walls.seal_after_load()
        payload = {"report": asdict(report), "value": fn()}
    except BaseException:
        payload = {"error": traceback.format_exc()}
    try:
        data = json.dumps(payload).encode()
        while data:
            data = data[os.write(fd, data) :]
        code = 0
    finally:
        os._exit(code)


def _read(fd: int, deadline: float) -> bytes | None:
    chunks: list[bytes] = []
    while (left := deadline - time.monotonic()) > 0 and select.select([fd], [], [], left)[0]:
        chunk = os.read(fd, 1 << 16)
        if not chunk:
            return b"".join(chunks)
        chunks.append(chunk)
    return None


def errno_of(call: Callable[[], object]) -> int | None:
    """The errno a call fails with; None when it succeeded."""
    try:
        call()
    except OSError as err:
        return err.errno
    return None


def libc_errno(result: int) -> int | None:
    return ctypes.get_errno() if result == -1 else None


LIBC = ctypes.CDLL(None, use_errno=True)


@pytest.fixture
def listener() -> Iterator[socket.socket]:
    """A TCP server on 127.0.0.1 in the test's own network namespace; no candidate may reach it."""
    server = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    server.bind(("127.0.0.1", 0))
    server.listen(8)
    server.setblocking(False)
    try:
        yield server
    finally:
        server.close()


def assert_no_connection(server: socket.socket) -> None:
    with pytest.raises(BlockingIOError):
        server.accept()


# -- pure pieces ----------------------------------------------------------------------------------


def test_other_values_match_exactly_what_is_not_allowed() -> None:
    rng = random.Random(7)
    pid = 4_194_000
    allowed = {0, pid, -pid & 0xFFFFFFFF}
    cubes = other_values({0, pid, -pid})
    samples = [
        *allowed,
        1,
        pid - 1,
        pid + 1,
        0xFFFFFFFF,
        1 << 31,
        *(rng.getrandbits(32) for _ in range(5000)),
    ]
    for x in samples:
        assert any(x & m == v for m, v in cubes) == (x not in allowed), hex(x)
    assert len(cubes) < 100, "one rule per cube: the filter must stay small"


def test_probe_reports_every_wall_once_and_leaves_the_caller_untouched() -> None:
    before = Path("/proc/self/status").read_text()
    netns = os.readlink("/proc/self/ns/net")
    report = walls.probe()
    assert sorted(report.active + list(report.unavailable)) == sorted(WALL_NAMES)
    assert all(why.endswith(".") and "\n" not in why for why in report.unavailable.values())
    after = Path("/proc/self/status").read_text()
    lines = ("NoNewPrivs:", "Seccomp:", "Seccomp_filters:")
    assert [ln for ln in after.splitlines() if ln.startswith(lines)] == [
        ln for ln in before.splitlines() if ln.startswith(lines)
    ]
    assert os.readlink("/proc/self/ns/net") == netns
    socket.socket(socket.AF_INET, socket.SOCK_STREAM).close()


def test_a_missing_wall_is_reported_not_raised(plan: WallPlan, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(seccomp_filter, "_seccomp", None)
    monkeypatch.setattr(seccomp_filter, "_SECCOMP_MISSING", "libseccomp is not installed.", raising=False)
    report, _ = walled(lambda: None, plan, layers=("no-new-privs", "seccomp"), seal=True)
    assert report.active == ["no-new-privs"]
    assert report.unavailable == {
        "seccomp": "libseccomp is not installed.",
        "seccomp-no-exec": "libseccomp is not installed.",
    }


NOBODY = 65534


def test_an_unprivileged_runner_gets_its_walls_too() -> None:
    """Users run kernelwright without root: the network namespace then comes from a user namespace
    mapping only the runner's own ids, where the kernel allows one (a sentence says so otherwise)."""
    if os.geteuid() != 0:
        pytest.skip("needs root to become an unprivileged user in the child")
    # Folders nobody can reach: pytest's own tmp folder is private to root.
    work, exchange = tempfile.mkdtemp(prefix="kw-test-nobody-"), tempfile.mkdtemp(prefix="kw-test-nobody-")
    for folder in (work, exchange):
        os.chown(folder, NOBODY, NOBODY)
    outer = os.readlink("/proc/self/ns/net")

    def drop_root() -> None:
        os.setgroups([])
        os.setgid(NOBODY)
        os.setuid(NOBODY)

    def attack() -> dict[str, Any]:
        Path(work, "out.bin").write_bytes(b"ok")
        return {
            "uid": os.getuid(),
            "inet": errno_of(lambda: socket.socket(socket.AF_INET, socket.SOCK_STREAM)),
            "ns": os.readlink("/proc/self/ns/net"),
            "fork": errno_of(os.fork),
        }

    try:
        report, got = walled(attack, WallPlan(work, exchange, "cpu"), seal=True, before=drop_root)
        assert Path(work, "out.bin").stat().st_uid == NOBODY
    finally:
        shutil.rmtree(work, ignore_errors=True)
        shutil.rmtree(exchange, ignore_errors=True)
    assert not [why for why in report.unavailable.values() if "unexpectedly" in why], report.unavailable
    expected_up = {"no-new-privs", "landlock", "seccomp", "seccomp-no-exec"} - set(machine().unavailable)
    assert expected_up <= set(report.active)
    assert got["uid"] == NOBODY and got["inet"] == errno.EPERM and got["fork"] == errno.EPERM
    if unprivileged_user_namespaces():
        assert "network-namespace" in report.active, report.unavailable
        assert got["ns"] != outer
        assert "user namespace" in report.details["network-namespace"]


def unprivileged_user_namespaces() -> bool:
    """What the sysctls say (Debian's switch, Ubuntu's AppArmor restriction, the namespace limit)."""

    def sysctl(path: str, default: int) -> int:
        try:
            return int(Path(path).read_text())
        except (OSError, ValueError):
            return default

    return (
        sysctl("/proc/sys/kernel/unprivileged_userns_clone", 1) == 1
        and sysctl("/proc/sys/kernel/apparmor_restrict_unprivileged_userns", 0) == 0
        and sysctl("/proc/sys/user/max_user_namespaces", 1) > 0
    )


# -- seccomp stage 1 ------------------------------------------------------------------------------


def test_seccomp_refuses_network_sockets_but_keeps_unix_ones(plan: WallPlan) -> None:
    need("seccomp")

    def attack() -> dict[str, Any]:
        a, b = socket.socketpair()
        a.close()
        b.close()
        return {
            "inet": errno_of(lambda: socket.socket(socket.AF_INET, socket.SOCK_STREAM)),
            "inet6": errno_of(lambda: socket.socket(socket.AF_INET6, socket.SOCK_DGRAM)),
            "netlink": errno_of(lambda: socket.socket(socket.AF_NETLINK, socket.SOCK_RAW)),
            "unix": errno_of(lambda: socket.socket(socket.AF_UNIX, socket.SOCK_STREAM).close()),
        }

    report, got = walled(attack, plan, layers=SECCOMP_ONLY)
    assert report.active == list(SECCOMP_ONLY)
    assert got == {"inet": errno.EPERM, "inet6": errno.EPERM, "netlink": errno.EPERM, "unix": None}


LAYERS_THAT_STOP_TCP = {
    "seccomp": SECCOMP_ONLY,
    "network-namespace": ("network-namespace",),
    "landlock": LANDLOCK_ONLY,
    "all": WALL_NAMES,
}


@pytest.mark.parametrize("wall", list(LAYERS_THAT_STOP_TCP))
def test_a_tcpstore_client_never_reaches_a_local_listener(
    wall: str, plan: WallPlan, listener: socket.socket
) -> None:
    """torch.distributed.TCPStore connects from C++, where audit hooks see nothing; each wall alone
    must stop it (Landlock through its TCP rules, ABI 4 and newer)."""
    need(*(name for name in LAYERS_THAT_STOP_TCP[wall] if name != "no-new-privs"))
    if wall == "landlock" and landlock_abi() < 4:
        pytest.skip(f"Landlock ABI {landlock_abi()} has no TCP rules (ABI 4, Linux 6.7)")
    port = listener.getsockname()[1]

    def attack() -> str:
        try:
            store = torch.distributed.TCPStore  # type: ignore[attr-defined]
            store("127.0.0.1", port, is_master=False, timeout=timedelta(seconds=1))
        except Exception as err:
            return type(err).__name__
        return "connected"

    _, outcome = walled(attack, plan, layers=LAYERS_THAT_STOP_TCP[wall], timeout_s=20)
    assert outcome != "connected"
    assert_no_connection(listener)


def test_the_network_namespace_has_no_route_even_to_loopback(plan: WallPlan, listener: socket.socket) -> None:
    need("network-namespace")
    port = listener.getsockname()[1]
    outer = os.readlink("/proc/self/ns/net")

    def attack() -> dict[str, Any]:
        probe = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        return {
            "ns": os.readlink("/proc/self/ns/net"),
            "connect": errno_of(lambda: probe.connect(("127.0.0.1", port))),
            "devices": [
                ln.split(":")[0].strip() for ln in Path("/proc/self/net/dev").read_text().splitlines()[2:]
            ],
        }

    _, got = walled(attack, plan, layers=("network-namespace",))
    assert got["ns"] != outer
    assert got["connect"] == errno.ENETUNREACH
    assert got["devices"] == ["lo"]
    assert_no_connection(listener)


def test_the_runner_cannot_trace_read_or_signal_its_parent(plan: WallPlan) -> None:
    need("seccomp")
    parent, parent_group = os.getpid(), os.getpgrp()

    def attack() -> dict[str, Any]:
        local, remote = ctypes.create_string_buffer(8), ctypes.create_string_buffer(8)
        iov_local = (ctypes.c_void_p * 2)(ctypes.addressof(local), 8)
        iov_remote = (ctypes.c_void_p * 2)(ctypes.addressof(remote), 8)
        vm_read = LIBC.process_vm_readv(parent, iov_local, 1, iov_remote, 1, 0)
        # Signal 0 checks permission and delivers nothing, so a failing wall cannot hurt the test run.
        return {
            "ptrace": libc_errno(LIBC.ptrace(PTRACE_SEIZE, parent, None, None)),
            "process_vm_readv": libc_errno(vm_read),
            "kill parent": errno_of(lambda: os.kill(parent, 0)),
            "kill everyone": errno_of(lambda: os.kill(-1, 0)),
            "killpg parent": errno_of(lambda: os.killpg(parent_group, 0)),
            "tgkill parent": libc_errno(LIBC.tgkill(parent, parent, 0)),
            "unshare": libc_errno(LIBC.unshare(network_namespace.CLONE_NEWUSER)),
            "mknod block": errno_of(
                lambda: os.mknod(f"{plan.workdir}/disk", stat.S_IFBLK | 0o600, os.makedev(8, 0))
            ),
        }

    _, got = walled(attack, plan, layers=SECCOMP_ONLY)
    assert got == dict.fromkeys(got, errno.EPERM)
    assert not os.path.exists(f"{plan.workdir}/disk")


def test_signals_within_its_own_group_still_work(plan: WallPlan) -> None:
    need("seccomp")

    def control() -> dict[str, Any]:
        caught: list[int] = []
        signal.signal(signal.SIGUSR1, lambda signum, frame: caught.append(signum))
        signal.raise_signal(signal.SIGUSR1)  # tgkill on its own thread
        os.kill(os.getpid(), signal.SIGUSR1)
        os.killpg(os.getpgrp(), signal.SIGUSR1)
        os.kill(0, signal.SIGUSR1)
        main, from_thread = threading.main_thread().ident or 0, []
        worker = threading.Thread(
            target=lambda: from_thread.append(errno_of(lambda: signal.pthread_kill(main, 0)))
        )
        worker.start()
        worker.join()
        return {"caught": len(caught), "pthread_kill": from_thread}

    _, got = walled(control, plan, layers=SECCOMP_ONLY)
    assert got == {"caught": 4, "pthread_kill": [None]}


def test_landlock_signal_scope_stops_signals_to_the_parent(plan: WallPlan) -> None:
    need("landlock")
    if landlock_abi() < 6:
        pytest.skip(f"Landlock ABI {landlock_abi()} has no signal scope (ABI 6, Linux 6.12)")
    parent = os.getpid()
    _, got = walled(lambda: errno_of(lambda: os.kill(parent, 0)), plan, layers=LANDLOCK_ONLY)
    assert got == errno.EPERM


# -- Landlock -------------------------------------------------------------------------------------


def test_landlock_allows_writes_only_in_the_private_folders(plan: WallPlan, tmp_path: Path) -> None:
    need("landlock")
    outside = tmp_path / "outside.txt"

    def attack() -> dict[str, Any]:
        Path(plan.workdir, "sub").mkdir()
        Path(plan.workdir, "sub", "out.bin").write_bytes(b"ok")
        Path(plan.exchange_dir, "tensor.bin").write_bytes(b"ok")
        os.replace(Path(plan.workdir, "sub", "out.bin"), Path(plan.workdir, "moved.bin"))
        with open(os.devnull, "w") as sink:
            sink.write("discarded")
        return {
            "outside": errno_of(lambda: outside.write_text("escaped")),
            # An existing file opened without O_CREAT or O_TRUNC: a failing wall changes nothing.
            "etc": errno_of(lambda: os.close(os.open("/etc/passwd", os.O_WRONLY | os.O_APPEND))),
            "exchange": Path(plan.exchange_dir, "tensor.bin").read_bytes().decode(),
            "moved": Path(plan.workdir, "moved.bin").read_bytes().decode(),
        }

    _, got = walled(attack, plan, layers=LANDLOCK_ONLY)
    assert got == {"outside": errno.EACCES, "etc": errno.EACCES, "exchange": "ok", "moved": "ok"}
    assert not outside.exists()


def test_landlock_hides_home_secrets_and_other_processes(
    plan: WallPlan, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    need("landlock")
    home = tmp_path / "home"
    (home / ".config").mkdir(parents=True)
    (home / ".netrc").write_text("machine api.example login me password hunter2\n")
    (home / ".config" / "token").write_text("sk-secret\n")
    monkeypatch.setenv("HOME", str(home))
    # What Landlock sees is the list of trees it grants: none of them may contain the planted secrets,
    # or this test would prove nothing.
    granted = [Path(p) for p, _ in landlock_rules.filesystem_rules(plan)]
    assert not [p for p in granted if home == p or home.is_relative_to(p)], granted
    parent = os.getpid()

    def attack() -> dict[str, Any]:
        return {
            "netrc": errno_of(lambda: (home / ".netrc").read_text()),
            "config": errno_of(lambda: (home / ".config" / "token").read_text()),
            "parent environ": errno_of(lambda: Path(f"/proc/{parent}/environ").read_bytes()),
            "parent mem": errno_of(lambda: open(f"/proc/{parent}/mem", "rb")),
            "own environ": errno_of(lambda: Path("/proc/self/environ").read_bytes()),
            "own maps": errno_of(lambda: Path("/proc/self/maps").read_text()),
            "cpuinfo": errno_of(lambda: Path("/proc/cpuinfo").read_text()),
        }

    _, got = walled(attack, plan, layers=LANDLOCK_ONLY)
    denied = ("netrc", "config", "parent environ", "parent mem")
    assert got == {**dict.fromkeys(denied, errno.EACCES), **dict.fromkeys(set(got) - set(denied), None)}


# -- seccomp stage 2 ------------------------------------------------------------------------------


def test_before_the_seal_a_build_can_still_run_the_compilers(plan: WallPlan) -> None:
    """A load_inline build runs ninja, c++ and nvcc while the candidate loads: stage 1 lets them run
    (from the system trees), with temporary files in the private folder."""
    need("landlock", "seccomp")
    from kernelwright.sandbox.build.compile import CompileConfig, compile_cuda, nvcc_path

    if nvcc_path() is None:
        pytest.skip("nvcc is not installed here")
    config = CompileConfig(backend="nvcc", use_cache=False, isolate=False)

    def control() -> dict[str, Any]:
        os.environ["TMPDIR"] = plan.workdir  # as the runner child sets it
        tempfile.tempdir = None
        built = compile_cuda(KERNEL, "sm_90", config=config)
        return {"ok": built.ok, "kernels": built.kernel_names, "log": built.log[-2000:]}

    _, got = walled(control, plan)
    assert got["ok"], got["log"]
    assert got["kernels"] == ["axpy"]


def test_after_the_seal_no_exec_and_no_fork_but_threads_run(plan: WallPlan, tmp_path: Path) -> None:
    need("seccomp-no-exec")
    marker = tmp_path / "spawned"

    def attack() -> dict[str, Any]:
        ran: list[str] = []
        thread = threading.Thread(target=lambda: ran.append("thread"))
        thread.start()
        thread.join()
        return {
            "subprocess": errno_of(lambda: subprocess.run(["/bin/touch", str(marker)], check=False)),
            "fork": errno_of(os.fork),
            "exec": errno_of(lambda: os.execv("/bin/touch", ["/bin/touch", str(marker)])),
            "thread": ran,
        }

    report, got = walled(attack, plan, seal=True)
    assert report.active[-1] == "seccomp-no-exec"
    assert got == {"subprocess": errno.EPERM, "fork": errno.EPERM, "exec": errno.EPERM, "thread": ["thread"]}
    assert not marker.exists()


def test_the_seal_notices_a_filter_the_candidate_added(plan: WallPlan) -> None:
    need("seccomp-no-exec")

    def tamper() -> None:
        import pyseccomp

        sneaky = pyseccomp.SyscallFilter(pyseccomp.ALLOW)
        sneaky.add_rule(pyseccomp.ERRNO(0), "seccomp")  # our stage-2 load would "succeed" doing nothing
        sneaky.load()

    def run() -> WallsReport:
        walls.raise_walls(plan)
        tamper()
        return walls.seal_after_load()

    _, got = walled(lambda: asdict(run()), plan, layers=())
    assert "seccomp-no-exec" not in got["active"]
    assert "the candidate's own" in got["unavailable"]["seccomp-no-exec"]


# -- positive controls ----------------------------------------------------------------------------


def walled_interpreter(body: str, plan: WallPlan, device: str = "cpu") -> dict[str, Any]:
    """`body` run in a child forked by a fresh interpreter that imported torch, behind every wall (as
    in the fork server's child); it prints one JSON line. Used where torch computes: a child forked from this test
    process would hang in OpenMP if the process had already run a parallel op."""
    script = WALLED_PRELUDE + textwrap.dedent(body)
    result = subprocess.run(
        [sys.executable, "-c", script, plan.workdir, plan.exchange_dir, device],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, result.stderr[-4000:]
    answer: dict[str, Any] = json.loads(result.stdout.splitlines()[-1])
    return answer


WALLED_PRELUDE = """
import json, os, sys
import torch
from kernelwright.sandbox.isolation import walls
# Like the fork server: torch is imported (which starts a thread), then a single-threaded child is forked.
child = os.fork()
if child:
    os._exit(os.waitstatus_to_exitcode(os.waitpid(child, 0)[1]) & 0xFF)
os.setsid()
plan = walls.WallPlan(workdir=sys.argv[1], exchange_dir=sys.argv[2], device=sys.argv[3])
raised = walls.raise_walls(plan)
"""


def test_torch_and_fresh_imports_work_behind_every_wall(plan: WallPlan) -> None:
    need("landlock", "seccomp", "seccomp-no-exec")
    got = walled_interpreter(
        f"""
        sealed = walls.seal_after_load()
        fresh = next(name for name in {NEW_STDLIB_MODULES!r} if name not in sys.modules)
        __import__(fresh)
        torch.manual_seed(0)
        a = torch.randn(512, 512)
        product = a @ a.T  # torch's intra-op threads start only now, behind the seal
        ones = torch.ones(64, 64) @ torch.ones(64, 64)
        print(json.dumps({{
            "sealed": sealed.active, "module": fresh, "threads": len(os.listdir("/proc/self/task")),
            "symmetric": bool(torch.allclose(product, product.T, atol=1e-3)), "ones": float(ones.sum()),
        }}))
        """,
        plan,
    )
    assert set(got["sealed"]) >= {"landlock", "seccomp", "seccomp-no-exec"}
    assert got["symmetric"] and got["ones"] == 64.0**3
    assert got["module"] in NEW_STDLIB_MODULES


def test_nvrtc_compiles_behind_the_walls_and_reads_the_cache_without_writing_it(
    plan: WallPlan, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    need("landlock", "seccomp")
    from kernelwright.sandbox.build.compile import CompileConfig, compile_cuda, nvrtc_version

    if nvrtc_version() is None:
        pytest.skip("NVRTC cannot be loaded here")
    cache_dir = tmp_path / "cubin-cache"
    monkeypatch.setenv("KERNELWRIGHT_CACHE_DIR", str(cache_dir))
    assert compile_cuda(KERNEL, "sm_90").ok
    cached_files = sorted(os.listdir(cache_dir))
    inside = CompileConfig(isolate=False)  # the runner is already isolated and sealed: no fork

    def control() -> dict[str, Any]:
        hit = compile_cuda(KERNEL, "sm_90", config=inside)
        fresh = compile_cuda(KERNEL.replace("axpy", "axpy2"), "sm_90", config=inside)
        return {"hit": [hit.ok, hit.cached], "fresh": [fresh.ok, fresh.cached, fresh.kernel_names]}

    _, got = walled(control, plan, seal=True)
    assert got == {"hit": [True, True], "fresh": [True, False, ["axpy2"]]}
    assert sorted(os.listdir(cache_dir)) == cached_files, "the cache is read-only behind the walls"


@pytest.mark.gpu
def test_cuda_works_behind_every_wall(plan: WallPlan) -> None:
    got = walled_interpreter(
        """
        x = torch.randn(1024, 1024, device="cuda")  # CUDA starts behind the walls, as in the runner
        first = float((x @ x).sum().item())
        sealed = walls.seal_after_load()
        y = torch.ones(512, 512, device="cuda")
        print(json.dumps({"sealed": sealed.active, "ones": float((y @ y).sum().item())}))
        """,
        plan,
        device="cuda",
    )
    assert got["ones"] == 512.0**3
    assert set(got["sealed"]) == set(machine().active)
