"""Top-k values along the last dimension, sorted descending: (batch, dim) -> (batch, k).

Selection per row; the values (not the indices) are compared.
"""

import torch
import torch.nn as nn

batch_size = 16384
dim = 4096
k = 16


class Model(nn.Module):
    """y = torch.topk(x, k, dim=-1).values."""

    def __init__(self, k: int):
        super().__init__()
        self.k = k

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.topk(x, self.k, dim=-1, largest=True, sorted=True).values


def get_inputs():
    x = torch.randn(batch_size, dim)
    return [x]


def get_init_inputs():
    return [k]
