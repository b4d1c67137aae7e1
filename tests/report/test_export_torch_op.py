"""`kernelwright export --as torch-op|cupy|pycuda`: the generated modules, checked on the CPU with real
torch tracing (FakeTensorMode, torch.export, torch.compile's graph capture) and the real NVRTC, and
on a GPU against the reference.

The task is a Linear + scaled ReLU with a native candidate, so the op has weights (as inputs) and a
float argument; the store is real SQLite, its Verdicts hand-written in the sandbox's shape."""

from __future__ import annotations

import importlib.util
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType
from typing import Any

import numpy as np
import pytest
import torch
from torch._subclasses.fake_tensor import FakeTensorMode

from kernelwright.contracts import Attempt
from kernelwright.errors import ConfigError, KernelwrightError
from kernelwright.report.export import export_best, export_format
from kernelwright.sandbox.build.compile import compile_cuda
from kernelwright.store import SqlStore, open_store

from .conftest import H100, make_task, verdict

KEY = "level2/7_Linear_ReLU_Scale"
OP = "level2_7_linear_relu_scale"

REFERENCE = """import torch


class Model(torch.nn.Module):
    def __init__(self, in_features, out_features):
        super().__init__()
        self.linear = torch.nn.Linear(in_features, out_features)

    def forward(self, x, scale):
        return torch.relu(self.linear(x)) * scale


def get_inputs():
    return [torch.randn(8, 32), 0.5]


def get_init_inputs():
    return [32, 64]
"""

CANDIDATE = '''import torch
from kernelwright.sandbox.native import CudaModule

CUDA_SOURCE = r"""
extern "C" __global__ void scaled_relu(const float* __restrict__ x, float* __restrict__ y, float scale,
                                       long long n) {
    long long i = (long long)blockIdx.x * blockDim.x + threadIdx.x;
    if (i < n) y[i] = (x[i] > 0.f ? x[i] : 0.f) * scale;
}

__global__ void fill(float* y, float value, int n) {  // C++ linkage: a mangled entry symbol
    int i = blockIdx.x * blockDim.x + threadIdx.x;
    if (i < n) y[i] = value;
}
"""


class ModelNew(torch.nn.Module):
    def __init__(self, in_features, out_features):
        super().__init__()
        self.linear = torch.nn.Linear(in_features, out_features)
        self.kernels = CudaModule(CUDA_SOURCE)

    def forward(self, x, scale):
        h = self.linear(x).contiguous()
        y = torch.empty_like(h)
        n = h.numel()
        self.kernels.launch("scaled_relu", grid=((n + 255) // 256,), block=(256,), args=(h, y, scale, n))
        return y
'''

PYTORCH_ONLY = """import torch


class ModelNew(torch.nn.Module):
    def __init__(self, in_features, out_features):
        super().__init__()
        self.linear = torch.nn.Linear(in_features, out_features)

    def forward(self, x, scale):
        return torch.relu(self.linear(x)).mul_(scale)
"""


COMPAT = '''import torch
from torch.utils.cpp_extension import load_inline

cuda_src = r"""
#include <torch/extension.h>

__global__ void scale_kernel(const float* x, float* y, float s, int n) {
    int i = blockIdx.x * blockDim.x + threadIdx.x;
    if (i < n) y[i] = x[i] * s;
}

torch::Tensor scale_cuda(torch::Tensor x, double s) {
    auto y = torch::empty_like(x);
    int n = x.numel();
    scale_kernel<<<(n + 255) / 256, 256>>>(x.data_ptr<float>(), y.data_ptr<float>(), (float)s, n);
    return y;
}
"""
ext = load_inline(name="scale_ext", cpp_sources="torch::Tensor scale_cuda(torch::Tensor x, double s);",
                  cuda_sources=cuda_src, functions=["scale_cuda"])


class ModelNew(torch.nn.Module):
    def forward(self, x, scale):
        return ext.scale_cuda(x, scale)
'''


def _store(url: str) -> SqlStore:
    store = open_store(url)
    for key, reference, code in [
        (KEY, REFERENCE, CANDIDATE),
        ("level2/8_Plain", REFERENCE, PYTORCH_ONLY),
        ("level2/9_Compat", REFERENCE, COMPAT),
    ]:
        store.add_task(make_task(key, reference))
        run = store.create_run({"task_key": key}, coder_model="m1", judge_model="m1", gpu_name=H100)
        store.add_attempt(Attempt(run_id=run, task_key=key, round=0, candidate_index=0, mode="optimize",
                                  code=code, verdict=verdict("ok", 1.7, compiled=1.2), gpu_name=H100))  # fmt: skip
        store.finish_run(run, "done")
    return store


