"""A tokenizer-free upper estimate of a prompt's size, for budgets that must be checked before a
call: about 3 characters a token for code and English (real tokenizers average 3.5-4), so the
estimate errs on the side of stopping early rather than overshooting."""

from __future__ import annotations

from collections.abc import Sequence

CHARS_PER_TOKEN = 3
# Per-message framing (role markers, separators) that chat templates add.
MESSAGE_OVERHEAD_TOKENS = 8


def estimate_tokens(text: str) -> int:
    return -(-len(text) // CHARS_PER_TOKEN)


def estimate_messages(messages: Sequence[dict[str, str]]) -> int:
    return sum(estimate_tokens(m.get("content", "")) + MESSAGE_OVERHEAD_TOKENS for m in messages)
