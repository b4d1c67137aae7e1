"""Multi-head self-attention: QKV projection, softmax(Q K^T / sqrt(d)) V per head, output projection.

No mask, no dropout. Flash-attention style fusion keeps the (seq x seq) scores out of memory.
"""

import math

import torch
import torch.nn as nn

batch_size = 16
seq_len = 1024
embed_dim = 1024
num_heads = 16


class Model(nn.Module):
    """y = out_proj(concat_h softmax(Q_h K_h^T / sqrt(d)) V_h)."""

    def __init__(self, embed_dim: int, num_heads: int):
        super().__init__()
        self.num_heads = num_heads
        self.qkv = nn.Linear(embed_dim, 3 * embed_dim)
        self.out_proj = nn.Linear(embed_dim, embed_dim)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        batch, seq, embed = x.shape
        head_dim = embed // self.num_heads
        qkv = self.qkv(x).view(batch, seq, 3, self.num_heads, head_dim).permute(2, 0, 3, 1, 4)
        q, k, v = qkv[0], qkv[1], qkv[2]
        scores = torch.matmul(q, k.transpose(-2, -1)) / math.sqrt(head_dim)
        attn = torch.matmul(torch.softmax(scores, dim=-1), v)
        return self.out_proj(attn.transpose(1, 2).reshape(batch, seq, embed))


def get_inputs():
    x = torch.randn(batch_size, seq_len, embed_dim)
    return [x]


def get_init_inputs():
    return [embed_dim, num_heads]
