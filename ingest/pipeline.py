"""The ingest job: files → sections → chunks → embeddings → vector store, idempotently.

For every source it compares the chunk ids it computes with the ids already stored for that source:
- new ids are embedded and upserted (in batches of similar length, longest first, so a killed run keeps
  what it finished and the next run completes the rest without duplicates — ids are stable);
- ids present with different metadata (e.g. a changed `level` in front matter) are updated without
  re-embedding;
- stored ids the source no longer produces are deleted.
Ingesting a folder (and the bundled curriculum, which is a folder) also removes stored sources below that
folder whose files have disappeared; single files never prune anything else.
"""

from __future__ import annotations

import sys
import time
from collections.abc import Callable, Iterable, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Protocol

import numpy as np

from errors import UserError
from ingest.chunking import Chunk, chunk_document
from ingest.readers import SUPPORTED_SUFFIXES, Document, ReadError, read_file

BUNDLED_PREFIX = "curriculum/"
EMBED_BATCH = 32
"""Chunks per embed-and-store step for an encoder that does not plan its batches (the embedder does: one
step per model call, at most its batch size); a step is what a killed run loses at most."""

Warn = Callable[[str], None]
Progress = Callable[[str, int, int], None]
"""Told (stage, done, total) as the job moves: stage "reading" counts files, "embedding" counts chunks.
Front ends draw it (the CLI as a progress bar on stderr); the pipeline itself prints nothing."""
Validate = Callable[[Document, str], dict[str, str]]
"""Checks a curriculum file against the catalogue; returns its topic id by heading (knowledge.content)."""


class Encoder(Protocol):
    """What ingest needs of an embedder (knowledge.embedding.Embedder is one)."""

    def encode(self, texts: Sequence[str]) -> np.ndarray: ...


class ChunkStore(Protocol):
    """What ingest needs of a vector store (knowledge.store.VectorStore is one). ingest/ sits below
    knowledge/: it reads, repairs and chunks files and writes through this protocol, never importing it."""

    def upsert(self, ids: Sequence[str], texts: Sequence[str], metadatas: Sequence[dict[str, Any]],
               embeddings: np.ndarray) -> None: ...

    def update_metadata(self, ids: Sequence[str], metadatas: Sequence[dict[str, Any]]) -> None: ...

    def delete(self, ids: Iterable[str]) -> None: ...

    def count(self) -> int: ...

    def metadata_by_id(self, where: dict[str, Any] | None = None) -> dict[str, dict[str, Any]]: ...


@dataclass
class IngestSummary:
    chunks: int = 0
    """Chunks in the store after the run (all sources)."""
    added: int = 0
    updated: int = 0
    removed: int = 0
    unchanged: int = 0
    seconds: float = 0.0
    files: int = 0
    skipped: list[str] = field(default_factory=list)
    embedded: int = 0
    """Texts embedded in this run (= added; 0 for an unchanged re-ingest)."""

    def as_json(self) -> dict[str, object]:
        data = asdict(self)
        data["seconds"] = round(self.seconds, 3)
        return data


@dataclass(frozen=True)
class _Target:
    files: list[tuple[Path, str]]
    """(file, source name) pairs."""
    prune_prefix: str | None
    kind: str


def _warn_stderr(message: str) -> None:
    print(f"mlpath: warning: {message}", file=sys.stderr)


def _is_hidden(path: Path, root: Path) -> bool:
    return any(part.startswith(".") for part in path.relative_to(root).parts)


def resolve_targets(paths: Sequence[Path], warn: Warn) -> list[_Target]:
    """Expand the command-line paths; a missing path is a UserError before anything is written."""
    missing = [str(p) for p in paths if not p.exists()]
    if missing:
        raise UserError(f"no such file or folder: {', '.join(missing)}")
    targets = []
    for raw in paths:
        path = raw.resolve()
        if path.is_dir():
            files = []
            for file in sorted(path.rglob("*")):
                if not file.is_file() or _is_hidden(file, path):
                    continue
                if file.suffix.lower() not in SUPPORTED_SUFFIXES:
                    warn(f"skipped {file}: unsupported file type {file.suffix or '(none)'!r}")
                    continue
                files.append((file, str(file)))
            targets.append(_Target(files, str(path) + "/", "resource"))
        else:
            targets.append(_Target([(path, str(path))], None, "resource"))
    return targets


def bundled_target(root: Path) -> _Target:
    files = [(f, BUNDLED_PREFIX + f.relative_to(root).as_posix()) for f in sorted(root.rglob("*.md"))]
    return _Target(files, BUNDLED_PREFIX, "curriculum")


