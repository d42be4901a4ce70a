"""Prometheus metrics of every mlpath process, in one registry of its own.

Served at `GET /metrics` by mlpath/ops.py (the HTTP bot's server, or METRICS_PORT for the scheduler and a
Socket Mode bot).
Each process counts its own work: Prometheus scrapes every replica and sums (`sum by (kind) (...)`).

The registry is private (not prometheus_client's global one), so importing a library that registers its own
collectors never mixes them into ours, and tests can read exact values with `value(...)`.
Label values are always from small fixed sets (never a user id or a question), so cardinality stays bounded.
"""

from __future__ import annotations

import logging
from typing import Any

from prometheus_client import CollectorRegistry, Counter, Histogram, generate_latest
from prometheus_client.exposition import CONTENT_TYPE_LATEST

log = logging.getLogger("mlpath.metrics")

REGISTRY = CollectorRegistry(auto_describe=True)

# Seconds. Slack wants an ack within 3 s; answers take 0.1-1 s extractive, several seconds with an LLM.
ACK_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.0, 3.0, 5.0)
ANSWER_BUCKETS = (0.05, 0.1, 0.25, 0.5, 1.0, 2.0, 4.0, 8.0, 15.0, 30.0, 60.0)

REQUESTS = Counter(
    "mlpath_slack_requests", "Requests from Slack by kind (event type, `command`, or interaction type).",
    ["kind"], registry=REGISTRY)
DUPLICATES = Counter(
    "mlpath_slack_duplicate_events", "Redelivered Slack events dropped: `process` (seen here) or `database` "
    "(another replica claimed it).", ["where"], registry=REGISTRY)
ACK_SECONDS = Histogram(
    "mlpath_slack_ack_seconds", "Time from receiving a Slack request to its acknowledgement.", ["kind"],
    buckets=ACK_BUCKETS, registry=REGISTRY)
ANSWER_SECONDS = Histogram(
    "mlpath_answer_seconds", "Time to answer a member's question (retrieval + answerer), by surface.",
    ["surface"], buckets=ANSWER_BUCKETS, registry=REGISTRY)
ANSWERS = Counter(
    "mlpath_answers", "Questions answered, by surface and outcome (`grounded` or `refused`).",
    ["surface", "outcome"], registry=REGISTRY)
REFUSALS = Counter(
    "mlpath_refusals", "Questions the learning path does not cover (the mentor said so), by surface.",
    ["surface"], registry=REGISTRY)
FEEDBACK = Counter(
    "mlpath_feedback", "👍/👎 clicks on answers (`up` / `down`).", ["vote"], registry=REGISTRY)
QUIZ_ANSWERS = Counter(
    "mlpath_quiz_answers", "Quiz answer clicks: `correct`, `wrong`, or a refused click "
    "(`duplicate`, `not_yours`, `unknown`).", ["result"], registry=REGISTRY)
NUDGES_SENT = Counter(
    "mlpath_nudges_sent", "Reminder DMs sent by the scheduler (`kind`: daily, weekly, leaderboard, …).",
    ["kind"], registry=REGISTRY)
NUDGES_FAILED = Counter(
    "mlpath_nudges_failed", "Reminder DMs that could not be sent, by Slack's error (e.g. account_inactive).",
    ["kind", "error"], registry=REGISTRY)
SCHEDULER_TICKS = Counter(
    "mlpath_scheduler_ticks", "Checks done by a long-running scheduler (`mlpath scheduler`).", registry=REGISTRY)
LISTENER_RUNS = Counter(
    "mlpath_listener_runs", "Work done after a Slack acknowledgement, by listener (counted when it ends, also "
    "when it fails).", ["listener"], registry=REGISTRY)
LLM_TOKENS = Counter(
    "mlpath_llm_tokens", "Tokens used by LLM answerers, by model and direction (`prompt` / `completion`).",
    ["model", "direction"], registry=REGISTRY)


def slack_request_kind(body: dict[str, Any]) -> str:
    """A short, bounded label for a Bolt request body."""
    if body.get("command"):
        return "command"
    if body.get("type") == "event_callback":
        event_type = str((body.get("event") or {}).get("type") or "unknown")
        return event_type[:40]
    return str(body.get("type") or "other")[:40]


def record_llm_tokens(model: str, *, prompt: int | None, completion: int | None) -> None:
    """For LLM answerers: count the tokens a call used (either may be unknown)."""
    if prompt:
        LLM_TOKENS.labels(model=model, direction="prompt").inc(prompt)
    if completion:
        LLM_TOKENS.labels(model=model, direction="completion").inc(completion)


def render() -> tuple[bytes, str]:
    """The Prometheus text exposition of REGISTRY and its content type."""
    return generate_latest(REGISTRY), CONTENT_TYPE_LATEST


def value(name: str, **labels: str) -> float:
    """The current value of a sample (0 when it has not been recorded yet), e.g.
    `value("mlpath_refusals_total", surface="dm")`. For tests and the stats command."""
    got = REGISTRY.get_sample_value(name, labels)
    return float(got or 0.0)


def record_answer(surface: str, *, grounded: bool, seconds: float) -> None:
    """One answered question: its latency, and whether the mentor answered or refused."""
    ANSWER_SECONDS.labels(surface=surface).observe(seconds)
    ANSWERS.labels(surface=surface, outcome="grounded" if grounded else "refused").inc()
    if not grounded:
        REFUSALS.labels(surface=surface).inc()


def observe_delivery(kind: str, status: str, error: str | None) -> None:
    """The scheduler's delivery observer (progress.scheduler.DeliveryObserver): a sent or failed DM/post."""
    if status == "sent":
        NUDGES_SENT.labels(kind=kind).inc()
    else:
        NUDGES_FAILED.labels(kind=kind, error=error or status).inc()
