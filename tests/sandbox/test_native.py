"""CudaModule: parameter parsing and argument packing on the CPU; real launches on a GPU (marked)."""

from __future__ import annotations

import ctypes
import struct

import pytest
import torch

from kernelwright.sandbox.build.compile import compile_cuda
from kernelwright.sandbox.native import CudaModule
from kernelwright.sandbox.runner.kernel_params import KernelArgumentError, pack_args, parse_kernel_params

SOURCE = r"""
#include <cuda_fp16.h>
// a comment mentioning __global__ void fake(int x) must not count
extern "C" __global__ void __launch_bounds__(256) axpy(const float* __restrict__ x, float *y,
                                                       long long n, float alpha) {
    long long i = (long long)blockIdx.x * blockDim.x + threadIdx.x;
    if (i < n) y[i] = alpha * x[i] + y[i];
}
extern "C" __global__ void scalars(int a, unsigned int b, size_t c, double d, half h, bool flag,
                                   unsigned long long e, int arr[]) {}
extern "C" __global__ void no_args(void) {}
struct P { int a; };
extern "C" __global__ void by_struct(P p) {}
"""


def test_parameters_are_read_from_the_source() -> None:
    params = parse_kernel_params(SOURCE)
    assert set(params) == {"axpy", "scalars", "no_args", "by_struct"}
    assert [(p.name, p.ctype, p.pointer) for p in params["axpy"]] == [
        ("x", "float*", True),
        ("y", "float*", True),
        ("n", "long long", False),
        ("alpha", "float", False),
    ]
    assert [p.ctype for p in params["scalars"]] == [
        "int", "unsigned int", "size_t", "double", "half", "bool", "unsigned long long", "int*",
    ]  # fmt: skip
    assert params["no_args"] == []


def test_scalars_are_packed_with_the_declared_width() -> None:
    params = parse_kernel_params(SOURCE)["scalars"]
    packed = pack_args("scalars", params, (-3, 2**32 - 1, 2**40, 0.5, 1.5, True, 2**64 - 1, None))
    assert [len(b) for b in packed.arg_bytes()] == [4, 4, 8, 8, 2, 1, 8, 8]
    as_read = [struct.unpack("<" + f, b)[0] for f, b in zip("iIQdH?QQ", packed.arg_bytes(), strict=True)]
    assert as_read == [
        -3,
        2**32 - 1,
        2**40,
        0.5,
        struct.unpack("<H", struct.pack("<e", 1.5))[0],
        True,
        2**64 - 1,
        0,
    ]
    assert packed.wire_types == (
        ctypes.c_int, ctypes.c_int, ctypes.c_longlong, ctypes.c_double, ctypes.c_int, ctypes.c_bool,
        ctypes.c_longlong, ctypes.c_void_p,
    )  # fmt: skip


def test_tensors_become_their_data_pointers() -> None:
    x, y = torch.ones(8), torch.zeros(8)
    packed = pack_args("axpy", parse_kernel_params(SOURCE)["axpy"], (x, y, 8, 2.0), device_type="cpu")
    assert packed.values[:2] == (x.data_ptr(), y.data_ptr())
    assert packed.formats == "PPqf" and packed.wire_types[2:] == (ctypes.c_longlong, ctypes.c_float)


@pytest.mark.parametrize(
    ("args", "match"),
    [
        (
            (torch.ones(4), torch.ones(4), 4),
            r"kernel 'axpy' takes 4 argument\(s\) \(float\* x, float\* y, long long n",
        ),
        (
            (torch.ones(4), torch.ones(4), 4, 1.0),
            r"argument 0 \('x': float\*\) of kernel 'axpy' must be a cuda tensor",
        ),
        (("x", None, 4, 1.0), r"argument 0 \('x': float\*\) of kernel 'axpy' must be a tensor, got str"),
        (
            (None, None, 4.0, 1.0),
            r"argument 2 \('n': long long\) of kernel 'axpy' must be an integer, got float",
        ),
        ((None, None, 2**63, 1.0), r"'n'.*does not fit in long long"),
        ((None, None, 4, "1"), r"'alpha'.*must be a number, got str"),
        ((None, None, torch.tensor(4), 1.0), r"'n'.*is a scalar; pass a Python number"),
    ],
)
def test_wrong_arguments_raise_naming_the_kernel(args: tuple[object, ...], match: str) -> None:
    with pytest.raises(KernelArgumentError, match=match):
        pack_args("axpy", parse_kernel_params(SOURCE)["axpy"], args)


