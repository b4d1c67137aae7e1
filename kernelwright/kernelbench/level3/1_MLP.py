"""Transformer feed-forward block: Linear -> GELU -> Linear (hidden = 4 x model width).

Two GEMMs; the activation belongs in the first one's epilogue.
"""

import torch
import torch.nn as nn

num_tokens = 16384
model_dim = 1024
hidden_dim = 4096

FLOPS = 2 * 2 * num_tokens * model_dim * hidden_dim


class Model(nn.Module):
    """y = fc2(gelu(fc1(x)))."""

    def __init__(self, model_dim: int, hidden_dim: int):
        super().__init__()
        self.fc1 = nn.Linear(model_dim, hidden_dim)
        self.fc2 = nn.Linear(hidden_dim, model_dim)
        self.act = nn.GELU()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.fc2(self.act(self.fc1(x)))


def get_inputs():
    x = torch.randn(num_tokens, model_dim)
    return [x]


def get_init_inputs():
    return [model_dim, hidden_dim]
