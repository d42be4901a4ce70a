"""The tiers check (tests/tiers.py): a test that starts a process or a server, or uses the embedding model,
without the marker that says so fails — so `make test-fast` never runs one by accident. Each case runs a
small test file in a pytest session of its own (pytester, in this process)."""

from __future__ import annotations

import pytest

pytest_plugins = ["pytester"]

CONFTEST = """
import pytest

pytest_plugins = ["tests.tiers"]


@pytest.fixture
def embedder():
    return None
"""


def run(pytester: pytest.Pytester, source: str) -> pytest.RunResult:
    pytester.makeconftest(CONFTEST)
    pytester.makepyfile(test_inner=source)
    return pytester.runpytest_inprocess("-p", "no:cacheprovider", "-q")


def test_a_process_needs_the_subprocess_marker(pytester: pytest.Pytester) -> None:
    result = run(pytester, """
import subprocess, sys
import pytest

def test_unmarked():
    subprocess.run([sys.executable, "-c", "pass"], check=True)

@pytest.mark.subprocess
def test_marked():
    subprocess.run([sys.executable, "-c", "pass"], check=True)
""")
    result.assert_outcomes(passed=1, failed=1)
    result.stdout.fnmatch_lines(["*test_unmarked*", "*started `python* -c pass` but is not marked "
                                 "@pytest.mark.subprocess*"])


def test_a_listening_socket_needs_the_server_marker(pytester: pytest.Pytester) -> None:
    result = run(pytester, """
import http.server, threading
import pytest

def serve():
    server = http.server.HTTPServer(("127.0.0.1", 0), http.server.BaseHTTPRequestHandler)
    server.server_close()

def test_unmarked():
    serve()

@pytest.mark.server
def test_marked():
    serve()

def test_unmarked_on_a_thread():
    thread = threading.Thread(target=serve)
    thread.start()
    thread.join()
""")
    result.assert_outcomes(passed=1, failed=2)
    result.stdout.fnmatch_lines(["*listened on 127.0.0.1:* but is not marked @pytest.mark.server*"])


def test_the_model_needs_the_model_marker(pytester: pytest.Pytester) -> None:
    """Asking for the `embedder` fixture is enough; so is running an embedder (here one that counts as loaded,
    so nothing is read from disk)."""
    result = run(pytester, """
import threading
import pytest
from knowledge.embedding import Embedder

def loaded():
    embedder = Embedder.__new__(Embedder)
    embedder.name, embedder._lock, embedder._model, embedder._onnx = "fake", threading.Lock(), None, object()
    return embedder

def test_fixture(embedder):
    pass

def test_unmarked():
    loaded()._load()

@pytest.mark.model
def test_marked(embedder):
    loaded()._load()
""")
    result.assert_outcomes(passed=1, failed=1, errors=1)  # the fixture's test fails at its setup
    result.stdout.fnmatch_lines(["*asked for the `embedder` fixture but is not marked @pytest.mark.model*",
                                 "*used the embedding model fake but is not marked @pytest.mark.model*"])


def test_work_on_a_thread_is_charged_to_the_test_that_started_the_thread(pytester: pytest.Pytester) -> None:
    """A server thread of a marked test that is still busy while the next test runs does not fail that test."""
    result = run(pytester, """
import socket, threading
import pytest

go = threading.Event()
done = threading.Event()

def later():
    go.wait(10)
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        s.listen()
    done.set()

@pytest.mark.server
def test_starts_a_thread():
    threading.Thread(target=later, daemon=True).start()

def test_runs_while_it_works():
    go.set()
    assert done.wait(10)
""")
    result.assert_outcomes(passed=2)


def test_make_test_fast_leaves_out_every_marker():
    from pathlib import Path

    from tests.tiers import FAST

    makefile = (Path(__file__).resolve().parent.parent / "Makefile").read_text(encoding="utf-8")
    assert f"FAST   := {FAST}\n" in makefile


@pytest.mark.subprocess
def test_xdist_groups_keep_their_tests_on_one_worker(pytester: pytest.Pytester) -> None:
    """`make test` relies on `--dist loadgroup` to run a module's expensive shared fixture once (the eval sets,
    the benchmark harness); pytest 9.2 with pytest-xdist 3.8 silently ignored the groups (pytest-xdist#1386)."""
    pytester.makepyfile(test_grouped="""
import pytest

pytestmark = pytest.mark.xdist_group("shared")

def test_one():
    pass

def test_two():
    pass
""", **{f"test_other{i}": "def test_x():\n    pass\n" for i in range(6)})
    result = pytester.runpytest_subprocess("-p", "no:cacheprovider", "-n", "2", "--dist", "loadgroup", "-v")
    result.assert_outcomes(passed=8)
    # "[gw0] PASSED test_grouped.py::test_one@shared": which worker ran each grouped test
    workers = {line.split()[0] for line in result.outlines if "PASSED test_grouped.py::" in line}
    assert len(workers) == 1, result.outlines
