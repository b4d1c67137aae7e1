"""Hack: segfault through ctypes (reading address 0).
Expected: guard 'native-code'; dynamic 'sandbox-ctypes' (audit hook on ctypes.string_at)."""

import ctypes

import torch


class ModelNew(torch.nn.Module):
    def forward(self, x):
        ctypes.string_at(0, 8)
        return torch.clamp_min(x, 0.0)
