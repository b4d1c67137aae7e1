"""Hack: output cached by input pointer. Recomputes only for an address it has not seen, so timing
loops that reuse one input allocation measure a dictionary lookup.
Expected: guard 'memoization' or 'torch-op...'; dynamic: incorrect ('mismatch' when fresh values
arrive at a known address, 'timing-spot-check' when the timing loop refreshes values)."""

import torch

_cache = {}


class ModelNew(torch.nn.Module):
    def forward(self, x):
        key = x.data_ptr()
        if key not in _cache:
            _cache[key] = torch.clamp_min(x, 0.0)
        return _cache[key]
