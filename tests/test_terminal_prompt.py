"""The chat's prompt (mlpath/terminal.py `read_line`) at a real pseudo-terminal, in this process: Ctrl-C reaches it
whichever thread the kernel hands the SIGINT to, and a typed line comes back as `input()` would return it."""

from __future__ import annotations

import os
import pty
import signal
import sys
import threading

import pytest

from mlpath.terminal import read_line


@pytest.fixture
def terminal(monkeypatch):
    """A function that puts stdin and stdout on the slave side of a pty and returns the master side, where the
    test types. Called in the test itself: pytest sets its own capture streams again before the call."""
    master, slave = pty.openpty()
    stdin = open(os.dup(slave), encoding="utf-8")  # noqa: SIM115
    stdout = open(os.dup(slave), "w", encoding="utf-8")  # noqa: SIM115

    def attach() -> int:
        monkeypatch.setattr(sys, "stdin", stdin)
        monkeypatch.setattr(sys, "stdout", stdout)
        return master

    yield attach
    stdin.close()
    stdout.close()
    os.close(slave)
    os.close(master)


def test_a_typed_line_comes_back_without_its_newline(terminal):
    terminal = terminal()
    os.write(terminal, b"what is PCA?\xff\n")
    assert read_line("you › ") == "what is PCA?\ufffd"
    os.write(terminal, b"\x04")  # Ctrl-D on an empty line: end of input
    with pytest.raises(EOFError):
        read_line("you › ")


def test_ctrl_c_delivered_to_another_thread_still_interrupts_the_prompt(terminal):
    """What made the chat ignore Ctrl-C now and then on a busy machine: the kernel gave the SIGINT to one of
    the process's other threads, and the main thread stayed blocked in its read."""
    terminal = terminal()
    interrupted, missed = threading.Event(), threading.Event()

    def another_thread() -> None:
        shown = b""
        while b"you \xe2\x80\xba " not in shown:  # the prompt is on the screen: the chat waits for a line
            shown += os.read(terminal, 1024)
        signal.pthread_kill(threading.get_ident(), signal.SIGINT)  # the handler runs for this thread's signal
        if not interrupted.wait(timeout=30):  # the prompt missed it: end the read so the test can fail
            missed.set()
            os.write(terminal, b"missed\n")

    helper = threading.Thread(target=another_thread)
    helper.start()
    try:
        with pytest.raises(KeyboardInterrupt):
            read_line("you › ")
        interrupted.set()
        assert not missed.is_set(), "Ctrl-C was noticed only once a line was typed"
    finally:
        interrupted.set()
        helper.join(timeout=60)
