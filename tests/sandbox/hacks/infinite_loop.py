"""Hack: infinite loop. Answers the first call correctly, then never returns (inside the timing loop,
where a naive harness waits forever).
Expected: 'timeout' in the run phase, the process group killed."""

import torch


class ModelNew(torch.nn.Module):
    def __init__(self):
        super().__init__()
        self.calls = 0

    def forward(self, x):
        self.calls += 1
        while self.calls > 1:
            pass
        return torch.clamp_min(x, 0.0)
