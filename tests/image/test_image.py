"""The image, as an operator runs it (issue 27): the command line, an ingest into a volume and a search that
matches the same search outside the image, `serve --http` answering /healthz and a signed slash command from
the project's fake Slack, the scheduler's --once, a migration against PostgreSQL, and a runtime stage without
torch within 800 MB. Run by `make image-test` (see conftest.py)."""

from __future__ import annotations

import json
import os
import sys
import time
import urllib.error
import urllib.request
import uuid
from pathlib import Path
from urllib.parse import urlencode

import pytest
from slack_sdk.signature import SignatureVerifier

from mlpath.testing.fake_slack import FakeSlack
from tests.conftest import free_port

pytestmark = pytest.mark.subprocess

SECRET = "0123456789abcdef0123456789abcdef"
QUERY = "how do I know my model is overfitting"
MAX_MB = 800


def test_the_runtime_image_is_slim_and_carries_no_torch(engine):
    size = int(engine("image", "inspect", "--format", "{{.Size}}", engine.image).stdout.strip())
    assert size <= MAX_MB * 10**6, f"the image is {size / 1e6:.0f} MB (goal ≤ {MAX_MB} MB)"
    probe = engine.run("-c", "import importlib.util as u; print([m for m in ('torch', 'transformers', "
                       "'sentence_transformers') if u.find_spec(m)])", entrypoint="python")
    assert probe.returncode == 0, probe.stderr
    assert probe.stdout.strip() == "[]"
    user = engine.run("-c", "import os; print(os.getuid())", entrypoint="python")
    assert user.stdout.strip() == "10001"


@pytest.mark.server  # `mlpath serve` is started (it stops at once, without secrets)
def test_version_and_a_clear_line_when_serve_has_no_secrets(engine):
    version = engine.run("--version")
    assert version.returncode == 0 and version.stdout.startswith("mlpath "), version.stderr
    serve = engine.run("serve")
    assert serve.returncode == 2 and "Traceback" not in serve.stderr
    assert "SLACK_BOT_TOKEN is not set" in serve.stderr


def _search(run: object, *args: str) -> list[tuple[str, str, float]]:
    done = run(*args)  # type: ignore[operator]
    assert done.returncode == 0, done.stderr[-2000:]
    hits = json.loads(done.stdout.strip().splitlines()[-1])["hits"]
    return [(h["source"], h["section"], float(h["similarity"])) for h in hits]


def test_a_search_inside_the_image_finds_what_it_finds_outside(engine, data_volume, tmp_path):
    import subprocess

    inside = _search(lambda *a: engine.run(*a, volume=data_volume), "search", "--json", "-k", "5", QUERY)
    env = {k: v for k, v in os.environ.items() if not k.startswith(("DATABASE_URL", "MLPATH_", "CHROMA_"))}
    env["MLPATH_DATA_DIR"] = str(tmp_path / "outside")
    exe = str(Path(sys.executable).parent / "mlpath")
    ingest = subprocess.run([exe, "ingest"], env=env, capture_output=True, text=True, timeout=900)
    assert ingest.returncode == 0, ingest.stderr[-2000:]
    outside = _search(lambda *a: subprocess.run([exe, *a], env=env, capture_output=True, text=True, timeout=300),
                      "search", "--json", "-k", "5", QUERY)
    assert [h[:2] for h in inside] == [h[:2] for h in outside]
    assert [h[2] for h in inside] == pytest.approx([h[2] for h in outside], abs=0.01)


@pytest.mark.server
def test_serve_http_answers_healthz_and_a_signed_slash_command(engine, data_volume):
    fake = FakeSlack()
    port = free_port()
    name = f"mlpath-test-{uuid.uuid4().hex[:8]}"
    started = engine.run("serve", "--http", "--host", "127.0.0.1", "--port", str(port), name=name,
                         network="host", volume=data_volume, timeout=120, env={
                             "SLACK_BOT_TOKEN": "xoxb-image-test", "SLACK_SIGNING_SECRET": SECRET,
                             "SLACK_API_URL": fake.api_url})
    assert started.returncode == 0, started.stderr
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 180
        while True:
            try:
                with urllib.request.urlopen(base + "/healthz", timeout=5) as resp:
                    health = json.loads(resp.read())
                    break
            except (OSError, urllib.error.URLError):
                if time.monotonic() > deadline:
                    logs = engine("logs", name).stderr[-2000:]
                    raise AssertionError(f"/healthz did not answer within 180 s: {logs}") from None
                time.sleep(0.5)
        assert health["chunks"] > 100
        body = urlencode({"command": "/mlpath", "text": f"ask {QUERY}", "user_id": "U1", "team_id": "T1",
                          "channel_id": "C1", "response_url": fake.response_url("image")})
        ts = str(int(time.time()))
        req = urllib.request.Request(base + "/slack/events", data=body.encode(), method="POST", headers={
            "Content-Type": "application/x-www-form-urlencoded", "X-Slack-Request-Timestamp": ts,
            "X-Slack-Signature": SignatureVerifier(SECRET).generate_signature(timestamp=ts, body=body) or ""})
        with urllib.request.urlopen(req, timeout=30) as resp:
            assert resp.status == 200
        reply = fake.wait_for("response/image", timeout=120)[0]
        assert "overfit" in json.dumps(reply.params).lower()
    finally:
        engine("rm", "-f", name)
        fake.close()


def test_the_scheduler_checks_once_and_exits(engine, data_volume):
    """One check over the volume's database (no member is due yet: nothing to send, so no Slack call)."""
    done = engine.run("scheduler", "--once", volume=data_volume,
                      env={"SLACK_BOT_TOKEN": "xoxb-image-test", "SLACK_API_URL": "http://127.0.0.1:9/api/"})
    assert done.returncode == 0, done.stderr[-2000:]
    assert done.stdout.strip().splitlines()[-1] == "nudges: 0 due, 0 sent"


@pytest.mark.postgres
def test_the_migration_runs_against_postgresql(engine):
    base = os.environ.get("MLPATH_TEST_POSTGRES_URL")
    if not base:
        pytest.skip("MLPATH_TEST_POSTGRES_URL is not set (no PostgreSQL for this run)")
    from sqlalchemy import create_engine, inspect, text

    name = f"mlpath_image_{uuid.uuid4().hex[:10]}"
    admin = create_engine(base, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    url = f"{base.rsplit('/', 1)[0]}/{name}"
    try:
        done = engine.run("db", "upgrade", network="host", env={"DATABASE_URL": url})
        assert done.returncode == 0, done.stderr[-2000:]
        db = create_engine(url)
        try:
            assert {"members", "xp_events", "answers", "alembic_version"} <= set(inspect(db).get_table_names())
        finally:
            db.dispose()
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()
