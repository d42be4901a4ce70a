"""Wiring: one `Mentor` per process holding the embedder, the vector store, the retriever and the answerer.

Front ends (the CLI, the Slack bot) build a Mentor from their settings (any object with the fields of
`MentorSettings`; `mlpath.settings.Settings` is one) and call it; they never build these parts themselves.
On the embedded default the bundled curriculum is ingested on first use. With `MLPATH_LLM` set the mentor
answers through the LLM answerer (knowledge/llm.py), which falls back to the extractive one.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING, Protocol

from ingest.pipeline import IngestSummary, Progress, ingest
from knowledge import content_dir
from knowledge.answer import Answer, Answerer, ExtractiveAnswerer, TextSink, Turn
from knowledge.content import validate_document
from knowledge.embedding import Embedder, shared_embedder
from knowledge.llm import LLMSettings
from knowledge.member import MemberContext
from knowledge.retrieval import Retriever, SearchResult
from knowledge.store import VectorStore

if TYPE_CHECKING:
    from knowledge.llm import LLMAnswerer


class MentorSettings(LLMSettings, Protocol):
    """The values a Mentor is built from (the LLM's too)."""

    embedding_model: str | None
    chroma_collection: str
    chroma_url: str | None
    refusal_threshold: float
    max_question_chars: int
    top_k: int

    @property
    def chroma_path(self) -> Path: ...


@dataclass
class Mentor:
    settings: MentorSettings
    embedder: Embedder
    store: VectorStore
    retriever: Retriever
    answerer: Answerer
    extractive: ExtractiveAnswerer | None = None
    llm: LLMAnswerer | None = None

    @classmethod
    def from_settings(cls, settings: MentorSettings, *, embedder: Embedder | None = None,
                      rebuild: bool = False) -> Mentor:
        """`rebuild=True` drops the stored collection (after changing EMBEDDING_MODEL)."""
        chat_model = None
        if settings.llm:  # first: a bad provider or a missing key stops start-up before anything else
            from knowledge.llm import build_chat_model

            chat_model = build_chat_model(settings)
        embedder = embedder or shared_embedder(settings.embedding_model)
        store = VectorStore(collection=settings.chroma_collection, model_name=embedder.name,
                            url=settings.chroma_url, path=settings.chroma_path, rebuild=rebuild)
        retriever = Retriever(store, embedder)
        extractive = ExtractiveAnswerer(retriever, embedder, settings.refusal_threshold,
                                        max_question_chars=settings.max_question_chars, k=settings.top_k)
        llm = None
        if chat_model is not None:
            from knowledge.llm import LLMAnswerer

            llm = LLMAnswerer.from_settings(settings, extractive, model=chat_model)
        return cls(settings, embedder, store, retriever, llm or extractive, extractive, llm)

    def with_settings(self, settings: MentorSettings) -> Mentor:
        """The same store and retrieval with other LLM settings (tests; one store, several answerers)."""
        from knowledge.llm import LLMAnswerer

        extractive = self.extractive or self.answerer
        assert isinstance(extractive, ExtractiveAnswerer)
        llm = LLMAnswerer.from_settings(settings, extractive)
        return replace(self, settings=settings, answerer=llm or extractive, extractive=extractive, llm=llm)

    def ingest(self, paths: Sequence[Path] | None = None, *, progress: Progress | None = None) -> IngestSummary:
        summary = ingest(paths, store=self.store, embedder=self.embedder, curriculum=content_dir(),
                         validate=validate_document, progress=progress)
        self.retriever.invalidate()
        return summary

    def ensure_ingested(self, *, progress: Progress | None = None) -> IngestSummary | None:
        """Ingest the bundled curriculum when the store is empty (first use on a fresh machine)."""
        if self.store.count() > 0:
            return None
        return self.ingest(None, progress=progress)

    def search(self, query: str, *, k: int | None = None, level: int | None = None,
               track: str | None = None) -> SearchResult:
        return self.retriever.search(query, k=k or self.settings.top_k, level=level, track=track)

    def context(self, question: str, *, history: Sequence[Turn] = (), member: MemberContext | None = None) -> str:
        """The text of the top three passages an answer to `question` is composed from (`mlpath eval`)."""
        extractive = self.extractive
        assert extractive is not None
        return extractive.context(question, history=history, member=member)

    def ask(self, question: str, *, level: int | None = None, history: Sequence[Turn] = (),
            member_level: int | None = None, allow_llm: bool = True, on_text: TextSink | None = None,
            member: MemberContext | None = None) -> Answer:
        """`level` is preferred in retrieval; `member` (level, track, placement, weak topics, …) shapes
        guidance answers and the closing next step; `member_level` (or `member.level`) tells the LLM whom it
        explains to; `allow_llm` False (the member's daily budget is used up) gives the extractive answer with
        a note; `on_text` receives an LLM answer as it streams."""
        if self.llm is not None:
            return self.llm.answer(question, level=level, history=history, member_level=member_level,
                                   allow_llm=allow_llm, on_text=on_text, member=member)
        return self.answerer.answer(question, level=level, history=history, member=member)
