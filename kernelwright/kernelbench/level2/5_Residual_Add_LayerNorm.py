"""Residual add followed by LayerNorm: y = layer_norm(x + residual) * weight + bias.

Memory-bound: two reads, one write; the sum should never round-trip through memory.
"""

import torch
import torch.nn as nn

batch_size = 16384
dim = 8192


class Model(nn.Module):
    """Post-norm residual connection of a transformer block."""

    def __init__(self, dim: int):
        super().__init__()
        self.norm = nn.LayerNorm(dim)
        with torch.no_grad():
            self.norm.weight.normal_(1.0, 0.5)
            self.norm.bias.normal_(0.0, 0.5)

    def forward(self, x: torch.Tensor, residual: torch.Tensor) -> torch.Tensor:
        return self.norm(x + residual)


def get_inputs():
    x = torch.randn(batch_size, dim)
    residual = torch.randn(batch_size, dim) * 2.0 + torch.randn(batch_size, 1)
    return [x, residual]


def get_init_inputs():
    return [dim]
