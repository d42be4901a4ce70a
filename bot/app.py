"""Wiring only: settings → WebClient → Bolt App → listeners; HTTP (WSGI + waitress) or Socket Mode.

HTTP mode serves Bolt at /slack/events (events, slash commands, interactivity; Bolt verifies every
signature and rejects stale timestamps with 401) and GET /healthz. Bolt's own `app.start()` is a
single-threaded development server, so production HTTP goes through Bolt's WSGI adapter and waitress.
"""

from __future__ import annotations

import logging
import os
import re
import socket
import time
from collections.abc import Callable, Iterable
from typing import Any

from slack_bolt import App, BoltContext, BoltResponse
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError
from slack_sdk.http_retry.builtin_handlers import ConnectionErrorRetryHandler, RateLimitErrorRetryHandler

from bot.guards import Deduper, SharedDeduper, clean_inputs, drop_replays
from bot.http import MAX_BODY_BYTES, guarded
from bot.listeners import actions, assistant, commands, events
from bot.services import BotServices
from errors import UserError
from knowledge.mentor import Mentor
from mlpath import health, metrics, ops
from mlpath.app import Application
from mlpath.logs import bolt_logger, redact
from mlpath.settings import Settings, secret
from progress.db import Database

log = logging.getLogger("mlpath.bot")

_BOT_TOKEN = re.compile(r"^xoxb-[A-Za-z0-9-]+$")
_APP_TOKEN = re.compile(r"^xapp-[A-Za-z0-9-]+$")
_SECRET = re.compile(r"^[0-9a-f]{32}$")


def check_slack_settings(settings: Settings, *, http: bool | None) -> None:
    """Missing or malformed tokens: one line naming the variable (never its value). `http=None`: only the
    bot token is needed (the scheduler sends through the Web API and receives nothing)."""
    bot_token = secret(settings.slack_bot_token)
    if not bot_token:
        raise UserError("SLACK_BOT_TOKEN is not set (the bot token, xoxb-…, from your Slack app's OAuth page)")
    if not _BOT_TOKEN.match(bot_token):
        raise UserError("SLACK_BOT_TOKEN is malformed: a bot token starts with xoxb-")
    if http is None:
        return
    if http:
        signing_secret = secret(settings.slack_signing_secret)
        if not signing_secret:
            raise UserError("SLACK_SIGNING_SECRET is not set (Basic Information › Signing Secret); HTTP mode needs it")
        if not _SECRET.match(signing_secret):
            raise UserError("SLACK_SIGNING_SECRET is malformed: expected 32 hexadecimal characters")
    else:
        app_token = secret(settings.slack_app_token)
        if not app_token:
            raise UserError("SLACK_APP_TOKEN is not set: Socket Mode needs an app-level token (xapp-…); "
                            "or run `mlpath serve --http`")
        if not _APP_TOKEN.match(app_token):
            raise UserError("SLACK_APP_TOKEN is malformed: an app-level token starts with xapp-")


def replica_name() -> str:
    """Who claimed an event (host:pid), for operators reading the claims table."""
    return f"{socket.gethostname()}:{os.getpid()}"[:64]


def web_client(settings: Settings) -> WebClient:
    """Every Slack call goes to SLACK_API_URL. Connection errors and 429s (honouring Retry-After) are
    retried by slack_sdk; 5xx are not, since a retried chat.postMessage can post twice."""
    return WebClient(
        token=secret(settings.slack_bot_token),
        base_url=settings.slack_api_url,
        timeout=15,
        retry_handlers=[ConnectionErrorRetryHandler(max_retry_count=1),
                        RateLimitErrorRetryHandler(max_retry_count=2)],
    )


class _SameTokenNotice(logging.Filter):
    """Bolt reads SLACK_BOT_TOKEN from the environment by itself and, since we hand it a client made from that
    very token (with our base URL and retry handlers), warns at every start that "`token` will be unused".
    Nothing is unused: the client carries the token. Drop that one line, nothing else."""

    def filter(self, record: logging.LogRecord) -> bool:
        from slack_bolt.logger.messages import warning_client_prioritized_and_token_skipped

        return record.getMessage() != warning_client_prioritized_and_token_skipped()


logging.getLogger("slack_bolt.App").addFilter(_SameTokenNotice())


def bot_identity(client: WebClient, settings: Settings) -> str:
    """Slack's `auth.test`: the bot's own user id (to ignore its echoes); a rejected token or an unreachable
    Slack is one line."""
    try:
        auth = client.auth_test()
    except SlackApiError as exc:
        raise UserError(f"SLACK_BOT_TOKEN was rejected by Slack ({exc.response.get('error')})") from None
    except OSError as exc:
        raise UserError(redact(f"cannot reach Slack at SLACK_API_URL={settings.slack_api_url} ({exc})")) from None
    return str(auth.get("user_id") or "")


