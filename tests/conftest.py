"""Shared fixtures: the real MiniLM model (loaded once per session), real embedded Chroma in temporary
folders, the bundled curriculum ingested once, and a real `chroma run` server on 127.0.0.1."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

os.environ["HF_HUB_OFFLINE"] = "1"
os.environ["TRANSFORMERS_OFFLINE"] = "1"
os.environ["ANONYMIZED_TELEMETRY"] = "False"

from knowledge.embedding import Embedder, shared_embedder  # noqa: E402
from knowledge.mentor import Mentor  # noqa: E402
from mlpath.settings import Settings  # noqa: E402

pytest_plugins = ["tests.tiers"]

# The OpenAI client describes the platform in its first request's headers (`platform.platform()`), and Python
# finds the processor's name by running `uname -p`, once per process. Asked here, before any test, so that
# process is charged to no test (tests/tiers.py would fail whichever LLM test happened to come first).
import platform  # noqa: E402

platform.processor()


@pytest.fixture(scope="session")
def embedder() -> Embedder:
    return shared_embedder()


def make_settings(data_dir: Path, **overrides: object) -> Settings:
    return Settings(_env_file=None, data_dir=data_dir, **overrides)  # type: ignore[call-arg]


@pytest.fixture
def make_mentor(tmp_path: Path, embedder: Embedder):
    def _make(**overrides: object) -> Mentor:
        return Mentor.from_settings(make_settings(tmp_path / "data", **overrides), embedder=embedder)

    return _make


@pytest.fixture(scope="session")
def curriculum_mentor(tmp_path_factory: pytest.TempPathFactory, embedder: Embedder, worker_id: str) -> Mentor:
    """The bundled curriculum ingested once for the whole run (read-only for tests). Under pytest-xdist the
    first worker to get here ingests it into the run's shared folder and every worker opens a copy of its own
    (two processes never share one embedded Chroma): one ingest per run instead of one per worker."""
    data = tmp_path_factory.mktemp("curriculum-data")
    if worker_id == "master":  # one process: nothing to share (the basetemp's parent outlives this run)
        mentor = Mentor.from_settings(make_settings(data), embedder=embedder)
        mentor.ingest(None)
        return mentor
    from filelock import FileLock

    shared = tmp_path_factory.getbasetemp().parent / "curriculum-ingested"  # this run's, for every worker
    with FileLock(f"{shared}.lock"):
        if not (shared / "complete").exists():
            Mentor.from_settings(make_settings(shared / "data"), embedder=embedder).ingest(None)
            (shared / "complete").touch()
    shutil.copytree(shared / "data", data, dirs_exist_ok=True)
    return Mentor.from_settings(make_settings(data), embedder=embedder)


@pytest.fixture
def curriculum_copy(curriculum_mentor: Mentor, tmp_path: Path, embedder: Embedder) -> Mentor:
    """A writable mentor over this test's own copy of the ingested curriculum (no second ingest)."""
    data = tmp_path / "curriculum-copy"
    shutil.copytree(curriculum_mentor.settings.data_dir, data)
    return Mentor.from_settings(make_settings(data), embedder=embedder)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class ChromaServer:
    """A real Chroma server (`chroma run`) on 127.0.0.1 in `folder`; `stop()` ends it (an outage, in a test)."""

    def __init__(self, folder: Path, port: int | None = None) -> None:
        chroma = shutil.which("chroma", path=str(Path(sys.executable).parent)) or shutil.which("chroma")
        if chroma is None:
            pytest.fail("the `chroma` command (from the chromadb package) is not installed")
        port = port or free_port()
        self.port = port
        self.log = open(folder / "server.log", "wb")  # noqa: SIM115
        self.proc = subprocess.Popen([chroma, "run", "--path", str(folder / "db"), "--host", "127.0.0.1",
                                      "--port", str(port)], stdout=self.log, stderr=subprocess.STDOUT)
        self.url = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 60
        while True:
            try:
                with urllib.request.urlopen(f"{self.url}/api/v2/heartbeat", timeout=1):
                    break
            except OSError:
                if self.proc.poll() is not None or time.monotonic() > deadline:
                    self.proc.kill()
                    pytest.fail(f"chroma run did not start: {(folder / 'server.log').read_text()[-2000:]}")
                time.sleep(0.2)

    def stop(self) -> None:
        self.proc.terminate()
        try:
            self.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
        self.log.close()


@pytest.fixture(scope="session")
def chroma_server(tmp_path_factory: pytest.TempPathFactory):
    """A real Chroma server (`chroma run`) on 127.0.0.1, for the server half of the store contract."""
    server = ChromaServer(tmp_path_factory.mktemp("chroma-server"))
    yield server.url
    server.stop()


@pytest.fixture
def slack():
    """The local fake of the Slack Web API (mlpath/testing/fake_slack.py), one per test."""
    from mlpath.testing.fake_slack import FakeSlack

    fake = FakeSlack()
    yield fake
    fake.close()


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """The slow first: the tests that share an expensive fixture (an xdist group), then those that start
    processes, load the model or start servers, then the unit tests. With `make test`'s two workers the long
    ones then start at once and the quick ones fill in at the end, instead of one long group starting last
    while the other worker sits idle (longest first). Stable: a module's tests keep their order within a tier."""
    def tier(item: pytest.Item) -> int:
        names = {mark.name for mark in item.iter_markers()}
        for rank, marker in enumerate(("xdist_group", "subprocess", "model", "server", "postgres")):
            if marker in names:
                return rank
        return 5

    items.sort(key=tier)
