"""The vector store: Chroma embedded (PersistentClient under data/) or a Chroma server (CHROMA_URL).

Both go through the same `VectorStore` code; only the client differs. We always pass our own embeddings
(Chroma's default embedding function would download a model) and turn telemetry off. Chroma is thread-safe
but not process-safe: several processes must share a server, never one directory.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

import numpy as np

from errors import UserError

GET_PAGE = 1000


@dataclass(frozen=True)
class StoredChunk:
    id: str
    text: str
    metadata: dict[str, Any]


def _client(*, url: str | None, path: Path):  # type: ignore[no-untyped-def]
    import chromadb
    from chromadb.config import Settings as ChromaSettings

    chroma_settings = ChromaSettings(anonymized_telemetry=False, allow_reset=False)
    if url:
        parsed = urlparse(url)
        ssl = parsed.scheme == "https"
        port = parsed.port or (443 if ssl else 8000)
        try:
            client = chromadb.HttpClient(host=parsed.hostname or "localhost", port=port, ssl=ssl,
                                         settings=chroma_settings)
            client.heartbeat()
        except Exception as exc:  # the client raises a variety of connection errors
            reason = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
            raise UserError(f"cannot reach the Chroma server at CHROMA_URL={url} ({reason[:160]})") from None
        return client
    try:
        path.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise UserError(f"cannot create the data folder {path} ({exc.strerror or exc})") from None
    return chromadb.PersistentClient(path=str(path), settings=chroma_settings)


class VectorStore:
    def __init__(self, *, collection: str, model_name: str, url: str | None = None,
                 path: Path | None = None, rebuild: bool = False) -> None:
        """`rebuild=True` drops the collection first: the way out after EMBEDDING_MODEL changed."""
        self.url = url
        self.location = url or str(path)
        self._client = _client(url=url, path=path or Path("data/chroma"))
        self.model_name = model_name
        self.collection_name = collection
        if rebuild:
            try:
                self._client.delete_collection(collection)
            except Exception:  # noqa: BLE001 - absent collection; chromadb raises different types per client
                pass
        self._collection = self._create()
        stored_model = (self._collection.metadata or {}).get("embedding_model")
        if stored_model and stored_model != model_name:
            raise UserError(
                f"the collection {collection!r} was built with the embedding model {stored_model!r}, "
                f"but EMBEDDING_MODEL gives {model_name!r}; run `mlpath ingest --reset` to rebuild it"
            )

    # ----- writing -----
    def upsert(self, ids: Sequence[str], texts: Sequence[str], metadatas: Sequence[dict[str, Any]],
               embeddings: np.ndarray) -> None:
        if ids:
            self._collection.upsert(ids=list(ids), documents=list(texts), metadatas=list(metadatas),
                                    embeddings=embeddings)

    def update_metadata(self, ids: Sequence[str], metadatas: Sequence[dict[str, Any]]) -> None:
        if ids:
            self._collection.update(ids=list(ids), metadatas=list(metadatas))

    def delete(self, ids: Iterable[str]) -> None:
        ids = list(ids)
        for start in range(0, len(ids), GET_PAGE):
            self._collection.delete(ids=ids[start:start + GET_PAGE])

    def _create(self):  # type: ignore[no-untyped-def]
        return self._client.get_or_create_collection(
            name=self.collection_name,
            configuration={"hnsw": {"space": "cosine"}},
            metadata={"embedding_model": self.model_name},
            embedding_function=None,
        )

    # ----- reading -----
    def count(self) -> int:
        return int(self._collection.count())

    def metadata_by_id(self, where: dict[str, Any] | None = None) -> dict[str, dict[str, Any]]:
        """id → metadata for every chunk (matching `where`), paged so large stores stay cheap."""
        out: dict[str, dict[str, Any]] = {}
        offset = 0
        while True:
            got = self._collection.get(where=where, include=["metadatas"], limit=GET_PAGE, offset=offset)
            for chunk_id, meta in zip(got["ids"], got["metadatas"] or [], strict=False):
                out[chunk_id] = dict(meta or {})
            if len(got["ids"]) < GET_PAGE:
                return out
            offset += GET_PAGE

    def all_chunks_with_embeddings(self) -> tuple[list[StoredChunk], np.ndarray]:
        """Every chunk and its (normalised) embedding, for the lexical index and similarity look-ups."""
        chunks: list[StoredChunk] = []
        vectors: list[np.ndarray] = []
        offset = 0
        while True:
            got = self._collection.get(include=["documents", "metadatas", "embeddings"], limit=GET_PAGE,
                                       offset=offset)
            docs = got["documents"] or []
            metas = got["metadatas"] or []
            embs = got["embeddings"] if got["embeddings"] is not None else []
            for chunk_id, doc, meta, emb in zip(got["ids"], docs, metas, embs, strict=False):
                chunks.append(StoredChunk(chunk_id, doc or "", dict(meta or {})))
                vectors.append(np.asarray(emb, dtype=np.float32))
            if len(got["ids"]) < GET_PAGE:
                break
            offset += GET_PAGE
        matrix = np.vstack(vectors) if vectors else np.zeros((0, 0), dtype=np.float32)
        return chunks, matrix

    def query(self, embedding: np.ndarray, *, n: int, where: dict[str, Any] | None = None
              ) -> list[tuple[StoredChunk, float]]:
        """Nearest chunks with their cosine similarity (1 - cosine distance). Chroma returns fewer than `n`
        when the collection holds fewer (none when empty), so no `count()` first: it costs as much as the
        query."""
        got = self._collection.query(query_embeddings=[embedding], n_results=n, where=where,
                                     include=["documents", "metadatas", "distances"])
        ids = got["ids"][0]
        docs = (got["documents"] or [[]])[0]
        metas = (got["metadatas"] or [[]])[0]
        dists = (got["distances"] or [[]])[0]
        return [
            (StoredChunk(i, d or "", dict(m or {})), 1.0 - float(dist))
            for i, d, m, dist in zip(ids, docs, metas, dists, strict=False)
        ]
