"""A local fake of the Slack Web API (and of response_url) for tests: a stdlib HTTP server on 127.0.0.1
that records every call and can answer with 429s or errors. No real Slack anywhere."""

from __future__ import annotations

import json
import threading
import time
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs


@dataclass
class Call:
    method: str
    params: dict[str, Any]
    headers: dict[str, str]
    status: int


class FakeSlack:
    def __init__(self) -> None:
        self.calls: list[Call] = []
        self.replies: dict[str, dict[str, Any]] = {
            "auth.test": {"ok": True, "user_id": "UBOT", "bot_id": "BBOT", "team_id": "T1", "user": "mlpath"},
        }
        self.forced: dict[str, list[tuple[int, dict[str, str], dict[str, Any]]]] = {}
        self.threads: dict[str, list[dict[str, Any]]] = {}
        # reminders: per-user time zones for users.info, per-user errors for DMs, the messages posted per
        # channel (for conversations.history) and a delay that holds chat.postMessage *after* recording it
        self.users: dict[str, dict[str, Any]] = {}
        self.user_errors: dict[str, str] = {}
        self.history: dict[str, list[dict[str, Any]]] = {}
        self.post_delay = 0.0
        # files_upload_v2: the bytes uploaded per file id, and the completed uploads (what a channel shows)
        self.uploads: dict[str, bytes] = {}
        self.files: list[dict[str, Any]] = []
        self._file_ids = 0
        self._alt: dict[str, str] = {}
        self.streaming = True
        """False: the workspace refuses chat.startStream (the bot then posts once and updates)."""
        self._lock = threading.Lock()
        self._ts = 1700000000.0
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: Any) -> None:
                pass

            def do_POST(self) -> None:  # noqa: N802
                body_bytes = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                if self.path.startswith("/upload/"):  # files_upload_v2's step 2: the raw bytes
                    with fake._lock:
                        fake.uploads[self.path.removeprefix("/upload/")] = body_bytes
                        fake.calls.append(Call("upload", {"file_id": self.path.removeprefix("/upload/"),
                                                          "length": len(body_bytes)}, dict(self.headers), 200))
                    self.send_response(200)
                    self.send_header("Content-Type", "text/plain")
                    self.send_header("Content-Length", "2")
                    self.end_headers()
                    self.wfile.write(b"OK")
                    return
                raw = body_bytes.decode()
                if "json" in (self.headers.get("Content-Type") or ""):
                    params = json.loads(raw or "{}")
                else:
                    params = {k: v[0] for k, v in parse_qs(raw).items()}
                for key in ("blocks", "prompts", "metadata", "files"):
                    if isinstance(params.get(key), str):
                        params[key] = json.loads(params[key])
                method = self.path.removeprefix("/api/").strip("/")
                status, headers, body = fake.respond(method, params)
                with fake._lock:
                    fake.calls.append(Call(method, params, dict(self.headers), status))
                if method == "chat.postMessage" and fake.post_delay:
                    time.sleep(fake.post_delay)
                data = json.dumps(body).encode()
                self.send_response(status)
                for k, v in headers.items():
                    self.send_header(k, v)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.port = self.server.server_address[1]
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    @property
    def api_url(self) -> str:
        return f"http://127.0.0.1:{self.port}/api/"

    def response_url(self, name: str) -> str:
        return f"http://127.0.0.1:{self.port}/response/{name}"

    def respond(self, method: str, params: dict[str, Any]) -> tuple[int, dict[str, str], dict[str, Any]]:
        with self._lock:
            queue = self.forced.get(method)
            if queue:
                return queue.pop(0)
            self._ts = max(self._ts + 0.000001, time.time())  # like Slack: unique, increasing, real time
            ts = f"{self._ts:.6f}"
        if method in self.replies:
            return 200, {}, self.replies[method]
        if method == "conversations.replies":
            return 200, {}, {"ok": True, "messages": self.threads.get(params.get("ts", ""), [])}
        if method == "chat.postMessage":
            channel = str(params.get("channel") or "")
            if channel in self.user_errors:
                return 200, {}, {"ok": False, "error": self.user_errors[channel]}
            if channel[:1] in ("U", "W"):  # a DM to a user lands in the bot's IM channel with them
                channel = "D" + channel
            message = {"type": "message", "ts": ts, "user": "UBOT", "text": params.get("text", "")}
            if params.get("metadata"):
                message["metadata"] = params["metadata"]
            with self._lock:
                self.history.setdefault(channel, []).insert(0, message)
            return 200, {}, {"ok": True, "channel": channel, "ts": ts, "message": message}
        if method == "conversations.open":
            users = str(params.get("users", ""))
            if "," in users:  # a group DM (mpim) of the bot and these users
                return 200, {}, {"ok": True, "channel": {"id": "G" + users.replace(",", "")}}
            return 200, {}, {"ok": True, "channel": {"id": "D" + users}}
        if method == "files.getUploadURLExternal":
            with self._lock:
                self._file_ids += 1
                file_id = f"F{self._file_ids:08d}"
                self._alt[file_id] = str(params.get("alt_txt") or "")
            return 200, {}, {"ok": True, "file_id": file_id,
                             "upload_url": f"http://127.0.0.1:{self.port}/upload/{file_id}"}
        if method == "files.completeUploadExternal":
            done = []
            with self._lock:
                for f in params.get("files") or []:
                    uploaded = {"id": f.get("id"), "title": f.get("title"), "channel": params.get("channel_id"),
                                "content": self.uploads.get(str(f.get("id")), b""),
                                "alt": self._alt.get(str(f.get("id")), "")}
                    self.files.append(uploaded)
                    done.append({"id": f.get("id"), "title": f.get("title")})
            return 200, {}, {"ok": True, "files": done}
        if method == "conversations.history":
            oldest = float(params.get("oldest") or 0)
            with self._lock:
                messages = [m for m in self.history.get(str(params.get("channel")), []) if float(m["ts"]) > oldest]
            if str(params.get("include_all_metadata")).lower() not in ("1", "true"):
                messages = [{k: v for k, v in m.items() if k != "metadata"} for m in messages]
            return 200, {}, {"ok": True, "messages": messages, "has_more": False}
        if method == "users.info":
            user = str(params.get("user", ""))
            if user in self.users:
                return 200, {}, {"ok": True, "user": {"id": user, **self.users[user]}}
            return 200, {}, {"ok": True, "channel": params.get("channel"), "ts": ts}
        # chat streaming (slack_sdk chat_stream): start → append* → stop
        if method == "chat.startStream":
            if not self.streaming:
                return 200, {}, {"ok": False, "error": "feature_not_enabled"}
            return 200, {}, {"ok": True, "channel": params.get("channel"), "ts": ts}
        if method in ("chat.appendStream", "chat.stopStream", "chat.update"):
            return 200, {}, {"ok": True, "channel": params.get("channel"), "ts": params.get("ts")}
        return 200, {}, {"ok": True}

    def force(self, method: str, status: int, body: dict[str, Any], headers: dict[str, str] | None = None) -> None:
        self.forced.setdefault(method, []).append((status, headers or {}, body))

    def dms(self, user: str | None = None, *, checkins: bool = False) -> list[Call]:
        """Successful chat.postMessage calls to users (reminder DMs), optionally to one user; with `checkins`,
        the weekly check-in DMs instead (which a scheduler also sends)."""
        return [c for c in self.calls_to("chat.postMessage") if c.status == 200
                and str(c.params.get("channel", ""))[:1] in ("U", "W")
                and str(c.params.get("channel")) not in self.user_errors
                and (user is None or c.params.get("channel") == user)
                and ((c.params.get("metadata") or {}).get("event_type") == "mlpath_checkin") == checkins]

    def calls_to(self, method: str) -> list[Call]:
        with self._lock:
            return [c for c in self.calls if c.method == method]

    def wait_for(self, method: str, count: int = 1, timeout: float = 60.0) -> list[Call]:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            found = self.calls_to(method)
            if len(found) >= count:
                return found
            time.sleep(0.05)
        raise AssertionError(f"expected {count} call(s) to {method}, got {len(self.calls_to(method))}: "
                             f"{[c.method for c in self.calls]}")

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()
