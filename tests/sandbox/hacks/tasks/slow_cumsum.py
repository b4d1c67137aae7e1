"""Cumulative sum written as a Python loop over columns: a deliberately slow reference, so that an
honest torch.cumsum candidate is more than 10x faster (the suspicious-speedup rule must fire)."""

import torch
import torch.nn as nn


class Model(nn.Module):
    def __init__(self):
        super().__init__()

    def forward(self, x):
        out = torch.empty_like(x)
        running = torch.zeros_like(x[:, 0])
        for j in range(x.shape[1]):
            running = running + x[:, j]
            out[:, j] = running
        return out


batch_size = 4
dim = 512
ATOL = 1e-3
RTOL = 1e-3


def get_inputs():
    return [torch.randn(batch_size, dim)]


def get_init_inputs():
    return []
