"""C = A @ B for 2048 x 2048 float32: the compute-heavy case of the profiler checks."""

import torch
import torch.nn as nn

N = 2048
FLOPS = 2 * N * N * N


class Model(nn.Module):
    def __init__(self):
        super().__init__()

    def forward(self, a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
        return a @ b


def get_inputs():
    return [torch.randn(N, N), torch.randn(N, N)]


def get_init_inputs():
    return []
