"""Loaders of native candidates (kernelwright.sandbox.loaders): names, detection, the runner's
hand-over before the candidate is imported, the guard on candidates that use cupy or pycuda
directly, and (on a GPU) the same cubin launched through every installed loader."""

from __future__ import annotations

import importlib.util
import json
import subprocess
import sys
import textwrap
from collections.abc import Iterator
from pathlib import Path

import pytest

from kernelwright.contracts import Candidate, Status
from kernelwright.errors import ConfigError
from kernelwright.kernelbench import find_task
from kernelwright.sandbox.build.candidate_source import cuda_sources, runs_nvcc_at_load
from kernelwright.sandbox.config import SandboxConfig
from kernelwright.sandbox.evaluate import Sandbox
from kernelwright.sandbox.guard.static_check import static_verdict
from kernelwright.sandbox.isolation.worker import WorkerClient
from kernelwright.sandbox.loaders import (
    DEFAULT_LOADER,
    LOADER_NAMES,
    installed_loaders,
    loader_for,
    missing_reason,
)

HERE = Path(__file__).parent
CANDIDATES = HERE / "loader_candidates"
RELU_TASK = str(HERE / "hacks" / "tasks" / "relu.py")
FAST = {"device": "cpu", "allow_torch": True, "timing": False, "memory_limit_gb": 8}
HAS_PYCUDA = importlib.util.find_spec("pycuda") is not None


def run_python(code: str) -> subprocess.CompletedProcess[str]:
    """Selection is per process, so each case gets a fresh interpreter."""
    return subprocess.run([sys.executable, "-c", textwrap.dedent(code)], capture_output=True, text=True,
                          timeout=120)  # fmt: skip


# ---------------------------------------------------------------- names and detection


def test_the_three_loaders_and_the_default() -> None:
    assert LOADER_NAMES == ("cuda-python", "cupy", "pycuda") and DEFAULT_LOADER == "cuda-python"
    assert set(installed_loaders()) <= set(LOADER_NAMES)
    assert installed_loaders() == [n for n in LOADER_NAMES if missing_reason(n) is None]


def test_a_loader_is_installed_exactly_when_its_library_imports() -> None:
    libraries = {"cuda-python": "cuda.bindings", "cupy": "cupy", "pycuda": "pycuda"}
    for name, module in libraries.items():
        assert (missing_reason(name) is None) == (importlib.util.find_spec(module) is not None), name


def test_unknown_and_missing_loaders_are_one_sentence() -> None:
    unknown = missing_reason("numba")
    assert unknown == "unknown loader 'numba' (choose one of cuda-python, cupy, pycuda)."
    with pytest.raises(ConfigError, match=r"^Unknown loader 'numba' \(choose one of") as raised:
        loader_for("numba")
    assert "\n" not in str(raised.value)


@pytest.mark.skipif(HAS_PYCUDA, reason="pycuda is installed here; the missing case cannot be shown")
def test_a_missing_library_names_what_to_install() -> None:
    assert missing_reason("pycuda") == (
        "loader 'pycuda' needs pycuda, which is not installed (pip install pycuda)."
    )
    with pytest.raises(ConfigError, match=r"Loader 'pycuda' needs pycuda"):
        loader_for("pycuda")


@pytest.mark.skipif(HAS_PYCUDA, reason="pycuda is installed here; the missing case cannot be shown")
def test_a_gpu_sandbox_with_a_missing_loader_fails_before_any_candidate() -> None:
    with pytest.raises(ConfigError, match=r"^Loader 'pycuda' needs pycuda, which is not installed"):
        Sandbox(SandboxConfig(device="cuda", loader="pycuda"))


@pytest.mark.parametrize("name", ["cuda-python", "cupy"])
def test_installed_loaders_import_without_a_gpu(name: str) -> None:
    if missing_reason(name) is not None:
        pytest.skip(f"{name} is not installed here")
    assert loader_for(name).name == name


