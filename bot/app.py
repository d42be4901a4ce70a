"""Wiring only: settings → WebClient → Bolt App → listeners; HTTP (WSGI + waitress) or Socket Mode.

HTTP mode serves Bolt at /slack/events (events, slash commands, interactivity; Bolt verifies every
signature and rejects stale timestamps with 401) and GET /healthz. Bolt's own `app.start()` is a
single-threaded development server, so production HTTP goes through Bolt's WSGI adapter and waitress.
"""

from __future__ import annotations

import functools
import logging
import os
import re
import socket
import time
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from slack_bolt import App, BoltContext, BoltRequest, BoltResponse
from slack_bolt.lazy_listener.thread_runner import ThreadLazyListenerRunner
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError
from slack_sdk.http_retry.builtin_handlers import ConnectionErrorRetryHandler, RateLimitErrorRetryHandler

from bot.guards import CLAIM, Deduper, SharedDeduper, clean_inputs, drop_replays
from bot.http import MAX_BODY_BYTES, AckGate, acked_first, guarded
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
        where = services.dedupe.check_here(str(event_id))
        if where:
            metrics.DUPLICATES.labels(where=where).inc()
            log.info("duplicate delivery of %s dropped", event_id, extra={"caught_by": where})
            return BoltResponse(status=200, body="")
        context[CLAIM] = ("event", str(event_id))  # the database claim waits until after the ack
    return next()


class ClaimingLazyRunner(ThreadLazyListenerRunner):
    """Bolt's lazy-listener runner, plus the claim across replicas: a request whose ack path left a claim in its
    context (`bot.guards.CLAIM`: an event id, a signed request's hash) first claims it in the database, on the
    worker thread, and its work runs only if this replica won. So the ack never waits for the database (at 200
    concurrent requests on PostgreSQL that round trip was most of the ack's time), and a delivery another
    replica already claimed is still dropped, just after Slack got its 200 instead of before.

    Every listener here has one lazy function; a listener with two would have its second one dropped as
    "already claimed"."""

    def __init__(self, logger: logging.Logger, executor: ThreadPoolExecutor, dedupe: Deduper,
                 gate: AckGate | None = None) -> None:
        super().__init__(logger=logger, executor=executor)
        self.dedupe = dedupe
        self.gate = gate or AckGate()

    def start(self, function: Callable[..., None], request: BoltRequest) -> None:
        from slack_bolt.lazy_listener.internals import build_runnable_function

        runnable = build_runnable_function(func=function, logger=self.logger, request=request)
        claim = request.context.get(CLAIM)
        gate = self.gate
        if not claim:
            def after_the_acks() -> None:
                gate.wait()
                runnable()

            self.executor.submit(after_the_acks)
            return
        kind, key = claim

        def claimed_first() -> None:
            gate.wait()
            where = self.dedupe.claim(key, kind=kind)
            if where:
                metrics.DUPLICATES.labels(where=where).inc()
                log.info("duplicate delivery of %s dropped after the ack", key if kind == "event" else "a request",
                         extra={"caught_by": where})
                return
            runnable()

        self.executor.submit(claimed_first)


def lazy_request(runner: Any, request: BoltRequest, lazy_func_name: str) -> BoltRequest:
    """What Bolt hands a lazy listener, without Bolt's deep copy: `to_copyable()` already re-parses the body
    and keeps only the copyable context (the request's own WebClient, which Bolt makes per request, the
    services, which are shared on purpose); deep-copying that again copied the WebClient with its handlers and
    logger, on the ack path: a third of an ack's time (1.3 of 3.7 ms at 200 concurrent, profiled). The request
    thread is done with those objects once it has acknowledged, so the lazy listener may have them. Otherwise
    as Bolt 1.x's `ThreadListenerRunner._build_lazy_request` (installed over it in `build_app`)."""
    copied = request.to_copyable()
    copied.lazy_only = True
    copied.lazy_function_name = lazy_func_name
    copied.context["listener_runner"] = runner
    for name in ("get_thread_context", "save_thread_context"):  # not copyable: the assistant's thread store
        if request.context.get(name) is not None:
            copied.context[name] = request.context[name]
    return copied


