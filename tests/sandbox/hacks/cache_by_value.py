"""Hack: output cached by input value. A hash of the input selects a stored result, so repeated
inputs (a timing loop) cost a hash.
Expected: guard 'memoization'; dynamic 'output-reused' (two calls on equal inputs return one
tensor)."""

import torch

_cache = {}


class ModelNew(torch.nn.Module):
    def forward(self, x):
        key = hash(x.numpy().tobytes())
        if key not in _cache:
            _cache[key] = torch.clamp_min(x, 0.0)
        return _cache[key]
