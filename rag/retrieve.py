"""Hybrid paper search: dense (Chroma) + BM25 (bm25s), fused by RRF, grouped to papers.

A :class:`Retriever` is cheap to search once warm: the chunk table and the BM25 index are
loaded from a local cache keyed on the store's generation (built on first use after an
ingest), and only the query embedding and one Chroma query run per search.
"""

from __future__ import annotations

import json
import logging
import os
import shutil
import threading
import uuid
from collections import Counter
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass, replace
from pathlib import Path
from typing import Any

import numpy as np

from .chunking import embedding_text, rebuild_abstract
from .corpus import Paper
from .embeddings import Embedder, make_embedder
from .errors import IndexMissingError, RagError
from .evidence import term_coverage
from .fusion import group_by_parent, rrf, score_fusion
from .lexical import (
    TOKENIZER_VERSION,
    BM25Index,
    best_terms,
    name_words,
    title_names,
    title_words,
    tokenize,
    without_possessive,
    words,
)
from .query import request_core
from .settings import ChunkingSettings, Settings
from .store import PaperStore, StoredChunk, cache_dir
from .text import sentence_spans

log = logging.getLogger(__name__)

MAX_QUERY_CHARS = 4000
CACHE_VERSION = 3  # bumped when the cache's contents change (2: chunk vectors; 3: paper frequencies)


@dataclass(frozen=True)
class ChunkMatch:
    chunk_id: str
    index: int
    start: int
    end: int
    text: str
    score: float
    dense: float | None
    bm25: float | None


@dataclass(frozen=True)
class PaperHit:
    """One paper in a result list, with its best chunks and the sentence that matched best."""

    rank: int
    paper_id: str
    title: str
    score: float
    dense: float | None
    bm25: float | None
    sentence: str
    sentence_start: int
    sentence_end: int
    chunks: tuple[ChunkMatch, ...]
    sources: tuple[str, ...]

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def paper_frequencies(by_paper: dict[str, list[StoredChunk]]) -> dict[str, int]:
    """Stemmed term -> number of papers (title and all chunks) that use it. Built with the
    search cache, not at query time."""
    df: Counter[str] = Counter()
    for cs in by_paper.values():
        df.update(set(tokenize(cs[0].title + " " + " ".join(c.text for c in cs))))
    return dict(df)


def _one_version_per_paper(chunks: list[StoredChunk]) -> list[StoredChunk]:
    """While an ingest replaces a paper (or after one was killed mid-way), the store can hold
    its old and new chunks at once: keep one complete version, so no hit mixes the two."""
    by_version: dict[tuple[str, str], list[StoredChunk]] = {}
    for c in chunks:
        by_version.setdefault((c.paper_id, c.content_hash), []).append(c)
    best: dict[str, list[StoredChunk]] = {}
    for (pid, _), cs in sorted(by_version.items()):
        complete = len({c.index for c in cs}) == cs[0].n_chunks
        held = best.get(pid)
        if held is None or (complete and len({c.index for c in held}) != held[0].n_chunks):
            best[pid] = cs
    return [c for cs in best.values() for c in cs]


SENTENCE_CACHE = 20_000  # chunks whose split, tokenized sentences a SearchIndex keeps (best_sentence)
BLAS_MIN_ELEMENTS = 4_000_000  # matrices below this size are scored without BLAS threads


def cosines(vectors: np.ndarray, query: np.ndarray) -> np.ndarray:
    """``vectors @ query`` (unit vectors: cosines). Below ``BLAS_MIN_ELEMENTS`` on one thread
    with einsum: waking OpenBLAS's threads for the bundled collection's 1281 x 768 matrix,
    and their spinning afterwards against ONNX Runtime's, cost a warm search 3-4 ms for a
    product that takes 0.15 ms on one thread. Above it BLAS's threads pay (336,809 x 384:
    17 ms vs 35 ms on one thread)."""
    if vectors.size < BLAS_MIN_ELEMENTS:
        return np.einsum("ij,j->i", vectors, query)
    return vectors @ query


