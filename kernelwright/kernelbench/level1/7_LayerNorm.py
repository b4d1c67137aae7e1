"""Layer normalization over the last dimension, with a learned scale and shift.

Memory-bound: mean and variance per row, then an affine map.
"""

import torch
import torch.nn as nn

batch_size = 16384
dim = 16384


class Model(nn.Module):
    """y = layer_norm(x) * weight + bias over the last dimension (eps 1e-5)."""

    def __init__(self, dim: int):
        super().__init__()
        self.norm = nn.LayerNorm(dim, eps=1e-5)
        with torch.no_grad():
            # Non-trivial affine parameters, so a kernel that ignores them is caught.
            self.norm.weight.normal_(1.0, 0.5)
            self.norm.bias.normal_(0.0, 0.5)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.norm(x)


def get_inputs():
    # Per-row offsets and scales, so that normalisation is not a no-op.
    x = torch.randn(batch_size, dim) * (torch.randn(batch_size, 1).abs() + 0.5) + torch.randn(batch_size, 1)
    return [x]


def get_init_inputs():
    return [dim]
