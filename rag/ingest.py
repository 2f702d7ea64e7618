"""Incremental, idempotent ingest: make the index mirror a collection.

1. Read and validate every input file first; a bad file stops here, before the store is
   touched.
2. Diff against the store by paper id and content hash: unchanged papers are skipped
   (metadata-only changes are updated in place), new and changed papers are chunked and
   embedded, papers no longer in the collection are deleted.
3. New chunks are added before the old versions are deleted, in batches of whole papers,
   so an interrupted ingest leaves every paper searchable (at worst twice, until the next
   run cleans up). A paper with missing chunks is re-done on the next run.
"""

from __future__ import annotations

import logging
import time
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass, replace
from pathlib import Path

from .chunking import chunk_paper, embedding_text
from .corpus import Paper, load_collection
from .embeddings import Embedder, make_embedder
from .errors import StoreBusyError
from .settings import Settings
from .store import PaperStore, StoredChunk
from .text import instruction_like
from .vector_cache import CachedEmbedder, cached

log = logging.getLogger(__name__)

BATCH_CHUNKS = 256


@dataclass
class IngestReport:
    collection: str
    location: str
    papers: int
    added: int
    replaced: int
    unchanged: int
    metadata_updated: int
    removed: int
    chunks_embedded: int
    chunks_deleted: int
    chunks_total: int
    seconds: float
    instruction_like: int = 0  # papers whose text addresses a language model ("ignore previous instructions ...")
    chunks_cached: int = 0  # of chunks_embedded, vectors read from the vector cache (rag/vector_cache.py), not computed

    def to_dict(self) -> dict:
        return asdict(self)


def lock_path(settings: Settings) -> Path:
    """One writer at a time: per store folder for the embedded store (its files are shared by
    every collection in it), per collection on a Chroma server (which serializes the rest)."""
    if settings.store.mode == "embedded":
        return settings.store_dir() / "locks" / "ingest.lock"
    return settings.store_dir() / "locks" / f"{settings.store.host}-{settings.store.port}-{settings.collection_name()}.lock"


def _stored_chunks(paper: Paper, settings: Settings) -> list[StoredChunk]:
    chunks = chunk_paper(paper, settings.chunking)
    return [
        StoredChunk(
            id=c.id(paper.content_hash),
            paper_id=paper.id,
            title=paper.title,
            index=c.index,
            start=c.start,
            end=c.end,
            text=c.text,
            content_hash=paper.content_hash,
            meta_hash=paper.meta_hash,
            n_chunks=len(chunks),
            sources=paper.sources,
            extra=paper.extra,
        )
        for c in chunks
    ]


def ingest(
    settings: Settings,
    paths: Sequence[Path] | None = None,
    *,
    embedder: Embedder | None = None,
    progress: bool | None = None,
    lock_timeout: float = 600,
) -> IngestReport:
    """Make the index for ``settings`` mirror the collection at ``paths`` (default: settings)."""
    from filelock import FileLock, Timeout

    t0 = time.perf_counter()
    papers = load_collection(paths or settings.corpus_paths(), settings.corpus.max_abstract_chars, settings.corpus.clean_latex)
    embedder = embedder or make_embedder(settings.embedding)
    if settings.embedding.vector_cache:
        embedder = cached(embedder)

    path = lock_path(settings)
    path.parent.mkdir(parents=True, exist_ok=True)
    lock = FileLock(str(path))
    try:
        lock.acquire(timeout=0)
    except Timeout:
        log.warning("another `rag ingest` is writing to this store (lock %s); waiting for it to finish (up to %.0f s)", path, lock_timeout)
        try:
            lock.acquire(timeout=lock_timeout)
        except Timeout:
            raise StoreBusyError(
                f"another `rag ingest` is writing to this store (lock {path}); waited {lock_timeout:.0f} s, try again when it ends"
            ) from None
    try:
        return _ingest_locked(settings, papers, embedder, progress, t0)
    finally:
        lock.release()


