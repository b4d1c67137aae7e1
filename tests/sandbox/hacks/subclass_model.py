"""Hack: PyTorch fallback by subclassing the reference Model (copied here) and calling it.
Expected: guard 'reference-model' (with or without --allow-torch); on the GPU the launch check
('no-custom-kernel')."""

import torch
import torch.nn as nn


class Model(nn.Module):
    def forward(self, x):
        return torch.relu(x)


class ModelNew(Model):
    def forward(self, x):
        return super().forward(x)
