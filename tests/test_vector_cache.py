"""The disk cache of document vectors (rag/vector_cache.py): the same vectors bit for bit,
nothing computed twice, queries never cached, a broken cache bypassed."""

from __future__ import annotations

import json
import logging

import numpy as np
import pytest

from rag.vector_cache import CachedEmbedder, VectorCache, cached


class Counting:
    """A deterministic embedder that counts the texts it is given."""

    def __init__(self, name: str = "fake:one", cache_key: str | None = "fake:one", dim: int = 8):
        self.name, self.dim, self.cache_key = name, dim, cache_key
        self.seen: list[str] = []

    def embed(self, texts, *, kind="document"):
        self.seen += list(texts)
        rng = [np.random.default_rng(abs(hash((t, kind))) % (1 << 32)) for t in texts]
        out = np.stack([r.standard_normal(self.dim) for r in rng]).astype(np.float32) if texts else np.zeros((0, self.dim), np.float32)
        return out / np.linalg.norm(out, axis=1, keepdims=True) if texts else out


def test_vectors_come_back_bit_for_bit_and_are_computed_once(tmp_path):
    inner = Counting()
    emb = cached(inner, VectorCache(tmp_path / "v.sqlite"))
    assert isinstance(emb, CachedEmbedder) and (emb.name, emb.dim) == ("fake:one", 8)
    first = emb.embed(["a", "b", "c"])
    assert inner.seen == ["a", "b", "c"] and emb.hits == 0
    # wrapped again (e.g. passed to a second ingest): no double cache, a fresh count
    rewrapped = cached(emb)
    assert rewrapped.inner is inner and rewrapped.hits == 0 and rewrapped.embed(["a"]).tolist() == first[:1].tolist()
    assert rewrapped.hits == 1 and inner.seen == ["a", "b", "c"]
    # a new process (new cache object, same file): only the new text is computed
    again = cached(inner, VectorCache(tmp_path / "v.sqlite"))
    mixed = again.embed(["c", "d", "a"])
    assert inner.seen == ["a", "b", "c", "d"] and again.hits == 2
    assert mixed.dtype == np.float32 and np.array_equal(mixed[[0, 2]], first[[2, 0]])
    # queries go to the model every time
    again.embed(["a"], kind="query")
    again.embed(["a"], kind="query")
    assert inner.seen[-2:] == ["a", "a"]


def test_another_model_or_runtime_does_not_share_vectors(tmp_path):
    cache = VectorCache(tmp_path / "v.sqlite")
    cached(Counting(), cache).embed(["a"])
    other = Counting(cache_key="fake:two")
    cached(other, cache).embed(["a"])
    assert other.seen == ["a"]
    # a vector of another dimension under the same key is not returned
    cache.put({"k": np.ones(8, dtype=np.float32)})
    assert list(cache.get(["k"], 8)) == ["k"] and cache.get(["k"], 16) == {}


def test_only_embedders_that_name_their_vectors_are_cached(tmp_path):
    plain = Counting(cache_key=None)
    assert cached(plain, VectorCache(tmp_path / "v.sqlite")) is plain


def test_a_broken_cache_is_bypassed_with_one_warning(tmp_path, caplog):
    (tmp_path / "v.sqlite").mkdir()  # a folder where the file should be: cannot be opened
    inner = Counting()
    emb = cached(inner, VectorCache(tmp_path / "v.sqlite"))
    with caplog.at_level(logging.WARNING, logger="rag.vector_cache"):
        a = emb.embed(["a", "b"])
        b = emb.embed(["a", "b"])
    assert np.array_equal(a, b) and inner.seen == ["a", "b", "a", "b"]
    assert sum("vector cache" in r.message for r in caplog.records) == 1


