"""One contract for the vector store, run against embedded Chroma and a real `chroma run` server."""

import numpy as np
import pytest

from errors import UserError
from knowledge.store import VectorStore


@pytest.fixture(params=["embedded", pytest.param("server", marks=[pytest.mark.server, pytest.mark.subprocess])])
def store(request, tmp_path):
    name = f"contract-{abs(hash(request.node.name)) % 10**8}"
    if request.param == "server":
        url = request.getfixturevalue("chroma_server")
        return VectorStore(collection=name, model_name="m1", url=url)
    return VectorStore(collection=name, model_name="m1", path=tmp_path / "chroma")


def vec(*values):
    v = np.zeros(384, dtype=np.float32)
    v[: len(values)] = values
    return v / np.linalg.norm(v)


def test_upsert_query_update_delete(store):
    store.upsert(["a", "b", "c"], ["alpha", "beta", "gamma"],
                 [{"source": "s1", "level": 1}, {"source": "s1", "level": 2}, {"source": "s2", "level": 2}],
                 np.vstack([vec(1, 0), vec(0, 1), vec(1, 1)]))
    assert store.count() == 3
    top = store.query(vec(1, 0.1), n=2)
    assert [c.id for c, _ in top] == ["a", "c"] and top[0][1] > 0.9
    assert [c.id for c, _ in store.query(vec(1, 0), n=5, where={"level": 2})] == ["c", "b"]
    assert set(store.metadata_by_id({"source": "s1"})) == {"a", "b"}
    store.upsert(["a"], ["alpha"], [{"source": "s1", "level": 1}], np.vstack([vec(1, 0)]))
    assert store.count() == 3  # upsert with a known id never duplicates
    store.update_metadata(["b"], [{"source": "s1", "level": 3}])
    assert store.metadata_by_id({"source": "s1"})["b"]["level"] == 3
    store.delete(["a", "b"])
    chunks, matrix = store.all_chunks_with_embeddings()
    assert [c.id for c in chunks] == ["c"] and matrix.shape == (1, 384)


def test_a_collection_built_with_another_model_is_refused(store):
    url, location = store.url, store.location
    kwargs = {"url": url} if url else {"path": __import__("pathlib").Path(location)}
    with pytest.raises(UserError, match="ingest --reset"):
        VectorStore(collection=store.collection_name, model_name="other-model", **kwargs)


def test_an_unreachable_chroma_url_is_one_clear_error():
    with pytest.raises(UserError) as err:
        VectorStore(collection="x12", model_name="m", url="http://127.0.0.1:9")
    assert "CHROMA_URL=http://127.0.0.1:9" in str(err.value) and "\n" not in str(err.value)


@pytest.mark.model
@pytest.mark.server
@pytest.mark.subprocess
def test_ingest_and_search_through_the_server(chroma_server, embedder, tmp_path):
    from knowledge.mentor import Mentor
    from tests.conftest import make_settings

    notes = tmp_path / "notes.md"
    notes.write_text("# Team\n\n## On-call\n\nThe ML on-call rotation changes every Monday.\n", encoding="utf-8")
    mentor = Mentor.from_settings(make_settings(tmp_path, chroma_url=chroma_server,
                                                chroma_collection="server-e2e"), embedder=embedder)
    summary = mentor.ingest([notes])
    assert summary.added == 1
    assert mentor.ingest([notes]).added == 0
    hit = mentor.search("when does the on-call rotation change?", k=1).hits[0]
    assert hit.section == "Team › On-call" and "Monday" in hit.text


def test_rebuild_drops_a_collection_of_another_model(store):
    store.upsert(["a"], ["alpha"], [{"source": "s1", "level": 1}], np.vstack([vec(1, 0)]))
    kwargs = {"url": store.url} if store.url else {"path": __import__("pathlib").Path(store.location)}
    rebuilt = VectorStore(collection=store.collection_name, model_name="other-model", rebuild=True, **kwargs)
    assert rebuilt.count() == 0
    # and the rebuilt collection now belongs to the new model
    VectorStore(collection=store.collection_name, model_name="other-model", **kwargs)