def test_doctor_lists_every_loader_with_why_it_is_missing() -> None:
    from kernelwright.doctor import diagnose

    report = diagnose(env={}, offline=True)
    assert list(report.loaders) == list(LOADER_NAMES)
    assert [n for n, why in report.loaders.items() if why is None] == installed_loaders()
    assert all(why is None or why.endswith(".") for why in report.loaders.values())


# ---------------------------------------------------------------- selection


def test_the_first_selection_holds_for_the_process() -> None:
    done = run_python(
        """
        from kernelwright.errors import ConfigError
        from kernelwright.sandbox.loaders.selection import select_loader, selected_loader
        select_loader("cupy")
        select_loader("cupy")  # the same name again is fine
        try:
            select_loader("cuda-python")
        except ConfigError as err:
            print("refused:", err)
        print("loader:", selected_loader().name)
        """
    )
    assert done.returncode == 0, done.stderr
    assert (
        "refused: The loader is already 'cupy' in this process; it cannot become 'cuda-python'."
        in done.stdout
    )
    assert "loader: cupy" in done.stdout


def test_without_a_selection_cudamodule_gets_the_default() -> None:
    done = run_python(
        """
        from kernelwright.sandbox.loaders.selection import select_loader, selected_loader
        print(selected_loader().name)
        try:
            select_loader("cupy")
        except Exception as err:
            print(type(err).__name__)
        """
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.split() == ["cuda-python", "ConfigError"]


@pytest.fixture(scope="module")
def worker() -> Iterator[WorkerClient]:
    client = WorkerClient(None)
    client.start()
    yield client
    client.close()


SELECTS_CUPY = """
import torch
from kernelwright.sandbox.loaders.selection import select_loader

select_loader("cupy")


class ModelNew(torch.nn.Module):
    def forward(self, x):
        return torch.relu(x)
"""


def test_the_runner_fixes_the_loader_before_the_candidate_is_imported(worker: WorkerClient) -> None:
    """A candidate (past the guard, which refuses the import) cannot switch the loader."""
    task = find_task(RELU_TASK)
    candidate = Candidate(source=SELECTS_CUPY)
    config = SandboxConfig(**FAST, skip_guard=True)  # type: ignore[arg-type]
    refused = Sandbox(config, worker=worker)(task, candidate)
    assert refused.status == Status.runtime_error
    assert "already 'cuda-python'" in refused.message + refused.log, refused.message
    same = SandboxConfig(**FAST, skip_guard=True, loader="cupy")  # type: ignore[arg-type]
    accepted = Sandbox(same, worker=worker)(task, candidate)
    assert accepted.status == Status.ok, accepted.message


def test_the_guard_refuses_a_candidate_that_selects_a_loader() -> None:
    verdict = static_verdict(find_task(RELU_TASK), Candidate(source=SELECTS_CUPY), allow_torch=True)
    assert verdict.status == Status.rejected and verdict.rule == "harness-import", verdict.message


# ---------------------------------------------------------------- cupy and pycuda used directly


@pytest.mark.parametrize("path", sorted(CANDIDATES.glob("*.py")), ids=lambda p: p.name)
def test_direct_cupy_and_pycuda_candidates_pass_the_guard(path: Path) -> None:
    verdict = static_verdict(find_task("level1/19_ReLU"), Candidate(source=path.read_text()), arch="sm_90")
    assert verdict.status == Status.ok, verdict.message
    assert verdict.kernel_names == ["relu_kernel"]  # for the launch check's own-kernel names


def test_sourcemodule_code_is_compiled_as_pycuda_wraps_it() -> None:
    source = (CANDIDATES / "pycuda_sourcemodule_relu.py").read_text()
    (code,) = cuda_sources(source)
    assert code.startswith('extern "C" {') and "__global__ void relu_kernel" in code
    unwrapped = source.replace("SourceModule(CUDA_SOURCE)", "SourceModule(CUDA_SOURCE, no_extern_c=True)")
    assert not cuda_sources(unwrapped)[0].startswith('extern "C"')


def _cupy_variant(old: str, new: str) -> Candidate:
    source = (CANDIDATES / "cupy_rawkernel_relu.py").read_text()
    assert old in source
    return Candidate(source=source.replace(old, new))


@pytest.mark.parametrize(
    ("old", "new", "rule"),
    [
        # no kernel launch in forward: the work is a PyTorch op
        ("        with cupy.cuda.ExternalStream", "        return torch.relu(x)\n        with cupy.cuda.ExternalStream",
         "torch-op-in-forward"),
        ("torch.cuda.current_stream().cuda_stream", "12345", "side-stream"),
        ("with cupy.cuda.ExternalStream(torch.cuda.current_stream().cuda_stream):", "with cupy.cuda.Stream():",
         "side-stream"),
        ('"relu_kernel")', '"relu_kernel", backend="nvcc")', "process-control"),
        ("cupy.from_dlpack(y), cupy.int64(n)", "cupy.maximum(cupy.from_dlpack(x), 0), cupy.int64(n)", "torch-op-in-forward"),
    ],
)  # fmt: skip
def test_the_guard_still_catches_cupy_candidates_that_cheat(old: str, new: str, rule: str) -> None:
    verdict = static_verdict(find_task("level1/19_ReLU"), _cupy_variant(old, new), arch="sm_90")
    assert verdict.status == Status.rejected, verdict.message
    assert rule in {f.rule for f in verdict.findings}, verdict.findings


def test_sourcemodule_may_not_choose_the_program_it_runs() -> None:
    source = (CANDIDATES / "pycuda_sourcemodule_relu.py").read_text()
    hostile = source.replace("SourceModule(CUDA_SOURCE)", 'SourceModule(CUDA_SOURCE, nvcc="/bin/sh")')
    verdict = static_verdict(find_task("level1/19_ReLU"), Candidate(source=hostile), arch="sm_90")
    assert verdict.status == Status.rejected and verdict.rule == "process-control", verdict.message


def test_pycuda_candidates_are_sealed_after_their_load_like_load_inline() -> None:
    """SourceModule runs nvcc while ModelNew is built; the no-exec seal must wait for it."""
    task = find_task("level1/19_ReLU")
    sandbox = Sandbox(SandboxConfig(device="cpu"))
    try:
        for name, sealed_first in [
            ("pycuda_sourcemodule_relu.py", False),
            ("cupy_rawkernel_relu.py", True),  # NVRTC in-process: no exec needed
            ("cupy_rawmodule_relu.py", True),
        ]:
            source = (CANDIDATES / name).read_text()
            assert runs_nvcc_at_load(source) is not sealed_first
            static = static_verdict(task, Candidate(source=source), arch="sm_90")
            job = sandbox._job(task, Candidate(source=source), static, measure_compiled=False)
            assert job.seal_before_load is sealed_first, name
            assert job.own_kernel_names == ["relu_kernel"] and job.loader == DEFAULT_LOADER
    finally:
        sandbox.close()


def test_pycudas_compiler_is_a_trusted_spawner_only_when_installed() -> None:
    from kernelwright.sandbox.runner.audit_hooks import trusted_spawners

    pycuda = [s for s in trusted_spawners() if s.endswith("pycuda/compiler.py")]
    assert len(pycuda) == (1 if HAS_PYCUDA else 0)
    assert not any("cupy" in s for s in trusted_spawners())  # cupy compiles in-process (NVRTC)


# ---------------------------------------------------------------- the CLI


def test_verify_refuses_an_unknown_loader_in_one_sentence() -> None:
    done = subprocess.run(
        [sys.executable, "-m", "kernelwright", "verify", "--task", RELU_TASK, str(CANDIDATES / "cupy_rawkernel_relu.py"),
         "--device", "cpu", "--loader", "numba"],
        capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert done.returncode == 2, done.stdout + done.stderr
    assert "--loader must be one of cuda-python, cupy, pycuda, not 'numba'." in done.stderr
    assert "Traceback" not in done.stderr


# ---------------------------------------------------------------- on a GPU

AGREEMENT_SOURCE = r"""
#include <cuda_fp16.h>
extern "C" __global__ void mix(const float* x, float* y, long long n, float a, double b, int c,
                               unsigned int u, short s, unsigned char uc, bool flag, __half h) {
    long long i = (long long)blockIdx.x * blockDim.x + threadIdx.x;
    if (i < n) {
        float extra = flag ? (float)s + (float)uc + __half2float(h) : 0.f;
        y[i] = a * x[i] + (float)b + (float)c + (float)(u % 1000u) + extra;
    }
}
"""

AGREEMENT_CHILD = """
import hashlib, json, sys
import torch
from kernelwright.sandbox.loaders.selection import select_loader
from kernelwright.sandbox.native import CudaModule

select_loader(sys.argv[1])
torch.manual_seed(0)
n = 100_003
x = torch.randn(n, device="cuda")
y = torch.zeros(n, device="cuda")
module = CudaModule(sys.argv[2])
stream = torch.cuda.Stream() if sys.argv[1] != "pycuda" else torch.cuda.default_stream()
with torch.cuda.stream(stream):
    module.launch("mix", grid=((n + 255) // 256,), block=(256,),
                  args=(x, y, n, 2.5, -1.25, -7, 4_000_000_123, -3, 200, True, 0.5))
stream.synchronize()
expected = 2.5 * x + (-1.25) + (-7) + (4_000_000_123 % 1000) + (-3 + 200 + 0.5)
print(json.dumps({"digest": hashlib.sha256(y.cpu().numpy().tobytes()).hexdigest(),
                  "max_err": float((y - expected).abs().max())}))
"""


@pytest.mark.gpu
def test_every_installed_loader_launches_the_same_cubin_with_the_same_result() -> None:
    results = {}
    for name in installed_loaders():
        done = subprocess.run([sys.executable, "-c", AGREEMENT_CHILD, name, AGREEMENT_SOURCE],
                              capture_output=True, text=True, timeout=300)  # fmt: skip
        assert done.returncode == 0, f"{name}: {done.stderr[-3000:]}"
        results[name] = json.loads(done.stdout.strip().splitlines()[-1])
    assert len(results) >= 2, f"only {list(results)} installed"
    assert all(r["max_err"] < 1e-4 for r in results.values()), results
    assert len({r["digest"] for r in results.values()}) == 1, results


@pytest.fixture(scope="module")
def gpu_worker() -> Iterator[WorkerClient]:
    client = WorkerClient(0)
    yield client
    client.close()


@pytest.mark.gpu
def test_every_installed_loader_gives_the_same_verdict(gpu_worker: WorkerClient) -> None:
    task = find_task("level1/19_ReLU")
    candidate = Candidate(source=(HERE / "honest" / "19_ReLU.native.py").read_text(), build="native")
    verdicts = {}
    for name in installed_loaders():
        config = SandboxConfig(device="cuda", loader=name, timing=False)  # type: ignore[arg-type]
        verdicts[name] = Sandbox(config, worker=gpu_worker)(task, candidate)
    statuses = {name: (v.status, v.rule) for name, v in verdicts.items()}
    assert len(set(statuses.values())) == 1 and verdicts[DEFAULT_LOADER].status == Status.ok, {
        n: f"{v.status} {v.rule}: {v.message}" for n, v in verdicts.items()
    }


@pytest.mark.gpu
@pytest.mark.parametrize("path", sorted(CANDIDATES.glob("*.py")), ids=lambda p: p.name)
def test_direct_cupy_and_pycuda_candidates_verify_ok(gpu_worker: WorkerClient, path: Path) -> None:
    if path.name.startswith("pycuda") and not HAS_PYCUDA:
        pytest.skip("pycuda is not installed here")
    config = SandboxConfig(device="cuda", timing_min_calls=50, timing_min_seconds=0.2)
    verdict = Sandbox(config, worker=gpu_worker)(
        find_task("level1/19_ReLU"), Candidate(source=path.read_text())
    )
    assert verdict.status in (Status.ok, Status.suspicious), (
        f"{verdict.status} {verdict.rule}: {verdict.message}"
    )
