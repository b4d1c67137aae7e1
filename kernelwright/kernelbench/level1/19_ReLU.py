"""ReLU over a large signed tensor: y = max(x, 0).

Memory-bound: one read and one write of 1 GiB each at the default size.
"""

import torch
import torch.nn as nn

batch_size = 4096
dim = 65536


class Model(nn.Module):
    """y = relu(x), elementwise."""

    def __init__(self):
        super().__init__()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.relu(x)


def get_inputs():
    # randn, not rand: on non-negative inputs ReLU is the identity and any copy would pass.
    x = torch.randn(batch_size, dim)
    return [x]


def get_init_inputs():
    return []