@pytest.fixture(scope="module")
def exported(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Path]]:
    root = tmp_path_factory.mktemp("export")
    store = _store(f"sqlite:///{root / 'store.db'}")
    try:
        yield {fmt: _export(store, root / fmt, fmt) for fmt in ("torch-op", "cupy", "pycuda")}
    finally:
        store.close()


def _export(store: SqlStore, out: Path, fmt: str) -> Path:
    export_best(store, "7_Linear_ReLU_Scale", out, as_=export_format(fmt))
    return out


def _load(path: Path, name: str) -> ModuleType:
    spec = importlib.util.spec_from_file_location(name, path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def torch_op(exported: dict[str, Path]) -> ModuleType:
    """The generated torch_op.py, imported once: importing registers the op in this process."""
    return _load(exported["torch-op"] / "torch_op.py", "exported_torch_op")


def _op() -> Any:
    return getattr(torch.ops.kernelwright, OP)


def test_torch_op_export_writes_its_files(exported: dict[str, Path]) -> None:
    names = sorted(p.name for p in exported["torch-op"].iterdir())
    assert names == [
        "README.md",
        "kernel.cu",
        "model_new.py",
        "reference.py",
        "test_torch_op.py",
        "torch_op.py",
    ]
    readme = (exported["torch-op"] / "README.md").read_text()
    assert f"torch.ops.kernelwright.{OP}" in readme and "**1.700x** over PyTorch eager" in readme


def test_the_op_is_registered_with_the_reference_signature_and_the_weights(torch_op: ModuleType) -> None:
    schema = str(_op().default._schema)
    assert schema == f"kernelwright::{OP}(Tensor x, float scale, Tensor[] params) -> Tensor"
    assert torch_op.state_names(torch_op.KernelModule().impl) == ["linear.weight", "linear.bias"]


@pytest.mark.parametrize("dtype", [torch.float32, torch.float16])
def test_fake_cuda_tensors_trace_to_the_reference_shape_and_the_weights_dtype(
    torch_op: ModuleType, dtype: torch.dtype
) -> None:
    with FakeTensorMode():
        x = torch.empty(5, 32, device="cuda", dtype=dtype)
        weights = [
            torch.empty(64, 32, device="cuda", dtype=dtype),
            torch.empty(64, device="cuda", dtype=dtype),
        ]
        out = _op()(x, 0.5, weights)
    assert (tuple(out.shape), out.dtype, out.device.type) == ((5, 64), dtype, "cuda")


def test_torch_export_keeps_the_op_with_the_weights_as_graph_inputs(torch_op: ModuleType) -> None:
    program = torch.export.export(torch_op.KernelModule(), (torch.randn(8, 32), 0.5))
    calls = [n for n in program.graph.nodes if n.target is _op().default]
    assert len(calls) == 1
    weights = [s.arg.name for s in program.graph_signature.input_specs if s.kind.name == "PARAMETER"]
    assert [a.name for a in calls[0].args[2]] == weights and len(weights) == 2
    assert list(program.graph_signature.parameters) == ["impl.linear.weight", "impl.linear.bias"]


def test_torch_compile_fullgraph_traces_through_the_op_and_cpu_has_no_kernel(torch_op: ModuleType) -> None:
    graphs: list[torch.fx.GraphModule] = []

    def capture(gm: torch.fx.GraphModule, example: list[torch.Tensor]) -> Any:
        graphs.append(gm)
        return gm.forward

    compiled = torch.compile(torch_op.KernelModule(), backend=capture, fullgraph=True)
    # The graph is captured before it runs; running it on CPU tensors must fail (CUDA only), not
    # return something computed another way.
    with pytest.raises(NotImplementedError, match="'CPU' backend"):
        compiled(torch.randn(8, 32), 0.5)
    targets = [n.target for n in graphs[0].graph.nodes if n.op == "call_function"]
    assert targets == [_op()]


@pytest.mark.slow
def test_the_exported_op_test_runs_in_its_own_folder(exported: dict[str, Path]) -> None:
    folder = exported["torch-op"]
    ran = subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "--rootdir", str(folder),
                          "-c", "/dev/null", str(folder)], capture_output=True, text=True, cwd=folder, timeout=300)  # fmt: skip
    expected = "5 passed" if torch.cuda.is_available() else "2 passed, 3 skipped"
    assert expected in ran.stdout, ran.stdout + ran.stderr
    printed = subprocess.run(
        [sys.executable, "torch_op.py"], capture_output=True, text=True, cwd=folder, timeout=120
    )
    assert printed.stdout.strip() == f"kernelwright::{OP}(Tensor x, float scale, Tensor[] params) -> Tensor"


