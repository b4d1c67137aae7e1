"""`kernelwright tasks list|show` through the real entry point, in a subprocess: output and exit codes,
and a malformed task file giving one line and no traceback."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from click.testing import Result
from typer.testing import CliRunner

from kernelwright.cli import app

GOOD = '''"""Doubles its input."""
import torch
import torch.nn as nn

n = 64


class Model(nn.Module):
    def forward(self, x):
        return x * 2


def get_inputs():
    return [torch.randn(n, n)]


def get_init_inputs():
    return []
'''


def in_process(*args: str) -> Result:
    """Success paths run in-process (typer's runner on the root app): torch is imported once."""
    return CliRunner().invoke(app, list(args), env={"COLUMNS": "200"})


def kernelwright(*args: str, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    """Error paths run the real entry point, whose boundary turns errors into one line and a code."""
    script = Path(sys.executable).parent / "kernelwright"
    command = (
        [str(script)]
        if script.exists()
        else [sys.executable, "-c", "from kernelwright.cli import main; main()"]
    )
    env = dict(os.environ, COLUMNS="200")
    return subprocess.run(command + list(args), capture_output=True, text=True, timeout=120, env=env, cwd=cwd)


def test_list_json_shows_the_bundled_suite() -> None:
    result = in_process("tasks", "list", "--json")
    assert result.exit_code == 0, result.output
    payload = json.loads(result.stdout)
    levels = [t["level"] for t in payload["tasks"]]
    assert len(levels) >= 30 and levels.count(1) >= 15 and levels.count(2) >= 10 and levels.count(3) >= 5
    assert payload["errors"] == []
    relu = next(t for t in payload["tasks"] if t["key"] == "level1/19_ReLU")
    assert relu["inputs"] == [{"kind": "tensor", "shape": [4096, 65536], "dtype": "float32", "value": None}]
    assert "source" not in relu


def test_list_table_of_one_level() -> None:
    result = in_process("tasks", "list", "--level", "3")
    assert result.exit_code == 0, result.output
    assert "2_Multi_Head_Attention" in result.stdout and "f32[16,1024,1024]" in result.stdout
    assert "19_ReLU" not in result.stdout


def test_malformed_file_is_one_line_after_the_table_and_the_rest_lists(tmp_path: Path) -> None:
    (tmp_path / "level1").mkdir()
    (tmp_path / "level1" / "1_Good.py").write_text(GOOD)
    (tmp_path / "level1" / "2_Broken.py").write_text(GOOD.replace("def get_inputs():", "def get_inputs(:"))
    result = kernelwright("tasks", "list", "--suite", str(tmp_path))
    assert result.returncode == 0, result.stderr
    out = result.stdout
    assert "1_Good" in out and "f32[64,64]" in out
    error_lines = [line for line in out.splitlines() if "2_Broken.py" in line]
    assert len(error_lines) == 1 and "syntax error at line" in error_lines[0]
    assert out.index("1_Good") < out.index("2_Broken.py")
    assert "Traceback" not in out + result.stderr


def test_suite_where_nothing_loads_exits_non_zero(tmp_path: Path) -> None:
    (tmp_path / "1_Broken.py").write_text("class Model:\n    pass\n")
    result = kernelwright("tasks", "list", "--suite", str(tmp_path))
    assert result.returncode == 1
    assert "missing get_inputs, get_init_inputs" in result.stdout
    assert "no task in" in result.stderr and "Traceback" not in result.stderr


def test_missing_suite_folder_is_one_sentence(tmp_path: Path) -> None:
    result = kernelwright("tasks", "list", "--suite", str(tmp_path / "nowhere"))
    assert result.returncode == 2
    assert result.stderr.strip() == f"error: {tmp_path / 'nowhere'}: no such folder"


def test_show_prints_docstring_shapes_params_and_source() -> None:
    result = in_process("tasks", "show", "level2/1_GEMM_Bias_ReLU")
    assert result.exit_code == 0, result.output
    out = result.stdout
    assert "Linear layer (GEMM + bias) followed by ReLU" in out
    assert "[8192, 4096]" in out and "float32" in out
    assert "get_init_inputs[1]" in out and "parameters: 16781312" in out
    assert "return torch.relu(self.linear(x))" in out


def test_show_unknown_and_malformed_give_one_line(tmp_path: Path) -> None:
    unknown = kernelwright("tasks", "show", "softmx")
    assert unknown.returncode == 2
    assert "unknown task 'softmx'" in unknown.stderr and "level1/6_Softmax" in unknown.stderr
    broken = tmp_path / "3_Raises.py"
    broken.write_text(GOOD.replace("return [torch.randn(n, n)]", "raise RuntimeError('boom')"))
    result = kernelwright("tasks", "show", str(broken))
    assert result.returncode == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and "get_inputs() raised RuntimeError: boom" in lines[0]
    assert "Traceback" not in result.stdout + result.stderr


def test_list_json_stays_parseable_when_a_task_prints(tmp_path: Path) -> None:
    (tmp_path / "1_Chatty.py").write_text(
        GOOD.replace("def get_inputs():", "def get_inputs():\n    print('hello')")
    )
    result = in_process("tasks", "list", "--suite", str(tmp_path), "--json")
    assert result.exit_code == 0, result.output
    assert [t["name"] for t in json.loads(result.stdout)["tasks"]] == ["1_Chatty"]


def test_show_json_includes_source_and_key() -> None:
    result = in_process("tasks", "show", "relu", "--json")
    assert result.exit_code == 0, result.output
    payload = json.loads(result.stdout)
    assert payload["key"] == "level1/19_ReLU" and "torch.relu(x)" in payload["source"]


def test_level_outside_kernelbench_is_a_usage_error() -> None:
    result = kernelwright("tasks", "list", "--level", "7")
    assert result.returncode == 2
    assert "Invalid value for '--level'" in result.stderr and "less than or equal to 4" in result.stderr
    assert "Traceback" not in result.stdout + result.stderr


def test_level_without_tasks_exits_1_with_one_sentence(tmp_path: Path) -> None:
    (tmp_path / "level1").mkdir()
    (tmp_path / "level1" / "1_Good.py").write_text(GOOD)
    result = kernelwright("tasks", "list", "--suite", str(tmp_path), "--level", "2")
    assert result.returncode == 1
    assert result.stderr.strip().startswith("error: no task in ") and result.stderr.strip().endswith(
        "at level 2 could be loaded"
    )
    assert "Traceback" not in result.stdout + result.stderr


def test_show_matches_a_name_in_any_case() -> None:
    for spelling in ("19_relu", "LEVEL1/19_relu", "ReLU"):
        result = in_process("tasks", "show", spelling, "--json")
        assert result.exit_code == 0, result.output
        assert json.loads(result.stdout)["key"] == "level1/19_ReLU"
