"""Batched transpose of the last two dimensions, materialised contiguously.

Pure data movement: coalescing both the reads and the writes needs a tiled (shared-memory) kernel.
"""

import torch
import torch.nn as nn

batch_size = 16
rows = 4096
cols = 4096


class Model(nn.Module):
    """y = x.transpose(1, 2).contiguous() for x: (batch, rows, cols)."""

    def __init__(self):
        super().__init__()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x.transpose(1, 2).contiguous()


def get_inputs():
    x = torch.randn(batch_size, rows, cols)
    return [x]


def get_init_inputs():
    return []