@pytest.mark.parametrize("kind", ["cupy", "pycuda"])
def test_raw_module_is_plain_python_with_a_source_nvrtc_compiles(
    exported: dict[str, Path], kind: str
) -> None:
    path = exported[kind] / f"{kind}_kernels.py"
    compile(path.read_text(), str(path), "exec")
    module = _load(path, f"exported_{kind}_kernels")  # imports numpy only; the GPU library on first launch
    assert module.KERNELS == {
        "scaled_relu": [("x", "pointer"), ("y", "pointer"), ("scale", "float32"), ("n", "int64")],
        "fill": [("y", "pointer"), ("value", "float32"), ("n", "int32")],
    }
    assert module.SYMBOLS == {"scaled_relu": "scaled_relu", "fill": "_Z4fillPffi"}
    assert callable(module.scaled_relu) and callable(module.fill) and callable(module.launch)
    result = compile_cuda(module.CUDA_SOURCE, "sm_90")
    assert result.ok, result.log
    assert sorted(result.kernel_names) == ["fill", "scaled_relu"]
    assert "y = torch.empty_like(h)" in module.__doc__  # ModelNew.forward, the launch recipe


class DeviceBuffer:
    """A device array as any CUDA array library shows one: only __cuda_array_interface__."""

    def __init__(self, address: int) -> None:
        self.__cuda_array_interface__ = {
            "data": (address, False),
            "shape": (4,),
            "typestr": "<f4",
            "version": 3,
        }


def test_raw_module_packs_arguments_by_the_declared_types(exported: dict[str, Path]) -> None:
    module = _load(exported["cupy"] / "cupy_kernels.py", "exported_cupy_pack")
    packed = module.pack("scaled_relu", (DeviceBuffer(0x7F00), 4096, 2, 2**40))
    assert [type(v) for v in packed] == [np.uintp, np.uintp, np.float32, np.int64]
    assert int(packed[0]) == 0x7F00 and int(packed[3]) == 2**40
    with pytest.raises(TypeError, match=r"argument 3 \('n'\) of kernel 'scaled_relu' must be an integer"):
        module.pack("scaled_relu", (None, None, 1.0, 3.5))
    with pytest.raises(TypeError, match=r"2147483648 does not fit in int32"):
        module.pack("fill", (None, 0.0, 2**31))
    with pytest.raises(TypeError, match=r"argument 0 \('x'\) .* is a pointer: pass a GPU array"):
        module.pack("scaled_relu", (np.zeros(4, np.float32), None, 1.0, 4))
    with pytest.raises(TypeError, match=r"takes 4 argument\(s\) \(x, y, scale, n\), got 2"):
        module.launch("scaled_relu", grid=(1,), block=(32,), args=(None, None))


def test_a_pytorch_level_rewrite_has_no_kernel_for_cupy(tmp_path: Path) -> None:
    store = _store(f"sqlite:///{tmp_path / 'store.db'}")
    try:
        with pytest.raises(KernelwrightError, match=r"holds no CUDA source \(a PyTorch-level rewrite\)"):
            export_best(store, "8_Plain", tmp_path / "out", as_="cupy")
        assert not (tmp_path / "out").exists()
    finally:
        store.close()
    with pytest.raises(ConfigError, match="--as must be one of files, torch-op, cupy, pycuda, not 'onnx'"):
        export_format("onnx")


