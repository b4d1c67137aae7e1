"""The Coder: turns a prompt into candidate source. A reply without usable code is not an
exception for the loop but a value (`CoderReply.code is None` with the reason), so that the loop
records it as a failed attempt and asks once more with a format reminder."""

from __future__ import annotations

from dataclasses import dataclass, field

from kernelwright.agents.parsing import MalformedReply, extract_code
from kernelwright.agents.prompting import render
from kernelwright.interfaces import ChatClient


@dataclass
class CoderReply:
    """One Coder answer: the code, or None with why not; `messages` is the conversation so far."""

    text: str
    code: str | None
    reason: str | None
    messages: list[dict[str, str]] = field(default_factory=list)


class Coder:
    def __init__(self, client: ChatClient):
        self.client = client

    async def ask(self, prompt: str) -> CoderReply:
        messages = [
            {"role": "system", "content": render("coder_system")},
            {"role": "user", "content": prompt},
        ]
        return await self._complete(messages)

    async def retry(self, previous: CoderReply) -> CoderReply:
        """Asks again in the same conversation, quoting why the previous reply was unusable."""
        messages = [
            *previous.messages,
            {"role": "assistant", "content": previous.text},
            {"role": "user", "content": render("reminder_code", reason=previous.reason or "")},
        ]
        return await self._complete(messages)

    async def _complete(self, messages: list[dict[str, str]]) -> CoderReply:
        reply = await self.client.complete(messages)
        try:
            return CoderReply(reply.text, extract_code(reply.text), None, messages)
        except MalformedReply as err:
            return CoderReply(reply.text, None, str(err), messages)
