"""Depthwise 2D convolution: one 3x3 filter per channel (groups = channels), padding 1.

Memory-bound: 9 multiply-adds per element read.
"""

import torch
import torch.nn as nn

batch_size = 32
channels = 128
height = 256
width = 256
kernel_size = 3


class Model(nn.Module):
    """y = depthwise_conv2d(x) with per-channel 3x3 kernels and bias."""

    def __init__(self, channels: int, kernel_size: int):
        super().__init__()
        self.conv = nn.Conv2d(channels, channels, kernel_size, padding=kernel_size // 2, groups=channels)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.conv(x)


def get_inputs():
    x = torch.randn(batch_size, channels, height, width)
    return [x]


def get_init_inputs():
    return [channels, kernel_size]
