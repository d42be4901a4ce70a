"""Wiring only: settings → WebClient → Bolt App → listeners; HTTP (WSGI + waitress) or Socket Mode.

HTTP mode serves Bolt at /slack/events (events, slash commands, interactivity; Bolt verifies every
signature and rejects stale timestamps with 401) and GET /healthz. Bolt's own `app.start()` is a
single-threaded development server, so production HTTP goes through Bolt's WSGI adapter and waitress.
"""

from __future__ import annotations

import json
import logging
import re
from collections.abc import Callable, Iterable
from typing import Any

from slack_bolt import App, BoltResponse
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError
from slack_sdk.http_retry.builtin_handlers import ConnectionErrorRetryHandler, RateLimitErrorRetryHandler

from bot.listeners import actions, assistant, commands, events
from bot.services import BotServices
from knowledge.mentor import Mentor
from mlpath.errors import UserError
from mlpath.settings import Settings
from progress.answer_log import AnswerLog

log = logging.getLogger("mlpath.bot")

_BOT_TOKEN = re.compile(r"^xoxb-[A-Za-z0-9-]+$")
_APP_TOKEN = re.compile(r"^xapp-[A-Za-z0-9-]+$")
_SECRET = re.compile(r"^[0-9a-f]{32}$")


def check_slack_settings(settings: Settings, *, http: bool) -> None:
    """Missing or malformed tokens: one line naming the variable (never its value)."""
    if not settings.slack_bot_token:
        raise UserError("SLACK_BOT_TOKEN is not set (the bot token, xoxb-…, from your Slack app's OAuth page)")
    if not _BOT_TOKEN.match(settings.slack_bot_token):
        raise UserError("SLACK_BOT_TOKEN is malformed: a bot token starts with xoxb-")
    if http:
        if not settings.slack_signing_secret:
            raise UserError("SLACK_SIGNING_SECRET is not set (Basic Information › Signing Secret); HTTP mode needs it")
        if not _SECRET.match(settings.slack_signing_secret):
            raise UserError("SLACK_SIGNING_SECRET is malformed: expected 32 hexadecimal characters")
    else:
        if not settings.slack_app_token:
            raise UserError("SLACK_APP_TOKEN is not set: Socket Mode needs an app-level token (xapp-…); "
                            "or run `mlpath serve --http`")
        if not _APP_TOKEN.match(settings.slack_app_token):
            raise UserError("SLACK_APP_TOKEN is malformed: an app-level token starts with xapp-")


def web_client(settings: Settings) -> WebClient:
    """Every Slack call goes to SLACK_API_URL. Connection errors and 429s (honouring Retry-After) are
    retried by slack_sdk; 5xx are not, since a retried chat.postMessage can post twice."""
    return WebClient(
        token=settings.slack_bot_token,
        base_url=settings.slack_api_url,
        timeout=15,
        retry_handlers=[ConnectionErrorRetryHandler(max_retry_count=1),
                        RateLimitErrorRetryHandler(max_retry_count=2)],
    )


def build_app(settings: Settings, mentor: Mentor, *, client: WebClient | None = None) -> tuple[App, BotServices]:
    client = client or web_client(settings)
    try:
        auth = client.auth_test()
    except SlackApiError as exc:
        raise UserError(f"SLACK_BOT_TOKEN was rejected by Slack ({exc.response.get('error')})") from None
    except OSError as exc:
        raise UserError(f"cannot reach Slack at SLACK_API_URL={settings.slack_api_url} ({exc})") from None
    from progress.setup import open_progress

    progress = open_progress(settings)
    answer_log = AnswerLog(progress.db)
    answer_log.import_jsonl(settings.data_dir / "answers.jsonl")  # the log of earlier versions, once
    services = BotServices(settings=settings, mentor=mentor, answer_log=answer_log,
                           bot_user_id=str(auth.get("user_id") or ""), progress=progress)
    # process_before_response=True runs the (instant) ack functions on the request thread; the answers still
    # run later in Bolt's lazy-listener pool. With False, Bolt queues the ack functions in that same pool,
    # behind answers being computed: 50 concurrent /mlpath ask took p99 3.8 s to ack (over Slack's 3 s)
    # against 0.12 s now (bench/slack_ack.py, 2 cores).
    app = App(client=client, signing_secret=settings.slack_signing_secret or "",
              token_verification_enabled=False, process_before_response=True)

    @app.middleware
    def drop_duplicate_events(body: dict[str, Any], next: Callable[[], BoltResponse]) -> BoltResponse | None:
        """Slack redelivers an event it thinks we missed (X-Slack-Retry-Num, or Socket Mode
        retry_attempt); `event_id` is globally unique, so a second delivery is acknowledged and dropped."""
        event_id = body.get("event_id")
        if event_id and not services.dedupe.first_time(str(event_id)):
            log.info("duplicate delivery of %s dropped", event_id)
            return BoltResponse(status=200, body="")
        return next()

    assistant.register(app, services)
    commands.register(app, services)
    events.register(app, services)
    actions.register(app, services)
    return app, services


def wsgi_application(app: App, mentor: Mentor) -> Callable[..., Iterable[bytes]]:
    from slack_bolt.adapter.wsgi import SlackRequestHandler

    slack = SlackRequestHandler(app, path="/slack/events")

    def application(environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        if environ.get("PATH_INFO") == "/healthz" and environ.get("REQUEST_METHOD") in ("GET", "HEAD"):
            try:
                status, body = "200 OK", {"status": "ok", "chunks": mentor.store.count()}
            except Exception as exc:  # noqa: BLE001 - health must answer, whatever broke
                status, body = "503 Service Unavailable", {"status": "unavailable", "error": type(exc).__name__}
            data = json.dumps(body).encode()
            start_response(status, [("Content-Type", "application/json"), ("Content-Length", str(len(data)))])
            return [data]
        return slack(environ, start_response)

    return application


def serve_http(settings: Settings, mentor: Mentor, *, host: str, port: int) -> None:
    import waitress

    app, _ = build_app(settings, mentor)
    log.info("mlpath serving Slack over HTTP on %s:%d (/slack/events, /healthz)", host, port)
    waitress.serve(wsgi_application(app, mentor), host=host, port=port, threads=8, ident="mlpath")


def serve_socket_mode(settings: Settings, mentor: Mentor) -> None:
    from slack_bolt.adapter.socket_mode import SocketModeHandler

    app, _ = build_app(settings, mentor)
    log.info("mlpath connecting to Slack in Socket Mode")
    SocketModeHandler(app, app_token=settings.slack_app_token).start()
