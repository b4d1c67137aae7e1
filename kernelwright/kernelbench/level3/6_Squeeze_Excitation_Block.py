"""Squeeze-and-excitation block: global average pool -> FC -> ReLU -> FC -> sigmoid, then the
per-channel gates rescale the input.

A reduction, two tiny GEMMs and a broadcast multiply: launch overhead dominates unless fused.
"""

import torch
import torch.nn as nn

batch_size = 64
channels = 256
height = 128
width = 128
reduction = 16


class Model(nn.Module):
    """y = x * sigmoid(fc2(relu(fc1(mean_hw(x)))))[:, :, None, None]."""

    def __init__(self, channels: int, reduction: int):
        super().__init__()
        self.fc1 = nn.Linear(channels, channels // reduction)
        self.fc2 = nn.Linear(channels // reduction, channels)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        squeezed = x.mean(dim=(2, 3))
        gates = torch.sigmoid(self.fc2(torch.relu(self.fc1(squeezed))))
        return x * gates[:, :, None, None]


def get_inputs():
    # Per-channel offsets, so the squeezed means (and hence the gates) differ between channels.
    x = torch.randn(batch_size, channels, height, width) + torch.randn(batch_size, channels, 1, 1)
    return [x]


def get_init_inputs():
    return [channels, reduction]
