"""The task loader on real files: bundled tasks, KernelBench-style files that call .cuda(), and every
way a file can be malformed (one line naming the file and the problem)."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

from kernelwright.errors import TaskError
from kernelwright.kernelbench import bundled_suite_dir, find_task, load_suite, load_task

GOOD = '''
"""Adds two tensors."""
import torch
import torch.nn as nn

batch_size = 16
dim = 64


class Model(nn.Module):
    def __init__(self, hidden):
        super().__init__()
        self.linear = nn.Linear(dim, hidden)

    def forward(self, x, y):
        return self.linear(x + y)


def get_inputs():
    return [torch.randn(batch_size, dim), torch.randn(batch_size, dim)]


def get_init_inputs():
    return [32]
'''


def write(folder: Path, name: str, source: str) -> Path:
    path = folder / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(textwrap.dedent(source))
    return path


def test_bundled_task_has_name_level_id_shapes_and_params() -> None:
    task = load_task(bundled_suite_dir() / "level2" / "1_GEMM_Bias_ReLU.py")
    assert (task.name, task.level, task.task_id, task.key) == (
        "1_GEMM_Bias_ReLU",
        2,
        1,
        "level2/1_GEMM_Bias_ReLU",
    )
    assert [(a.kind, a.shape, a.dtype) for a in task.inputs] == [("tensor", [8192, 4096], "float32")]
    assert [a.value for a in task.init_args] == ["4096", "4096"]
    assert task.param_count == 4096 * 4096 + 4096
    assert task.flops == 2 * 8192 * 4096 * 4096
    assert task.description.startswith("Linear layer")
    assert len(task.source_sha256) == 64 and "class Model" in task.source


def test_kernelbench_file_that_calls_cuda_loads_on_meta(tmp_path: Path) -> None:
    # KernelBench writes .cuda() and device="cuda"; this machine has no GPU.
    path = write(
        tmp_path / "level1",
        "95_Mixed.py",
        """
        import torch
        import torch.nn as nn
        ATOL = 1e-3
        RTOL = 2e-3
        class Model(nn.Module):
            def __init__(self, n):
                super().__init__()
                self.w = nn.Parameter(torch.randn(n, n).cuda())
                self.register_buffer("mask", torch.tril(torch.ones(n, n, device="cuda")))
            def forward(self, x, idx):
                return x @ self.w * self.mask
        def get_inputs():
            x = torch.randn(8, 128).cuda()
            idx = torch.randint(0, 10, (8,), device=torch.device("cuda:0"))
            return [x.to("cuda"), idx, 3, 0.5, None]
        def get_init_inputs():
            return [128]
        """,
    )
    task = load_task(path)
    assert (task.level, task.task_id, task.atol, task.rtol) == (1, 95, 1e-3, 2e-3)
    assert [a.kind for a in task.inputs] == ["tensor", "tensor", "int", "float", "none"]
    assert task.inputs[1].dtype == "int64" and task.inputs[1].shape == [8]
    assert task.param_count == 128 * 128


def test_six_gigabyte_inputs_are_never_allocated(tmp_path: Path) -> None:
    import resource

    path = write(
        tmp_path,
        "1_Huge.py",
        GOOD.replace("batch_size = 16", "batch_size = 1 << 20").replace("dim = 64", "dim = 768"),
    )
    load_task(write(tmp_path, "2_Small.py", GOOD))  # torch imports its meta kernels on first use
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    task = load_task(path)
    grown_mib = (resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before) / 1024
    assert task.inputs[0].numel * 4 * 2 == 6 * 1024**3  # two float32 inputs, 3 GiB each
    assert task.level == 0 and task.task_id == 1
    assert grown_mib < 200, f"loading grew the peak RSS by {grown_mib:.0f} MiB"


@pytest.mark.parametrize(
    ("source", "problem"),
    [
        ("def broken(:\n    pass\n", "syntax error at line 1"),
        (GOOD.replace("def get_inputs", "def get_inputz"), "missing get_inputs"),
        (GOOD.replace("class Model", "class Modle"), "missing Model"),
        (
            GOOD.replace("return [32]", "raise ValueError('no sizes')"),
            "get_init_inputs() raised ValueError: no sizes",
        ),
        (
            GOOD.replace("return [torch.randn", "return [torch.zeros(2).item(), torch.randn"),
            "get_inputs() raised",
        ),
        (
            GOOD.replace("return [torch.randn(batch_size, dim), torch.randn(batch_size, dim)]", "return 5"),
            "must return a list",
        ),
        ("import no_such_module_kw\n", "executing the file raised ModuleNotFoundError"),
        (
            GOOD.replace("nn.Linear(dim, hidden)", "nn.Linear(dim, hidden, bogus=1)"),
            "Model(*get_init_inputs()) raised TypeError",
        ),
        (GOOD + "\nATOL = 'tight'\n", "ATOL must be a number"),
    ],
    ids=[
        "syntax",
        "no-get-inputs",
        "no-model",
        "init-raises",
        "data-dependent",
        "not-a-list",
        "import",
        "model-raises",
        "atol",
    ],
)
def test_malformed_file_gives_one_line_naming_file_and_problem(
    tmp_path: Path, source: str, problem: str
) -> None:
    path = write(tmp_path, "7_Bad.py", source)
    with pytest.raises(TaskError) as caught:
        load_task(path)
    message = str(caught.value)
    assert "\n" not in message
    assert message.startswith(f"{path}: ")
    assert problem in message


def test_raising_get_inputs_names_the_line(tmp_path: Path) -> None:
    path = write(
        tmp_path, "1_Raises.py", GOOD.replace("    return [torch.randn", "    1 / 0\n    return [torch.randn")
    )
    line = path.read_text().splitlines().index("    1 / 0") + 1
    with pytest.raises(TaskError, match=rf"ZeroDivisionError: division by zero \(line {line}\)"):
        load_task(path)


def test_suite_lists_good_files_and_one_line_per_bad_one(tmp_path: Path) -> None:
    write(tmp_path / "level1", "1_Good.py", GOOD)
    write(tmp_path / "level1", "2_Syntax.py", "class Model(:\n")
    write(tmp_path / "level2", "10_Good.py", GOOD)
    write(tmp_path / "level2", "3_NoInputs.py", GOOD.replace("def get_inputs", "def other"))
    write(tmp_path / "level2", "__init__.py", "")
    listing = load_suite(tmp_path)
    assert [t.key for t in listing.tasks] == ["level1/1_Good", "level2/10_Good"]
    assert len(listing.errors) == 2
    assert "2_Syntax.py: syntax error" in listing.errors[0]
    assert "3_NoInputs.py: missing get_inputs" in listing.errors[1]
    assert [t.key for t in load_suite(tmp_path, level=2).tasks] == ["level2/10_Good"]


def test_suite_in_a_kernelbench_checkout_is_found_below_the_root(tmp_path: Path) -> None:
    write(tmp_path / "KernelBench" / "level4", "1_Deep.py", GOOD)
    write(tmp_path / "scripts", "run_things.py", "raise SystemExit(1)\n")
    listing = load_suite(tmp_path)
    assert [t.key for t in listing.tasks] == ["level4/1_Deep"] and listing.errors == []


def test_find_task_by_key_stem_short_name_and_path(tmp_path: Path) -> None:
    assert find_task("level1/19_ReLU").key == "level1/19_ReLU"
    assert find_task("19_ReLU").key == "level1/19_ReLU"
    assert find_task("relu").key == "level1/19_ReLU"
    assert find_task("19_relu").key == "level1/19_ReLU"
    assert find_task("Level1/19_RELU").key == "level1/19_ReLU"
    assert find_task("19_ReLU.py").key == "level1/19_ReLU"
    path = write(tmp_path / "level3", "4_Mine.py", GOOD)
    assert find_task(str(path)).key == "level3/4_Mine"
    assert find_task("4_Mine", suite=tmp_path).path == str(path.resolve())


def test_find_task_unknown_name_suggests_close_matches(tmp_path: Path) -> None:
    with pytest.raises(TaskError, match=r"unknown task 'Relu_19'.*did you mean .*level1/19_ReLU"):
        find_task("Relu_19")
    with pytest.raises(TaskError, match="no such file"):
        find_task(str(tmp_path / "missing.py"))
    write(tmp_path / "level1", "1_Same.py", GOOD)
    write(tmp_path / "level2", "1_Same.py", GOOD)
    with pytest.raises(TaskError, match="ambiguous.*level1/1_Same, level2/1_Same"):
        find_task("1_Same", suite=tmp_path)
