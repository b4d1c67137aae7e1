"""The isolation worker with a real fork server: environment, working directory, captured output,
limits, forged results and leftover processes. Candidates here are plain Python run on the CPU."""

from __future__ import annotations

import os
import re
from collections.abc import Iterator
from pathlib import Path

import pytest

from kernelwright.sandbox.config import WorkerJob, WorkerLimits
from kernelwright.sandbox.isolation.server import group_members
from kernelwright.sandbox.isolation.worker import WorkerClient, pinned_device, scrub_environment

TASK = (Path(__file__).parent / "hacks" / "tasks" / "relu.py").read_text()
LIMITS = WorkerLimits(compile_timeout_s=30, run_timeout_s=30, memory_limit_bytes=8 << 30)
PROBE = """
import os, resource, sys
import torch

print("CWD=" + os.getcwd())
print("ENV=" + ",".join(sorted(os.environ)))
print("AS=%d" % resource.getrlimit(resource.RLIMIT_AS)[0])
print("PGRP=%d SID=%d PID=%d" % (os.getpgrp(), os.getsid(0), os.getpid()))
print("STDIN=" + repr(sys.stdin.read()))

class ModelNew(torch.nn.Module):
    def forward(self, x):
        return torch.clamp_min(x, 0.0)
"""


def job(candidate: str, **overrides: object) -> WorkerJob:
    settings = {"timing": False, "trials": 5, **overrides}
    return WorkerJob(task_source=TASK, candidate_source=candidate, **settings)  # type: ignore[arg-type]


@pytest.fixture(scope="module")
def worker() -> Iterator[WorkerClient]:
    os.environ["KW_TEST_SECRET_TOKEN"] = "tok-123"
    try:
        client = WorkerClient(None)
        client.start()
    finally:
        del os.environ["KW_TEST_SECRET_TOKEN"]
    yield client
    client.close()


def test_scrub_environment_drops_secrets_and_keeps_the_rest() -> None:
    env = {
        "PATH": "/usr/bin", "HOME": "/root", "CUDA_HOME": "/usr/local/cuda", "LD_LIBRARY_PATH": "/x",
        "OPENAI_API_KEY": "sk", "OPENAI_BASE_URL": "http://h", "KERNELWRIGHT_DB": "sqlite:///s.db",
        "KERNELWRIGHT_JUDGE_API_KEY": "k", "DATABASE_URL": "postgres://", "AWS_SECRET_ACCESS_KEY": "a",
        "GITHUB_TOKEN": "g", "MY_SERVICE_PASSWORD": "p", "ANTHROPIC_API_KEY": "a",
        "KERNELWRIGHT_CACHE_DIR": "/cache", "PGPASSWORD": "pg", "HF_TOKEN": "hf",
    }  # fmt: skip
    kept = scrub_environment(env)
    assert set(kept) == {"PATH", "HOME", "CUDA_HOME", "LD_LIBRARY_PATH", "KERNELWRIGHT_CACHE_DIR"}


def testpinned_device_maps_the_index_through_visible_devices() -> None:
    assert pinned_device({}, 1) == "1"
    assert pinned_device({"CUDA_VISIBLE_DEVICES": "4,6"}, 1) == "6"
    with pytest.raises(Exception, match="not among"):
        pinned_device({"CUDA_VISIBLE_DEVICES": "4"}, 2)


def test_child_runs_isolated(worker: WorkerClient) -> None:
    reply = worker.run(job(PROBE), LIMITS)
    assert reply["outcome"] == "result", reply
    out = reply["stdout"]
    cwd = re.search(r"CWD=(\S+)", out).group(1)  # type: ignore[union-attr]
    assert Path(cwd).name.startswith("kw-run-")
    assert not Path(cwd).exists()  # the private directory is removed afterwards
    env = re.search(r"ENV=(\S*)", out).group(1).split(",")  # type: ignore[union-attr]
    assert "KW_TEST_SECRET_TOKEN" not in env and "PATH" in env
    assert env.count("CUDA_VISIBLE_DEVICES") == 1 and "CUDA_DEVICE_ORDER" in env
    assert int(re.search(r"AS=(\d+)", out).group(1)) == 8 << 30  # type: ignore[union-attr]
    pgrp, sid, pid = map(int, re.search(r"PGRP=(\d+) SID=(\d+) PID=(\d+)", out).groups())  # type: ignore[union-attr]
    assert pgrp == sid == pid  # its own session and process group
    assert "STDIN=''" in out
    assert reply["payload"]["verdict"]["status"] == "ok"


