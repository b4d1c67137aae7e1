"""A real HTTP server on 127.0.0.1 speaking the OpenAI chat-completions protocol, with scripted
replies per model and every request captured. The real `openai` client talks to it.

    server.script("coder-m", ["```python\\n...\\n```", Reply(status=429), Reply(hang_s=3), ...])

Like llama.cpp, it honours `max_tokens` (the reply is cut to that many words, finish_reason
'length') and ignores `max_completion_tokens`. An error Reply may carry the server's error `code`
(e.g. 'context_length_exceeded'). `context_tokens`, when set, is published where vLLM
(/v1/models max_model_len) and llama.cpp (/props n_ctx) publish the context size.

Usage figures are deterministic so cost tests can recompute them: prompt_tokens is the number of
whitespace-separated words in all message contents, completion_tokens the words of the reply.

Test folders import it as `from tests.support.openai_server import ScriptedServer, running_server`.
"""

from __future__ import annotations

import json
import threading
import time
from collections import defaultdict, deque
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


@dataclass
class Reply:
    """One scripted answer: text with HTTP 200, or an error status, or a hang before answering."""

    text: str = ""
    status: int = 200
    hang_s: float = 0.0
    usage: tuple[int, int] | None = None
    headers: dict[str, str] = field(default_factory=dict)
    code: str | None = None


@dataclass
class Captured:
    model: str
    messages: list[dict[str, str]]
    body: dict[str, Any]
    authorization: str
    status: int = 0

    @property
    def last_user(self) -> str:
        users = [m["content"] for m in self.messages if m.get("role") == "user"]
        return users[-1] if users else ""


def count_words(text: str) -> int:
    return len(text.split())


class ScriptedServer:
    def __init__(self) -> None:
        self._queues: dict[str, deque[Reply]] = defaultdict(deque)
        self._then: dict[str, Reply] = {}
        self._lock = threading.Lock()
        self.requests: list[Captured] = []
        self.in_flight = 0
        self.max_in_flight = 0
        self.context_tokens: int | None = None
        self._httpd = ThreadingHTTPServer(("127.0.0.1", 0), _handler_for(self))
        self._httpd.daemon_threads = True
        self._thread = threading.Thread(target=self._httpd.serve_forever, daemon=True)

    @property
    def base_url(self) -> str:
        host, port = self._httpd.server_address[:2]
        return f"http://{host!s}:{port}/v1"

    def script(self, model: str, replies: Sequence[str | Reply], then: str | Reply | None = None) -> None:
        """Queues replies for `model`; once used up, `then` is answered forever (else HTTP 400)."""
        with self._lock:
            self._queues[model].extend(r if isinstance(r, Reply) else Reply(text=r) for r in replies)
            if then is not None:
                self._then[model] = then if isinstance(then, Reply) else Reply(text=then)

    def requests_for(self, model: str) -> list[Captured]:
        with self._lock:
            return [r for r in self.requests if r.model == model]

    def next_reply(self, model: str) -> Reply:
        with self._lock:
            if self._queues[model]:
                return self._queues[model].popleft()
            if model in self._then:
                return self._then[model]
        return Reply(status=400, text=f"script exhausted for model {model}")

    def start(self) -> ScriptedServer:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._httpd.shutdown()
        self._httpd.server_close()


@contextmanager
def running_server() -> Iterator[ScriptedServer]:
    server = ScriptedServer().start()
    try:
        yield server
    finally:
        server.stop()


def _completion(model: str, text: str, usage: tuple[int, int], finish_reason: str = "stop") -> dict[str, Any]:
    return {
        "id": f"chatcmpl-{time.monotonic_ns()}",
        "object": "chat.completion",
        "created": int(time.time()),
        "model": model,
        "choices": [
            {"index": 0, "message": {"role": "assistant", "content": text}, "finish_reason": finish_reason}
        ],
        "usage": {"prompt_tokens": usage[0], "completion_tokens": usage[1], "total_tokens": sum(usage)},
    }


def _handler_for(server: ScriptedServer) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, format: str, *args: Any) -> None:  # keep pytest output clean
            pass

        def do_GET(self) -> None:
            path = self.path.rstrip("/")
            ctx = server.context_tokens
            if path == "/v1/models":
                with server._lock:
                    models = sorted({r.model for r in server.requests} | set(server._queues))
                entries = [
                    {"id": m, "object": "model"} | ({"max_model_len": ctx} if ctx else {}) for m in models
                ]
                self._send(200, {"object": "list", "data": entries})
            elif path == "/props" and ctx:
                self._send(200, {"default_generation_settings": {"n_ctx": ctx}})
            else:
                self._send(404, {"error": {"message": f"no route {self.path}", "type": "not_found"}})

        def do_POST(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            body = json.loads(self.rfile.read(length) or b"{}")
            if self.path.rstrip("/") != "/v1/chat/completions":
                self._send(404, {"error": {"message": f"no route {self.path}", "type": "not_found"}})
                return
            model = str(body.get("model", ""))
            messages = body.get("messages", [])
            captured = Captured(model, messages, body, self.headers.get("Authorization", ""))
            with server._lock:
                server.requests.append(captured)
                server.in_flight += 1
                server.max_in_flight = max(server.max_in_flight, server.in_flight)
            try:
                self._answer(model, messages, captured)
            finally:
                with server._lock:
                    server.in_flight -= 1

        def _answer(self, model: str, messages: list[dict[str, Any]], captured: Captured) -> None:
            reply = server.next_reply(model)
            captured.status = reply.status
            if reply.hang_s:
                time.sleep(reply.hang_s)
            if reply.status != 200:
                err: dict[str, Any] = {
                    "message": reply.text or f"scripted {reply.status}",
                    "type": "scripted",
                }
                if reply.code:
                    err["code"] = reply.code
                self._send(reply.status, {"error": err}, reply.headers)
                return
            text, finish = reply.text, "stop"
            cap = captured.body.get("max_tokens")  # max_completion_tokens is ignored, as llama.cpp does
            if isinstance(cap, int) and count_words(text) > cap:
                text, finish = " ".join(text.split()[:cap]), "length"
            prompt_words = sum(count_words(str(m.get("content", ""))) for m in messages)
            usage = reply.usage or (prompt_words, count_words(text))
            self._send(200, _completion(model, text, usage, finish), reply.headers)

        def _send(self, status: int, payload: dict[str, Any], headers: dict[str, str] | None = None) -> None:
            data = json.dumps(payload).encode()
            try:
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                for k, v in (headers or {}).items():
                    self.send_header(k, v)
                self.end_headers()
                self.wfile.write(data)
            except (BrokenPipeError, ConnectionResetError):  # the client gave up (timeout test)
                pass

    return Handler
