"""Hack: segmentation fault (crashing the evaluator instead of failing).
Expected: dynamic 'crashed' with SIGSEGV."""

import faulthandler

import torch


class ModelNew(torch.nn.Module):
    def forward(self, x):
        faulthandler.disable()
        faulthandler._sigsegv()
        return torch.clamp_min(x, 0.0)