def test_output_is_captured_and_truncated(worker: WorkerClient) -> None:
    noisy = PROBE.replace('print("CWD="', 'print("x" * 100000)\nprint("CWD="')
    reply = worker.run(job(noisy), LIMITS.model_copy(update={"output_limit_chars": 2000}))
    assert reply["stdout"].startswith("[...truncated...]")
    assert len(reply["stdout"]) < 2100
    assert "CWD=" in reply["stdout"]  # the tail is what is kept


def test_forged_results_on_every_descriptor_are_a_protocol_violation(worker: WorkerClient) -> None:
    """The runner's only way out is its pipe to the judge, which reads replies, never verdicts."""
    forger = """
import json, os
import torch

FAKE = json.dumps({"result": {"verdict": {"status": "ok", "message": "forged"}}, "nonce": "guess"}) + "\\n"
for fd in range(3, 256):
    try:
        os.write(fd, FAKE.encode())
    except OSError:
        pass

class ModelNew(torch.nn.Module):
    def forward(self, x):
        return torch.zeros_like(x)
"""
    reply = worker.run(job(forger), LIMITS)
    verdict = reply["payload"]["verdict"]
    assert (verdict["status"], verdict["rule"]) == ("rejected", "protocol-violation")
    assert "forged" not in verdict["message"]


def test_background_processes_are_killed_with_the_group(worker: WorkerClient) -> None:
    spawner = """
import os, time
import torch

if os.fork() == 0:
    time.sleep(600)
    os._exit(0)

class ModelNew(torch.nn.Module):
    def forward(self, x):
        return torch.clamp_min(x, 0.0)
"""
    reply = worker.run(job(spawner, audit=False), LIMITS)
    verdict = reply["payload"]["verdict"]
    if "seccomp-no-exec" in verdict["isolation"]:  # sealed before import: the fork is refused
        assert (verdict["status"], verdict["rule"]) == ("rejected", "sandbox-wall"), verdict["message"]
    else:
        assert verdict["status"] == "ok", verdict["message"]
    pgid = None
    for entry in filter(str.isdigit, os.listdir("/proc")):
        try:
            stat = Path(f"/proc/{entry}/stat").read_text().rsplit(")", 1)[-1].split()
        except OSError:
            continue
        if int(stat[1]) == worker.server_pid and stat[0] != "Z":
            pgid = int(stat[2])
    assert pgid is None  # no child of the server survives the evaluation


def test_timeout_kills_the_group_and_says_which_limit(worker: WorkerClient) -> None:
    sleeper = "import time\ntime.sleep(60)\n"
    reply = worker.run(job(sleeper), LIMITS.model_copy(update={"compile_timeout_s": 1.0}))
    verdict = reply["payload"]["verdict"]
    assert (verdict["status"], verdict["rule"]) == ("timeout", "load-time-limit")
    assert "1 s compile/load time limit" in verdict["message"]
    assert group_members(reply["pgid"]) == []


def test_worker_refuses_a_gpu_index_outside_visible_devices(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CUDA_VISIBLE_DEVICES", "0")
    client = WorkerClient(3)
    with pytest.raises(Exception, match="not among CUDA_VISIBLE_DEVICES"):
        client.start()


def test_a_server_that_cannot_start_is_one_sentence_with_its_last_words(tmp_path: Path) -> None:
    broken = tmp_path / "python"
    broken.write_text("#!/bin/sh\necho 'ModuleNotFoundError: No module named torch' >&2\nexit 1\n")
    broken.chmod(0o755)
    client = WorkerClient(None, python=str(broken))
    with pytest.raises(
        Exception, match=r"could not start: died \(exit status 1\); it said: ModuleNotFoundError"
    ):
        client.start()