def test_unsigned_and_unsupported_types_are_refused() -> None:
    params = parse_kernel_params(SOURCE)
    with pytest.raises(KernelArgumentError, match="-1 does not fit in unsigned int"):
        pack_args("scalars", params["scalars"], (0, -1, 0, 0.0, 0.0, False, 0, None))
    with pytest.raises(KernelArgumentError, match="cannot pass; use pointers and plain scalar types"):
        pack_args("by_struct", params["by_struct"], (1,))


def test_the_test_source_itself_compiles() -> None:
    result = compile_cuda(SOURCE)
    assert result.ok, result.log
    assert set(result.kernel_names) == set(parse_kernel_params(SOURCE))


def test_module_is_lazy_and_checks_names_before_touching_a_gpu() -> None:
    module = CudaModule(SOURCE)  # no compile, no CUDA: constructing ModelNew must stay cheap
    assert module.options == () and set(module.params) == {"axpy", "scalars", "no_args", "by_struct"}
    with pytest.raises(KernelArgumentError, match="no __global__ function 'saxpy'.*kernels: axpy"):
        module.launch("saxpy", grid=(1,), block=(1,), args=())
    with pytest.raises(KernelArgumentError, match="must be a cuda tensor"):
        module.launch("axpy", grid=(1,), block=(32,), args=(torch.ones(2), torch.ones(2), 2, 1.0))


# ---------------------------------------------------------------- on a GPU


@pytest.mark.gpu
def test_launch_computes_on_the_gpu_on_torchs_current_stream() -> None:
    module = CudaModule(SOURCE)
    n = 1_000_003  # not a multiple of the block size
    x = torch.randn(n, device="cuda")
    y = torch.randn(n, device="cuda")
    expected = 3.0 * x + y
    stream = torch.cuda.Stream()
    with torch.cuda.stream(stream):
        module.launch("axpy", grid=((n + 255) // 256,), block=(256,), args=(x, y, n, 3.0))
    stream.synchronize()
    torch.testing.assert_close(y, expected)


@pytest.mark.gpu
def test_dynamic_shared_memory_above_48k_is_opted_in() -> None:
    source = r"""
    extern "C" __global__ void big_smem(float* out) {
        extern __shared__ float buf[];
        buf[threadIdx.x] = threadIdx.x;
        buf[16000 + threadIdx.x] = 2.f * threadIdx.x;  // beyond the default 48 KiB
        __syncthreads();
        out[threadIdx.x] = buf[(threadIdx.x + 1) % blockDim.x] + buf[16000 + threadIdx.x];
    }
    """
    out = torch.empty(128, device="cuda")
    CudaModule(source).launch("big_smem", grid=(1,), block=(128,), args=(out,), shared_mem_bytes=64 * 1024)
    torch.cuda.synchronize()
    i = torch.arange(128, device="cuda", dtype=torch.float32)
    torch.testing.assert_close(out, (i + 1) % 128 + 2 * i)


@pytest.mark.gpu
def test_a_bad_launch_configuration_is_a_clear_error() -> None:
    from kernelwright.sandbox.native import CudaLaunchError

    x = torch.ones(4, device="cuda")
    with pytest.raises(CudaLaunchError, match="launch of kernel 'axpy'"):
        CudaModule(SOURCE).launch("axpy", grid=(1,), block=(4096,), args=(x, x, 4, 1.0))
