"""What the command line shows while it works: a spinner while something loads, a progress bar for long
jobs — on standard error, drawn by `rich`, and only when standard error is a terminal (a pipe, a log file or
`--json` output never gets escape codes or half-drawn bars).

Why `rich`: it draws spinners and progress bars that redraw in place, degrade cleanly when the output is not
a terminal, and wrap to the terminal's width; the CLI and the terminal chat use the same library for
answers and tables, so there is one way text reaches the terminal.
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from functools import cache

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, SpinnerColumn, TextColumn, TimeElapsedColumn

Sink = Callable[[str, int, int], None]
"""(stage, done, total): what a long job reports as it moves (ingest.pipeline.Progress has this shape)."""


@cache
def stderr() -> Console:
    """The console for everything that is not the command's output."""
    return Console(stderr=True, highlight=False)


def interactive() -> bool:
    """True when a person watches standard error (progress is drawn only then)."""
    return stderr().is_terminal


@contextmanager
def status(message: str) -> Iterator[None]:
    """A spinner with `message` while the block runs (the model or the indexes loading)."""
    if not interactive():
        yield
        return
    with stderr().status(message, spinner="dots"):
        yield


@contextmanager
def progress(labels: dict[str, str] | None = None) -> Iterator[Sink]:
    """A progress bar per stage of a long job; yields the sink the job reports to. `labels` names the
    stages for people ("embedding" → "embedding chunks")."""
    if not interactive():
        yield lambda _stage, _done, _total: None
        return
    names = labels or {}
    bars = Progress(SpinnerColumn(), TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(),
                    TimeElapsedColumn(), console=stderr(), transient=False)
    tasks: dict[str, int] = {}

    def sink(stage: str, done: int, total: int) -> None:
        if stage not in tasks:
            tasks[stage] = bars.add_task(names.get(stage, stage), total=total)
        bars.update(tasks[stage], completed=done, total=total)  # type: ignore[arg-type]

    with bars:
        yield sink


def note(message: str) -> None:
    """One line for the person at the terminal (a usage hint); plain text, on standard error."""
    print(message, file=sys.stderr, flush=True)
