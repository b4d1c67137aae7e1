"""The checks one by one, in-process on the CPU: the judge's comparison and the runner's own checks
(no candidate code is imported here)."""

from __future__ import annotations

import time
import types

import pytest
import torch

from kernelwright.contracts import Status
from kernelwright.sandbox.failures import CheckFailed
from kernelwright.sandbox.inputs import fresh_seed
from kernelwright.sandbox.judge.compare import compare, tolerance_for
from kernelwright.sandbox.runner.checks import (
    TorchSnapshot,
    check_materialised,
    check_no_aliasing,
    flatten_output,
    trimmed_traceback,
)
from kernelwright.sandbox.tensors import digest, same_values

ALIAS = ("output-aliases-input", "output {output} shares memory with input {other}")


class Relu(torch.nn.Module):
    def forward(self, x):
        return torch.relu(x)


def test_tolerance_by_dtype_and_task_override() -> None:
    assert tolerance_for(torch.float32, None, None) == (1e-4, 1e-4)
    assert tolerance_for(torch.float16, None, None) == (1e-2, 1e-2)
    assert tolerance_for(torch.bfloat16, None, None) == (1e-2, 1e-2)
    assert tolerance_for(torch.int64, None, None) == (0.0, 0.0)
    assert tolerance_for(torch.float32, 1e-3, None) == (1e-3, 1e-4)


def test_compare_counts_elements_outside_tolerance() -> None:
    expected = torch.linspace(-1, 1, 100)
    ok = compare(expected + 5e-5, expected, 1e-4, 1e-4)
    assert ok.passed and ok.mismatched == 0 and ok.numel == 100
    bad = expected.clone()
    bad[::10] += 1e-2
    result = compare(bad, expected, 1e-4, 1e-4)
    assert not result.passed and result.mismatched == 10
    assert result.max_abs_error == pytest.approx(1e-2, rel=1e-3)
    assert "10 of 100 elements" in result.reason


def test_compare_requires_nan_and_inf_in_the_same_places() -> None:
    expected = torch.tensor([1.0, float("nan"), float("inf"), -float("inf")])
    assert compare(expected.clone(), expected, 1e-4, 1e-4).passed
    moved = torch.tensor([float("nan"), 1.0, float("inf"), -float("inf")])
    assert not compare(moved, expected, 1e-4, 1e-4).passed
    flipped = torch.tensor([1.0, float("nan"), -float("inf"), -float("inf")])
    result = compare(flipped, expected, 1e-4, 1e-4)
    assert not result.passed and "NaN/Inf" in result.reason


def test_compare_rejects_shape_dtype_and_device_differences() -> None:
    x = torch.ones(4, 4)
    assert "shape" in compare(torch.ones(16), x, 1, 1).reason
    assert "dtype" in compare(x.double(), x, 1, 1).reason
    assert "device" in compare(x.to("meta"), x, 1, 1).reason


def test_output_must_be_exactly_a_tensor() -> None:
    class Sub(torch.Tensor):
        pass

    assert flatten_output(torch.ones(2), "f")[0].shape == (2,)
    assert len(flatten_output((torch.ones(2), torch.ones(3)), "f")) == 2
    for bad in (torch.ones(2).as_subclass(Sub), torch.ones(2).numpy(), [1.0], None):
        with pytest.raises(CheckFailed) as err:
            flatten_output(bad, "f")
        assert err.value.rule == "output-type" and err.value.status == Status.rejected


def test_output_must_be_materialised() -> None:
    check_materialised([torch.ones(3)])
    with pytest.raises(CheckFailed, match="layout|meta") as err:
        check_materialised([torch.ones(3, device="meta")])
    assert err.value.rule == "output-not-materialised"
    with pytest.raises(CheckFailed):
        check_materialised([torch.ones(3).to_sparse()])


def test_aliasing_detects_views_and_overlapping_storage() -> None:
    x = torch.randn(8, 8)
    check_no_aliasing([x.clone()], [x], *ALIAS)
    for alias in (x, x.view(64), x[2:4], x.t()):
        with pytest.raises(CheckFailed) as err:
            check_no_aliasing([alias], [3, x], *ALIAS)
        assert err.value.rule == "output-aliases-input"


def test_equality_and_digests_are_nan_aware_and_bitwise() -> None:
    x = torch.tensor([1.0, float("nan")])
    pristine = [x.clone(), 7]
    assert same_values(x, pristine[0]) and digest([x, 7]) == digest(pristine)
    x[0] = 2.0
    assert not same_values(x, pristine[0]) and digest([x, 7]) != digest(pristine)
    assert digest([torch.zeros(2)]) != digest([torch.zeros(2, dtype=torch.float64)])
    assert same_values(torch.tensor([float("nan")]), torch.tensor([float("nan")]))
    assert not same_values(torch.tensor([0.0]), torch.tensor([-1.0]))


def test_snapshot_catches_a_replaced_torch_function_and_timer() -> None:
    reference = types.ModuleType("ref")
    reference.torch = torch  # type: ignore[attr-defined]
    snapshot = TorchSnapshot(reference)
    snapshot.check()
    original_relu, original_clock = torch.relu, time.perf_counter
    try:
        torch.relu = lambda x: torch.zeros_like(x)  # type: ignore[assignment]
        with pytest.raises(CheckFailed) as err:
            snapshot.check()
        assert (err.value.rule, err.value.message) == ("torch-patched", "the candidate replaced torch.relu")
    finally:
        torch.relu = original_relu  # type: ignore[assignment]
    try:
        time.perf_counter = lambda: 0.0  # type: ignore[assignment]
        with pytest.raises(CheckFailed) as err:
            snapshot.check()
        assert err.value.rule == "timer-patched"
    finally:
        time.perf_counter = original_clock
    original_forward = torch.nn.ReLU.forward
    try:
        torch.nn.functional.gelu, saved = (lambda x, approximate="none": x), torch.nn.functional.gelu
        with pytest.raises(CheckFailed, match="torch.nn.functional.gelu"):
            snapshot.check()
    finally:
        torch.nn.functional.gelu = saved
        torch.nn.ReLU.forward = original_forward
    snapshot.check()


def test_snapshot_catches_changed_precision_flags() -> None:
    snapshot = TorchSnapshot(types.ModuleType("ref"))
    before = torch.get_float32_matmul_precision()
    try:
        torch.set_float32_matmul_precision("medium" if before != "medium" else "high")
        with pytest.raises(CheckFailed, match="allow_tf32|float32_matmul_precision"):
            snapshot.check()
    finally:
        torch.set_float32_matmul_precision(before)


def test_seeds_are_fresh_per_draw() -> None:
    seeds = {fresh_seed() for _ in range(50)}
    assert len(seeds) > 45 and 42 not in seeds


def test_traceback_is_trimmed_to_candidate_frames() -> None:
    code = compile("def f():\n    raise ValueError('boom')\n", "/tmp/cand.py", "exec")
    scope: dict[str, object] = {}
    exec(code, scope)
    try:
        scope["f"]()  # type: ignore[operator]
    except ValueError as err:
        text = trimmed_traceback(err, "/tmp/cand.py")
    assert "cand.py, line 2" in text and "ValueError: boom" in text
    assert "test_verify.py" not in text
