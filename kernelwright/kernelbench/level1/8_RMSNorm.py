"""RMS normalization over the last dimension: y = x / sqrt(mean(x^2) + eps) * weight.

Memory-bound: one sum of squares per row, then a scale.
"""

import torch
import torch.nn as nn

batch_size = 8192
dim = 16384


class Model(nn.Module):
    """RMSNorm with a learned per-feature weight (eps 1e-6)."""

    def __init__(self, dim: int):
        super().__init__()
        self.eps = 1e-6
        self.weight = nn.Parameter(torch.randn(dim) * 0.5 + 1.0)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        rms = torch.rsqrt(x.pow(2).mean(dim=-1, keepdim=True) + self.eps)
        return x * rms * self.weight


def get_inputs():
    x = torch.randn(batch_size, dim) * (torch.randn(batch_size, 1).abs() + 0.5)
    return [x]


def get_init_inputs():
    return [dim]
