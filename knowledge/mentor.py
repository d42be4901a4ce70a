"""Wiring: one `Mentor` per process holding the embedder, the vector store, the retriever and the answerer.

Front ends (the CLI, the Slack bot) build a Mentor from `Settings` and call it; they never build these parts
themselves. On the embedded default the bundled curriculum is ingested on first use.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from ingest.pipeline import IngestSummary, ingest
from knowledge.answer import Answer, Answerer, ExtractiveAnswerer, Turn
from knowledge.embedding import Embedder, shared_embedder
from knowledge.retrieval import Retriever, SearchResult
from knowledge.store import VectorStore
from mlpath.settings import Settings


@dataclass
class Mentor:
    settings: Settings
    embedder: Embedder
    store: VectorStore
    retriever: Retriever
    answerer: Answerer

    @classmethod
    def from_settings(cls, settings: Settings, *, embedder: Embedder | None = None,
                      rebuild: bool = False) -> Mentor:
        """`rebuild=True` drops the stored collection (after changing EMBEDDING_MODEL)."""
        embedder = embedder or shared_embedder(settings.embedding_model)
        store = VectorStore(collection=settings.chroma_collection, model_name=embedder.name,
                            url=settings.chroma_url, path=settings.chroma_path, rebuild=rebuild)
        retriever = Retriever(store, embedder)
        answerer = ExtractiveAnswerer(retriever, embedder, settings.refusal_threshold,
                                      max_question_chars=settings.max_question_chars, k=settings.top_k)
        return cls(settings, embedder, store, retriever, answerer)

    def ingest(self, paths: Sequence[Path] | None = None, *, progress: bool = False) -> IngestSummary:
        summary = ingest(paths, store=self.store, embedder=self.embedder, progress=progress)
        self.retriever.invalidate()
        return summary

    def ensure_ingested(self, *, progress: bool = False) -> IngestSummary | None:
        """Ingest the bundled curriculum when the store is empty (first use on a fresh machine)."""
        if self.store.count() > 0:
            return None
        return self.ingest(None, progress=progress)

    def search(self, query: str, *, k: int | None = None, level: int | None = None,
               track: str | None = None) -> SearchResult:
        return self.retriever.search(query, k=k or self.settings.top_k, level=level, track=track)

    def ask(self, question: str, *, level: int | None = None, history: Sequence[Turn] = ()) -> Answer:
        return self.answerer.answer(question, level=level, history=history)
