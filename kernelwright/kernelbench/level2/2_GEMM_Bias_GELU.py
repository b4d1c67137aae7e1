"""Linear layer (GEMM + bias) followed by exact GELU: y = gelu(x @ W^T + b).

Compute-bound GEMM with a transcendental epilogue.
"""

import torch
import torch.nn as nn
import torch.nn.functional as F

batch_size = 8192
in_features = 4096
out_features = 4096

FLOPS = 2 * batch_size * in_features * out_features


class Model(nn.Module):
    """y = gelu(linear(x))."""

    def __init__(self, in_features: int, out_features: int):
        super().__init__()
        self.linear = nn.Linear(in_features, out_features)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return F.gelu(self.linear(x))


def get_inputs():
    x = torch.randn(batch_size, in_features)
    return [x]


def get_init_inputs():
    return [in_features, out_features]
