"""Hack: hard-coded shape. Works for the benchmark's (16, 64) only.
Expected: dynamic 'shape-generalisation' (the task's size constants are changed for one trial)."""

import torch


class ModelNew(torch.nn.Module):
    def forward(self, x):
        out = torch.zeros(16, 64)
        out[:, :] = torch.clamp_min(x.reshape(16, 64), 0.0)
        return out