@pytest.mark.slow
def test_a_second_store_of_the_same_papers_reads_the_cache_and_gets_the_same_index(tmp_path, monkeypatch):
    """Real ingest with the real (MiniLM, ONNX) embedder into two stores: the second computes
    no vector and stores exactly the first one's vectors."""
    from conftest import make_settings

    from rag.corpus import load_collection
    from rag.ingest import ingest
    from rag.settings import PROJECT_ROOT
    from rag.store import PaperStore

    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    seeds = sorted((PROJECT_ROOT / "data" / "seeds").glob("*"))[:1]
    papers = load_collection(seeds)[:12]
    coll = tmp_path / "papers.jsonl"
    coll.write_text("".join(json.dumps({"title": p.title, "abstract": p.abstract}) + "\n" for p in papers))
    reports, vectors = [], []
    for name in ("one", "two"):
        settings = make_settings(tmp_path / name, **{"embedding.model": "all-MiniLM-L6-v2", "embedding.quantization": "none"})
        report = ingest(settings, [coll], progress=False)
        store = PaperStore.open(settings, embedder_name="sentence-transformers:all-MiniLM-L6-v2", dim=384)
        ids = sorted(c.id for c in store.chunks(with_text=False))
        reports.append(report)
        vectors.append((ids, store.vectors(ids)))
    assert reports[0].chunks_embedded == reports[1].chunks_embedded > 12
    assert (reports[0].chunks_cached, reports[1].chunks_cached) == (0, reports[1].chunks_embedded)
    assert vectors[0][0] == vectors[1][0] and np.array_equal(vectors[0][1], vectors[1][1])


def test_abstract_passages_go_through_the_disk_cache_and_answer_sentences_do_not(tmp_path):
    """Evidence selection and the support judge (rag/evidence.py CachedEmbedder): texts taken
    from abstracts are read from the disk cache in a new process; questions and answer
    sentences are computed, and kept in memory only."""
    from rag.evidence import CachedEmbedder as InMemory
    from rag.evidence import embed_passages

    inner = Counting()
    first = InMemory(inner, passages=cached(inner, VectorCache(tmp_path / "v.sqlite")))
    sentences = embed_passages(first, ["s1", "s2"])
    first.embed(["an answer sentence"])
    assert inner.seen == ["s1", "s2", "an answer sentence"]
    embed_passages(first, ["s1"])
    assert inner.seen == ["s1", "s2", "an answer sentence"]  # in memory
    # a new process: the passages come from disk, bit for bit; the answer sentence is computed again
    later = InMemory(inner, passages=cached(inner, VectorCache(tmp_path / "v.sqlite")))
    assert np.array_equal(embed_passages(later, ["s2", "s1"]), sentences[[1, 0]])
    later.embed(["an answer sentence"])
    assert inner.seen == ["s1", "s2", "an answer sentence", "an answer sentence"]
    assert later.passages.hits == 2
    # without a disk cache, passages are plain document vectors
    assert np.array_equal(embed_passages(InMemory(inner), ["s1"]), sentences[:1]) and inner.seen[-1] == "s1"


@pytest.mark.slow
def test_a_second_answer_process_reads_the_abstract_sentences_from_the_cache(full_index, retriever, tmp_path, monkeypatch):
    """Two Answerers (two processes' worth) on the real index: the second selects the same
    evidence with every abstract sentence read from the disk cache, none computed."""
    from rag.answer import Answerer

    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    settings, _ = full_index
    question = "How does Monolith make real-time recommendation training possible?"
    hits = retriever.search(question, k=3)
    first = Answerer(settings, retriever=retriever)
    before = first.evidence(question, hits)
    assert first.selector.embedder.passages.hits == 0
    second = Answerer(settings, retriever=retriever)
    after = second.evidence(question, hits)
    n = sum(len(ev.all_sentences) for ev in after)
    assert second.selector.embedder.passages.hits == n > 10
    assert [[s.score for s in ev.all_sentences] for ev in after] == [[s.score for s in ev.all_sentences] for ev in before]
    off = settings.model_copy(update={"embedding": settings.embedding.model_copy(update={"vector_cache": False})})
    assert Answerer(off, retriever=retriever).selector.embedder.passages is None
