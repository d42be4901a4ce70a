"""The embedder runs MiniLM through ONNX Runtime from a model exported once from the bundled weights: its
vectors must equal sentence-transformers' (so vectors stored by either stay valid), the export must happen
once even when two callers race for it, and any failure must fall back to sentence-transformers, loudly."""

from __future__ import annotations

import json
import logging
import shutil
import subprocess
import sys
import threading
from pathlib import Path

import numpy as np
import pytest

from errors import UserError
from knowledge.embedding import Embedder, OnnxEncoder, default_model_path, export_onnx
from knowledge.onnx_export import TOLERANCE, sample_texts


@pytest.fixture(scope="module")
def reference() -> Embedder:
    return Embedder(backend="sentence-transformers")


def curriculum_sentences() -> list[str]:
    """Every sentence-ish piece of the curriculum plus the texts ingest embeds (heading + chunk), of all
    lengths: short questions, table rows, code, paragraphs longer than the model's 256-token window."""
    from knowledge import content_dir

    texts = sample_texts(limit=10_000)
    for file in sorted(content_dir().rglob("*.md")):
        texts += [s.strip() for s in file.read_text(encoding="utf-8").replace("\n", " ").split(". ") if s.strip()]
    return texts


@pytest.mark.model
def test_onnx_vectors_match_sentence_transformers_on_the_curriculum(embedder, reference):
    every = curriculum_sentences()
    assert len(every) > 1000
    # every fourth sentence: all files, short and long, at a quarter of the cost (the suite's time budget)
    texts = every[::4]
    ours = embedder.encode(texts)
    assert embedder.backend == "onnx"
    theirs = reference.encode(texts)
    assert reference.backend == "sentence-transformers"
    assert ours.shape == theirs.shape == (len(texts), 384)
    cosine = np.sum(ours * theirs, axis=1)
    worst = int(np.argmin(cosine))
    assert 1.0 - cosine[worst] <= TOLERANCE, texts[worst][:200]
    assert np.allclose(np.linalg.norm(ours, axis=1), 1.0, atol=1e-5)
    # one text alone gives the same vector as in a padded batch
    assert float(embedder.encode_one(texts[worst]) @ theirs[worst]) >= 1.0 - TOLERANCE


@pytest.mark.model
@pytest.mark.subprocess
def test_two_callers_export_once_and_the_model_is_checked(tmp_path, caplog):
    """Both threads find no file; one exports (in a child process) while the other waits on the lock and
    then uses the published file. A child process never leaves a partial file behind."""
    caplog.set_level(logging.WARNING, logger="mlpath.embedding")
    target = tmp_path / "cache" / "minilm.onnx"
    errors: list[BaseException] = []

    def export() -> None:
        try:
            export_onnx(default_model_path(), target)
        except BaseException as exc:  # noqa: BLE001 - reported by the assertion below
            errors.append(exc)

    threads = [threading.Thread(target=export) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=900)
    assert not errors
    assert [r.getMessage() for r in caplog.records if "exporting" in r.getMessage()] == [
        f"exporting the embedding model at {default_model_path()} to ONNX (once, about a minute): {target}"]
    assert sorted(p.name for p in target.parent.iterdir()) == ["minilm.lock", "minilm.onnx"]
    vector = OnnxEncoder(default_model_path(), target).encode(["what does SMOTE actually do?"], batch_size=8)
    assert vector.shape == (1, 384)


def cls_pooling_copy(tmp_path: Path) -> Path:
    """The bundled model with CLS pooling: a model the exporter refuses (only mean pooling is exported)."""
    model = tmp_path / "cls-model"
    shutil.copytree(default_model_path(), model)
    pooling = model / "1_Pooling" / "config.json"
    config = json.loads(pooling.read_text())
    config.update(pooling_mode_mean_tokens=False, pooling_mode_cls_token=True)
    pooling.write_text(json.dumps(config))
    return model