class SearchIndex:
    """The in-memory view a search needs: every chunk (in a fixed order) and BM25 over them."""

    def __init__(
        self,
        chunks: list[StoredChunk],
        bm25: BM25Index,
        generation: str,
        chunking: ChunkingSettings,
        vectors: np.ndarray | None = None,
        paper_df: dict[str, int] | None = None,
    ):
        self.chunks = chunks
        self.bm25 = bm25
        self.generation = generation
        self.chunking = chunking  # how chunk text was indexed (title prefix)
        self.vectors = vectors  # the chunks' stored embeddings, same order (exact dense search)
        self.pos = {c.id: i for i, c in enumerate(chunks)}
        self._by_paper: dict[str, list[StoredChunk]] = {}
        for c in chunks:
            self._by_paper.setdefault(c.paper_id, []).append(c)
        self._paper_df = paper_df if paper_df is not None else paper_frequencies(self._by_paper)
        # title word -> papers whose title holds it (paper order), for title_matches
        self._by_title_word: dict[str, list[str]] = {}
        self._title_names: set[str] = set()  # title words written as names (title_names), lower-cased
        for pid, cs in self._by_paper.items():
            for w in title_words(cs[0].title):
                self._by_title_word.setdefault(w, []).append(pid)
            self._title_names |= title_names(cs[0].title)
        self._order = {pid: i for i, pid in enumerate(self._by_paper)}
        self._sentences: dict[int, tuple[list[tuple[int, int]], list[set[str]]]] = {}  # chunk -> spans, their terms

    def best_sentence(self, chunk: int, query_terms: set[str]) -> tuple[int, int]:
        """Offsets, in the chunk's text, of its sentence that best covers the query's terms
        (stemmed, :func:`rag.lexical.tokenize`; :func:`rag.lexical.best_span`). Each chunk's sentences are split and tokenized once
        (a search shows ten papers' best sentences: 0.7 ms of a 21 ms search when every
        search tokenized them again); at most ``SENTENCE_CACHE`` chunks are kept."""
        found = self._sentences.get(chunk)
        if found is None:
            text = self.chunks[chunk].text
            spans = [(s.start, s.end) for s in sentence_spans(text)] or [(0, len(text))]
            found = (spans, [set(tokenize(text[a:b])) for a, b in spans])
            if len(self._sentences) >= SENTENCE_CACHE:
                self._sentences.clear()
            self._sentences[chunk] = found
        spans, terms = found
        return spans[best_terms(query_terms, terms, self.bm25.idf)]

    def paper_chunks(self, paper_id: str) -> list[StoredChunk]:
        """The chunks of one paper, in chunk order."""
        return self._by_paper.get(paper_id, [])

    def title_matches(self, query: str, max_df: int) -> list[str]:
        """Papers whose title holds a name the query uses ("Monolith", "TidalDecode"), as the
        ids of their first chunks, best first (idf sum of the shared names, then paper order).
        A name is a word written like one (:func:`name_words`) that at most ``max_df`` papers
        use; it must stand in the title as that exact word. Embeddings do not know such
        names, and BM25 lets frequent question words outweigh them. Costs a dictionary
        look-up per name, not a pass over the collection. A word typed in lower case or
        at the start of the query counts when a title writes it as a name (:func:`title_names`:
        "how does flexround work", "monolith: what ..."), and so does a possessive ("UL2's")."""
        score: dict[str, float] = {}
        written = [without_possessive(w) for w in name_words(query)]  # "UL2's objective" names UL2
        typed = [w for w in map(without_possessive, words(query)) if w not in written and w.lower() in self._title_names]
        for w in [*written, *typed]:
            stems = tokenize(w)
            if stems and 0 < self.paper_df(stems[0]) <= max_df:
                for pid in self._by_title_word.get(w.lower(), ()):
                    score[pid] = score.get(pid, 0.0) + self.bm25.idf(stems[0])
        ranked = sorted(score, key=lambda pid: (-score[pid], self._order[pid]))
        return [self._by_paper[pid][0].id for pid in ranked]

    def is_title_name(self, word: str) -> bool:
        """Does some title in the collection write ``word`` as a name (:func:`title_names`)?"""
        return word.lower() in self._title_names

    def names_paper(self, query: str, paper_id: str, max_df: int) -> bool:
        """Does ``query`` name this paper by its own name: a word its title writes as a name
        (:func:`title_names`: "GPTQ", "YOLOv10", "m2mKD", typed in any case) that at most
        ``max_df`` papers use. "ConvNets" or "CT" in a title is a topic, not the paper's name."""
        chunks = self._by_paper.get(paper_id)
        if not chunks:
            return False
        own = title_names(chunks[0].title)
        for w in words(query):
            w = without_possessive(w)  # "GPTQ's speedup" names GPTQ
            stems = tokenize(w)
            if w.lower() in own and stems and all(0 < self.paper_df(s) <= max_df for s in stems):
                return True
        return False

    def lexical_confidence(self, query: str, chunk: int) -> float:
        """How much of the query (idf-weighted share of its terms) the best BM25 chunk
        contains: near 1 when the user used the paper's words, low for a paraphrase."""
        c = self.chunks[chunk]
        return term_coverage(tokenize(query), set(tokenize(embedding_text(c.title, c.text, self.chunking))), self.bm25.idf)

    def paper_df(self, term: str) -> int:
        """In how many papers (not chunks) a stemmed term occurs, title included."""
        return self._paper_df.get(term, 0)

    @classmethod
    def build(cls, chunks: list[StoredChunk], settings: Settings, generation: str, store: PaperStore | None = None) -> SearchIndex:
        chunks = sorted(_one_version_per_paper(chunks), key=lambda c: (c.paper_id, c.index, c.id))
        bm25 = BM25Index.build([embedding_text(c.title, c.text, settings.chunking) for c in chunks])
        vectors = store.vectors([c.id for c in chunks]) if store is not None and chunks else None
        return cls(chunks, bm25, generation, settings.chunking, vectors)

    def dense_top(self, query_vector: np.ndarray, k: int) -> list[tuple[str, float]]:
        """Exact cosine search over every chunk vector: (chunk id, cosine), best first; ties
        by chunk order, so every process returns the same ranking."""
        sims = cosines(self.vectors, np.asarray(query_vector, dtype=np.float32))
        k = min(k, len(sims))
        if k <= 0:
            return []
        idx = np.argpartition(-sims, k - 1)[:k]
        idx = idx[np.lexsort((idx, -sims[idx]))]
        return [(self.chunks[i].id, float(sims[i])) for i in idx]

    def save(self, folder: Path) -> None:
        """Write atomically: a reader sees the old cache or the whole new one."""
        tmp = folder.parent / f".tmp-{uuid.uuid4().hex}"
        tmp.mkdir(parents=True)
        try:
            self.bm25.save(tmp)
            rows = [[c.id, c.text, c.metadata()] for c in self.chunks]
            (tmp / "chunks.json").write_text(json.dumps({"generation": self.generation, "chunks": rows}))
            (tmp / "paper_df.json").write_text(json.dumps(self._paper_df))
            if self.vectors is not None:
                np.save(tmp / "vectors.npy", self.vectors)
            try:
                os.replace(tmp, folder)
            except OSError:  # another process saved the same generation first
                pass
        finally:
            shutil.rmtree(tmp, ignore_errors=True)

    @classmethod
    def load(cls, folder: Path, chunking: ChunkingSettings) -> SearchIndex:
        data = json.loads((folder / "chunks.json").read_text())
        chunks = [StoredChunk.from_metadata(i, t, m) for i, t, m in data["chunks"]]
        vectors = np.load(folder / "vectors.npy") if (folder / "vectors.npy").exists() else None
        if vectors is not None and len(vectors) != len(chunks):
            raise ValueError("vectors.npy does not match chunks.json")
        paper_df = json.loads((folder / "paper_df.json").read_text())
        return cls(chunks, BM25Index.load(folder), data["generation"], chunking, vectors, paper_df)

    @classmethod
    def for_store(cls, store: PaperStore, settings: Settings) -> SearchIndex:
        """Load the cache for the store's current generation, or build and save it."""
        generation = store.generation
        root = cache_dir(settings, store.name)
        folder = root / f"{generation}-lex{TOKENIZER_VERSION}-v{CACHE_VERSION}"
        if (folder / "chunks.json").exists():
            try:
                return cls.load(folder, settings.chunking)
            except Exception as exc:  # a damaged cache is rebuilt, never trusted
                log.warning("rebuilding damaged search cache %s (%s)", folder, exc)
                shutil.rmtree(folder, ignore_errors=True)
        index = cls.build(store.chunks(), settings, generation, store)
        if generation and not generation.startswith("writing"):
            root.mkdir(parents=True, exist_ok=True)
            index.save(folder)
            for old in root.iterdir():
                if old.name != folder.name and not old.name.startswith(".tmp-"):
                    shutil.rmtree(old, ignore_errors=True)
        return index


