"""Row sums of a (4096, 16384) float32 matrix: the reduction case of the profiler checks."""

import torch
import torch.nn as nn


class Model(nn.Module):
    def __init__(self):
        super().__init__()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x.sum(dim=1)


def get_inputs():
    return [torch.randn(4096, 16384)]


def get_init_inputs():
    return []
