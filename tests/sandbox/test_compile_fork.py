"""NVRTC in a forked child: a crash or a hang becomes a compile_error, never the end of the CLI."""

from __future__ import annotations

import os
import signal
import time
from pathlib import Path

import pytest

from kernelwright.sandbox.build import compile_cache
from kernelwright.sandbox.build.compile import CompileConfig, compile_cuda
from kernelwright.sandbox.build.compile_fork import ForkedCallError, call_in_fork

KERNEL = 'extern "C" __global__ void k(float* x) { x[threadIdx.x] *= 2.f; }\n'


def _crash() -> int:
    os.kill(os.getpid(), signal.SIGSEGV)
    return 0


def _hang() -> int:
    time.sleep(60)
    return 0


def _raise() -> int:
    raise ValueError("boom")


def _zombie_children() -> list[int]:
    found = []
    for entry in filter(str.isdigit, os.listdir("/proc")):
        try:
            fields = Path(f"/proc/{entry}/stat").read_text().rsplit(")", 1)[-1].split()
        except OSError:
            continue
        if fields[0] == "Z" and int(fields[1]) == os.getpid():
            found.append(int(entry))
    return found


def test_value_comes_back_from_the_child() -> None:
    assert (
        call_in_fork(lambda: {"pid": os.getpid(), "data": b"x" * 3_000_000}, 30)["data"] == b"x" * 3_000_000
    )
    assert call_in_fork(os.getpid, 30) != os.getpid()


@pytest.mark.parametrize(
    ("fn", "message"),
    [(_crash, r"crashed \(SIGSEGV\)"), (_hang, "did not finish within 0.5 s"), (_raise, "failed internally")],
)
def test_child_failures_become_one_sentence(fn, message: str) -> None:
    start = time.monotonic()
    with pytest.raises(ForkedCallError, match=message):
        call_in_fork(fn, 0.5)
    assert time.monotonic() - start < 10
    assert _zombie_children() == []  # the child was reaped


def test_isolated_and_in_process_compiles_agree(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(compile_cache.CACHE_ENV, str(tmp_path))
    forked = compile_cuda(KERNEL, config=CompileConfig(use_cache=False, isolate=True))
    direct = compile_cuda(KERNEL, config=CompileConfig(use_cache=False, isolate=False))
    assert forked.ok and direct.ok
    assert forked.resources == direct.resources and forked.kernel_names == direct.kernel_names
    assert forked.cubin is not None and forked.cubin[:4] == b"\x7fELF"


def test_a_compile_past_its_time_limit_is_a_compile_error(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(compile_cache.CACHE_ENV, str(tmp_path))
    result = compile_cuda(KERNEL, config=CompileConfig(nvrtc_timeout_s=0.001))
    assert not result.ok and "did not finish within 0.001 s" in result.log
    assert not list(tmp_path.glob("*.cubin"))  # nothing cached from a failed compile
