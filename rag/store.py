"""The Chroma store, reached through llama-index's ``ChromaVectorStore``.

Chroma is the single source of truth: every chunk carries its paper's id, title, content
hash, offsets and sources as metadata, so the incremental ingest can diff against it and
the full abstract can be rebuilt from the chunks. The collection name carries a hash of the
embedding and chunking settings (a re-chunked index never mixes with an old one), and the
collection's metadata records the embedding model and a *generation* that changes on every
write, which local caches (BM25, the chunk table) are keyed on.
"""

from __future__ import annotations

import json
import logging
import math
import uuid
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from .environment import chroma_without_telemetry
from .errors import IndexMissingError, RagError
from .settings import Settings

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class StoredChunk:
    """A chunk as the store keeps it."""

    id: str
    paper_id: str
    title: str
    index: int
    start: int
    end: int
    text: str
    content_hash: str
    meta_hash: str
    n_chunks: int
    sources: tuple[str, ...] = ()
    extra: dict[str, str] = field(default_factory=dict, compare=False)

    def metadata(self) -> dict[str, Any]:
        return {
            "paper_id": self.paper_id,
            "title": self.title,
            "chunk_index": self.index,
            "start": self.start,
            "end": self.end,
            "content_hash": self.content_hash,
            "meta_hash": self.meta_hash,
            "n_chunks": self.n_chunks,
            "sources": json.dumps(list(self.sources)),
            "extra": json.dumps(self.extra, sort_keys=True),
        }

    @classmethod
    def from_metadata(cls, chunk_id: str, text: str, md: dict[str, Any]) -> StoredChunk:
        return cls(
            id=chunk_id,
            paper_id=md["paper_id"],
            title=md["title"],
            index=int(md["chunk_index"]),
            start=int(md["start"]),
            end=int(md["end"]),
            text=text or "",
            content_hash=md["content_hash"],
            meta_hash=md["meta_hash"],
            n_chunks=int(md["n_chunks"]),
            sources=tuple(json.loads(md.get("sources") or "[]")),
            extra=json.loads(md.get("extra") or "{}"),
        )


def _client(settings: Settings):
    chroma_without_telemetry()
    import chromadb
    from chromadb.config import Settings as ChromaSettings

    chroma_settings = ChromaSettings(anonymized_telemetry=False)
    if settings.store.mode == "server":
        try:
            return chromadb.HttpClient(host=settings.store.host, port=settings.store.port, settings=chroma_settings)
        except Exception as exc:  # chromadb raises plain ValueError/ConnectionError here
            raise RagError(
                f"cannot reach the Chroma server at {settings.store.host}:{settings.store.port} ({type(exc).__name__}); "
                f"start one with `chroma run --path DIR --host {settings.store.host} --port {settings.store.port}` "
                "or set store.mode = embedded"
            ) from None
    path = settings.store_dir() / "chroma"
    path.mkdir(parents=True, exist_ok=True)
    return chromadb.PersistentClient(path=str(path), settings=chroma_settings)


