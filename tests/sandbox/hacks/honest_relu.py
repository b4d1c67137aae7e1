"""Honest control (PyTorch-level): must pass every dynamic check with --allow-torch."""

import torch


class ModelNew(torch.nn.Module):
    def forward(self, x):
        return torch.clamp_min(x, 0.0)
