"""A local OpenAI-compatible chat completions server for tests (stdlib http.server on 127.0.0.1).

The real langchain `ChatOpenAI` client talks to it through `base_url`. It records every request and plays
scripted behaviours: a normal JSON reply, an SSE stream (`stream: true`, with a usage chunk when
`stream_options.include_usage` asks for one), HTTP errors, and replies slower than the client's timeout
(before the first byte, or stalling halfway through a stream). No network anywhere.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


@dataclass
class Behaviour:
    text: str | Callable[[dict[str, Any]], str] = "OK [1]"
    status: int = 200
    delay: float = 0.0
    """Seconds before the response starts."""
    stall_after: int | None = None
    """Streams only: after this many pieces, stall for `stall` seconds."""
    stall: float = 0.0
    prompt_tokens: int = 321
    completion_tokens: int = 42
    piece: int = 7
    """Characters per streamed piece."""


class FakeOpenAI:
    def __init__(self) -> None:
        self.requests: list[dict[str, Any]] = []
        self.headers: list[dict[str, str]] = []
        self.default = Behaviour()
        self.queue: list[Behaviour] = []
        self._lock = threading.Lock()
        self._closing = threading.Event()
        fake = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args: Any) -> None:
                pass

            def do_POST(self) -> None:  # noqa: N802
                body = json.loads(self.rfile.read(int(self.headers.get("Content-Length") or 0)) or b"{}")
                with fake._lock:
                    fake.requests.append(body)
                    fake.headers.append(dict(self.headers))
                    how = fake.queue.pop(0) if fake.queue else fake.default
                if not self.path.endswith("/chat/completions"):
                    return self._json(404, {"error": {"message": f"no route {self.path}", "type": "not_found"}})
                if fake._closing.wait(how.delay):
                    return
                if how.status != 200:
                    return self._json(how.status, {"error": {"message": "the fake model is down",
                                                             "type": "server_error", "code": None}})
                text = how.text(body) if callable(how.text) else how.text
                usage = {"prompt_tokens": how.prompt_tokens, "completion_tokens": how.completion_tokens,
                         "total_tokens": how.prompt_tokens + how.completion_tokens}
                base = {"id": "chatcmpl-fake", "created": int(time.time()), "model": body.get("model", "fake")}
                if not body.get("stream"):
                    return self._json(200, {**base, "object": "chat.completion", "usage": usage, "choices": [
                        {"index": 0, "finish_reason": "stop", "message": {"role": "assistant", "content": text}}]})
                try:
                    self.send_response(200)
                    self.send_header("Content-Type", "text/event-stream")
                    self.send_header("Cache-Control", "no-cache")
                    self.send_header("Connection", "close")
                    self.end_headers()
                    pieces = [text[i:i + how.piece] for i in range(0, len(text), how.piece)]
                    for n, piece in enumerate(pieces):
                        if how.stall_after is not None and n == how.stall_after and fake._closing.wait(how.stall):
                            return
                        delta = {"role": "assistant", "content": piece} if n == 0 else {"content": piece}
                        self._event({**base, "object": "chat.completion.chunk",
                                     "choices": [{"index": 0, "delta": delta, "finish_reason": None}]})
                    self._event({**base, "object": "chat.completion.chunk",
                                 "choices": [{"index": 0, "delta": {}, "finish_reason": "stop"}]})
                    if (body.get("stream_options") or {}).get("include_usage"):
                        self._event({**base, "object": "chat.completion.chunk", "choices": [], "usage": usage})
                    self.wfile.write(b"data: [DONE]\n\n")
                    self.wfile.flush()
                    self.close_connection = True
                except (BrokenPipeError, ConnectionResetError):
                    return

            def _event(self, data: dict[str, Any]) -> None:
                self.wfile.write(b"data: " + json.dumps(data).encode() + b"\n\n")
                self.wfile.flush()

            def _json(self, status: int, data: dict[str, Any]) -> None:
                raw = json.dumps(data).encode()
                try:
                    self.send_response(status)
                    self.send_header("Content-Type", "application/json")
                    self.send_header("Content-Length", str(len(raw)))
                    self.end_headers()
                    self.wfile.write(raw)
                except (BrokenPipeError, ConnectionResetError):
                    pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/v1"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def then(self, **kw: Any) -> FakeOpenAI:
        """Queue one behaviour for the next request (later requests use `default`)."""
        self.queue.append(Behaviour(**kw))
        return self

    def close(self) -> None:
        self._closing.set()
        self.server.shutdown()
        self.server.server_close()