@pytest.mark.model
def test_a_model_that_cannot_be_exported_falls_back_to_sentence_transformers_with_a_warning(tmp_path, caplog):
    caplog.set_level(logging.WARNING, logger="mlpath.embedding")
    model = cls_pooling_copy(tmp_path)
    fallback = Embedder(str(model), cache_dir=tmp_path / "cache")
    vectors = fallback.encode(["what does SMOTE actually do?", "great on train, bad on test"])
    assert fallback.backend == "sentence-transformers" and vectors.shape == (2, 384)
    warning = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert len(warning) == 1 and "falling back to sentence-transformers" in warning[0]
    assert "only mean pooling can be exported" in warning[0]
    assert not list((tmp_path / "cache").glob("*.onnx"))

    strict = Embedder(str(model), cache_dir=tmp_path / "cache", backend="onnx")
    with pytest.raises(UserError, match="cannot run the embedding model through ONNX Runtime: .*mean pooling"):
        strict.encode(["x"])


@pytest.mark.model
def test_an_unwritable_cache_falls_back_too(tmp_path, caplog):
    caplog.set_level(logging.WARNING, logger="mlpath.embedding")
    blocked = tmp_path / "not-a-folder"
    blocked.write_text("a file where the cache folder should be")
    fallback = Embedder(cache_dir=blocked / "models")
    assert fallback.encode(["hello"]).shape == (1, 384)
    assert fallback.backend == "sentence-transformers"
    assert any("cannot write to" in r.getMessage() for r in caplog.records)


@pytest.mark.model  # starting knowledge.onnx_export counts as loading the model (tests/tiers.py, since ea19a93)
@pytest.mark.subprocess
def test_the_export_command_says_what_is_wrong_in_one_line(tmp_path):
    done = subprocess.run([sys.executable, "-m", "knowledge.onnx_export", str(cls_pooling_copy(tmp_path)),
                           str(tmp_path / "out.onnx")], capture_output=True, text=True, timeout=300)
    assert done.returncode == 1
    assert done.stderr.strip() == ("RuntimeError: pooling ['pooling_mode_cls_token']: only mean pooling can be "
                                   "exported")
    assert not (tmp_path / "out.onnx").exists()


@pytest.mark.model
@pytest.mark.subprocess
def test_a_failed_export_is_not_retried_by_every_process(tmp_path, monkeypatch):
    """An export that failed (it can take a minute) leaves a note beside the target; later loads of the same
    files read it instead of exporting again, until it is deleted. The model here passes the architecture
    check but its weights are damaged, so the real export process fails."""
    import knowledge.embedding as embedding

    model = tmp_path / "model"
    shutil.copytree(default_model_path(), model)
    weights = next(p for p in model.iterdir() if p.suffix in (".safetensors", ".bin"))
    weights.write_bytes(b"not a weights file")
    runs: list[list[str]] = []
    real_run = subprocess.run

    def spy(args, **kwargs):  # the real export process, counted
        runs.append(args)
        return real_run(args, **kwargs)

    monkeypatch.setattr(embedding.subprocess, "run", spy)
    for _ in range(2):
        with pytest.raises(UserError, match="the ONNX export failed"):
            Embedder(str(model), cache_dir=tmp_path / "cache", backend="onnx").encode(["x"])
    assert len(runs) == 1
    note = next((tmp_path / "cache").glob("*.failed"))
    assert "the ONNX export failed" in note.read_text()
    note.unlink()
    with pytest.raises(UserError, match="the ONNX export failed"):
        Embedder(str(model), cache_dir=tmp_path / "cache", backend="onnx").encode(["x"])
    assert len(runs) == 2


@pytest.mark.model
def test_a_graph_without_token_types_is_fed_only_what_it_takes(embedder):
    """MPNet-style models export without `token_type_ids`; the encoder feeds the inputs the graph declares."""
    embedder.encode(["warm"])
    onnx = embedder._onnx
    assert onnx is not None and "token_type_ids" in onnx.inputs

    class Recording:
        def __init__(self, real):
            self.real, self.feeds = real, []

        def run(self, outputs, feeds, options=None):
            self.feeds.append(set(feeds))
            full = {**feeds, "token_type_ids": np.zeros_like(feeds["input_ids"])}
            return self.real.run(outputs, full, options)

    real, inputs = onnx.session, onnx.inputs
    recording = Recording(real)
    onnx.session, onnx.inputs = recording, frozenset({"input_ids", "attention_mask"})  # type: ignore[assignment]
    try:
        vector = embedder.encode(["feature stores serve features online"])
    finally:
        onnx.session, onnx.inputs = real, inputs
    assert recording.feeds == [{"input_ids", "attention_mask"}] and vector.shape == (1, 384)
