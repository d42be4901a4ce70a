"""What every benchmark section shares: the run context, rows, percentiles and the machine's name.

A section is a module with a `run(ctx: Context) -> list[Row]` function, registered in `bench/__main__.py`.
A row is `(measure, value)`; sections that compare mlpath with another pipeline may return more cells and
declare their own columns (see `Section`).
"""

from __future__ import annotations

import os
import platform
import shutil
import statistics
import tempfile
from collections.abc import Callable, Sequence
from contextlib import ExitStack
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from ingest.pipeline import IngestSummary
    from knowledge.embedding import Embedder
    from knowledge.evaluation import EvalItem
    from knowledge.mentor import Mentor
    from mlpath.settings import Settings

Row = tuple[str, ...]


@dataclass(frozen=True)
class Section:
    name: str
    """Short name for `--only`."""
    title: str
    run: Callable[[Context], list[Row]]
    columns: tuple[str, ...] = ("measure", "value")


def machine() -> str:
    """Cores, CPU model (from /proc/cpuinfo where there is one) and Python version."""
    model = platform.processor() or "unknown CPU"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return f"{os.cpu_count()} cores, {model}, Python {platform.python_version()}"


def load_average() -> str:
    """The 1-minute load average: on a machine shared with other work the figures are noisy, and the
    table should say so."""
    try:
        return f"{os.getloadavg()[0]:.1f}"
    except OSError:
        return "unknown"


def pct(values: Sequence[float], q: float) -> float:
    """Nearest-rank percentile (q in 0..1) of a non-empty sample."""
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def med(values: Sequence[float]) -> float:
    return float(statistics.median(values))


def ms(value: float) -> str:
    return f"{value:.0f} ms" if value >= 10 else f"{value:.1f} ms"


def ratio(a: float, b: float) -> str:
    """`a / b` as "1.53×"; "n/a" when b is 0."""
    return f"{a / b:.2f}×" if b else "n/a"


def clear_mlpath_environment() -> list[str]:
    """Remove every variable that mlpath's Settings would read, so the harness measures the defaults in
    its own temporary folders: never a developer's DATABASE_URL, CHROMA_URL or tuned settings. (`.env` is
    not read either: every Settings here is built with `_env_file=None`, and `mlpath serve` runs in a
    temporary working directory.) Returns the names that were set."""
    from pydantic import AliasChoices

    from mlpath.settings import Settings

    removed = []
    for name, info in Settings.model_fields.items():
        alias = info.validation_alias
        env = str(alias.choices[0]) if isinstance(alias, AliasChoices) else name.upper()
        if os.environ.pop(env, None) is not None:
            removed.append(env)
    return removed


@dataclass
class Context:
    """One harness run: options, the shared embedder (loaded once, never part of a figure), the eval set,
    and temporary folders that are removed at the end."""

    quick: bool
    runs: int
    embedder: Embedder
    items: list[EvalItem]
    corpus: Path | None = None
    """The folder both pipelines ingest; None = the bundled curriculum (quick mode: one level of it)."""
    postgres_url: str | None = None
    """`--postgres-url`: a PostgreSQL server for sections that measure it (never DATABASE_URL)."""
    stack: ExitStack = field(default_factory=ExitStack)
    _mentor: Mentor | None = None
    notes: list[str] = field(default_factory=list)
    """Lines printed under the tables (what a figure includes or leaves out)."""
    facts: dict[str, float] = field(default_factory=dict)
    """Figures one section measured that a later one compares with (e.g. "ingest_cold_s")."""

    @property
    def questions(self) -> list[str]:
        """The eval questions used for latency figures (the first 10 in quick mode)."""
        qs = [i.q for i in self.items]
        return qs[:10] if self.quick else qs

    def tempdir(self) -> Path:
        return Path(self.stack.enter_context(tempfile.TemporaryDirectory(prefix="mlpath-bench-")))

    def settings(self, data_dir: Path, **overrides: Any) -> Settings:
        from mlpath.settings import Settings

        return Settings(_env_file=None, data_dir=data_dir, **overrides)  # type: ignore[call-arg, arg-type]

    def new_mentor(self, data_dir: Path | None = None) -> Mentor:
        from knowledge.mentor import Mentor

        return Mentor.from_settings(self.settings(data_dir or self.tempdir()), embedder=self.embedder)

    def ingest(self, mentor: Mentor) -> IngestSummary:
        return mentor.ingest(None if self.corpus is None else [self.corpus])

    def corpus_folder(self) -> Path:
        from knowledge import content_dir

        return self.corpus or content_dir()

    def mentor(self) -> Mentor:
        """A mentor with the bundled curriculum ingested, shared by the sections that only read
        (the ingest section hands over its last run's mentor, so the curriculum is embedded once)."""
        if self._mentor is None:
            mentor = self.new_mentor()
            self.ingest(mentor)
            self._mentor = mentor
        return self._mentor

    def adopt_mentor(self, mentor: Mentor) -> None:
        self._mentor = mentor

    def copy_of_store(self) -> Path:
        """A data folder holding a copy of the shared mentor's Chroma store, for another process: Chroma
        is not process-safe, so a second process gets its own copy, never the same folder."""
        source = self.mentor().settings.chroma_path
        target = self.tempdir()
        shutil.copytree(source, target / "chroma")
        return target

    def close(self) -> None:
        self.stack.close()
