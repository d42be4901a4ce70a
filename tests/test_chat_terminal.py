"""`mlpath chat` in a real pseudo-terminal, typed at as a person would: the installed command in a subprocess
whose stdin, stdout and stderr are a pty (line discipline, echo, Ctrl-C as SIGINT, Ctrl-D as end of input).
The chat must survive bytes that are not UTF-8 and leave cleanly with /quit or Ctrl-C at every prompt."""

from __future__ import annotations

import json
import os
import re
import select
import shutil
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest

from knowledge.catalogue import catalogue

pytestmark = [pytest.mark.model, pytest.mark.subprocess]

ROOT = Path(__file__).resolve().parents[1]
MLPATH = Path(sys.executable).parent / "mlpath"
PROMPT = "you › "
ANSWER_PROMPT = re.compile(r"answer \(A-D[^)]*\) › ")
_ESCAPES = re.compile(r"\x1b\[[0-9;?]*[A-Za-z]|\x1b\][^\x07]*\x07|\r")


def _controlling_terminal() -> None:
    """In the child, after setsid: the pty on stdin becomes its controlling terminal, so Ctrl-C is SIGINT."""
    import fcntl
    import termios

    fcntl.ioctl(0, termios.TIOCSCTTY, 0)


class Terminal:
    """A tiny expect: what the program wrote to the pty, read as it comes, with deadlines (never sleeps)."""

    def __init__(self, argv: list[str], env: dict[str, str]) -> None:
        import pty

        self.master, slave = pty.openpty()
        self.env = env
        self.proc = subprocess.Popen(argv, stdin=slave, stdout=slave, stderr=slave, env=env,
                                     start_new_session=True, preexec_fn=_controlling_terminal)
        os.close(slave)
        self.raw = b""
        self.seen = 0  # offset in `text` up to which expect() has matched

    @property
    def text(self) -> str:
        return _ESCAPES.sub("", self.raw.decode("utf-8", "replace"))

    def _read(self, timeout: float) -> None:
        ready, _, _ = select.select([self.master], [], [], timeout)
        if ready:
            try:
                self.raw += os.read(self.master, 65536)
            except OSError:  # the program closed the terminal (it exited)
                pass

    def expect(self, pattern: str | re.Pattern[str], timeout: float = 240) -> str:
        """Wait until `pattern` appears after the last match; returns the text up to and including it."""
        regex = pattern if isinstance(pattern, re.Pattern) else re.compile(re.escape(pattern))
        deadline = time.monotonic() + timeout
        while True:
            match = regex.search(self.text, self.seen)
            if match:
                before = self.text[self.seen:match.end()]
                self.seen = match.end()
                return before
            if time.monotonic() > deadline or (self.proc.poll() is not None and not select.select(
                    [self.master], [], [], 0)[0]):
                raise AssertionError(f"waited for {regex.pattern!r}; the terminal shows:\n{self.text[-3000:]}")
            self._read(0.5)

    def send(self, data: bytes) -> None:
        os.write(self.master, data)

    def line(self, text: str | bytes) -> None:
        self.send((text.encode() if isinstance(text, str) else text) + b"\r")

    def ctrl_c(self) -> None:
        self.send(b"\x03")

    def wait(self, timeout: float = 180) -> int:
        deadline = time.monotonic() + timeout
        while self.proc.poll() is None and time.monotonic() < deadline:
            self._read(0.2)
        self._read(0)
        return self.proc.wait(timeout=1)

    def close(self) -> None:
        if self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait(timeout=30)
        os.close(self.master)


def _copy_store(data_dir: Path, to: Path) -> Path:
    shutil.copytree(data_dir, to, ignore=shutil.ignore_patterns("*.db", "*.db-*"))
    return to


@pytest.fixture
def chat(curriculum_mentor, tmp_path):
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("SLACK_", "MLPATH_", "DATABASE_URL", "CHROMA_", "MLPATH_LLM"))}
    env.update({"PYTHONPATH": str(ROOT), "TERM": "xterm", "COLUMNS": "100", "LINES": "40",
                # a copy of the ingested store: two processes never share one embedded Chroma (FIELD-NOTES)
                "MLPATH_DATA_DIR": str(_copy_store(curriculum_mentor.settings.data_dir, tmp_path / "data")),
                "DATABASE_URL": f"sqlite:///{tmp_path / 'progress.db'}"})
    terminals: list[Terminal] = []

    def start() -> Terminal:
        term = Terminal([str(MLPATH), "chat"], env)
        terminals.append(term)
        term.expect(PROMPT)
        return term

    yield start
    for term in terminals:
        term.close()


def test_the_chat_survives_bytes_that_are_not_utf8_skips_and_quits_and_logs_its_answers(chat, tmp_path):
    term = chat()
    term.line(b"how do I\xff handle missing \xfe\xfevalues?")
    reply = term.expect(PROMPT)
    assert "mentor › " in reply and "missing values" in reply.lower() and "error" not in reply.lower()
    term.line("/path 1")
    outline = term.expect(PROMPT)
    level = catalogue().level(1)
    assert f"Level 1: {level.name}" in outline and all(t.title in outline for t in level.topics())
    term.line("/quiz")
    term.expect(ANSWER_PROMPT)
    term.line(b"\xff\xfe")  # not an answer, not UTF-8: asked again
    term.expect(ANSWER_PROMPT)
    term.line("/skip")  # leaves this question, back to the chat
    term.expect(PROMPT)
    term.line("/quiz placement")
    term.expect(ANSWER_PROMPT)
    term.line("/quit")  # leaves the chat from the placement's answer prompt
    assert term.wait() == 0
    assert "Traceback" not in term.text and "unexpected error" not in term.text

    stats = subprocess.run([str(MLPATH), "stats", "--json"], env=term.env, capture_output=True, text=True,
                           timeout=120)
    assert stats.returncode == 0 and json.loads(stats.stdout)["questions"] == 1
    with sqlite3.connect(tmp_path / "progress.db") as db:
        rows = db.execute("SELECT surface, question FROM answers").fetchall()
    assert [surface for surface, _ in rows] == ["terminal"] and "\ufffd handle missing" in rows[0][1]


def test_ctrl_c_at_the_answer_prompt_leaves_cleanly(chat):
    term = chat()
    term.line("/quiz")
    term.expect(ANSWER_PROMPT)
    term.ctrl_c()
    assert term.wait() == 0
    assert "Traceback" not in term.text and "KeyboardInterrupt" not in term.text
    assert not re.search(r"\^C\S", term.text)  # the next output starts on a line of its own


def test_ctrl_c_at_the_chat_prompt_leaves_cleanly(chat):
    term = chat()
    term.ctrl_c()
    assert term.wait() == 0
    assert "Traceback" not in term.text and "KeyboardInterrupt" not in term.text
