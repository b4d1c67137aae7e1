"""Argmax over the middle dimension of a 3D tensor: (batch, dim1, dim2) -> int64 (batch, dim2).

Memory-bound reduction that returns indices, not values.
"""

import torch
import torch.nn as nn

batch_size = 512
dim1 = 4096
dim2 = 256


class Model(nn.Module):
    """y = torch.argmax(x, dim=1)."""

    def __init__(self):
        super().__init__()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.argmax(x, dim=1)


def get_inputs():
    x = torch.randn(batch_size, dim1, dim2)
    return [x]


def get_init_inputs():
    return []
