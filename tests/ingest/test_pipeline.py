"""The ingest job against the real model and a real embedded Chroma."""

from pathlib import Path

import numpy as np
import pytest

from errors import UserError
from ingest.pipeline import ingest

pytestmark = [pytest.mark.model]

FIXTURES = Path(__file__).parents[1] / "fixtures"


def write(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return path


def team_folder(root: Path) -> Path:
    write(root / "mlops.md", "# MLOps guide\n\n## Deploying\n\nWe deploy with KServe.\n\n"
          "## Rollbacks\n\nRoll back by pinning the previous model alias.\n")
    write(root / "gpu.txt", "Our GPU budget is 200 hours a month.")
    write(root / "sub" / "faq.html", "<h1>FAQ</h1><p>Ask in #ml-help first.</p>")
    return root


def test_reingesting_unchanged_input_embeds_nothing(make_mentor, tmp_path: Path):
    mentor = make_mentor()
    folder = team_folder(tmp_path / "team")
    first = mentor.ingest([folder])
    assert first.added == first.chunks > 0 and first.files == 3
    before = mentor.embedder.encoded
    second = mentor.ingest([folder])
    assert (second.added, second.updated, second.removed) == (0, 0, 0)
    assert second.unchanged == first.added and second.chunks == first.chunks
    assert mentor.embedder.encoded == before  # nothing was embedded


def test_an_edit_replaces_only_that_files_chunks_and_a_deleted_file_is_pruned(make_mentor, tmp_path):
    mentor = make_mentor()
    folder = team_folder(tmp_path / "team")
    mentor.ingest([folder])
    write(folder / "mlops.md", "# MLOps guide\n\n## Deploying\n\nWe deploy with Seldon now.\n\n"
          "## Rollbacks\n\nRoll back by pinning the previous model alias.\n")
    (folder / "gpu.txt").unlink()
    summary = mentor.ingest([folder])
    assert summary.added == 1 and summary.removed == 2 and summary.unchanged == 2
    sources = {m["source"] for m in mentor.store.metadata_by_id().values()}
    assert str(folder / "gpu.txt") not in sources
    texts = [h.text for h in mentor.search("how do we deploy models?", k=3).hits]
    assert any("Seldon" in t for t in texts) and not any("KServe" in t for t in texts)


def test_single_files_never_prune_other_sources(make_mentor, tmp_path):
    mentor = make_mentor()
    folder = team_folder(tmp_path / "team")
    mentor.ingest([folder])
    count = mentor.store.count()
    mentor.ingest([folder / "gpu.txt"])
    assert mentor.store.count() == count


def test_front_matter_change_updates_metadata_without_reembedding(make_mentor, tmp_path):
    mentor = make_mentor()
    doc = write(tmp_path / "r" / "note.md", "---\nlevel: 2\n---\n# Notes\n\nStratify your splits.\n")
    mentor.ingest([doc])
    before = mentor.embedder.encoded
    doc.write_text("---\nlevel: 2\ntopic: train-validation-test-splits\n---\n# Notes\n\nStratify your splits.\n",
                   encoding="utf-8")
    summary = mentor.ingest([doc])
    assert (summary.added, summary.updated) == (0, 1) and mentor.embedder.encoded == before
    meta = next(iter(mentor.store.metadata_by_id().values()))
    assert meta["topic"] == "train-validation-test-splits"


def test_unsupported_and_unreadable_files_are_skipped_with_a_warning(make_mentor, tmp_path):
    mentor = make_mentor()
    folder = team_folder(tmp_path / "team")
    (folder / "diagram.png").write_bytes(b"\x89PNG")
    (folder / "broken.pdf").write_bytes(b"not a pdf")
    warnings: list[str] = []
    summary = ingest([folder], store=mentor.store, embedder=mentor.embedder, warn=warnings.append)
    assert summary.files == 3 and summary.skipped == [str(folder / "broken.pdf")]
    assert any("diagram.png" in w and "unsupported" in w for w in warnings)
    assert any("broken.pdf" in w for w in warnings)


def test_a_missing_path_is_an_error_before_anything_is_written(make_mentor, tmp_path):
    mentor = make_mentor()
    with pytest.raises(UserError, match="no such file or folder: .*nope"):
        mentor.ingest([team_folder(tmp_path / "team"), tmp_path / "nope"])
    assert mentor.store.count() == 0


class _DiesAfterOneBatch:
    """The real embedder, killed (KeyboardInterrupt) after its first batch, like Ctrl-C mid-ingest."""

    def __init__(self, real):
        self.real = real
        self.calls = 0

    def encode(self, texts):
        self.calls += 1
        if self.calls > 1:
            raise KeyboardInterrupt
        return self.real.encode(texts)

    def batches(self, texts):
        return self.real.batches(texts)


class _Recording:
    """The real embedder, recording the texts of every encode call."""

    def __init__(self, real):
        self.real = real
        self.calls: list[list[str]] = []

    def encode(self, texts):
        self.calls.append(list(texts))
        return self.real.encode(texts)

    def batches(self, texts):
        return self.real.batches(texts)


def test_ingest_encodes_in_the_embedders_own_batches_and_stores_what_one_call_gives(make_mentor, tmp_path):
    """Ingest follows the encoder's plan (one model call per batch, by token count), so it pads no more
    than one encode call over all texts would; the stored vectors are those of that one call."""
    mentor = make_mentor()
    folder = tmp_path / "mixed"
    for i in range(70):  # short and long chunks, interleaved across files
        body = f"Fact {i} about feature stores." if i % 2 else " ".join(["drift monitoring"] * (20 + i))
        write(folder / f"note{i:02d}.md", f"# Note {i}\n\n{body}\n")
    recording = _Recording(mentor.embedder)
    ingest([folder], store=mentor.store, embedder=recording)
    stored, vectors = mentor.store.all_chunks_with_embeddings()
    texts = [f"{c.metadata['section']}\n\n{c.text}" for c in stored]
    plan = mentor.embedder.batches(texts)
    assert len(plan) > 1
    assert sorted(sorted(call) for call in recording.calls) == sorted(sorted(texts[i] for i in g) for g in plan)
    once = mentor.embedder.encode(texts)
    assert np.allclose(np.asarray(vectors), once, atol=1e-5)


def test_an_ingest_killed_halfway_is_completed_by_the_next_run_without_duplicates(make_mentor, tmp_path):
    mentor = make_mentor()
    folder = tmp_path / "big"
    for i in range(90):  # > one embedding batch
        write(folder / f"note{i:02d}.md", f"# Note {i}\n\nFact number {i} about feature stores.\n")
    with pytest.raises(KeyboardInterrupt):
        ingest([folder], store=mentor.store, embedder=_DiesAfterOneBatch(mentor.embedder))
    partial = mentor.store.count()
    assert 0 < partial < 90
    summary = mentor.ingest([folder])
    assert summary.added == 90 - partial and summary.unchanged == partial
    assert mentor.store.count() == 90


def test_the_damaged_learning_path_is_stored_repaired(make_mentor):
    mentor = make_mentor()
    mentor.ingest([FIXTURES / "learning-path-damaged.md"])
    chunks, _ = mentor.store.all_chunks_with_embeddings()
    text = "\n".join(c.text + c.metadata["section"] for c in chunks)
    assert "Aurélien Géron" in text and "✅" in text
    assert "Ã" not in text and "ðŸ" not in text and "â€" not in text
    sections = {c.metadata["section"] for c in chunks}
    assert "Becoming an AI/ML Expert - Complete Learning Path › Overview" in sections


def test_the_bundled_curriculum_has_level_track_and_topic_metadata(curriculum_mentor):
    metas = list(curriculum_mentor.store.metadata_by_id().values())
    smote = [m for m in metas if m["topic"] == "imbalanced-data"]
    assert smote and all(m["section"] == "Level 2 › Feature Engineering › Handling imbalanced data"
                         and m["level"] == 2 and m["kind"] == "curriculum" for m in smote)
    assert {m["track"] for m in metas if m["level"] == 4} == {"", "A", "B", "C", "D", "E"}
    assert all(m["source"].startswith("curriculum/") for m in metas)
