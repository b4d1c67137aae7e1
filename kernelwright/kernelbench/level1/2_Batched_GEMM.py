"""Batched matrix multiplication C[b] = A[b] @ B[b] over a batch of fp32 matrices.

Compute-bound: 2*batch*M*K*N FLOPs (~137 GFLOP at the default sizes).
"""

import torch
import torch.nn as nn

batch_size = 64
m = 1024
k = 1024
n = 1024

FLOPS = 2 * batch_size * m * k * n


class Model(nn.Module):
    """C = torch.bmm(A, B) with A: (batch, m, k), B: (batch, k, n)."""

    def __init__(self):
        super().__init__()

    def forward(self, A: torch.Tensor, B: torch.Tensor) -> torch.Tensor:
        return torch.bmm(A, B)


def get_inputs():
    A = torch.randn(batch_size, m, k)
    B = torch.randn(batch_size, k, n)
    return [A, B]


def get_init_inputs():
    return []
