"""Kernel arguments are packed without ctypes objects, so a launch raises no ctypes audit event.

In the sandbox every audit event from ctypes walks the candidate's frames; the old packing (one
ctypes value and one `ctypes.addressof` per argument) cost ~50 µs per launch there. These tests run
the real packing and cuda-bindings' real parameter builder (`_HelperKernelParams`, what
cuLaunchKernel calls first) in a fresh interpreter with an audit hook recording every event.
"""

from __future__ import annotations

import json
import struct
import subprocess
import sys
import textwrap

import pytest

from kernelwright.sandbox.runner.kernel_params import pack_args, parse_kernel_params

SOURCE = r"""
extern "C" __global__ void every_type(float* x, int i, long long ll, float f, double d,
                                      unsigned int u, short s, unsigned char c, bool b, __half h,
                                      size_t n, const float* __restrict__ nothing) {}
"""
ARGS = "(x, -7, -(2**40), 1.5, -2.25, 2**32 - 1, -3, 200, True, 0.5, 2**63 + 5, None)"
# What the kernel must read for each parameter: the declared width, little-endian.
EXPECTED_FORMATS = ["Q", "i", "q", "f", "d", "I", "h", "B", "?", "e", "Q", "Q"]


def _expected(x_ptr: int) -> list[bytes]:
    values = [x_ptr, -7, -(2**40), 1.5, -2.25, 2**32 - 1, -3, 200, True, 0.5, 2**63 + 5, 0]
    return [struct.pack("<" + f, v) for f, v in zip(EXPECTED_FORMATS, values, strict=True)]


_CHILD = textwrap.dedent(
    """
    import ctypes, json, sys
    import torch
    from cuda.bindings import driver
    from kernelwright.sandbox.runner.kernel_params import pack_args, parse_kernel_params

    params = parse_kernel_params(SOURCE)["every_type"]
    x = torch.ones(4)
    events = []
    recording = [False]
    sys.addaudithook(lambda event, args: events.append(event) if recording[0] else None)

    recording[0] = True
    packed = pack_args("every_type", params, ARGS, device_type="cpu")
    helper = driver._HelperKernelParams((packed.values, packed.wire_types))
    address = helper.ckernelParams
    recording[0] = False

    # Read back, outside the recorded window, what cuLaunchKernel would hand the driver.
    slots = (ctypes.c_void_p * len(params)).from_address(address)
    sizes = [ctypes.sizeof(ctypes.c_void_p) if p.pointer else SIZES[p.ctype] for p in params]
    read = [ctypes.string_at(slot, size).hex() for slot, size in zip(slots, sizes)]
    print(json.dumps({"events": events, "read": read, "x": x.data_ptr()}))
    """
)
_SIZES = {"int": 4, "long long": 8, "float": 4, "double": 8, "unsigned int": 4, "short": 2,
          "unsigned char": 1, "bool": 1, "__half": 2, "size_t": 8}  # fmt: skip


@pytest.fixture(scope="module")
def child_result() -> dict[str, object]:
    pytest.importorskip("cuda.bindings.driver", reason="cuda-python is not installed (kernelwright[cuda13])")
    # ARGS names the child's own tensor `x`, so it goes in as source text.
    script = f"SOURCE = {SOURCE!r}\nSIZES = {_SIZES!r}\n" + _CHILD.replace("ARGS,", f"{ARGS},")
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr[-2000:]
    result: dict[str, object] = json.loads(done.stdout.strip().splitlines()[-1])
    return result


def test_packing_and_cuda_bindings_raise_no_ctypes_audit_event(child_result: dict[str, object]) -> None:
    events = child_result["events"]
    assert isinstance(events, list)
    assert [e for e in events if e.startswith("ctypes.")] == []


def test_cuda_bindings_receives_the_declared_bytes_of_every_argument(child_result: dict[str, object]) -> None:
    x_ptr = child_result["x"]
    assert isinstance(x_ptr, int)
    assert child_result["read"] == [b.hex() for b in _expected(x_ptr)]


def test_the_old_ctypes_packing_did_raise_events() -> None:
    """The control: the same recorder sees ctypes.addressof when a value goes through ctypes."""
    script = textwrap.dedent(
        """
        import ctypes, sys
        events = []
        sys.addaudithook(lambda e, a: events.append(e))
        value = ctypes.c_int(3)
        ctypes.addressof(value)
        print(",".join(e for e in events if e.startswith("ctypes.")))
        """
    )
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=60)
    assert "ctypes.addressof" in done.stdout


def test_pycudas_parameter_block_has_c_alignment() -> None:
    source = 'extern "C" __global__ void k(char c, double d, int i, float* p) {}'
    packed = pack_args("k", parse_kernel_params(source)["k"], (-1, 2.0, 5, None), device_type="cpu")
    block = packed.buffer()
    # char at 0, 7 bytes padding, double at 8, int at 16, 4 bytes padding, pointer at 24.
    assert len(block) == 32
    assert block[0:1] == b"\xff" and struct.unpack_from("<d", block, 8) == (2.0,)
    assert struct.unpack_from("<i", block, 16) == (5,) and struct.unpack_from("<Q", block, 24) == (0,)


def test_expected_table_covers_every_parameter() -> None:
    params = parse_kernel_params(SOURCE)["every_type"]
    assert len(params) == len(EXPECTED_FORMATS) == 12
    assert all(p.pointer or p.ctype in _SIZES for p in params)
