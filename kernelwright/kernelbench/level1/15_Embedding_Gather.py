"""Embedding lookup: gather rows of a (num_embeddings, embedding_dim) table by int64 indices.

Memory-bound gather with random row access.
"""

import torch
import torch.nn as nn

num_embeddings = 131072
embedding_dim = 1024
batch_size = 2048
seq_len = 128


class Model(nn.Module):
    """y = table[indices], y: (batch, seq_len, embedding_dim)."""

    def __init__(self, num_embeddings: int, embedding_dim: int):
        super().__init__()
        self.embedding = nn.Embedding(num_embeddings, embedding_dim)

    def forward(self, indices: torch.Tensor) -> torch.Tensor:
        return self.embedding(indices)


def get_inputs():
    indices = torch.randint(0, num_embeddings, (batch_size, seq_len), dtype=torch.int64)
    return [indices]


def get_init_inputs():
    return [num_embeddings, embedding_dim]
