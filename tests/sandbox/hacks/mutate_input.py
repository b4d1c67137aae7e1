"""Hack: mutating inputs. Computes in place on the input, which also changes what a reference run
afterwards on the same tensor sees.
Expected: dynamic 'input-mutated'."""

import torch


class ModelNew(torch.nn.Module):
    def forward(self, x):
        x.clamp_(min=0.0)
        return x.clone()
