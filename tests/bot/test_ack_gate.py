"""Acks before answers (bot/http.py `AckGate`): work after the ack starts once no request is being acknowledged,
or after the gate's longest wait; the HTTP edge counts each Slack request while it is acknowledged."""

from __future__ import annotations

import io
import threading
import time

from bot.http import AckGate, acked_first


def _held(gate: AckGate, seen: list[int]) -> threading.Thread:
    """A job as the lazy runner starts it: it waits at the gate, then notes how many acks were in flight."""
    worker = threading.Thread(target=lambda: (gate.wait(), seen.append(gate.acking)), daemon=True)
    worker.start()
    deadline = time.monotonic() + 30
    while gate.waiting == 0 and worker.is_alive():
        assert time.monotonic() < deadline, "the job never reached the gate"
        time.sleep(0.001)
    return worker


def test_a_job_waits_for_the_ack_in_flight_then_starts():
    gate = AckGate(quiet_s=0.0, max_wait_s=600)
    seen: list[int] = []
    with gate.ack():
        worker = _held(gate, seen)
        assert worker.is_alive() and seen == [] and gate.waiting == 1  # held while the ack is in flight
    worker.join(timeout=30)
    assert not worker.is_alive() and seen == [0] and gate.waiting == 0


def test_with_no_ack_in_flight_a_job_starts_at_once():
    gate = AckGate(quiet_s=0.0, max_wait_s=600)
    seen: list[int] = []
    worker = threading.Thread(target=lambda: (gate.wait(), seen.append(gate.acking)))
    worker.start()
    worker.join(timeout=30)
    assert seen == [0]


def test_under_a_steady_stream_no_job_waits_longer_than_the_longest_wait():
    gate = AckGate(quiet_s=0.0, max_wait_s=0.05)
    seen: list[int] = []
    with gate.ack():  # an ack that never ends: the job goes ahead anyway
        worker = threading.Thread(target=lambda: (gate.wait(), seen.append(gate.acking)))
        worker.start()
        worker.join(timeout=30)
        assert seen == [1]


def test_after_the_last_ack_a_job_waits_the_quiet_period_on_the_gates_clock():
    now = [100.0]
    gate = AckGate(quiet_s=0.5, max_wait_s=600, clock=lambda: now[0])
    with gate.ack():
        pass
    seen: list[int] = []
    worker = _held(gate, seen)  # the clock stands still: still within the quiet period
    now[0] = 100.5
    with gate.ack():  # any change wakes the job; it checks the clock again: the quiet period starts over
        pass
    assert worker.is_alive() and seen == []
    now[0] = 101.1
    with gate._changed:
        gate._changed.notify_all()
    worker.join(timeout=30)
    assert seen == [0]


def test_the_http_edge_counts_slack_posts_while_they_are_acknowledged():
    gate = AckGate()
    during: list[int] = []

    def inner(environ, start_response):
        during.append(gate.acking)
        start_response("200 OK", [])
        return [b"ok"]

    app = acked_first(inner, gate)
    post = {"PATH_INFO": "/slack/events", "REQUEST_METHOD": "POST", "wsgi.input": io.BytesIO(b"")}
    assert app(post, lambda *a: None) == [b"ok"]
    assert app({"PATH_INFO": "/healthz", "REQUEST_METHOD": "GET"}, lambda *a: None) == [b"ok"]
    assert during == [1, 0] and gate.acking == 0
