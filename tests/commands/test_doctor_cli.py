"""`kernelwright doctor` through the real entry point: what it reports on this machine (no GPU here),
the exit code, one line per missing piece, and that it never shows an API key or a DB password."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from kernelwright.commands.doctor import _print
from kernelwright.doctor import (
    DoctorReport,
    NcuInfo,
    _isolation,
    check_endpoints,
    missing_pieces,
    store_url_problem,
)
from kernelwright.gpu.nvml import list_gpus
from kernelwright.sandbox.isolation import walls
from tests.support.openai_server import Reply, running_server

SECRET_KEY = "sk-test-0123456789-SECRET"
LLM_ENV = {
    "OPENAI_BASE_URL": "http://127.0.0.1:9/v1",
    "OPENAI_API_KEY": SECRET_KEY,
    "KERNELWRIGHT_MODEL": "test-model",
}
LLM_VARS = (
    "OPENAI_BASE_URL",
    "OPENAI_API_KEY",
    "KERNELWRIGHT_MODEL",
    *(
        f"KERNELWRIGHT_{role}_{what}"
        for role in ("CODER", "JUDGE")
        for what in ("MODEL", "BASE_URL", "API_KEY")
    ),
    "KERNELWRIGHT_DB",
)


def doctor(*args: str, env: dict[str, str] | None = None, cwd: Path) -> subprocess.CompletedProcess[str]:
    script = Path(sys.executable).parent / "kernelwright"
    command = (
        [str(script)]
        if script.exists()
        else [sys.executable, "-c", "from kernelwright.cli import main; main()"]
    )
    clean = {k: v for k, v in os.environ.items() if k not in LLM_VARS}
    full_env = clean | {"COLUMNS": "200"} | (env or {})
    return subprocess.run(
        [*command, "doctor", *args], capture_output=True, text=True, timeout=120, env=full_env, cwd=cwd
    )


@pytest.mark.skipif(bool(list_gpus()), reason="checks the no-GPU report; this machine has a GPU")
def test_no_gpu_and_no_endpoint_exits_1_with_one_line_each(tmp_path: Path) -> None:
    result = doctor(cwd=tmp_path)
    assert result.returncode == 1, result.stdout + result.stderr
    out = result.stdout
    assert f"{sys.version.split()[0]}" in out and "torch" in out
    missing = out[out.index("optimize cannot run here:") :].splitlines()[1:]
    assert missing[0].startswith(
        "- No NVIDIA GPU is visible: NVML found no device (no driver, or no GPU on this machine); "
    )
    assert "`optimize --compile-only` still runs the agents here" in missing[0]
    assert missing[1].startswith("- The LLM endpoint is not fully configured (missing: coder base URL")
    assert "Traceback" not in out + result.stderr
    assert not (tmp_path / "store.db").exists(), "the doctor must not create the store"


@pytest.mark.skipif(bool(list_gpus()), reason="checks the no-GPU report; this machine has a GPU")
def test_configured_endpoint_leaves_only_the_gpu_missing_and_hides_secrets(tmp_path: Path) -> None:
    db = "postgresql+psycopg://kw:hunter2@db.example:5432/kernels"
    result = doctor("--json", "--offline", "--db", db, env=LLM_ENV, cwd=tmp_path)
    assert result.returncode == 1
    assert SECRET_KEY not in result.stdout + result.stderr and "hunter2" not in result.stdout
    report = json.loads(result.stdout)
    assert report["ready"] is False and report["gpus"] == [] and report["endpoints"] == []
    [no_gpu] = report["missing"]
    assert no_gpu.startswith("No NVIDIA GPU is visible") and "--compile-only" in no_gpu
    assert (report["llm"]["coder"]["model"], report["llm"]["judge"]["api_key"]) == ("test-model", "set")
    assert report["llm"]["judge"]["base_url"] == "http://127.0.0.1:9/v1"
    assert report["db_url"] == "postgresql+psycopg://kw:***@db.example:5432/kernels"
    assert report["nvrtc"] is not None, "NVRTC (the wheel) loads on this CPU machine"
    table = doctor("--offline", env=LLM_ENV | {"KERNELWRIGHT_DB": db}, cwd=tmp_path)
    assert SECRET_KEY not in table.stdout and "hunter2" not in table.stdout
    assert "API key set" in table.stdout and "kw:***@db.example" in table.stdout


@pytest.mark.gpu
def test_gpu_machine_with_endpoint_is_ready(tmp_path: Path) -> None:
    result = doctor("--json", "--offline", env=LLM_ENV, cwd=tmp_path)
    report = json.loads(result.stdout)
    assert report["gpus"] and report["gpus"][0]["compute_capability"]
    # A GPU, a CUDA torch, NVRTC and a configured endpoint are all optimize needs.
    assert report["ready"] is True, report["missing"]
    assert result.returncode == 0


def report_with(**fields: object) -> DoctorReport:
    base: dict[str, object] = {"python": "3.11", "platform": "Linux", "torch": "2.5", "torch_cuda": "12.4"}
    base["gpus"] = [{"name": "NVIDIA H100", "compute_capability": "9.0"}]
    base["nvrtc"] = "12.4"
    base["ncu"] = NcuInfo(path="/usr/local/cuda/bin/ncu", counters_readable=True, message="ok")
    return DoctorReport.model_validate(base | fields)


def test_missing_pieces_name_each_absent_requirement() -> None:
    assert missing_pieces(report_with(), []) == []
    cpu_torch = missing_pieces(report_with(torch_cuda=None), [])
    assert cpu_torch == ["torch 2.5 is a CPU-only build: install a CUDA build of torch."]
    no_nvrtc = missing_pieces(report_with(nvrtc=None), ["judge model"])
    assert len(no_nvrtc) == 2 and no_nvrtc[0].startswith("NVRTC cannot be loaded")
    assert "missing: judge model" in no_nvrtc[1]


def test_store_url_problems_are_found_without_connecting() -> None:
    assert store_url_problem("sqlite:///store.db") is None
    assert store_url_problem("postgresql+psycopg://kw:pw@nowhere.invalid/db") is None
    unparsable = store_url_problem("not a url")
    assert unparsable is not None and "is not a SQLAlchemy URL" in unparsable
    unknown = store_url_problem("nosuchdb://kw:hunter2@h/x")
    assert unknown is not None and "hunter2" not in unknown and "kw:***@h" in unknown


def test_doctor_lists_the_isolation_walls_and_never_counts_them_as_missing(tmp_path: Path) -> None:
    expected = _isolation()
    assert (expected.active, expected.unavailable) == (walls.probe().active, walls.probe().unavailable)
    assert sorted(expected.active + list(expected.unavailable)) == sorted(walls.WALL_NAMES)
    result = doctor("--offline", env=LLM_ENV, cwd=tmp_path)
    (line,) = [ln for ln in result.stdout.splitlines() if ln.startswith("isolation")]
    assert line.split(None, 1)[1].strip() == "[" + ", ".join(expected.active) + "]"
    for name, why in expected.unavailable.items():
        assert f"{name} unavailable: {why}" in result.stdout
    missing = result.stdout[result.stdout.find("optimize cannot run here:") :]
    assert not [name for name in walls.WALL_NAMES if name in missing], "a missing wall never fails the doctor"


def test_a_machine_without_walls_is_told_why_and_optimize_still_runs(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("COLUMNS", "200")
    why = {
        "network-namespace": "a new network namespace needs root (CAP_SYS_ADMIN) or unprivileged user namespaces.",
        "landlock": "this kernel has no Landlock (Linux 5.13 or newer built with CONFIG_SECURITY_LANDLOCK is needed).",
    }
    report = report_with(isolation={"active": ["no-new-privs", "seccomp"], "unavailable": why})
    assert report.ready and missing_pieces(report, []) == []
    _print(report)
    out = capsys.readouterr().out
    assert "[no-new-privs, seccomp]" in out
    for name, sentence in why.items():
        assert f"{name} unavailable: {sentence}" in out
    assert "optimize can run here." in out


def test_a_broken_probe_is_reported_per_wall_not_raised(monkeypatch: pytest.MonkeyPatch) -> None:
    def broken() -> walls.WallsReport:
        raise OSError("fork refused")

    monkeypatch.setattr(walls, "probe", broken)
    isolation = _isolation()
    assert isolation.active == []
    assert isolation.unavailable == dict.fromkeys(walls.WALL_NAMES, "the probe failed: OSError: fork refused")


def test_doctor_calls_the_endpoint_once_and_reports_its_context_size(tmp_path: Path) -> None:
    with running_server() as server:
        server.context_tokens = 2048  # as llama.cpp's /props and vLLM's /v1/models say it
        server.script("local-m", ["OK"])
        env = {"OPENAI_BASE_URL": server.base_url, "KERNELWRIGHT_MODEL": "local-m"}  # localhost: no key
        [check] = check_endpoints(env)
        assert check.problem is None and check.context_tokens == 2048 and check.roles == ["coder", "judge"]
        [req] = server.requests
        assert req.body["max_tokens"] == 1  # one cheap call
        server.script("local-m", ["OK"])
        table = doctor(env=env | {"COLUMNS": "200"}, cwd=tmp_path)
        assert "LLM call (coder+judge)" in table.stdout and "answered, context 2048 tokens" in table.stdout
        assert "LLM endpoint" not in table.stdout[table.stdout.find("optimize cannot run here") :]


def test_doctor_reports_an_endpoint_that_refuses_in_one_sentence(tmp_path: Path) -> None:
    with running_server() as server:
        server.script("no-such-model", [Reply(status=404, text="model 'no-such-model' not found")])
        env = {"OPENAI_BASE_URL": server.base_url, "KERNELWRIGHT_MODEL": "no-such-model"}
        result = doctor("--json", env=env, cwd=tmp_path)
    report = json.loads(result.stdout)
    assert result.returncode == 1 and "Traceback" not in result.stderr
    [problem] = [m for m in report["missing"] if "endpoint" in m]
    assert "answered 404: wrong base URL or unknown model" in problem


def test_doctor_offline_makes_no_call(tmp_path: Path) -> None:
    with running_server() as server:
        env = {"OPENAI_BASE_URL": server.base_url, "KERNELWRIGHT_MODEL": "local-m"}
        result = doctor("--json", "--offline", env=env, cwd=tmp_path)
        assert server.requests == []
    assert json.loads(result.stdout)["endpoints"] == []
