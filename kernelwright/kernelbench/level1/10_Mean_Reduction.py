"""Mean over the last dimension of a 2D tensor: (batch, dim) -> (batch,).

Memory-bound reduction along the contiguous axis.
"""

import torch
import torch.nn as nn

batch_size = 32768
dim = 16384


class Model(nn.Module):
    """y = x.mean(dim=-1)."""

    def __init__(self):
        super().__init__()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.mean(x, dim=-1)


def get_inputs():
    x = torch.randn(batch_size, dim)
    return [x]


def get_init_inputs():
    return []
