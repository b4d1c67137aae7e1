"""Square matrix multiplication C = A @ B of two N x N fp32 matrices.

Compute-bound: 2*N^3 FLOPs (~137 GFLOP at N = 4096, a few ms in fp32 on an H100).
"""

import torch
import torch.nn as nn

N = 4096

FLOPS = 2 * N**3


class Model(nn.Module):
    """C = A @ B."""

    def __init__(self):
        super().__init__()

    def forward(self, A: torch.Tensor, B: torch.Tensor) -> torch.Tensor:
        return torch.matmul(A, B)


def get_inputs():
    A = torch.randn(N, N)
    B = torch.randn(N, N)
    return [A, B]


def get_init_inputs():
    return []
