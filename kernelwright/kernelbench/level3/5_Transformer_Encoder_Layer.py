"""Transformer encoder layer (post-norm): self-attention + residual + LayerNorm, then a ReLU MLP +
residual + LayerNorm. Dropout is 0, so the output is deterministic.
"""

import torch
import torch.nn as nn

batch_size = 32
seq_len = 512
d_model = 512
num_heads = 8
dim_feedforward = 2048


class Model(nn.Module):
    """nn.TransformerEncoderLayer(d_model, nhead, dim_feedforward, dropout=0, batch_first=True)."""

    def __init__(self, d_model: int, num_heads: int, dim_feedforward: int):
        super().__init__()
        self.layer = nn.TransformerEncoderLayer(
            d_model, num_heads, dim_feedforward=dim_feedforward, dropout=0.0, batch_first=True
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.layer(x)


def get_inputs():
    x = torch.randn(batch_size, seq_len, d_model)
    return [x]


def get_init_inputs():
    return [d_model, num_heads, dim_feedforward]
