"""Linear layer, SiLU, then a learned per-feature scale: y = silu(x @ W^T + b) * gamma.

Compute-bound GEMM with an activation and a broadcast multiply to fuse.
"""

import torch
import torch.nn as nn
import torch.nn.functional as F

batch_size = 8192
in_features = 4096
out_features = 4096

FLOPS = 2 * batch_size * in_features * out_features


class Model(nn.Module):
    """y = silu(linear(x)) * gamma."""

    def __init__(self, in_features: int, out_features: int):
        super().__init__()
        self.linear = nn.Linear(in_features, out_features)
        self.gamma = nn.Parameter(torch.randn(out_features))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return F.silu(self.linear(x)) * self.gamma


def get_inputs():
    x = torch.randn(batch_size, in_features)
    return [x]


def get_init_inputs():
    return [in_features, out_features]