def _ingest_locked(settings: Settings, papers: list[Paper], embedder: Embedder, progress: bool | None, t0: float) -> IngestReport:
    store = PaperStore.open(settings, embedder_name=embedder.name, dim=embedder.dim, create=True)
    existing: dict[str, list[StoredChunk]] = defaultdict(list)
    for c in store.chunks(with_text=False):
        existing[c.paper_id].append(c)

    to_embed: list[Paper] = []
    meta_updates: list[StoredChunk] = []
    stale_ids: list[str] = []
    added = replaced = unchanged = 0
    wanted = {p.id for p in papers}
    for paper in papers:
        old = existing.get(paper.id, [])
        current = [c for c in old if c.content_hash == paper.content_hash]
        complete = bool(current) and len({c.index for c in current}) == current[0].n_chunks
        if complete:
            unchanged += 1
            stale_ids += [c.id for c in old if c.content_hash != paper.content_hash]
            if any(c.meta_hash != paper.meta_hash for c in current):
                meta_updates += [replace(c, sources=paper.sources, extra=paper.extra, meta_hash=paper.meta_hash) for c in current]
        else:
            to_embed.append(paper)
            replaced += bool(old)
            added += not old
            stale_ids += [c.id for c in old]
    removed_papers = [pid for pid in existing if pid not in wanted]
    stale_ids += [c.id for pid in removed_papers for c in existing[pid]]

    if to_embed or stale_ids or meta_updates:
        store.set_generation("writing-" + str(int(time.time())))
        chunks = {p.id: _stored_chunks(p, settings) for p in to_embed}
        n_embedded = _embed_and_add(store, chunks, settings, embedder, progress)
        # ids of re-embedded papers are content-addressed: never delete what we just wrote
        fresh = {c.id for cs in chunks.values() for c in cs}
        stale_ids = [i for i in dict.fromkeys(stale_ids) if i not in fresh]
        store.delete(stale_ids)
        store.update_metadata(meta_updates)
        store.set_generation()
    else:
        n_embedded = 0
        if not store.generation or store.generation.startswith(("writing", "new")):
            store.set_generation()  # an earlier ingest stopped after its last write

    # build the search cache now, so the first search after an ingest is fast
    from .retrieve import SearchIndex

    SearchIndex.for_store(store, settings)

    suspicious = [p for p in papers if instruction_like(p.title + ". " + p.abstract)]
    if suspicious:
        log.warning(
            "%d paper(s) contain text addressed to a language model (e.g. 'ignore previous instructions'); it is indexed "
            "as data: %s",
            len(suspicious),
            "; ".join(f"'{p.title[:60]}' ({p.sources[0]})" for p in suspicious[:3]) + ("; ..." if len(suspicious) > 3 else ""),
        )
    report = IngestReport(
        collection=store.name,
        location=PaperStore.location(settings),
        papers=len(papers),
        added=added,
        replaced=replaced,
        unchanged=unchanged,
        metadata_updated=len({c.paper_id for c in meta_updates}),
        removed=len(removed_papers),
        chunks_embedded=n_embedded,
        chunks_deleted=len(stale_ids),
        chunks_total=store.count(),
        seconds=round(time.perf_counter() - t0, 2),
        instruction_like=len(suspicious),
        chunks_cached=embedder.hits if isinstance(embedder, CachedEmbedder) else 0,
    )
    log.info("ingest: %s", report)
    return report


def _batches(per_paper: Iterable[list[StoredChunk]]) -> Iterable[list[StoredChunk]]:
    """Chunks grouped in batches of whole papers."""
    batch: list[StoredChunk] = []
    for chunks in per_paper:
        if batch and len(batch) + len(chunks) > BATCH_CHUNKS:
            yield batch
            batch = []
        batch += chunks
    if batch:
        yield batch


def _embed_and_add(
    store: PaperStore, chunks: dict[str, list[StoredChunk]], settings: Settings, embedder: Embedder, progress: bool | None
) -> int:
    if not chunks:
        return 0
    from tqdm import tqdm

    total = 0
    with tqdm(total=len(chunks), unit="paper", desc="embedding", disable=None if progress is None else not progress) as bar:
        for batch in _batches(chunks.values()):
            vectors = embedder.embed([embedding_text(c.title, c.text, settings.chunking) for c in batch], kind="document")
            store.add(batch, vectors)
            total += len(batch)
            bar.update(len({c.paper_id for c in batch}))
    return total
