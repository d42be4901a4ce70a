"""Thin listeners grouped by kind; each folder has `register(app)`. They ack at once and do the work in Bolt
lazy listeners (a thread pool), so Slack's 3-second limit never depends on retrieval. Listeners are
module-level functions; they read typed payloads (bot/payloads.py) and get the services from Bolt's
`context["mlpath"]`, set by a middleware in bot/app.py."""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any, TypeVar

from mlpath import metrics

F = TypeVar("F", bound=Callable[..., Any])


def counted(listener: F) -> F:
    """A lazy listener that counts its runs when it ends (`mlpath_listener_runs_total{listener}`), so operators
    see work finishing and tests can wait for it instead of sleeping. Bolt reads the arguments through
    `inspect.unwrap`, so the wrapper keeps the listener's signature."""

    @functools.wraps(listener)
    def run(*args: Any, **kwargs: Any) -> Any:
        try:
            return listener(*args, **kwargs)
        finally:
            metrics.LISTENER_RUNS.labels(listener=listener.__name__).inc()

    return run  # type: ignore[return-value]
