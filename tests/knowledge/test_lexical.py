"""The lexical half of retrieval (BM25 through bm25s over mlpath's tokens) on the real curriculum, and the
retriever's cached corpus noticing a store that changed behind its back."""

from __future__ import annotations

from pathlib import Path

import pytest

from knowledge import retrieval
from knowledge.lexical import BM25, tokenize
from knowledge.retrieval import _heading_text


@pytest.fixture(scope="module")
def corpus(curriculum_mentor):
    return curriculum_mentor.retriever.corpus()


@pytest.mark.parametrize("query, term", [("what does SMOTE actually do?", "smote"),
                                         ("SARIMA vs prophet", "sarima"),
                                         ("ACID transactions in a lakehouse", "acid")])
@pytest.mark.model
def test_exact_names_rank_the_chunks_that_contain_them_first(corpus, query, term):
    top = corpus.bm25.top(query, 5)
    assert top and all(score > 0 for _, score in top)
    assert [s for _, s in top] == sorted((s for _, s in top), reverse=True)
    best = corpus.chunks[top[0][0]]
    assert term in tokenize(f"{_heading_text(best)}\n{best.text}")


@pytest.mark.model
def test_top_respects_the_allowed_chunks_and_unknown_words_score_nothing(corpus):
    everything = corpus.bm25.top("window functions in SQL", 40)
    level_1 = {i for i, c in enumerate(corpus.chunks) if c.metadata.get("level") == 1}
    only = corpus.bm25.top("window functions in SQL", 40, level_1)
    assert only and {i for i, _ in only} <= level_1 and len(only) < len(everything)
    within = [i for i, _ in everything if i in level_1]
    assert [i for i, _ in only][:len(within)] == within
    assert corpus.bm25.top("sourdough", 5) == [] and corpus.bm25.top("the of and", 5) == []


@pytest.mark.model
def test_coverage_weighs_words_the_corpus_never_saw_as_rare(corpus):
    text = f"{_heading_text(corpus.chunks[0])}\n{corpus.chunks[0].text}"
    words = [w for w in tokenize(text) if len(w) > 4][:2]
    assert corpus.bm25.coverage(" ".join(words), text) == 1.0
    assert 0.0 < corpus.bm25.coverage(f"{words[0]} sourdough", text) < 0.5
    assert corpus.bm25.coverage("", text) == 0.0


def test_an_empty_index_finds_nothing():
    empty = BM25([])
    assert empty.top("anything", 5) == [] and empty.scores("anything").shape == (0,)


def write(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")


@pytest.mark.model
def test_search_forgets_chunks_deleted_behind_its_back(make_mentor, tmp_path, monkeypatch):
    """Another writer (a second process on a Chroma server, an operator's script) deletes chunks: the
    retriever's cached lexical index must not keep returning them once it has re-counted the store."""
    mentor = make_mentor()
    folder = tmp_path / "team"
    write(folder / "kafka.md", "# Kafka\n\nOur Kafka cluster runs zookeeperless KRaft on three brokers.\n")
    write(folder / "feast.md", "# Feast\n\nThe Feast feature store serves online features from Redis.\n")
    mentor.ingest([folder])
    assert "kafka.md" in mentor.search("zookeeperless KRaft brokers", k=1).hits[0].source
    gone = [i for i, m in mentor.store.metadata_by_id().items() if str(m["source"]).endswith("kafka.md")]
    mentor.store.delete(gone)  # not through mentor.ingest, which would invalidate the cache itself

    monkeypatch.setattr(retrieval, "COUNT_CHECK_SECONDS", 1e9)
    stale = mentor.search("zookeeperless KRaft brokers", k=3).hits
    assert any("kafka.md" in h.source for h in stale)  # what the cache would go on returning
    monkeypatch.setattr(retrieval, "COUNT_CHECK_SECONDS", -1.0)
    fresh = mentor.search("zookeeperless KRaft brokers", k=3).hits
    assert fresh and not any("kafka.md" in h.source for h in fresh)
