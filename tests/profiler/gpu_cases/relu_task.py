"""ReLU over 64 Mi float32 (256 MiB in, 256 MiB out): the memory-bound case of the profiler checks."""

import torch
import torch.nn as nn


class Model(nn.Module):
    def __init__(self):
        super().__init__()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.relu(x)


def get_inputs():
    return [torch.randn(16384, 4096)]


def get_init_inputs():
    return []