def answer_executor(settings: Settings) -> ThreadPoolExecutor:
    """The threads that run every lazy listener (answers, quizzes, Home tabs), `MLPATH_ANSWER_THREADS` of them.
    Work beyond them waits in the executor's queue, in memory: nothing is refused, the acks stay quick (more
    threads than about twice the cores only make them contend with the request threads for the GIL)."""
    return ThreadPoolExecutor(max_workers=settings.answer_threads, thread_name_prefix="mlpath-answer")


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
    executor = answer_executor(settings)
    app = App(client=client, signing_secret=secret(settings.slack_signing_secret), logger=bolt_logger(),
              token_verification_enabled=False, process_before_response=True, listener_executor=executor)
    app.listener_runner.lazy_listener_runner = ClaimingLazyRunner(bolt_logger(), executor, services.dedupe,
                                                                services.ack_gate)
    app.listener_runner._build_lazy_request = functools.partial(  # type: ignore[method-assign]
        lazy_request, app.listener_runner)

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


def wsgi_application(app: App, mentor: Mentor, db: Database | None = None, *,
                     gate: AckGate | None = None) -> Callable[..., Iterable[bytes]]:
    """Bolt at /slack/events; GET /healthz (200 only when the vector store and the database answer) and
    GET /metrics from the one ops implementation (mlpath/ops.py). With `gate` (the services' `ack_gate`),
    work after the ack waits for the acks in flight."""
    from slack_bolt.adapter.wsgi import SlackRequestHandler

    slack: Callable[..., Iterable[bytes]] = SlackRequestHandler(app, path="/slack/events")
    if gate is not None:
        slack = acked_first(slack, gate)
    return guarded(ops.ops_app(lambda: health.check(store=mentor.store, db=db),  # 413/401/400 first: bot/http.py
                               fallback=slack))


def http_server(settings: Settings, app: App, services: BotServices, *, host: str, port: int) -> Any:
    """The waitress server of `mlpath serve --http` (the benchmark builds the same one): `MLPATH_HTTP_THREADS`
    threads read requests and send the acks, up to `MLPATH_HTTP_CONNECTION_LIMIT` connections are open at once
    (waitress's default of 100 left half of 200 concurrent requests waiting and logged "connection limit
    reached"), with a kernel backlog as deep."""
    import waitress

    return waitress.create_server(
        wsgi_application(app, services.mentor, services.progress.db, gate=services.ack_gate), host=host, port=port,
        threads=settings.http_threads, connection_limit=settings.http_connection_limit,
        backlog=min(settings.http_connection_limit, 4096), ident="mlpath", max_request_body_size=MAX_BODY_BYTES)


def serve_http(settings: Settings, app: App, services: BotServices, *, host: str, port: int) -> None:
    mentor = services.mentor
    db = services.progress.db
    # also on METRICS_PORT when set, so a deployment's health checks work in either mode
    ops.serve_ops_from_settings(settings, db=db, store=mentor.store)
    server = http_server(settings, app, services, host=host, port=port)
    log.info("mlpath serving Slack over HTTP on %s:%d (/slack/events, /healthz, /metrics; %d threads, "
             "%d connections)", host, server.effective_port, settings.http_threads, settings.http_connection_limit)
    server.run()


def serve_socket_mode(settings: Settings, app: App, services: BotServices) -> None:
    from slack_bolt.adapter.socket_mode import SocketModeHandler

    # no HTTP server of our own in Socket Mode: /healthz and /metrics on METRICS_PORT (when set)
    ops.serve_ops_from_settings(settings, db=services.progress.db, store=services.mentor.store)
    log.info("mlpath connecting to Slack in Socket Mode")
    SocketModeHandler(app, app_token=secret(settings.slack_app_token)).start()
