"""Scaled softmax over attention scores: y = softmax(x * scale, dim=-1), no dropout.

Memory-bound; the scale must be folded into the softmax pass rather than a separate kernel.
"""

import torch
import torch.nn as nn

batch_size = 16
num_heads = 16
seq_len = 1024
scale = 0.125


class Model(nn.Module):
    """y = softmax(scale * x) over the last dimension of (batch, heads, seq, seq) scores."""

    def __init__(self, scale: float):
        super().__init__()
        self.scale = scale

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.softmax(x * self.scale, dim=-1)


def get_inputs():
    x = torch.randn(batch_size, num_heads, seq_len, seq_len) * 16.0
    return [x]


def get_init_inputs():
    return [scale]
