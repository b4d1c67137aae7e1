"""ResNet basic block: conv3x3 -> BN -> ReLU -> conv3x3 -> BN, plus identity, then ReLU.

Training mode (batch statistics), as KernelBench runs it.
"""

import torch
import torch.nn as nn

batch_size = 32
channels = 64
height = 112
width = 112


class Model(nn.Module):
    """y = relu(bn2(conv2(relu(bn1(conv1(x))))) + x)."""

    def __init__(self, channels: int):
        super().__init__()
        self.conv1 = nn.Conv2d(channels, channels, 3, padding=1, bias=False)
        self.bn1 = nn.BatchNorm2d(channels)
        self.conv2 = nn.Conv2d(channels, channels, 3, padding=1, bias=False)
        self.bn2 = nn.BatchNorm2d(channels)
        with torch.no_grad():
            for bn in (self.bn1, self.bn2):
                bn.weight.normal_(1.0, 0.5)
                bn.bias.normal_(0.0, 0.5)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = torch.relu(self.bn1(self.conv1(x)))
        out = self.bn2(self.conv2(out))
        return torch.relu(out + x)


def get_inputs():
    x = torch.randn(batch_size, channels, height, width)
    return [x]


def get_init_inputs():
    return [channels]
