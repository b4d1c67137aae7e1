"""Task inputs from a seed, made the same way in the judge and in the runner: the runner regenerates
the timed calls' inputs from seeds the judge draws, and the judge checks a sample of them by digest."""

from __future__ import annotations

import importlib.util
import os
import sys
import types
from typing import Any

import torch


def fresh_seed() -> int:
    return int.from_bytes(os.urandom(4), "little") & 0x7FFFFFFF


def import_task(path: str, name: str) -> types.ModuleType:
    """Imports a file as module `name` (registered in sys.modules, as KernelBench files expect)."""
    spec = importlib.util.spec_from_file_location(name, path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    return module


def make_inputs(task_module: types.ModuleType, seed: int, device: torch.device) -> list[Any]:
    """`get_inputs()` under `seed`, moved to `device`: identical in every process for one seed."""
    torch.manual_seed(seed)
    values = list(task_module.get_inputs())
    return [v.to(device) if isinstance(v, torch.Tensor) else v for v in values]


def synchronize(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize()