def _chunks_for(file: Path, source: str, kind: str, warn: Warn, validate: Validate | None) -> list[Chunk]:
    doc: Document = read_file(file)
    topics_by_heading: dict[str, str] = {}
    if kind == "curriculum" and validate is not None:
        topics_by_heading = validate(doc, source)
    if doc.repaired_lines:
        warn(f"{file}: {doc.repaired_lines} line(s) had undecodable characters removed")
    return chunk_document(doc, source=source, kind=kind, topics_by_heading=topics_by_heading)


def ingest(
    paths: Sequence[Path] | None,
    *,
    store: ChunkStore,
    embedder: Encoder,
    curriculum: Path | None = None,
    validate: Validate | None = None,
    progress: Progress | None = None,
    warn: Warn = _warn_stderr,
) -> IngestSummary:
    """Ingest `paths`, or with none the curriculum folder `curriculum` (each file checked by `validate`)."""
    started = time.perf_counter()
    summary = IngestSummary()
    if not paths and curriculum is None:
        raise ValueError("ingest needs paths or the curriculum folder")
    targets = resolve_targets(paths, warn) if paths else [bundled_target(curriculum)]  # type: ignore[arg-type]

    to_embed: list[Chunk] = []
    to_update: list[Chunk] = []
    to_delete: list[str] = []
    report = progress or (lambda _stage, _done, _total: None)
    total_files, read = sum(len(t.files) for t in targets), 0
    report("reading", 0, total_files)
    for target in targets:
        seen_sources: set[str] = set()
        for file, source in target.files:
            read += 1
            report("reading", read, total_files)
            try:
                chunks = _chunks_for(file, source, target.kind, warn, validate)
            except ReadError as exc:
                warn(f"skipped {file}: {exc}")
                summary.skipped.append(str(file))
                continue
            summary.files += 1
            seen_sources.add(source)
            stored = store.metadata_by_id({"source": source})
            wanted = {c.id: c for c in chunks}
            for chunk_id, chunk in wanted.items():
                meta = stored.get(chunk_id)
                if meta is None:
                    to_embed.append(chunk)
                elif meta != chunk.metadata():
                    to_update.append(chunk)
                else:
                    summary.unchanged += 1
            to_delete.extend(i for i in stored if i not in wanted)
        if target.prune_prefix is not None:
            # Sources below this folder that produced no file this time have disappeared.
            for chunk_id, meta in store.metadata_by_id().items():
                src = str(meta.get("source", ""))
                if (src.startswith(target.prune_prefix) and src not in seen_sources
                        and src not in summary.skipped):
                    to_delete.append(chunk_id)

    # Batches of about the same length, across files: the encoder pads every text of a batch to the
    # batch's longest (in file order a batch mixed 20-token headings with 256-token paragraphs). An encoder
    # that plans its own batches (`batches`, by token count) is followed exactly, so ingest pays the
    # padding of one encode call over all texts and no more; otherwise longest first by characters.
    plan = getattr(embedder, "batches", None)
    if plan is not None and to_embed:
        groups = [[to_embed[i] for i in group] for group in plan([c.embed_text for c in to_embed])]
    else:
        to_embed.sort(key=lambda c: -len(c.embed_text))
        groups = [to_embed[start:start + EMBED_BATCH] for start in range(0, len(to_embed), EMBED_BATCH)]
    if to_embed:
        report("embedding", 0, len(to_embed))
    # The store writes batch n on a second thread while the encoder embeds batch n+1 (the encoder and
    # Chroma's Rust core both release the GIL): ingest then runs at the encoder's pace instead of the sum
    # of the two. At most one write is in flight, so a killed run still loses at most one batch.
    pending: Future[None] | None = None
    with ThreadPoolExecutor(max_workers=1, thread_name_prefix="ingest-store") as writer:
        for batch in groups:
            vectors = embedder.encode([c.embed_text for c in batch])
            if pending is not None:
                pending.result()
                report("embedding", summary.added, len(to_embed))
            pending = writer.submit(store.upsert, [c.id for c in batch], [c.text for c in batch],
                                    [c.metadata() for c in batch], vectors)
            summary.added += len(batch)
            summary.embedded += len(batch)
        if pending is not None:
            pending.result()
            report("embedding", summary.added, len(to_embed))
    store.update_metadata([c.id for c in to_update], [c.metadata() for c in to_update])
    summary.updated = len(to_update)
    unique_deletes = sorted(set(to_delete))
    store.delete(unique_deletes)
    summary.removed = len(unique_deletes)
    summary.chunks = store.count()
    summary.seconds = time.perf_counter() - started
    return summary