class PaperStore:
    """One Chroma collection of chunks for one (embedding model, chunking) setting."""

    def __init__(self, settings: Settings, collection: Any, client: Any = None):
        self.settings = settings
        self.collection = collection
        self.client = client
        self._vector_store: Any = None

    @property
    def vector_store(self) -> Any:
        """llama-index's view of the collection, made on first write or approximate query
        (importing llama-index costs a second; a search served from the cache never needs it)."""
        if self._vector_store is None:
            from llama_index.vector_stores.chroma import ChromaVectorStore

            self._vector_store = ChromaVectorStore(chroma_collection=self.collection)
        return self._vector_store

    # -- opening ------------------------------------------------------------------------

    @classmethod
    def open(cls, settings: Settings, *, embedder_name: str, dim: int, create: bool = False) -> PaperStore:
        client = _client(settings)
        name = settings.collection_name()
        if create:
            meta = {
                "index_hash": settings.index_hash(),
                "embedding_model": embedder_name,
                "dim": dim,
                "chunking": settings.chunking.model_dump_json(),
                "generation": "new",
            }
            collection = client.get_or_create_collection(
                name, configuration={"hnsw": {"space": "cosine"}}, metadata=meta, embedding_function=None
            )
        else:
            try:
                collection = client.get_collection(name, embedding_function=None)
            except Exception:
                raise IndexMissingError(
                    f"no index for the current settings (collection '{name}' in {cls.location(settings)}); run `rag ingest` first"
                ) from None
        got = (collection.metadata or {}).get("embedding_model")
        if got and got != embedder_name:
            raise RagError(f"collection '{name}' was built with {got}, not {embedder_name}; re-run `rag ingest`")
        return cls(settings, collection, client)

    @staticmethod
    def location(settings: Settings) -> str:
        if settings.store.mode == "server":
            return f"chroma server {settings.store.host}:{settings.store.port}"
        return str(settings.store_dir() / "chroma")

    @property
    def name(self) -> str:
        return self.collection.name

    @property
    def generation(self) -> str:
        return str((self.collection.metadata or {}).get("generation", ""))

    def current_generation(self) -> str:
        """The generation as the store has it now (another process may have written since)."""
        if self.client is None:
            return self.generation
        fresh = self.client.get_collection(self.collection.name, embedding_function=None)
        return str((fresh.metadata or {}).get("generation", ""))

    def set_generation(self, value: str | None = None) -> str:
        """Mark a write: a fresh generation invalidates every cache built from the old one."""
        value = value or uuid.uuid4().hex[:16]
        meta = dict(self.collection.metadata or {})
        meta["generation"] = value
        self.collection.modify(metadata=meta)
        return value

    # -- reading ------------------------------------------------------------------------

    def count(self) -> int:
        return self.collection.count()

    def chunks(self, *, where: dict[str, Any] | None = None, with_text: bool = True, batch: int = 5000) -> list[StoredChunk]:
        """All chunks (or those matching ``where``), read in pages."""
        include = ["metadatas", "documents"] if with_text else ["metadatas"]
        out: list[StoredChunk] = []
        offset = 0
        while True:
            res = self.collection.get(where=where, include=include, limit=batch, offset=offset)
            docs = res.get("documents") or [""] * len(res["ids"])
            out.extend(StoredChunk.from_metadata(i, d, m) for i, d, m in zip(res["ids"], docs, res["metadatas"]))
            if len(res["ids"]) < batch:
                return out
            offset += batch

    def vectors(self, ids: Sequence[str], batch: int = 5000) -> np.ndarray | None:
        """The stored embeddings of ``ids``, in that order (float32, one row per id); None
        when some cannot be read (an ingest killed mid-write can leave ids whose vectors
        Chroma has not flushed: search then uses Chroma's own index until the next ingest)."""
        from chromadb.errors import ChromaError

        rows: list[np.ndarray] = []
        try:
            for i in range(0, len(ids), batch):
                part = list(ids[i : i + batch])
                res = self.collection.get(ids=part, include=["embeddings"])
                by_id = dict(zip(res["ids"], res["embeddings"]))
                rows.extend(np.asarray(by_id[c], dtype=np.float32) for c in part)
        except (ChromaError, KeyError) as exc:
            log.warning("chunk vectors unreadable (%s); dense search uses Chroma's index", exc)
            return None
        return np.stack(rows) if rows else np.zeros((0, 0), dtype=np.float32)

    def paper_chunks(self, paper_id: str) -> list[StoredChunk]:
        return sorted(self.chunks(where={"paper_id": paper_id}), key=lambda c: c.index)

    def query(self, embedding: np.ndarray, k: int) -> list[tuple[str, float]]:
        """Nearest chunk ids with cosine similarity, best first."""
        from llama_index.core.vector_stores.types import VectorStoreQuery

        k = min(k, self.count())
        if k <= 0:
            return []
        res = self.vector_store.query(VectorStoreQuery(query_embedding=[float(x) for x in embedding], similarity_top_k=k))
        # ChromaVectorStore reports exp(-distance); with cosine distance, cos = 1 - distance.
        return [(cid, 1.0 + math.log(max(sim, 1e-30))) for cid, sim in zip(res.ids or [], res.similarities or [])]

    # -- writing ------------------------------------------------------------------------

    def add(self, chunks: Sequence[StoredChunk], embeddings: np.ndarray) -> None:
        from llama_index.core.schema import NodeRelationship, RelatedNodeInfo, TextNode

        nodes = []
        for chunk, vec in zip(chunks, embeddings):
            node = TextNode(
                id_=chunk.id,
                text=chunk.text,
                embedding=[float(x) for x in vec],
                metadata=chunk.metadata(),
                start_char_idx=chunk.start,
                end_char_idx=chunk.end,
            )
            node.relationships[NodeRelationship.SOURCE] = RelatedNodeInfo(node_id=chunk.paper_id)
            nodes.append(node)
        if nodes:
            self.vector_store.add(nodes)

    def delete(self, ids: Iterable[str]) -> None:
        ids = list(ids)
        for i in range(0, len(ids), 5000):
            self.vector_store.delete_nodes(node_ids=ids[i : i + 5000])

    def update_metadata(self, chunks: Sequence[StoredChunk]) -> None:
        """Metadata-only change (e.g. a paper now also listed in another file): no re-embedding."""
        if not chunks:
            return
        existing = self.collection.get(ids=[c.id for c in chunks], include=["metadatas"])
        by_id = dict(zip(existing["ids"], existing["metadatas"]))
        metas = [{**by_id[c.id], **c.metadata()} for c in chunks]
        self.collection.update(ids=[c.id for c in chunks], metadatas=metas)


def cache_dir(settings: Settings, collection_name: str) -> Path:
    """Local folder for caches derived from one collection (BM25 index, chunk table)."""
    where = "embedded" if settings.store.mode == "embedded" else f"server-{settings.store.host}-{settings.store.port}"
    return settings.store_dir() / "cache" / where / collection_name
