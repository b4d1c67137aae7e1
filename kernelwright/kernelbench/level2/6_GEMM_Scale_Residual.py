"""Linear layer, scaled, plus the input as a residual: y = (x @ W^T + b) * alpha + x.

Compute-bound GEMM whose epilogue reads the input again.
"""

import torch
import torch.nn as nn

batch_size = 8192
features = 4096
alpha = 0.5

FLOPS = 2 * batch_size * features * features


class Model(nn.Module):
    """y = alpha * linear(x) + x (square weight, so the residual shapes match)."""

    def __init__(self, features: int, alpha: float):
        super().__init__()
        self.linear = nn.Linear(features, features)
        self.alpha = alpha

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.linear(x) * self.alpha + x


def get_inputs():
    x = torch.randn(batch_size, features)
    return [x]


def get_init_inputs():
    return [features, alpha]
