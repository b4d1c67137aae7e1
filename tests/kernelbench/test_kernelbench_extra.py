"""KernelBench's own task files import einops (level 3's Mamba2 tasks): the `kernelbench` extra brings
it, `dev` includes that extra, and such a file lists like any other (issue 11, item 10). The package
metadata also uses the SPDX license string, so builds print no setuptools deprecation warning."""

from __future__ import annotations

import tomllib
from pathlib import Path

from kernelwright.kernelbench import load_suite

ROOT = Path(__file__).resolve().parents[2]

MAMBA_LIKE = """import torch
import torch.nn as nn
from einops import rearrange

b, length, heads = 2, 8, 4


class Model(nn.Module):
    def forward(self, x):
        return rearrange(x, "b (c l) h -> b c l h", l=4).sum(dim=2)


def get_inputs():
    return [torch.randn(b, length, heads)]


def get_init_inputs():
    return []
"""


def project() -> dict[str, object]:
    with (ROOT / "pyproject.toml").open("rb") as f:
        return tomllib.load(f)["project"]  # type: ignore[no-any-return]


def test_kernelbench_extra_carries_einops_and_dev_includes_it() -> None:
    extras = project()["optional-dependencies"]
    assert isinstance(extras, dict)
    assert any(req.startswith("einops") for req in extras["kernelbench"])
    dev_self = next(req for req in extras["dev"] if req.startswith("kernelwright["))
    assert "kernelbench" in dev_self.split("[")[1].rstrip("]").split(",")


def test_license_is_an_spdx_string() -> None:
    assert project()["license"] == "Apache-2.0"


def test_a_task_importing_einops_lists(tmp_path: Path) -> None:
    (tmp_path / "level3").mkdir()
    (tmp_path / "level3" / "48_Mamba2Like.py").write_text(MAMBA_LIKE)
    listing = load_suite(tmp_path)
    assert listing.errors == []
    assert [t.key for t in listing.tasks] == ["level3/48_Mamba2Like"]
