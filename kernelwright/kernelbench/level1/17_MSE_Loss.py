"""Per-sample mean squared error: mean over features of (prediction - target)^2, one value per row.

Rows have random scales, so the losses spread widely: a scalar mean over randn inputs would be
~2.0 every time, and a kernel returning that constant would pass.
"""

import torch
import torch.nn as nn

batch_size = 8192
dim = 16384


class Model(nn.Module):
    """y[b] = mean_j (predictions[b, j] - targets[b, j])^2."""

    def __init__(self):
        super().__init__()

    def forward(self, predictions: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
        return torch.mean((predictions - targets) ** 2, dim=1)


def get_inputs():
    scale = torch.randn(batch_size, 1).abs() + 0.1
    predictions = torch.randn(batch_size, dim) * scale
    targets = torch.randn(batch_size, dim) * scale
    return [predictions, targets]


def get_init_inputs():
    return []