def deduper_for(db: Database) -> Deduper:
    """Several replicas share a server database (PostgreSQL): claim event ids there. SQLite means one process,
    where the in-process memory is enough — and a claim would put SQLite's single write lock on the ack path,
    behind the answers being written (50 concurrent events: ack p50 1.6 s instead of 0.09 s)."""
    return Deduper() if db.url.startswith("sqlite") else SharedDeduper(db, owner=replica_name())


def count_and_time(body: dict[str, Any], next: Callable[[], BoltResponse]) -> BoltResponse | None:
    """Requests by kind and the time to acknowledge them (the ack functions run inside next())."""
    kind = metrics.slack_request_kind(body)
    metrics.REQUESTS.labels(kind=kind).inc()
    started = time.perf_counter()
    try:
        return next()
    finally:
        seconds = time.perf_counter() - started
        metrics.ACK_SECONDS.labels(kind=kind).observe(seconds)
        log.info("slack %s acknowledged", kind, extra={"kind": kind, "ack_ms": round(seconds * 1000, 1)})


def drop_duplicate_events(body: dict[str, Any], context: BoltContext,
                          next: Callable[[], BoltResponse]) -> BoltResponse | None:
    """Slack redelivers an event it thinks we missed (X-Slack-Retry-Num, or Socket Mode retry_attempt),
    possibly to another replica; `event_id` is globally unique, so a delivery whose id was already claimed
    (here or, through the database, by another replica) is acknowledged and dropped."""
    event_id = body.get("event_id")
    if event_id:
        services: BotServices = context["mlpath"]
        where = services.dedupe.check(str(event_id))
        if where:
            metrics.DUPLICATES.labels(where=where).inc()
            log.info("duplicate delivery of %s dropped", event_id, extra={"caught_by": where})
            return BoltResponse(status=200, body="")
    return next()


def build_app(settings: Settings, application: Application, *,
              client: WebClient | None = None) -> tuple[App, BotServices]:
    """Wiring only: the Slack client, the middlewares and the listeners around the application the composition
    root built (mlpath/wiring.py `build_slack_app`)."""
    client = client or web_client(settings)
    bot_user_id = bot_identity(client, settings)
    services = BotServices(settings=settings, app=application, bot_user_id=bot_user_id,
                           dedupe=deduper_for(application.progress.db))
    # process_before_response=True runs the (instant) ack functions on the request thread; the answers still
    # run later in Bolt's lazy-listener pool. With False, Bolt queues the ack functions in that same pool,
    # behind answers being computed: 50 concurrent /mlpath ask took p99 3.8 s to ack (over Slack's 3 s)
    # against 0.12 s now (bench/slack_ack.py, 2 cores).
    app = App(client=client, signing_secret=secret(settings.slack_signing_secret), logger=bolt_logger(),
              token_verification_enabled=False, process_before_response=True)

    def attach_services(context: BoltContext, next: Callable[[], BoltResponse]) -> BoltResponse | None:
        context["mlpath"] = services
        return next()

    app.middleware(attach_services)
    app.middleware(drop_replays)  # a captured signed command replayed within 5 minutes: acked, dropped
    app.middleware(clean_inputs)  # NUL, control characters, lone surrogates: gone before any listener
    app.middleware(count_and_time)
    app.middleware(drop_duplicate_events)
    assistant.register(app)
    commands.register(app)
    events.register(app)
    actions.register(app)
    return app, services


def wsgi_application(app: App, mentor: Mentor, db: Database | None = None) -> Callable[..., Iterable[bytes]]:
    """Bolt at /slack/events; GET /healthz (200 only when the vector store and the database answer) and
    GET /metrics from the one ops implementation (mlpath/ops.py)."""
    from slack_bolt.adapter.wsgi import SlackRequestHandler

    return guarded(ops.ops_app(lambda: health.check(store=mentor.store, db=db),  # 413/401/400 first: bot/http.py
                               fallback=SlackRequestHandler(app, path="/slack/events")))


def serve_http(settings: Settings, app: App, services: BotServices, *, host: str, port: int) -> None:
    import waitress

    mentor = services.mentor
    db = services.progress.db
    # also on METRICS_PORT when set, so a deployment's health checks work in either mode
    ops.serve_ops_from_settings(settings, db=db, store=mentor.store)
    log.info("mlpath serving Slack over HTTP on %s:%d (/slack/events, /healthz, /metrics)", host, port)
    waitress.serve(wsgi_application(app, mentor, db), host=host, port=port, threads=8, ident="mlpath",
                  max_request_body_size=MAX_BODY_BYTES)


def serve_socket_mode(settings: Settings, app: App, services: BotServices) -> None:
    from slack_bolt.adapter.socket_mode import SocketModeHandler

    # no HTTP server of our own in Socket Mode: /healthz and /metrics on METRICS_PORT (when set)
    ops.serve_ops_from_settings(settings, db=services.progress.db, store=services.mentor.store)
    log.info("mlpath connecting to Slack in Socket Mode")
    SocketModeHandler(app, app_token=secret(settings.slack_app_token)).start()