def test_a_load_inline_kernel_keeps_its_device_code_for_pycuda(tmp_path: Path) -> None:
    store = _store(f"sqlite:///{tmp_path / 'store.db'}")
    try:
        export_best(store, "9_Compat", tmp_path / "out", as_="pycuda")
    finally:
        store.close()
    module = _load(tmp_path / "out" / "pycuda_kernels.py", "exported_pycuda_compat")
    # the torch host wrapper (scale_cuda) cannot run outside PyTorch; the kernel can
    assert module.KERNELS == {
        "scale_kernel": [("x", "pointer"), ("y", "pointer"), ("s", "float32"), ("n", "int32")]
    }
    assert module.SYMBOLS == {"scale_kernel": "_Z12scale_kernelPKfPffi"}
    assert "torch::" not in module.CUDA_SOURCE and "torch/extension.h" not in module.CUDA_SOURCE
    assert compile_cuda(module.CUDA_SOURCE, "sm_90").ok
    assert "scale_cuda(torch::Tensor x, double s)" in (tmp_path / "out" / "kernel.cu").read_text()


@pytest.mark.slow
def test_cli_export_as_torch_op_and_a_bad_format(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'store.db'}"
    _store(url).close()

    def kw(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run([sys.executable, "-m", "kernelwright", *args, "--db", url], capture_output=True,
                              text=True, cwd=tmp_path, timeout=120)  # fmt: skip

    done = kw("export", "--task", "7_Linear_ReLU_Scale", "--as", "torch-op", "-o", str(tmp_path / "op"))
    assert done.returncode == 0, done.stderr
    assert (tmp_path / "op" / "torch_op.py").is_file() and not (tmp_path / "op" / "launcher.py").exists()
    bad = kw("export", "--task", "7_Linear_ReLU_Scale", "--as", "onnx", "-o", str(tmp_path / "bad"))
    assert bad.returncode == 2 and "Traceback" not in bad.stderr
    assert "--as must be one of files, torch-op, cupy, pycuda, not 'onnx'" in bad.stderr


def _seeded_pair(torch_op: ModuleType, seed: int) -> tuple[torch.nn.Module, torch.nn.Module]:
    torch.manual_seed(seed)
    reference = torch_op.reference.Model(32, 64).cuda()
    torch.manual_seed(seed)
    return reference, torch_op.KernelModule().cuda()


@pytest.mark.gpu
@pytest.mark.parametrize("seed", [0, 1])
def test_the_op_matches_the_reference_inside_a_compiled_model(torch_op: ModuleType, seed: int) -> None:
    reference, kernel = _seeded_pair(torch_op, seed)

    class Head(torch.nn.Module):  # the op between two PyTorch layers, as in a user's model
        def __init__(self) -> None:
            super().__init__()
            self.kernel = kernel

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            return torch.tanh(self.kernel(x * 2.0, 0.5)).sum(dim=-1)

    x = torch.randn(8, 32, device="cuda")
    with torch.no_grad():
        expected = torch.tanh(reference(x * 2.0, 0.5)).sum(dim=-1)
        got = torch.compile(Head(), fullgraph=True)(x)
    torch.testing.assert_close(got, expected, atol=1e-2, rtol=1e-2)
    params = [p.detach() for p in torch_op.state_tensors(kernel.impl)]  # inference: no autograd formula
    torch.library.opcheck(_op().default, (x, 0.5, params))


@pytest.mark.gpu
def test_the_cupy_module_matches_the_reference(exported: dict[str, Path]) -> None:
    cp = pytest.importorskip("cupy", reason="cupy is not installed")
    module = _load(exported["cupy"] / "cupy_kernels.py", "exported_cupy_gpu")
    x = cp.random.standard_normal((16, 4096), dtype=cp.float32)
    y = cp.empty_like(x)
    module.scaled_relu(x, y, 0.5, x.size, grid=((x.size + 255) // 256,), block=(256,))
    np.testing.assert_allclose(cp.asnumpy(y), np.maximum(cp.asnumpy(x), 0) * 0.5, rtol=1e-6)


@pytest.mark.gpu
def test_the_pycuda_module_matches_the_reference(exported: dict[str, Path]) -> None:
    pytest.importorskip("pycuda", reason="pycuda is not installed")
    import pycuda.autoinit  # noqa: F401  (a current context)
    import pycuda.gpuarray as gpuarray

    module = _load(exported["pycuda"] / "pycuda_kernels.py", "exported_pycuda_gpu")
    host = np.random.default_rng(0).standard_normal((16, 4096)).astype(np.float32)
    x, y = gpuarray.to_gpu(host), gpuarray.empty(host.shape, np.float32)
    module.scaled_relu(x, y, 0.5, host.size, grid=((host.size + 255) // 256,), block=(256,))
    np.testing.assert_allclose(y.get(), np.maximum(host, 0) * 0.5, rtol=1e-6)