class Retriever:
    """Searches one index. Thread-safe; load once, search many times."""

    def __init__(self, settings: Settings, *, embedder: Embedder | None = None, store: PaperStore | None = None):
        self.settings = settings
        self.embedder = embedder or make_embedder(settings.embedding)
        self._store = store
        self._index: SearchIndex | None = None
        self._lock = threading.Lock()

    @property
    def store(self) -> PaperStore:
        if self._store is None:
            self._store = PaperStore.open(self.settings, embedder_name=self.embedder.name, dim=self.embedder.dim)
        return self._store

    @property
    def index(self) -> SearchIndex:
        with self._lock:
            if self._index is None:
                index = SearchIndex.for_store(self.store, self.settings)
                if not index.chunks:  # not cached: a later ingest must be seen
                    raise IndexMissingError(f"the index '{self.store.name}' is empty; run `rag ingest` first")
                self._index = index
            return self._index

    def refresh(self) -> None:
        """Forget the cached view (e.g. after an ingest by another process)."""
        with self._lock:
            self._index = None
            self._store = None

    def warm(self) -> None:
        """Load everything a search needs (model, store, caches) now rather than on first search."""
        _ = self.index
        self.embedder.embed(["warm up"], kind="query")

    def query_core(self, query: str) -> str:
        """What is searched for: ``query`` on one line, checked, and without its conversational
        framing when ``retrieval.request_core`` is on (rag/query.py). The answerer's evidence
        selection and abstention features read the same text."""
        query = " ".join(query.split())
        if not query:
            raise RagError("the query is empty")
        if len(query) > MAX_QUERY_CHARS:
            raise RagError(f"the query is {len(query)} characters; the limit is {MAX_QUERY_CHARS}")
        return request_core(query) if self.settings.retrieval.request_core else query

    def search(self, query: str, k: int | None = None) -> list[PaperHit]:
        query = self.query_core(query)
        r = self.settings.retrieval
        k = k or r.top_k
        index, vec = self._index_and_vector(query, r.mode in ("hybrid", "dense"))
        dense: dict[str, float] = {}
        lexical: dict[str, float] = {}
        if vec is not None:
            if r.dense_search == "exact" and index.vectors is not None:
                hits = index.dense_top(vec, r.candidates)
            else:
                hits = self.store.query(vec, r.candidates)
            if any(cid not in index.pos for cid, _ in hits) and self.store.current_generation() != index.generation:
                log.info("index changed since the search cache was loaded; reloading")
                self.refresh()
                index = self.index
            dense = {cid: s for cid, s in hits if cid in index.pos}
        bm25_weight = r.bm25_weight
        if r.mode in ("hybrid", "bm25"):
            top = index.bm25.top(query, r.candidates)
            lexical = {index.chunks[i].id: s for i, s in top}
            if r.bm25_adaptive and top:
                bm25_weight *= index.lexical_confidence(query, top[0][0])
        titled = index.title_matches(query, r.title_max_df) if r.mode == "hybrid" and r.title_weight > 0 else []
        if r.mode == "hybrid" and r.fusion == "score":
            fused = score_fusion(dense, lexical, r.alpha)
            if titled:
                fused = rrf([[cid for cid, _ in fused], titled], k=r.rrf_k, weights=[1.0, r.title_weight])
        elif r.mode == "hybrid":
            fused = rrf([list(dense), list(lexical), titled], k=r.rrf_k, weights=[r.dense_weight, bm25_weight, r.title_weight])
        else:
            fused = list((dense or lexical).items())
        groups = group_by_parent(fused, lambda cid: index.chunks[index.pos[cid]].paper_id, k, r.chunks_per_paper)
        terms = set(tokenize(query))
        return [self._hit(rank, terms, pid, score, chunks, dense, lexical, index) for rank, (pid, score, chunks) in enumerate(groups, 1)]

    def _index_and_vector(self, query: str, dense: bool) -> tuple[SearchIndex, np.ndarray | None]:
        """The search index and the query's vector (None when the search is not dense). The
        first search of a process loads the embedding model and the index at the same time:
        each takes about half a second (ONNX session; Chroma import and cache), and a cold
        `rag search` is mostly these two (1.79 s -> 1.59 s, mean of 4 runs, busy machine)."""
        if not dense:
            return self.index, None
        loaded = self._index  # read once: another thread may refresh() meanwhile
        if loaded is not None:
            return loaded, self.embedder.embed([query], kind="query")[0]
        with ThreadPoolExecutor(1, thread_name_prefix="query-vector") as pool:
            vector = pool.submit(self.embedder.embed, [query], kind="query")
            index = self.index
            return index, vector.result()[0]

    def search_with(self, query: str, focus: Sequence[str], k: int | None = None) -> list[PaperHit]:
        """:meth:`search`, with the ``focus`` papers first (in that order) whether or not the
        query retrieves them; each keeps its chunks ordered by match to the query."""
        hits = self.search(query, k)
        if not focus:
            return hits
        query = self.query_core(query)  # as search read it, for the focus papers' BM25 scores
        index = self.index
        found = {h.paper_id: h for h in hits}
        focus = list(dict.fromkeys(focus))
        scores = index.bm25.scores(query) if any(pid not in found for pid in focus) else None
        first: list[PaperHit] = []
        for pid in focus:
            if pid in found:
                first.append(found[pid])
                continue
            ranked = sorted(((c.id, float(scores[i])) for i, c in enumerate(index.chunks) if c.paper_id == pid), key=lambda t: -t[1])
            if not ranked:
                raise RagError(f"no paper with id '{pid}' in the index")
            first.append(self._hit(0, set(tokenize(query)), pid, 0.0, ranked, {}, {cid: sc for cid, sc in ranked if sc > 0}, index))
        chosen = set(focus)
        rest = [h for h in hits if h.paper_id not in chosen]
        return [replace(h, rank=i) for i, h in enumerate(first + rest, 1)]

    def _hit(self, rank, query_terms, paper_id, score, chunk_scores, dense, lexical, index: SearchIndex) -> PaperHit:
        matches = []
        for cid, s in chunk_scores:
            c = index.chunks[index.pos[cid]]
            matches.append(ChunkMatch(cid, c.index, c.start, c.end, c.text, s, dense.get(cid), lexical.get(cid)))
        best = index.chunks[index.pos[chunk_scores[0][0]]]
        s0, s1 = index.best_sentence(index.pos[best.id], query_terms)
        return PaperHit(
            rank=rank,
            paper_id=paper_id,
            title=best.title,
            score=score,
            dense=max((m.dense for m in matches if m.dense is not None), default=None),
            bm25=max((m.bm25 for m in matches if m.bm25 is not None), default=None),
            sentence=best.text[s0:s1],
            sentence_start=best.start + s0,
            sentence_end=best.start + s1,
            chunks=tuple(matches),
            sources=best.sources,
        )

    def paper(self, paper_id: str) -> Paper:
        """The full paper, its abstract rebuilt from the stored chunks."""
        chunks = self.index.paper_chunks(paper_id)
        if not chunks:
            raise RagError(f"no paper with id '{paper_id}' in the index")
        abstract = rebuild_abstract([(c.start, c.end, c.text) for c in chunks])
        return Paper(paper_id, chunks[0].title, abstract, chunks[0].sources, chunks[0].extra)
