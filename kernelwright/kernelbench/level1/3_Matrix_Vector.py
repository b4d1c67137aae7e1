"""Matrix-vector product y = A @ x for a tall fp32 matrix (GEMV).

Memory-bound: the 4 GiB matrix is read once; the work per byte is tiny.
"""

import torch
import torch.nn as nn

M = 65536
K = 16384

FLOPS = 2 * M * K


class Model(nn.Module):
    """y = A @ x with A: (M, K), x: (K, 1)."""

    def __init__(self):
        super().__init__()

    def forward(self, A: torch.Tensor, x: torch.Tensor) -> torch.Tensor:
        return torch.matmul(A, x)


def get_inputs():
    A = torch.randn(M, K)
    x = torch.randn(K, 1)
    return [A, x]


def get_init_inputs():
    return []
