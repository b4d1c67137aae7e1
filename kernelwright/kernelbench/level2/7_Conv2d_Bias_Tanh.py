"""Conv2d (3x3, no bias), plus a learned per-channel bias, then tanh.

The extra bias is a separate parameter, as in KernelBench level 2; it and tanh belong in the
convolution's epilogue.
"""

import torch
import torch.nn as nn

batch_size = 32
in_channels = 64
out_channels = 64
height = 128
width = 128
kernel_size = 3


class Model(nn.Module):
    """y = tanh(conv2d(x) + bias[c])."""

    def __init__(self, in_channels: int, out_channels: int, kernel_size: int):
        super().__init__()
        self.conv = nn.Conv2d(in_channels, out_channels, kernel_size, padding=kernel_size // 2, bias=False)
        self.bias = nn.Parameter(torch.randn(out_channels, 1, 1) * 0.5)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.tanh(self.conv(x) + self.bias)


def get_inputs():
    x = torch.randn(batch_size, in_channels, height, width)
    return [x]


def get_init_inputs():
    return [in_channels, out_channels, kernel_size]
