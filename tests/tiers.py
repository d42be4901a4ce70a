"""The two test tiers, kept honest.

`make test-fast` runs the tests that carry none of the markers below (`-m "not (model or server or subprocess
or postgres)"`): pure code, SQLite in a temporary folder, the deterministic fake embedder. `make test` runs
everything. A marker is only worth its name if it is on every test that needs it, so this plugin watches what
each test does while it runs (its fixtures' setup included) and fails a test that

- loads or runs the embedding model (`knowledge.embedding.Embedder`, `OnnxEncoder`) or asks for the `embedder`
  fixture without `@pytest.mark.model`,
- opens a listening socket in this process (the fake Slack, the fake OpenAI server, waitress, a websocket
  server) or starts a server process (`chroma run`, `mlpath serve`) without `@pytest.mark.server`,
- starts any process (`subprocess`, `os.system`) without `@pytest.mark.subprocess`,
- connects to PostgreSQL without `@pytest.mark.postgres`.

A test fails at the first such call on its own thread (so the fast tier never waits for a model or a
process it should not have started); work done on another thread is charged to the test that started the
thread, and fails it when it reports — a listener still finishing an earlier test's answer never fails the
test that happens to run next. tests/test_tiers.py checks the checks.

`TIERS_SURVEY=FILE pytest …` records instead of failing (one JSON line per test and tier), to mark many tests
at once after a large change.
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import threading
from collections.abc import Generator
from typing import Any

import pytest

TIERS = {
    "model": "loads or runs the embedding model (MiniLM) in the test process",
    "server": "starts a server: a listening socket in the test process (fake Slack, fake OpenAI, waitress, "
              "websockets) or a server process (`chroma run`, `mlpath serve`)",
    "subprocess": "starts a process (the `mlpath` command, `chroma run`, `python -m bench`, docker compose)",
    "postgres": "connects to PostgreSQL (MLPATH_TEST_POSTGRES_URL)",
}
FAST = "not (" + " or ".join(TIERS) + ")"
"""The `-m` expression of the fast tier (the Makefile's FAST; tests/test_tiers.py checks they agree)."""
FIXTURES = {"embedder": ("model",), "chroma_server": ("server", "subprocess")}
"""Fixtures whose mere use puts a test in a tier (everything that asks for `embedder` may load the model)."""

_used = pytest.StashKey[dict[str, str]]()
_reported = pytest.StashKey[set[str]]()
_running: list[pytest.Item] = []
"""The test running in this process (a stack: pytester runs a session inside a test)."""
_patched = False


def _item() -> pytest.Item | None:
    started_by = getattr(threading.current_thread(), "_tiers_item", None)
    if started_by is not None:
        return started_by  # type: ignore[no-any-return]
    return _running[-1] if _running else None


def _message(tier: str, what: str) -> str:
    return (f"this test {what} but is not marked @pytest.mark.{tier} ({TIERS[tier]}); mark it, so that "
            f"`make test-fast` leaves it out")


def used(tier: str, what: str) -> None:
    """Record that the running test did something of `tier` (`what` names it for the failure message). On the
    test's own thread the test fails at once, before the slow thing starts; work on other threads fails it
    when it reports."""
    item = _item()
    if item is None or item.get_closest_marker(tier) is not None:
        return
    found = item.stash.setdefault(_used, {})
    if tier in found:
        return
    found[tier] = what
    if threading.current_thread() is threading.main_thread() and not os.environ.get("TIERS_SURVEY"):
        item.stash.setdefault(_reported, set()).add(tier)
        pytest.fail(_message(tier, what), pytrace=False)


def _install() -> None:
    """Wrap the few entry points every model load, server, process and PostgreSQL connection goes through."""
    global _patched
    if _patched:
        return
    _patched = True

    start_thread = threading.Thread.start

    def start(self: threading.Thread) -> None:
        if _running and not hasattr(self, "_tiers_item"):
            self._tiers_item = _item()  # type: ignore[attr-defined]
        start_thread(self)

    threading.Thread.start = start  # type: ignore[method-assign]

    execute_child = subprocess.Popen._execute_child  # type: ignore[attr-defined]

    def _execute_child(self: subprocess.Popen[Any], args: Any, *rest: Any, **kwargs: Any) -> Any:
        argv = [str(a) for a in args] if isinstance(args, list | tuple) else str(args).split()
        words = " ".join(os.path.basename(a) for a in argv)
        if "knowledge.onnx_export" in argv:  # the first load of the model exports it once: part of loading it
            used("model", "exported the embedding model to ONNX")
            return execute_child(self, args, *rest, **kwargs)
        used("subprocess", f"started `{words[:120]}`")
        if ("chroma" in words and " run" in words) or ("mlpath" in words and " serve" in words):
            used("server", f"started the server process `{words[:120]}`")
        return execute_child(self, args, *rest, **kwargs)

    subprocess.Popen._execute_child = _execute_child  # type: ignore[attr-defined]

    system = os.system

    def _system(command: str) -> int:
        used("subprocess", f"os.system({command[:80]!r})")
        return system(command)

    os.system = _system

    listen = socket.socket.listen

    def _listen(self: socket.socket, *args: Any) -> None:
        try:
            where = "{}:{}".format(*self.getsockname()[:2])
        except (OSError, TypeError):
            where = "a socket"
        used("server", f"listened on {where}")
        listen(self, *args)

    socket.socket.listen = _listen  # type: ignore[method-assign]

    from knowledge.embedding import Embedder, OnnxEncoder

    load = Embedder._load

    def _load(self: Embedder) -> None:
        used("model", f"used the embedding model {self.name}")
        load(self)

    Embedder._load = _load  # type: ignore[method-assign]

    onnx_init = OnnxEncoder.__init__

    def _onnx_init(self: OnnxEncoder, *args: Any, **kwargs: Any) -> None:
        used("model", "loaded the ONNX encoder")
        onnx_init(self, *args, **kwargs)

    OnnxEncoder.__init__ = _onnx_init  # type: ignore[method-assign]

    from sqlalchemy import event
    from sqlalchemy.pool import Pool

    @event.listens_for(Pool, "connect")
    def _connected(dbapi_connection: Any, record: Any) -> None:
        if type(dbapi_connection).__module__.startswith("psycopg"):
            used("postgres", "connected to PostgreSQL")


def pytest_configure(config: pytest.Config) -> None:
    for name, meaning in TIERS.items():
        config.addinivalue_line("markers", f"{name}: {meaning}")
    _install()


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_protocol(item: pytest.Item) -> Generator[None, None, None]:
    _running.append(item)
    try:
        yield
    finally:
        _running.pop()


def pytest_runtest_setup(item: pytest.Item) -> None:
    for fixture in getattr(item, "fixturenames", ()):
        for tier in FIXTURES.get(fixture, ()):
            used(tier, f"asked for the `{fixture}` fixture")


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Generator[None, Any, None]:
    outcome = yield
    report: pytest.TestReport = outcome.get_result()
    found = item.stash.get(_used, {})
    reported = item.stash.setdefault(_reported, set())
    new = {tier: what for tier, what in found.items() if tier not in reported}
    if not new or report.skipped:
        return
    reported.update(new)
    survey = os.environ.get("TIERS_SURVEY")
    if survey:
        with open(survey, "a", encoding="utf-8") as f:
            for tier, what in new.items():
                f.write(json.dumps({"id": item.nodeid, "tier": tier, "what": what}) + "\n")
        return
    lines = [_message(tier, what) for tier, what in sorted(new.items())]
    if report.failed:
        lines.append("(it also failed: " + (report.longreprtext.strip().splitlines() or [""])[-1] + ")")
    report.outcome = "failed"
    report.longrepr = "\n".join(lines)
