"""`GET /healthz` and `GET /metrics`: one WSGI implementation for every process.

The HTTP bot mounts it in front of Slack's endpoint (`with_ops`); a process without an HTTP server of its own
(the scheduler, a Socket Mode bot) serves it alone on METRICS_PORT (`serve_ops`, waitress in a thread).
"""

from __future__ import annotations

import json
import logging
import threading
from collections.abc import Callable, Iterable
from typing import Any

from mlpath import metrics

log = logging.getLogger("mlpath.metrics")

HealthCheck = Callable[[], tuple[bool, dict[str, Any]]]
WSGIApp = Callable[[dict[str, Any], Callable[..., Any]], Iterable[bytes]]
OPS_PATHS = ("/healthz", "/metrics")


def _send(start_response: Callable[..., Any], method: str, status: str, body: bytes,
          content_type: str) -> Iterable[bytes]:
    start_response(status, [("Content-Type", content_type), ("Content-Length", str(len(body)))])
    return [] if method == "HEAD" else [body]


def ops_app(health: HealthCheck | None, fallback: WSGIApp | None = None) -> WSGIApp:
    """GET/HEAD /healthz (200 only when `health` says ready, else 503; 404 without a check) and /metrics;
    every other request goes to `fallback` (Slack's handler in the HTTP bot), or 404."""

    def application(environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        path, method = environ.get("PATH_INFO", ""), environ.get("REQUEST_METHOD", "")
        if path in OPS_PATHS and method in ("GET", "HEAD"):
            if path == "/metrics":
                data, content_type = metrics.render()
                return _send(start_response, method, "200 OK", data, content_type)
            if health is not None:
                ok, report = health()
                return _send(start_response, method, "200 OK" if ok else "503 Service Unavailable",
                             json.dumps(report).encode(), "application/json")
        if fallback is not None:
            return fallback(environ, start_response)
        return _send(start_response, method, "404 Not Found", b'{"error": "not found"}', "application/json")

    return application


class OpsServer:
    """`ops_app` served by waitress in a daemon thread (for processes with no HTTP server of their own)."""

    def __init__(self, port: int, *, host: str = "0.0.0.0", health: HealthCheck | None = None) -> None:
        import waitress

        self.server: Any = waitress.create_server(ops_app(health), host=host, port=port, threads=2,
                                                  ident="mlpath-ops")
        self.port = int(self.server.effective_port)
        self._thread = threading.Thread(target=self._run, name="mlpath-ops", daemon=True)

    def _run(self) -> None:
        try:
            self.server.run()
        except OSError:  # waitress's loop notices the closed socket at shutdown
            pass

    def start(self) -> OpsServer:
        self._thread.start()
        log.info("metrics on :%d/metrics", self.port)
        return self

    def close(self) -> None:
        self.server.close()


def serve_ops(port: int, *, host: str = "0.0.0.0", health: HealthCheck | None = None) -> OpsServer:
    """Start serving /metrics (and /healthz) on `port` in a daemon thread; port 0 picks a free one.

    A port already in use is the operator's to fix: one clear line, exit 2."""
    from errors import UserError

    try:
        return OpsServer(port, host=host, health=health).start()
    except OSError as exc:
        raise UserError(f"METRICS_PORT={port}: cannot listen there ({exc.strerror or exc})") from None


def serve_ops_from_settings(settings: Any, *, db: Any = None, store: Any = None) -> OpsServer | None:
    """For long-running processes without an HTTP server (the scheduler, a Socket Mode bot): serve /metrics
    and /healthz (ready when `db` and `store`, those given, answer) on METRICS_PORT; nothing when unset."""
    if not settings.metrics_port:
        return None
    from mlpath import health

    return serve_ops(settings.metrics_port, health=lambda: health.check(store=store, db=db))
