"""One LSTM cell step: gates from x and h, new cell state and hidden state.

Two GEMMs (input and recurrent) feeding four gate nonlinearities; the output concatenates the new
hidden and cell states, (batch, 2 * hidden), so both must be computed.
"""

import torch
import torch.nn as nn

batch_size = 8192
input_size = 1024
hidden_size = 1024

FLOPS = 2 * batch_size * (input_size + hidden_size) * 4 * hidden_size


class Model(nn.Module):
    """(h', c') = LSTMCell(x, (h, c)); y = cat([h', c'], dim=1)."""

    def __init__(self, input_size: int, hidden_size: int):
        super().__init__()
        self.cell = nn.LSTMCell(input_size, hidden_size)

    def forward(self, x: torch.Tensor, h: torch.Tensor, c: torch.Tensor) -> torch.Tensor:
        h_next, c_next = self.cell(x, (h, c))
        return torch.cat([h_next, c_next], dim=1)


def get_inputs():
    x = torch.randn(batch_size, input_size)
    h = torch.randn(batch_size, hidden_size)
    c = torch.randn(batch_size, hidden_size)
    return [x, h, c]


def get_init_inputs():
    return [input_size, hidden_size]
