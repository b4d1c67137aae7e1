"""Load one KernelBench-format file into a Task, reading shapes on the meta device.

A task file is a trusted reference (not a candidate), so the parent process may execute it. Every
way it can be malformed ends in a TaskError whose message is one line: "path: problem".
"""

from __future__ import annotations

import contextlib
import hashlib
import re
import sys
import traceback
import types
from pathlib import Path
from typing import Any

import torch

from kernelwright.contracts import ArgSpec, Task
from kernelwright.errors import TaskError
from kernelwright.kernelbench.meta import is_meta_limitation, on_meta_device

REQUIRED_NAMES = ("Model", "get_inputs", "get_init_inputs")
LEVEL_DIR = re.compile(r"^level(\d+)$")
_LEADING_ID = re.compile(r"^(\d+)")
_MAX_VALUE_REPR = 80


def _one_line(text: str, limit: int = 200) -> str:
    line = " ".join(text.split())
    return line if len(line) <= limit else line[: limit - 3] + "..."


def _describe_exception(err: BaseException, filename: str) -> str:
    """'ValueError: bad shape (line 12)', with the deepest line that lies in the task file."""
    line_no = None
    for frame in traceback.extract_tb(err.__traceback__):
        if frame.filename == filename:
            line_no = frame.lineno
    where = f" (line {line_no})" if line_no else ""
    message = _one_line(str(err)) or "no message"
    return f"{type(err).__name__}: {message}{where}"


def module_from_source(source: str, filename: str, *, on_meta: bool = False) -> types.ModuleType:
    """Executes task source as a fresh module. on_meta: module-level tensors become meta tensors."""
    try:
        code = compile(source, filename, "exec")
    except SyntaxError as err:
        raise TaskError(f"{filename}: syntax error at line {err.lineno}: {err.msg}") from None
    digest = hashlib.sha256(source.encode()).hexdigest()[:16]
    module = types.ModuleType(f"kernelwright_task_{digest}")
    module.__file__ = filename
    # Registered while executing so that dataclasses and the like can find their module.
    sys.modules[module.__name__] = module
    try:
        if on_meta:
            with on_meta_device():
                exec(code, module.__dict__)
        else:
            exec(code, module.__dict__)
    except (Exception, SystemExit) as err:
        raise TaskError(
            f"{filename}: executing the file raised {_describe_exception(err, filename)}"
        ) from None
    finally:
        sys.modules.pop(module.__name__, None)
    return module


def load_module(path: str | Path, *, on_meta: bool = False) -> types.ModuleType:
    """Reads and executes a task file; see module_from_source."""
    return module_from_source(_read(Path(path)), str(path), on_meta=on_meta)


def _read(path: Path) -> str:
    try:
        return path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise TaskError(f"{path}: no such file") from None
    except (OSError, UnicodeDecodeError) as err:
        raise TaskError(f"{path}: cannot be read ({_one_line(str(err))})") from None


def arg_spec(value: Any) -> ArgSpec:
    """How one element of get_inputs()/get_init_inputs() is described, without touching its data."""
    if isinstance(value, torch.Tensor):
        return ArgSpec(kind="tensor", shape=list(value.shape), dtype=str(value.dtype).removeprefix("torch."))
    if isinstance(value, bool):
        return ArgSpec(kind="bool", value=repr(value))
    for kind, typ in (("int", int), ("float", float), ("str", str)):
        if isinstance(value, typ):
            return ArgSpec(kind=kind, value=repr(value)[:_MAX_VALUE_REPR])
    if value is None:
        return ArgSpec(kind="none", value="None")
    return ArgSpec(kind="other", value=repr(value)[:_MAX_VALUE_REPR])


def call_on_meta(module: types.ModuleType, func_name: str, filename: str) -> list[Any]:
    """Calls get_inputs/get_init_inputs with every tensor on the meta device; a list comes back."""
    try:
        with on_meta_device():
            values = getattr(module, func_name)()
    except (Exception, SystemExit) as err:
        hint = " (it needs real data, which the meta device does not have)" if is_meta_limitation(err) else ""
        raise TaskError(
            f"{filename}: {func_name}() raised {_describe_exception(err, filename)}{hint}"
        ) from None
    if isinstance(values, torch.Tensor) or not isinstance(values, list | tuple):
        raise TaskError(f"{filename}: {func_name}() must return a list, got {type(values).__name__}")
    return list(values)


def meta_param_count(module: types.ModuleType, init_args: list[Any], filename: str) -> int | None:
    """Parameters of Model(*init_args), built on meta; None when the model needs real data to build."""
    try:
        with on_meta_device():
            model = module.Model(*init_args)
    except (Exception, SystemExit) as err:
        if is_meta_limitation(err):
            return None
        raise TaskError(
            f"{filename}: Model(*get_init_inputs()) raised {_describe_exception(err, filename)}"
        ) from None
    if not isinstance(model, torch.nn.Module):
        raise TaskError(f"{filename}: Model is not a torch.nn.Module")
    return sum(p.numel() for p in model.parameters())


def _optional_number(module: types.ModuleType, name: str, filename: str) -> float | None:
    value = getattr(module, name, None)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise TaskError(f"{filename}: module-level {name} must be a number, got {type(value).__name__}")
    return float(value)


def level_of(path: Path) -> int:
    """N when the file sits directly in a 'levelN' folder (KernelBench's layout); 0 otherwise."""
    match = LEVEL_DIR.match(path.parent.name)
    return int(match.group(1)) if match else 0


def task_id_of(path: Path) -> int | None:
    match = _LEADING_ID.match(path.stem)
    return int(match.group(1)) if match else None


def load_task(path: str | Path) -> Task:
    """Loads one KernelBench-format file; shapes and parameter count come from the meta device."""
    path = Path(path)
    if path.is_dir():
        raise TaskError(f"{path}: is a folder, not a task file (use `tasks list --suite {path}`)")
    return task_from_source(_read(path), path)


def task_from_source(source: str, path: Path, *, name: str | None = None) -> Task:
    """The Task of `source` as if it were the file at `path` (its level, id and default name)."""
    filename = str(path)
    # A task that prints must not corrupt `tasks list --json`: its output goes to stderr.
    with contextlib.redirect_stdout(sys.stderr):
        module = module_from_source(source, filename, on_meta=True)
        missing = [name for name in REQUIRED_NAMES if not callable(getattr(module, name, None))]
        if missing:
            raise TaskError(
                f"{filename}: missing {', '.join(missing)} (a KernelBench task defines {', '.join(REQUIRED_NAMES)})"
            )
        init_args = call_on_meta(module, "get_init_inputs", filename)
        inputs = call_on_meta(module, "get_inputs", filename)
        param_count = meta_param_count(module, init_args, filename)
    doc = (module.__doc__ or module.Model.__doc__ or "").strip()
    return Task(
        name=name or path.stem,
        level=level_of(path.resolve()),
        task_id=task_id_of(path),
        path=str(path.resolve()),
        source=source,
        source_sha256=hashlib.sha256(source.encode()).hexdigest(),
        description=doc,
        inputs=[arg_spec(v) for v in inputs],
        init_args=[arg_spec(v) for v in init_args],
        param_count=param_count,
        atol=_optional_number(module, "ATOL", filename),
        rtol=_optional_number(module, "RTOL", filename),
        flops=_optional_number(module, "FLOPS", filename),
    )
