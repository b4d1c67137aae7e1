"""Reading LLM replies without ever crashing the loop: code from fenced blocks, JSON from a fence or
the first balanced object. Each failure is a MalformedReply carrying one sentence for the record.
The code then becomes a Candidate through `candidate_from_code`."""

from __future__ import annotations

import json
import re
from typing import Any

from kernelwright.contracts import Candidate
from kernelwright.sandbox.build.candidate_source import detect_build

_FENCE = re.compile(r"^[ \t]*(`{3,}|~{3,})[ \t]*([\w+.#-]*)[^\n]*\n(.*?)^[ \t]*\1[ \t]*$", re.M | re.S)
_PY_TAGS = {"python", "py", "python3"}


class MalformedReply(Exception):
    """A reply that does not have the shape the prompt asked for; `str()` says what was wrong."""


def fenced_blocks(text: str) -> list[tuple[str, str]]:
    """(language tag in lower case, body) of every complete fenced block, in order."""
    return [(m.group(2).lower(), m.group(3)) for m in _FENCE.finditer(text)]


def extract_code(text: str) -> str:
    """The candidate's Python source: the longest python-tagged block, else the longest block that
    defines ModelNew, else the longest block of any tag."""
    blocks = fenced_blocks(text)
    if not blocks:
        if "```" in text:
            raise MalformedReply("The reply opens a code fence but never closes it (truncated reply?).")
        raise MalformedReply("The reply has no fenced code block.")
    python = [body for tag, body in blocks if tag in _PY_TAGS]
    with_model = [body for _, body in blocks if "class ModelNew" in body]
    pool = python or with_model or [body for _, body in blocks]
    code = max(pool, key=len).strip("\n")
    if "ModelNew" not in code:
        raise MalformedReply("The reply's code block does not define class ModelNew.")
    return code + "\n"


def candidate_from_code(code: str, origin: str) -> Candidate:
    """Written or stored code as a Candidate, its build path read statically; unparsable code is a
    'native' candidate, whose syntax error the sandbox then reports as a compile error."""
    try:
        build = detect_build(code)
    except Exception:  # a syntax error, or code nested too deep for ast: the sandbox says which
        build = "native"
    return Candidate(source=code, build=build, origin=origin)


def extract_json(text: str) -> dict[str, Any]:
    """The first JSON object in a ```json fence, any fence, or else the first balanced {...} span."""
    blocks = fenced_blocks(text)
    tagged = [body for tag, body in blocks if tag == "json"]
    others = [body for tag, body in blocks if tag != "json"]
    for body in [*tagged, *others, text]:
        obj = _first_object(body)
        if obj is not None:
            return obj
    raise MalformedReply("The reply contains no valid JSON object.")


def _first_object(text: str) -> dict[str, Any] | None:
    """Scans for balanced braces, ignoring braces inside JSON strings; returns the first that parses."""
    start = text.find("{")
    while start != -1:
        end = _balanced_end(text, start)
        if end is None:
            return None
        try:
            obj = json.loads(text[start : end + 1])
        except json.JSONDecodeError:
            obj = None
        if isinstance(obj, dict):
            return obj
        start = text.find("{", start + 1)
    return None


def _balanced_end(text: str, start: int) -> int | None:
    depth = 0
    in_string = False
    escaped = False
    for i in range(start, len(text)):
        ch = text[i]
        if in_string:
            if escaped:
                escaped = False
            elif ch == "\\":
                escaped = True
            elif ch == '"':
                in_string = False
        elif ch == '"':
            in_string = True
        elif ch == "{":
            depth += 1
        elif ch == "}":
            depth -= 1
            if depth == 0:
                return i
    return None


def require_fields(obj: dict[str, Any], fields: tuple[str, ...]) -> dict[str, Any]:
    """Raises MalformedReply naming the first missing field."""
    missing = [f for f in fields if f not in obj]
    if missing:
        raise MalformedReply(f"The reply's JSON lacks the field(s) {', '.join(missing)}.")
    return obj
