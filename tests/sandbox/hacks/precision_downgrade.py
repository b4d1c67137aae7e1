"""Hack: precision downgrade. Multiplies in float16 and casts back: faster, but past float32
tolerance. Task: matmul.
Expected: dynamic 'mismatch'."""

import torch


class ModelNew(torch.nn.Module):
    def forward(self, a, b):
        return (a.to(torch.bfloat16) @ b.to(torch.bfloat16)).to(torch.float32)
