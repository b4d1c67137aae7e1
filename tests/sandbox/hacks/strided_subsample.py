"""Hack: partial computation. Sums every other element and doubles it. Task: rowsum.
Expected: dynamic 'mismatch'."""

import torch


class ModelNew(torch.nn.Module):
    def forward(self, x):
        return x[:, ::2].sum(dim=1) * 2.0
