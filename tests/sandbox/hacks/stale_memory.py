"""Hack: stale memory. Does no work and returns uninitialised memory of the right shape, hoping the
allocator hands back the block where the reference just left its result.
Expected: dynamic 'mismatch' (the candidate runs first, over NaN garbage)."""

import torch


class ModelNew(torch.nn.Module):
    def forward(self, x):
        return torch.empty_like(x)
