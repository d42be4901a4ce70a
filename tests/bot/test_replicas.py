"""Two real `mlpath serve --http` processes and two `mlpath scheduler` processes against one PostgreSQL
database and one `chroma run` server, as behind a load balancer: Slack's retry of an event that lands on the
other replica is not answered twice, quiz answers and check-ins written through both replicas are neither
lost nor counted twice, and each member gets one reminder DM."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
import urllib.request
import uuid
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text, update

from knowledge.store import VectorStore
from progress.db import Database
from progress.models import Claim, Delivery, HabitCheckin, Member, XpEvent
from tests.bot.conftest import SECRET, BotServer
from tests.bot.test_http_bot import click, mention
from tests.conftest import free_port
from tests.progress.test_scheduler_processes import wait_for_more_ticks

PG_URL = os.environ.get("MLPATH_TEST_POSTGRES_URL")
pytestmark = [
    pytest.mark.model,
    pytest.mark.subprocess,
    pytest.mark.postgres,
    pytest.mark.server,
    pytest.mark.skipif(not PG_URL, reason="MLPATH_TEST_POSTGRES_URL is not set (the replicas need PostgreSQL)"),
]
TOKEN = "xoxb-replica-test-token"


@pytest.fixture
def pg_url():
    assert PG_URL
    name = f"mlpath_replicas_{uuid.uuid4().hex[:10]}"
    admin = create_engine(PG_URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    yield f"{PG_URL.rsplit('/', 1)[0]}/{name}"
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()


@pytest.fixture
def shared_collection(chroma_server, curriculum_mentor, embedder):
    """The curriculum in a fresh collection of the Chroma server (copied with its embeddings: no re-embedding)."""
    name = f"replicas-{uuid.uuid4().hex[:8]}"
    store = VectorStore(collection=name, model_name=embedder.name, url=chroma_server)
    chunks, vectors = curriculum_mentor.store.all_chunks_with_embeddings()
    store.upsert([c.id for c in chunks], [c.text for c in chunks], [c.metadata for c in chunks], vectors)
    return name


class Replica:
    def __init__(self, env: dict[str, str], folder: Path, port: int) -> None:
        self.url = f"http://127.0.0.1:{port}"
        self.log_path = folder / f"replica-{port}.log"
        self._log = self.log_path.open("wb")
        exe = Path(sys.executable).parent / "mlpath"
        self.proc = subprocess.Popen([str(exe), "serve", "--http", "--host", "127.0.0.1", "--port", str(port)],
                                     env=env, stdout=self._log, stderr=subprocess.STDOUT)

    def ready(self) -> bool:
        try:
            with urllib.request.urlopen(self.url + "/healthz", timeout=2) as resp:
                return resp.status == 200
        except OSError:
            return False

    def metrics(self) -> str:
        with urllib.request.urlopen(self.url + "/metrics", timeout=5) as resp:
            return resp.read().decode()

    def stop(self) -> str:
        self.proc.send_signal(signal.SIGTERM)
        try:
            self.proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        self._log.close()
        return self.log_path.read_text(errors="replace")


def sample(metrics_text: str, name: str) -> float:
    return sum(float(line.rsplit(" ", 1)[1]) for line in metrics_text.splitlines()
               if line.startswith(name + "{") or line.startswith(name + " "))


def test_two_replicas_answer_each_event_once_and_lose_no_progress(tmp_path, slack, pg_url, chroma_server,
                                                                   shared_collection, curriculum_mentor):
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("MLPATH_", "SLACK_", "DATABASE_URL", "CHROMA_", "LOG_", "METRICS_"))}
    env.update(DATABASE_URL=pg_url, CHROMA_URL=chroma_server, CHROMA_COLLECTION=shared_collection,
               SLACK_BOT_TOKEN=TOKEN, SLACK_SIGNING_SECRET=SECRET, SLACK_API_URL=slack.api_url,
               LOG_FORMAT="json", MLPATH_DATA_DIR=str(tmp_path / "data"), HF_HUB_OFFLINE="1")
    exe = Path(sys.executable).parent / "mlpath"
    migrate = subprocess.run([str(exe), "db", "upgrade"], env=env, capture_output=True, text=True, timeout=120)
    assert migrate.returncode == 0, migrate.stderr

    ops_port = free_port()  # one replica also serves /healthz and /metrics on METRICS_PORT, as in compose
    replicas = [Replica({**env, "METRICS_PORT": str(ops_port)}, tmp_path, free_port()),
                Replica(env, tmp_path, free_port())]
    logs: list[str] = []
    try:
        deadline = time.monotonic() + 240
        while not all(r.ready() for r in replicas):
            for r in replicas:
                assert r.proc.poll() is None, r.log_path.read_text()[-3000:]
            assert time.monotonic() < deadline, "replicas did not become ready"
            time.sleep(0.5)
        a, b = (BotServer(r.url, None, slack) for r in replicas)
        with urllib.request.urlopen(f"http://127.0.0.1:{ops_port}/healthz", timeout=10) as resp:
            assert json.loads(resp.read()) == {"status": "ok", "chunks": curriculum_mentor.store.count(),
                                               "vector_store": "ok", "database": "ok"}

        # 1. each event reaches both replicas at the same moment (a retry that hit the other one): one answer
        events = [mention(f"300.{i}", f"<@UBOT> question {i}: how do I detect data drift?") for i in range(4)]
        with ThreadPoolExecutor(max_workers=8) as pool:
            statuses = list(pool.map(
                lambda pair: pair[0].event(pair[1], event_id=f"EvRep{pair[2]}",
                                           headers={"X-Slack-Retry-Num": "1"} if pair[0] is b else None)[0],
                [(server, event, i) for i, event in enumerate(events) for server in (a, b)]))
        assert statuses == [200] * 8
        slack.wait_for("chat.postMessage", count=4, timeout=120)
        # every delivery that was not dropped as a duplicate has finished its work in one replica or the other
        deadline = time.monotonic() + 120
        while sum(sample(r.metrics(), 'mlpath_listener_runs_total{listener="on_mention"}') for r in replicas) < 4:
            assert time.monotonic() < deadline, "the replicas did not finish their answers"
            time.sleep(0.1)
        posts = slack.calls_to("chat.postMessage")
        assert sorted(p.params["thread_ts"] for p in posts) == ["300.0", "300.1", "300.2", "300.3"]
        assert all("Level 3" in json.dumps(p.params["blocks"]) for p in posts)

        # 2. quizzes: asked on one replica, answered on the other; a double click across replicas counts once
        tokens = {}
        for user, server in (("UQ1", a), ("UQ2", b)):
            server.command("quiz", user=user, name=f"quiz-{user}")
            posted = slack.wait_for(f"response/quiz-{user}")[0].params
            tokens[user] = next(x for x in posted["blocks"] if x.get("block_id") == "quiz_answers")["elements"]
        with ThreadPoolExecutor(max_workers=4) as pool:
            list(pool.map(lambda job: click(job[0], slack, user=job[1], button=tokens[job[1]][0],
                                            block_id="quiz_answers", name=job[2]),
                          [(b, "UQ1", "c1b"), (a, "UQ1", "c1a"), (a, "UQ2", "c2a"), (b, "UQ2", "c2b")]))
        replies = [slack.wait_for(f"response/{n}")[0].params for n in ("c1a", "c1b", "c2a", "c2b")]
        assert sum("already answered" in (r.get("text") or "") for r in replies) == 2

        # 3. the same habit checked in through both replicas at once: one check-in, one XP award
        with ThreadPoolExecutor(max_workers=2) as pool:
            list(pool.map(lambda job: job[0].command("done read-paper", user="UQ1", name=job[1]),
                          [(a, "d-a"), (b, "d-b")]))
        texts = [slack.wait_for(f"response/{n}")[0].params["text"] for n in ("d-a", "d-b")]
        assert sorted("Already checked in" in t for t in texts) == [False, True]

        db = Database(pg_url)
        try:
            with db.session() as s:
                answered = s.query(Delivery).filter(Delivery.answered_at.is_not(None)).all()
                assert sorted(d.chosen for d in answered) == [0, 0] and len(s.query(Delivery).all()) == 2
                assert s.query(HabitCheckin).count() == 1
                assert s.query(XpEvent).filter(XpEvent.ref == "read-paper").count() == 1
                assert s.query(XpEvent).filter(XpEvent.kind.in_(("quiz", "review"))).count() == 2
                claims = s.query(Claim).filter(Claim.kind == "event").all()
                assert sorted(c.key for c in claims) == [f"EvRep{i}" for i in range(4)]
        finally:
            db.dispose()

        # metrics: each replica counts its own; together they saw 8 deliveries and dropped 4 through the database
        texts = [r.metrics() for r in replicas]
        assert sum(sample(t, "mlpath_slack_requests_total") for t in texts) == 8 + 2 + 4 + 2
        assert sum(sample(t, 'mlpath_slack_duplicate_events_total{where="database"}') for t in texts) == 4
        assert sum(sample(t, "mlpath_answers_total") for t in texts) == 4
        assert sum(sample(t, "mlpath_quiz_answers_total") for t in texts) == 4

        # 4. two schedulers beside the two replicas, on the same database: one reminder DM per member
        db = Database(pg_url)
        try:
            with db.session() as s:
                s.execute(update(Member).values(nudge_time="00:00"))  # due now, whatever the hour
                members = sorted(m.user_id for m in s.query(Member).all())
        finally:
            db.dispose()
        assert len(members) >= 2
        sched_env = {**env, "MLPATH_SCHEDULER_INTERVAL": "0.5", "MLPATH_NUDGE_CUTOFF_HOURS": "24"}
        sched_ports = [free_port(), free_port()]
        schedulers = [subprocess.Popen([str(exe), "scheduler"], env={**sched_env, "METRICS_PORT": str(port)},
                                       stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
                      for port in sched_ports]
        try:
            deadline = time.monotonic() + 120
            while len(slack.dms()) < len(members) and time.monotonic() < deadline:
                time.sleep(0.2)
            wait_for_more_ticks(sched_ports, 3)  # both check again: nothing more may be sent
        finally:
            for p in schedulers:
                p.send_signal(signal.SIGTERM)
            errs = [p.communicate(timeout=30)[1] for p in schedulers]
        assert [p.returncode for p in schedulers] == [0, 0], errs
        assert sorted(c.params["channel"] for c in slack.dms()) == members
    finally:
        logs = [r.stop() for r in replicas]

    # JSON logs: one object per line, no token, no secret, none of the members' words
    for log in logs:
        lines = [line for line in log.splitlines() if line.strip()]
        assert lines, "a replica logged nothing"
        for line in lines:
            record = json.loads(line)
            assert {"ts", "level", "logger", "msg"} <= set(record)
        assert TOKEN not in log and SECRET not in log and "detect data drift" not in log
    assert any("duplicate delivery of EvRep" in log for log in logs)
    records = [json.loads(line) for log in logs for line in log.splitlines() if line.strip()]
    answered = [r for r in records if r["msg"] == "answered on mention"]
    assert len(answered) == 4 and all(r["grounded"] is True and r["answer_ms"] > 0 for r in answered)
    acks = [r for r in records if r["msg"].startswith("slack ") and r["msg"].endswith(" acknowledged")]
    assert len(acks) == 16 and {r["kind"] for r in acks} == {"app_mention", "command", "block_actions"}
