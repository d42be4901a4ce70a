"""Slack acks at 200 concurrent requests against a real `mlpath serve --http` process on PostgreSQL (issue 27):
the installed console script in its own process, as deployed (`MLPATH_HTTP_THREADS`, `MLPATH_HTTP_CONNECTION_LIMIT`,
`MLPATH_ANSWER_THREADS` at their defaults), the local fake Slack, a throwaway PostgreSQL database
(`--postgres-url`). 200 signed `/mlpath ask`, all sent at once, then 200 `app_mention` events; ack p50/p99, then
every request must be answered exactly once. The client is one thread with a selector (see `burst`), so what is
measured is the server.
"""

from __future__ import annotations

import time
from collections import Counter
from typing import Any

from slack_sdk.signature import SignatureVerifier

from bench.common import Context, Row, med, ms, pct
from bench.slack_ack import ANSWER_TIMEOUT_S, SECRET, SETTLE_S, command_body, mention_body, thread_replies


def raw_request(port: int, body: str, content_type: str, secret: str = SECRET) -> bytes:
    """A whole signed HTTP/1.1 POST to /slack/events, ready to send (`Connection: close`: the answer ends at EOF)."""
    ts = str(int(time.time()))
    sig = SignatureVerifier(secret).generate_signature(timestamp=ts, body=body) or ""
    data = body.encode()
    head = (f"POST /slack/events HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nContent-Type: {content_type}\r\n"
            f"Content-Length: {len(data)}\r\nX-Slack-Request-Timestamp: {ts}\r\nX-Slack-Signature: {sig}\r\n"
            "Connection: close\r\n\r\n")
    return head.encode() + data


def burst(port: int, requests: list[bytes]) -> list[float]:
    """Sends every request at once and returns the milliseconds from each one's send to its whole response.

    One thread and a selector, not a thread per request: with hundreds of client threads in the benchmark's own
    process, their scheduling would be measured along with the server. Every connection is opened first (an idle
    connection costs the server nothing), then all requests go out within a few milliseconds."""
    import selectors
    import socket

    socks = [socket.create_connection(("127.0.0.1", port), timeout=60) for _ in requests]
    sent: dict[int, float] = {}
    done: dict[int, float] = {}
    statuses: dict[int, bytes] = {}
    sel = selectors.DefaultSelector()
    try:
        for i, (sock, request) in enumerate(zip(socks, requests, strict=True)):
            sock.sendall(request)
            sent[i] = time.perf_counter()
            sock.setblocking(False)
            sel.register(sock, selectors.EVENT_READ, i)
        deadline = time.monotonic() + 120
        while len(done) < len(requests):
            if time.monotonic() > deadline:
                raise RuntimeError(f"only {len(done)} of {len(requests)} requests were acknowledged in 120 s")
            for key, _ in sel.select(timeout=1.0):
                i = key.data
                chunk = key.fileobj.recv(65536)  # type: ignore[union-attr]
                if chunk:
                    statuses[i] = statuses.get(i, b"") + chunk
                    continue
                done[i] = time.perf_counter()
                sel.unregister(key.fileobj)
    finally:
        sel.close()
        for sock in socks:
            sock.close()
    bad = [i for i in range(len(requests)) if not statuses.get(i, b"").startswith(b"HTTP/1.1 200")]
    if bad:
        raise RuntimeError(f"{len(bad)} requests were not answered 200, e.g. {statuses.get(bad[0], b'')[:60]!r}")
    return [(done[i] - sent[i]) * 1000 for i in range(len(requests))]


def _process_run(ctx: Context, n: int, database_url: str) -> tuple[list[float], list[float], bool]:
    """n concurrent signed `/mlpath ask`, then n concurrent `app_mention` events, against a real
    `mlpath serve --http` process (the installed console script) on `database_url`, as deployed; every
    request must be answered exactly once."""
    from bench.memory import Server
    from mlpath.testing.fake_slack import FakeSlack
    from progress.db import upgrade

    upgrade(database_url)
    fake = FakeSlack()
    server = Server(ctx, fake.api_url, {"DATABASE_URL": database_url})
    try:
        server.wait_healthy()
        # warm-up: the first answers load the model in the server; not part of the figure
        warm = burst(server.port, [raw_request(server.port, mention_body(i, prefix="EvW"), "application/json")
                                   for i in range(5)])
        _wait_for(lambda: sum(thread_replies(fake).values()) >= len(warm))
        before = sum(thread_replies(fake).values())
        command_ms = burst(server.port, [raw_request(server.port, command_body(i, fake.response_url(f"c{i}")),
                                                     "application/x-www-form-urlencoded") for i in range(n)])
        event_ms = burst(server.port, [raw_request(server.port, mention_body(10_000 + i), "application/json")
                                       for i in range(n)])
        replies = lambda: [c for c in fake.calls if c.method.startswith("response/c")]  # noqa: E731
        _wait_for(lambda: len(replies()) >= n and sum(thread_replies(fake).values()) - before >= n)
        time.sleep(SETTLE_S)
        commands = Counter(c.method for c in fake.calls if c.method.startswith("response/c"))
        events = thread_replies(fake)
        exactly_once = (commands == Counter({f"response/c{i}": 1 for i in range(n)})
                        and all(events[f"{1700000000 + 10_000 + i}.000100"] == 1 for i in range(n)))
    finally:
        server.stop()
        fake.close()
    return command_ms, event_ms, exactly_once


def _wait_for(condition: Any) -> None:
    deadline = time.monotonic() + ANSWER_TIMEOUT_S
    while not condition():
        if time.monotonic() > deadline:
            raise RuntimeError("the answers did not all arrive")
        time.sleep(0.2)


def run(ctx: Context) -> list[Row]:
    n = 20 if ctx.quick else 200
    if not ctx.postgres_url:
        return [(f"Slack ack, {n} concurrent, `mlpath serve --http` on PostgreSQL", "not measured (no --postgres-url)")]
    from bench.scheduler import _database

    commands: list[tuple[float, float]] = []
    events: list[tuple[float, float]] = []
    all_once = True
    for _ in range(ctx.runs):
        with _database("postgresql", ctx.postgres_url) as url:
            assert url is not None
            command_ms, event_ms, exactly_once = _process_run(ctx, n, url)
        commands.append((pct(command_ms, .5), pct(command_ms, .99)))
        events.append((pct(event_ms, .5), pct(event_ms, .99)))
        all_once = all_once and exactly_once
    return [
        (f"Slack ack, {n} concurrent signed `/mlpath ask`, `mlpath serve --http` process on PostgreSQL, p50 / p99",
         f"{ms(med([c[0] for c in commands]))} / {ms(med([c[1] for c in commands]))}"),
        (f"Slack ack, {n} concurrent signed `app_mention` events, same process, p50 / p99",
         f"{ms(med([e[0] for e in events]))} / {ms(med([e[1] for e in events]))}"),
        (f"every one of those {2 * n * ctx.runs} requests answered exactly once", "yes" if all_once else "**NO**"),
    ]
