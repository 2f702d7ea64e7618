"""Incremental ingest against a real Chroma in a temp dir with the real embedding model."""

import json

import pytest
from conftest import SEEDS, make_settings, write

from rag.corpus import load_collection
from rag.errors import CorpusError
from rag.ingest import ingest
from rag.retrieve import Retriever
from rag.store import PaperStore

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def sample():
    return load_collection([SEEDS])[:12]


def write_jsonl(path, papers):
    return write(path, "\n".join(json.dumps({"title": p.title, "abstract": p.abstract}) for p in papers) + "\n")


def state(settings, embedder):
    store = PaperStore.open(settings, embedder_name=embedder.name, dim=embedder.dim)
    return {(c.id, c.text) for c in store.chunks()}


def test_incremental_ingest_cycle(tmp_path, sample, embedder):
    settings = make_settings(tmp_path / "store")
    coll = tmp_path / "c.jsonl"

    write_jsonl(coll, sample[:10])
    r = ingest(settings, [coll], embedder=embedder, progress=False)
    assert (r.papers, r.added, r.unchanged, r.removed) == (10, 10, 0, 0)
    first_total = r.chunks_total
    assert r.chunks_embedded == first_total > 10

    r = ingest(settings, [coll], embedder=embedder, progress=False)
    assert (r.added, r.replaced, r.unchanged, r.chunks_embedded, r.chunks_deleted) == (0, 0, 10, 0, 0)

    changed = [*sample[:10]]
    changed[3] = type(changed[3])(changed[3].id, changed[3].title, changed[3].abstract + " We also release code.")
    write_jsonl(coll, changed[1:] + sample[10:12])  # drop paper 0, change paper 3, add papers 10 and 11
    r = ingest(settings, [coll], embedder=embedder, progress=False)
    assert (r.papers, r.added, r.replaced, r.unchanged, r.removed) == (11, 2, 1, 8, 1)

    # the store now equals a clean ingest of the same collection
    clean = make_settings(tmp_path / "clean")
    ingest(clean, [coll], embedder=embedder, progress=False)
    assert state(settings, embedder) == state(clean, embedder)

    retriever = Retriever(settings, embedder=embedder)
    titles = {h.title for h in retriever.search(sample[0].title, k=11)}
    assert sample[0].title not in titles
    assert changed[3].abstract.endswith("release code.")
    assert retriever.paper(changed[3].id).abstract == changed[3].abstract


def test_metadata_only_change_is_not_reembedded(tmp_path, sample, embedder):
    settings = make_settings(tmp_path / "store")
    a = write_jsonl(tmp_path / "a.jsonl", sample[:3])
    ingest(settings, [a], embedder=embedder, progress=False)
    b = write_jsonl(tmp_path / "b.jsonl", sample[:1])
    r = ingest(settings, [a, b], embedder=embedder, progress=False)
    assert (r.unchanged, r.metadata_updated, r.chunks_embedded) == (3, 1, 0)
    hit = Retriever(settings, embedder=embedder).search(sample[0].title, k=1)[0]
    assert hit.sources == ("a.jsonl:1", "b.jsonl:1")


def test_bad_input_leaves_the_index_untouched(tmp_path, sample, embedder):
    settings = make_settings(tmp_path / "store")
    good = write_jsonl(tmp_path / "good.jsonl", sample[:3])
    ingest(settings, [good], embedder=embedder, progress=False)
    before = state(settings, embedder)
    bad = write(tmp_path / "bad.jsonl", good.read_text() + '{"title": "broken"\n')
    with pytest.raises(CorpusError, match=r"bad.jsonl:4: bad JSON"):
        ingest(settings, [bad], embedder=embedder, progress=False)
    assert state(settings, embedder) == before


def test_rechunked_settings_use_their_own_collection(tmp_path, sample, embedder):
    coll = write_jsonl(tmp_path / "c.jsonl", sample[:2])
    a = make_settings(tmp_path / "store")
    b = make_settings(tmp_path / "store", **{"chunking.chunk_tokens": 64})
    ra = ingest(a, [coll], embedder=embedder, progress=False)
    rb = ingest(b, [coll], embedder=embedder, progress=False)
    assert ra.collection != rb.collection
    assert rb.chunks_total > ra.chunks_total
    assert ingest(a, [coll], embedder=embedder, progress=False).chunks_total == ra.chunks_total


def test_a_stuck_writing_generation_is_cleared(tmp_path, sample, embedder):
    """An ingest killed after its last write but before marking the store done."""
    settings = make_settings(tmp_path / "store")
    coll = write_jsonl(tmp_path / "c.jsonl", sample[:2])
    ingest(settings, [coll], embedder=embedder, progress=False)
    store = PaperStore.open(settings, embedder_name=embedder.name, dim=embedder.dim)
    store.set_generation("writing-123")
    ingest(settings, [coll], embedder=embedder, progress=False)
    assert not PaperStore.open(settings, embedder_name=embedder.name, dim=embedder.dim).generation.startswith("writing")
